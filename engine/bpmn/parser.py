"""Parse and check BPMN files into process specs, listing every problem an analyst must fix."""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    IntermediateThrowEvent,
    StartEvent,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffEndEventParser,
    SpiffIntermediateThrowEventParser,
    SpiffStartEventParser,
)
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import (
    ServiceTaskParser,
    SpiffTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.spiff.specs.defaults import ScriptTask, SubWorkflowTask, UserTask

from ..errors import Problem
from ..scripting import Sandbox
from . import deploy_checks, dialects, spiff_messages
from .call_activity import CallActivityParser, CallActivityTask
from .compensation import CompensationEndEvent, CompensationParsing, CompensationThrowEvent
from .dialects import NSMAP, element_line, local_name
from .file_checker import FileChecker
from .local_scope import IO
from .multi_instance import (
    CamundaLoops,
    LoopingScriptParser,
    LoopingSubProcessParser,
)
from .specs import SCOPED, DecisionTask, PassThroughTask, ServiceCallTask
from .throwing import scoped


class LocalScopes:
    """Parser mixin: an activity with ``camunda:inputOutput`` gets its scoped spec class."""

    node: Any
    spec_class: Any

    def create_task(self) -> Any:
        self.spec_class = self.scoped_class()
        return super().create_task()  # type: ignore[misc]

    def scoped_class(self) -> Any:
        """The spec class to create: the scoped one when the element has local variables."""
        if self.node.xpath("./bpmn:extensionElements/camunda:inputOutput", namespaces=NSMAP):
            return SCOPED.get(self.spec_class, self.spec_class)
        return self.spec_class

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        ext: dict[str, Any] = super().parse_extensions(node)  # type: ignore[misc]
        io = dialects.read_input_output(self.node if node is None else node)
        if io is not None:
            ext[IO] = io
        return ext


class _HumanTaskParser(LocalScopes, CamundaLoops, UserTaskParser):  # type: ignore[misc]
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        ext: dict[str, Any] = super().parse_extensions(node)
        ext["bridgeflow"] = dialects.read_human_task(self.node if node is None else node)
        return ext

    def create_task(self) -> Any:
        ext = self.parse_extensions()
        return self.scoped_class()(self.spec, self.bpmn_id, variable=ext.get("variableName"),
                               prescript=ext.get("preScript"), postscript=ext.get("postScript"),
                               **self.bpmn_attributes)


class _PassThroughParser(LocalScopes, SpiffTaskParser):  # type: ignore[misc]
    pass


class _ScriptParser(LocalScopes, LoopingScriptParser):
    pass


class _SubProcessParser(LocalScopes, LoopingSubProcessParser):
    pass


class _CallParser(LocalScopes, CallActivityParser):
    pass


class _ServiceCallParser(LocalScopes, CamundaLoops, ServiceTaskParser):  # type: ignore[misc]
    def create_task(self) -> ServiceCallTask:
        ext = dialects.read_service_task(self.node)
        spiff = SpiffTaskParser._parse_extensions(self.node)
        return self.scoped_class()(  # type: ignore[no-any-return]
            self.spec,
            self.bpmn_id,
            operation=ext["operation"] or "",
            parameters=ext["parameters"],
            result_variable=ext["result_variable"],
            retry=ext["retry"],
            external=ext["external"],
            prescript=spiff.get("preScript"),
            postscript=spiff.get("postScript"),
            **self.bpmn_attributes,
        )


class _DecisionParser(LocalScopes, CamundaLoops, SpiffTaskParser):  # type: ignore[misc]
    @staticmethod
    def get_decision_ref(node: Any) -> str | None:
        ref: str | None = dialects.read_business_rule_task(node)["decision_ref"]
        return ref

    def create_task(self) -> DecisionTask:
        ext = dialects.read_business_rule_task(self.node)
        spiff = SpiffTaskParser._parse_extensions(self.node)
        return self.scoped_class()(  # type: ignore[no-any-return]
            self.spec,
            self.bpmn_id,
            decision_ref=ext["decision_ref"] or "",
            result_variable=ext["result_variable"],
            map_result=ext["map_result"],
            prescript=spiff.get("preScript"),
            postscript=spiff.get("postScript"),
            **self.bpmn_attributes,
        )


class _ScopedCodes:
    """Error and escalation definitions that propagate scope by scope (see ``throwing``)."""

    def parse_error_event(self, error_event: Any) -> Any:
        return scoped(super().parse_error_event(error_event))  # type: ignore[misc]

    def parse_escalation_event(self, escalation_event: Any) -> Any:
        return scoped(super().parse_escalation_event(escalation_event))  # type: ignore[misc]


class _EndEventParser(_ScopedCodes, CompensationParsing,
                      SpiffEndEventParser):  # type: ignore[misc]
    """End events, with signal and compensation end events too (Camunda throws them;
    SpiffWorkflow 3.2 no)."""

    def create_task(self) -> Any:
        task = self.compensation_task(CompensationEndEvent)
        if task is None:
            definition = self.get_event_definition([
                MESSAGE_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH,
                ESCALATION_EVENT_XPATH, TERMINATION_EVENT_XPATH, SIGNAL_EVENT_XPATH])
            task = self._create_task(definition)
        task.connect(self.spec.end)
        return task


class _StartEventParser(_ScopedCodes, SpiffStartEventParser):  # type: ignore[misc]
    """Start events, with the error and escalation starts of event subprocesses."""

    def create_task(self) -> Any:
        definition = self.get_event_definition([
            MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
            CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH])
        task = self._create_task(definition)
        self.spec.start.connect(task)
        return task


class _BoundaryEventParser(_ScopedCodes, SpiffBoundaryEventParser):  # type: ignore[misc]
    pass


class _ThrowEventParser(_ScopedCodes, CompensationParsing,
                        SpiffIntermediateThrowEventParser):  # type: ignore[misc]
    """Intermediate throw events, with compensation throw events too."""

    def create_task(self) -> Any:
        return self.compensation_task(CompensationThrowEvent) or super().create_task()


class BridgeflowParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's spiff parser, with Bridgeflow's service, decision and human tasks."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        # Camunda runs a plain task and a manual task as pass-throughs, never as human tasks
        full_tag("task"): (_PassThroughParser, PassThroughTask),
        full_tag("manualTask"): (_PassThroughParser, PassThroughTask),
        full_tag("userTask"): (_HumanTaskParser, UserTask),
        full_tag("endEvent"): (_EndEventParser, EndEvent),
        full_tag("startEvent"): (_StartEventParser, StartEvent),
        full_tag("boundaryEvent"): (_BoundaryEventParser, BoundaryEvent),
        full_tag("intermediateThrowEvent"): (_ThrowEventParser, IntermediateThrowEvent),
        full_tag("serviceTask"): (_ServiceCallParser, ServiceCallTask),
        full_tag("sendTask"): SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("sendTask")],
        full_tag("businessRuleTask"): (_DecisionParser, DecisionTask),
        full_tag("scriptTask"): (_ScriptParser, ScriptTask),
        full_tag("subProcess"): (_SubProcessParser, SubWorkflowTask),
        full_tag("callActivity"): (_CallParser, CallActivityTask),
    }

    def __init__(self) -> None:
        super().__init__(validator=None)


@dataclass
class ParsedProcess:
    """A process found in a deployed BPMN file, ready to be stored as a definition."""

    key: str
    name: str | None
    filename: str
    source: bytes
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    decision_tasks: list[tuple[str, str]] = field(default_factory=list)  # (element id, ref)
    operations: list[str] = field(default_factory=list)
    message_starts: list[str] = field(default_factory=list)
    signal_starts: list[str] = field(default_factory=list)
    timer_start: str | None = None
    start_form: str | None = None  # the plain start event's form: checks start variables
    history_ttl_days: int | None = None  # camunda:historyTimeToLive; None: the default

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.source).hexdigest()


def _xml_problems(filename: str, source: bytes) -> tuple[Any, list[Problem]]:
    try:
        doc = etree.ElementTree(etree.fromstring(source, etree.XMLParser(resolve_entities=False,
                                                                         no_network=True)))
    except etree.XMLSyntaxError as exc:
        return None, [Problem(filename, f"not well-formed XML: {exc.msg}", exc.lineno)]
    root = doc.getroot()
    if etree.QName(root).namespace != dialects.BPMN_NS or local_name(root) != "definitions":
        return None, [Problem(filename, "not a BPMN 2.0 file: the root element must be "
                                        "bpmn:definitions", element_line(root))]
    problems = []
    if not VALIDATOR.validator.validate(doc):
        for err in VALIDATOR.validator.error_log:
            message, element_id = spiff_messages.schema_message(err.message, doc, err.line)
            problems.append(Problem(filename, message, err.line, element_id))
    return doc, problems


def _process_facts(process_node: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"forms": [], "decisions": [], "decision_tasks": [],
                             "operations": [],
                             "message_starts": [], "signal_starts": [], "timer_start": None,
                             "start_form": None}
    for node in process_node.xpath("./bpmn:startEvent", namespaces=NSMAP):
        form = dialects.read_human_task(node)["form_file"]
        plain = not node.xpath("./*[contains(local-name(), 'EventDefinition')]")
        if plain and form and form.endswith(".json"):
            facts["forms"].append(form)
            facts["start_form"] = form
    for node in process_node.xpath(".//bpmn:userTask", namespaces=NSMAP):
        form = dialects.read_human_task(node)["form_file"]
        if form and form.endswith(".json"):
            facts["forms"].append(form)
    for node in process_node.xpath(".//bpmn:businessRuleTask", namespaces=NSMAP):
        ref = dialects.read_business_rule_task(node)["decision_ref"]
        facts["decisions"].append(ref)
        facts["decision_tasks"].append((node.get("id") or "", ref))
    for node in process_node.xpath(".//bpmn:serviceTask", namespaces=NSMAP):
        facts["operations"].append(dialects.read_service_task(node)["operation"])
    return facts


_TTL = re.compile(r"(?:P(\d+)D|(\d+))")


def history_ttl(filename: str, process_node: Any) -> tuple[int | None, Problem | None]:
    """The process's ``camunda:historyTimeToLive`` in days (``180`` or ``P180D``), if given."""
    raw = process_node.get(f"{{{dialects.CAMUNDA_NS}}}historyTimeToLive")
    if raw is None or not raw.strip():
        return None, None
    match = _TTL.fullmatch(raw.strip())
    if match is None:
        return None, Problem(filename, f"historyTimeToLive '{raw}' is not a number of days: "
                             "write a whole number of days like 180, or a duration in days "
                             "like P180D", element_line(process_node), process_node.get("id"))
    return int(match.group(1) or match.group(2)), None


def parse_bpmn_files(
    files: Mapping[str, bytes],
    sandbox: Sandbox,
    *,
    known_operation: Callable[[str], bool] | None = None,
    extra_sources: Mapping[str, bytes] | None = None,
) -> tuple[list[ParsedProcess], list[Problem]]:
    """Parse every executable process in ``files``; return them and every problem found.

    ``extra_sources`` are already deployed files that call activities may refer to.
    """
    problems: list[Problem] = []
    docs: dict[str, Any] = {}
    readable: dict[str, Any] = {}  # the documents SpiffWorkflow may parse: no schema errors
    for filename, source in files.items():
        doc, found = _xml_problems(filename, source)
        problems.extend(found)
        if doc is None:
            continue
        dropped = deploy_checks.drop_non_executable(doc)
        if not doc.getroot().xpath("./bpmn:process", namespaces=NSMAP):
            problems.append(deploy_checks.no_process_problem(filename, dropped))
            continue
        checker = FileChecker(filename, doc, sandbox)
        checker.run()
        problems.extend(checker.problems)
        docs[filename] = doc
        if not found:
            readable[filename] = doc

    parser = BridgeflowParser()
    added = _add_documents(parser, readable, docs, extra_sources or {}, sandbox, problems)
    known = set(parser.get_process_ids()) | {  # with those of files SpiffWorkflow refused
        p.get("id") for doc in docs.values()
        for p in doc.getroot().xpath("./bpmn:process", namespaces=NSMAP)}
    for filename, doc in docs.items():
        problems.extend(deploy_checks.StructureCheck(
            filename, doc, supported=lambda tag: parser._get_parser_class(tag)[0] is not None,
            processes=known).run())

    parsed: list[ParsedProcess] = []
    for filename, doc in added.items():
        for process in doc.getroot().xpath("./bpmn:process", namespaces=NSMAP):
            if process.get("isExecutable", "true") != "true":
                continue
            key = process.get("id")
            try:
                spec = parser.get_spec(key)
                subs = parser.get_subprocess_specs(key)
            except ValidationException as exc:
                _add_unless_reported(problems, _validation_problem(exc, docs))
                continue
            facts = _process_facts(process)
            facts.update(_start_events(spec))
            facts["history_ttl_days"], bad_ttl = history_ttl(filename, process)
            if bad_ttl is not None:
                problems.append(bad_ttl)
            for op in facts["operations"]:
                if known_operation is not None and op and not known_operation(op):
                    node = process.xpath(".//bpmn:serviceTask", namespaces=NSMAP)
                    bad = [n for n in node if dialects.read_service_task(n)["operation"] == op]
                    problems.append(Problem(filename, f"unknown operation '{op}': no connector "
                                            "provides it", element_line(bad[0]) if bad else None,
                                            bad[0].get("id") if bad else None))
            parsed.append(ParsedProcess(key=key, name=process.get("name"), filename=filename,
                                        source=files[filename], spec=spec,
                                        subprocess_specs=subs, **facts))
    if not parsed and not problems:
        problems.append(Problem(next(iter(files)), "no executable process in the file"))
    return parsed, problems


def _start_events(spec: Any) -> dict[str, Any]:
    messages: list[str] = []
    signals: list[str] = []
    timer: str | None = None
    for task_spec in spec.task_specs.values():
        if type(task_spec).__name__ != "StartEvent":
            continue
        definition: Any = getattr(task_spec, "event_definition", None)
        kind = type(definition).__name__
        if "Message" in kind:
            messages.append(definition.name)
        elif "Signal" in kind:
            signals.append(definition.name)
        elif "Cycle" in kind or "TimeDate" in kind:
            timer = _literal_text(definition.expression)
    return {"message_starts": messages, "signal_starts": signals, "timer_start": timer}


def _literal_text(expression: str) -> str:
    """The text of a quoted literal (how ISO and cron timers are kept), else the expression."""
    try:
        value = ast.literal_eval(expression)
    except (ValueError, SyntaxError):
        return expression
    return value if isinstance(value, str) else expression


def _add_documents(parser: BridgeflowParser, readable: Mapping[str, Any],
                   docs: Mapping[str, Any], extra_sources: Mapping[str, bytes],
                   sandbox: Sandbox, problems: list[Problem]) -> dict[str, Any]:
    """Hand each document to SpiffWorkflow; one it refuses does not stop the others."""
    added: dict[str, Any] = {}
    for filename, doc in readable.items():
        try:
            parser.add_bpmn_xml(doc, filename)
        except ValidationException as exc:
            _add_unless_reported(problems, _validation_problem(exc, docs))
            continue
        added[filename] = doc
    for filename, source in extra_sources.items():
        if filename in docs:
            continue
        # deployed before, so already checked; it still needs the same rewriting
        # (``${…}`` → Python, timers) as when it was deployed
        extra = etree.ElementTree(etree.fromstring(source))
        FileChecker(filename, extra, sandbox).run()
        try:
            parser.add_bpmn_xml(extra, filename)
        except ValidationException as exc:
            _add_unless_reported(problems, _validation_problem(exc, {**docs, filename: extra}))
    return added


def _add_unless_reported(problems: list[Problem], problem: Problem) -> None:
    """Keep SpiffWorkflow's first problem of a process unless our checks named the element."""
    if problem.element_id and any(p.file == problem.file and p.element_id == problem.element_id
                                  for p in problems):
        return
    problems.append(problem)


def _validation_problem(exc: ValidationException, docs: Mapping[str, Any]) -> Problem:
    return spiff_messages.translate(str(exc), exc.id or None, exc.file_name or None, docs)
