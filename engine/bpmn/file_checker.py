"""Check one BPMN document at deploy time and rewrite what SpiffWorkflow cannot read as it is.

Camunda's ``${…}`` expressions become Python, link events become flows, Camunda's and
Zeebe's multi-instance attributes become BPMN's; every problem found is collected with its
line and element, so that an analyst sees them all at once.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from ..decision_results import MAPPINGS
from ..dmn.expressions import FeelSyntaxError, compile_feel, is_feel
from ..errors import Problem
from ..scripting import Mode, Sandbox, SandboxError
from ..timeutil import parse_datetime, parse_duration
from . import compensation, deploy_checks, dialects, listeners
from .call_activity import mapping_problems
from .dialects import NSMAP, element_line, local_name
from .multi_instance import rewrite_loop

RESERVED_IDS = {"Start", "End", "Root"}
# Elements that may hold local variables (camunda:inputOutput)
_LOCAL_SCOPES = {"task", "manualTask", "userTask", "serviceTask", "scriptTask",
                 "businessRuleTask", "subProcess"}
class FileChecker:
    """Collect every problem in one BPMN document and rewrite Camunda expressions."""

    def __init__(self, filename: str, doc: Any, sandbox: Sandbox) -> None:
        self.filename = filename
        self.doc = doc
        self.sandbox = sandbox
        self.problems: list[Problem] = []

    def problem(self, node: Any, message: str, line: int | None = None) -> None:
        """Record a problem of ``node`` (an element), at ``line`` or else at the element's."""
        element_id = node.get("id") if node is not None else None
        line = line or (element_line(node) if node is not None else None)
        self.problems.append(Problem(self.filename, message, line, element_id))

    def check_code(self, node: Any, source: str, mode: Mode, what: str,
                   line: int | None = None) -> None:
        if mode == "eval" and is_feel(source):  # ``=…``: FEEL, as Camunda 8 writes it
            try:
                compile_feel(source)
            except FeelSyntaxError as exc:
                self.problem(node, f"{what}: this FEEL expression cannot be read "
                                   f"{exc.describe()}", line)
            return
        try:
            self.sandbox.check(source, mode=mode, element_id=node.get("id"))
        except SandboxError as exc:
            self.problem(node, f"{what}: {exc.message}", line)

    def run(self) -> None:
        root = self.doc.getroot()
        for node in root.iter(etree.Element):
            element_id = node.get("id")
            if element_id in RESERVED_IDS and local_name(node) != "definitions":
                self.problem(node, f"the id '{element_id}' is reserved by the engine; "
                                   f"rename the element (for example '{element_id.lower()}_event')")
        for scope in root.xpath(".//bpmn:process | .//bpmn:subProcess", namespaces=NSMAP):
            self._links(scope)
        compensation.rewrite(root, self.problem)
        for node in root.xpath(".//bpmn:multiInstanceLoopCharacteristics", namespaces=NSMAP):
            self._loop(node)
        for node in root.xpath(".//*[bpmn:extensionElements/camunda:executionListener or "
                               "bpmn:extensionElements/camunda:taskListener]",
                               namespaces=NSMAP):
            listeners.place(self, node)
        for node in root.xpath(".//bpmn:callActivity", namespaces=NSMAP):
            for message in mapping_problems(node):
                self.problem(node, message)
        for node in root.xpath(".//bpmn:scriptTask", namespaces=NSMAP):
            self._script(node)
        for node in root.xpath(".//bpmn:conditionExpression", namespaces=NSMAP):
            self._condition(node, node.getparent())
        for node in root.xpath(".//bpmn:conditionalEventDefinition/bpmn:condition",
                               namespaces=NSMAP):
            self._condition(node, node.getparent().getparent())
        for tag in ("timeDuration", "timeDate", "timeCycle"):
            for node in root.xpath(f".//bpmn:{tag}", namespaces=NSMAP):
                self._timer(node)
        for node in root.xpath(".//bpmn:serviceTask", namespaces=NSMAP):
            self._service(node)
        for node in root.xpath(".//bpmn:businessRuleTask", namespaces=NSMAP):
            rule = dialects.read_business_rule_task(node)
            if not rule["decision_ref"]:
                self.problem(node, "business rule task names no decision: set "
                                   "camunda:decisionRef (or spiffworkflow:calledDecisionId)")
            if rule["map_result"] is not None and rule["map_result"] not in MAPPINGS:
                self.problem(node, f"camunda:mapDecisionResult '{rule['map_result']}' is not "
                                   f"one of {', '.join(MAPPINGS)}")
        for node in root.xpath(".//*[bpmn:extensionElements/camunda:inputOutput]",
                               namespaces=NSMAP):
            self._input_output(node)
        for node in root.xpath(".//bpmn:userTask", namespaces=NSMAP):
            due = (dialects.read_human_task(node)["due_date"] or "").strip()
            if due and not dialects.is_iso_timer(due):
                self.check_code(node, dialects.juel_to_python(due), "eval", "due date")
            elif due:
                try:
                    parse_duration(due) if due.startswith("P") else parse_datetime(due)
                except ValueError as exc:
                    self.problem(node, f"due date '{due}' cannot be used: {exc}")

    def _links(self, scope: Any) -> None:
        """Join each link throw event to the link catch event of its name, by a flow.

        A link is a sequence flow drawn in two pieces (BPMN 2.0, 10.5.6); SpiffWorkflow knows
        no link events, so the pair becomes a flow between two pass-through events. Links
        connect within one process or subprocess level, as in Camunda.
        """
        def links(tag: str) -> list[tuple[Any, str]]:
            found = []
            for event in scope.xpath(f"./bpmn:{tag}[bpmn:linkEventDefinition]",
                                     namespaces=NSMAP):
                definition = event.find(f"{{{dialects.BPMN_NS}}}linkEventDefinition")
                found.append((event, (definition.get("name") or event.get("name")
                                      or "").strip()))
            return found

        catches: dict[str, Any] = {}
        for event, name in links("intermediateCatchEvent"):
            if not name:
                self.problem(event, "link catch event has no name: give the link event "
                                    "definition the name its throw events use")
            elif name in catches:
                self.problem(event, f"two link catch events are named '{name}' in one "
                                    "process level; a link name must lead to one place")
            else:
                catches[name] = event
        for event, name in links("intermediateThrowEvent"):
            target = catches.get(name)
            if target is None:
                self.problem(event, f"link throw event '{name}' has no link catch event of "
                                    "that name in the same process level")
                continue
            flow = etree.SubElement(scope, f"{{{dialects.BPMN_NS}}}sequenceFlow")
            flow.set("id", f"{event.get('id')}__link__{target.get('id')}")
            flow.set("sourceRef", event.get("id"))
            flow.set("targetRef", target.get("id"))
            _drop_definition(event, "linkEventDefinition")
        for target in catches.values():  # a none intermediate event passes straight through
            _drop_definition(target, "linkEventDefinition")
            target.tag = f"{{{dialects.BPMN_NS}}}intermediateThrowEvent"

    def _loop(self, node: Any) -> None:
        rewrite_loop(node, self.problem)
        for tag, what in (("loopCardinality", "loop cardinality"),
                          ("completionCondition", "completion condition")):
            found = node.find(f"{{{dialects.BPMN_NS}}}{tag}")
            if found is not None and (found.text or "").strip():
                self.check_code(node.getparent(), found.text, "eval", what)

    def _script(self, node: Any) -> None:
        fmt = (node.get("scriptFormat") or "python").lower()
        if fmt not in ("python", "py", "text/x-python"):
            self.problem(node, f"script format '{fmt}' is not supported: scripts run here as "
                               "Python; rewrite it in Python (scriptFormat=\"python\") or use a "
                               "FEEL/JUEL expression")
            return
        script = node.find(f"{{{dialects.BPMN_NS}}}script")
        if script is None or not (script.text or "").strip():
            self.problem(node, "script task has no script")
            return
        self.check_code(node, script.text, "exec", "script")

    def _condition(self, node: Any, owner: Any) -> None:
        """A sequence flow's or a conditional event's condition, made Python (or FEEL)."""
        text = (node.text or "").strip()
        if not text:
            self.problem(owner, "condition expression is empty")
            return
        if not is_feel(text):  # FEEL (``=…``) stays as it is, for the FEEL engine
            node.text = dialects.juel_to_python(text)
        self.check_code(owner, node.text, "eval", "condition")

    def _timer(self, node: Any) -> None:
        text = (node.text or "").strip()
        event = node.getparent().getparent()
        kind = local_name(node)
        if not text:
            self.problem(event, f"timer {kind} is empty")
            return
        if dialects.is_cron(text) and not (kind == "timeCycle"
                                           and local_name(event) == "startEvent"):
            self.problem(event, f"cron expression '{text}' works only as the timeCycle of a "
                                "timer start event; use an ISO 8601 duration or date here")
            return
        unreadable = None if dialects.is_cron(text) else timer_problem(kind, text)
        if unreadable:
            self.problem(event, unreadable)
            return
        if kind == "timeCycle" and local_name(event) == "intermediateCatchEvent":
            if not dialects.is_iso_timer(text):
                self.problem(event, f"the cycle '{text}' of an intermediate timer must be "
                                    "written out (e.g. R3/PT10M): it waits for the first "
                                    "occurrence only, which Bridgeflow reads when deploying")
                return
            node, text = _first_occurrence(node, text)
        node.text = dialects.timer_to_python(text)
        self.check_code(event, node.text, "eval", "timer expression")

    def _service(self, node: Any) -> None:
        ext = dialects.read_service_task(node)
        if ext["java"]:
            self.problem(node, f"camunda:{ext['java']} on a service task is Java, which "
                               "Bridgeflow cannot run; " + deploy_checks.RUN_BY_OPERATION)
        elif not ext["operation"]:
            self.problem(node, "service task names no operation: set camunda:topic (with "
                               "camunda:type=\"external\") or a spiffworkflow:serviceTaskOperator")
        if "invalid" in ext["retry"]:
            self.problem(node, f"retry cycle '{ext['retry']['invalid']}' is not of the form "
                               "R<attempts>/<ISO duration>, e.g. R3/PT10S")
        for name, expression in ext["parameters"].items():
            self.check_code(node, expression, "eval", f"parameter '{name}'")


    def _input_output(self, node: Any) -> None:
        """Judge an activity's ``camunda:inputOutput``: where it may be, and every value."""
        kind = local_name(node)
        io = dialects.read_input_output(node)
        if io is None:
            return
        if kind == "callActivity":
            # camunda:in / camunda:out pass a called process its variables
            for name, _ in io["output"]:
                self.problem(node, f"camunda:outputParameter '{name}' on a call activity is "
                                   "not supported: give the value back with camunda:out")
            return
        if kind not in _LOCAL_SCOPES or node.get("triggeredByEvent") == "true":
            what = "an event subprocess" if kind == "subProcess" else \
                deploy_checks.words_with_article(kind)
            self.problem(node, f"camunda:inputOutput on {what} is not supported: Bridgeflow "
                               "keeps local variables on tasks and embedded subprocesses; set "
                               "the values in a script task before it, or after it")
            return
        if io["output"] and node.find(
                f"{{{dialects.BPMN_NS}}}multiInstanceLoopCharacteristics") is not None:
            self.problem(node, "camunda:outputParameter on a multi-instance activity is not "
                               "supported (nor by Camunda 7: every instance would overwrite "
                               "it): collect the results with an output collection instead")
        for direction, params in io.items():
            for name, value in params:
                what = f"camunda:{direction}Parameter '{name}'"
                if not name or not name.isidentifier():
                    self.problem(node, f"camunda:{direction}Parameter needs a variable name "
                                       f"(letters, digits and _), not '{name or ''}'")
                    continue
                self._parameter_value(node, value, what)

    def _parameter_value(self, node: Any, value: dict[str, Any], what: str) -> None:
        if "list" in value or "map" in value:
            items = value.get("list") or [item for _, item in value.get("map") or []]
            if any(key is None for key, _ in value.get("map") or []):
                self.problem(node, f"{what}: every camunda:entry of a camunda:map needs a key")
            for item in items:
                self._parameter_value(node, item, what)
            return
        line = value.get("line")
        if "unknown" in value:
            self.problem(node, f"{what}: camunda:{value['unknown']} cannot be a parameter's "
                               "value; use text, ${…}, =FEEL, camunda:list, camunda:map or a "
                               "Python camunda:script", line)
        elif "script" in value:
            fmt = value["format"] or "(none)"
            if value["resource"]:
                self.problem(node, f"{what}: a camunda:script from a resource is not "
                                   "supported: put the expression inline", line)
            elif fmt not in ("python", "py", "text/x-python"):
                self.problem(node, f"{what}: a camunda:script in '{fmt}' cannot run here; "
                                   "write the value as ${…}, as a FEEL expression (=…) or as "
                                   "a Python camunda:script (scriptFormat=\"python\")", line)
            elif not value["script"].strip():
                self.problem(node, f"{what}: the camunda:script is empty", line)
            else:
                self.check_code(node, value["script"].strip(), "eval",
                                f"{what} (a Python script here is one expression)", line)
        else:
            self.check_code(node, value["expr"], "eval", what, line)


_LOOKS_ISO = re.compile(r"^(R\d*/|P\d|PT\d|\d{4}-)", re.IGNORECASE)
_TIMER_EXAMPLES = {"timeDate": "a date-time such as 2025-03-01T09:00:00Z",
                   "timeDuration": "a duration such as PT10M or P1D",
                   "timeCycle": "a cycle such as R3/PT10M"}


def timer_problem(kind: str, text: str) -> str | None:
    """Why a timer's text cannot be read, or None: ISO text must hold real values, and
    anything else must be an expression."""
    iso = dialects.is_iso_timer(text)
    if text.startswith(("${", "#{")):
        return None  # JUEL, made Python and checked by the sandbox
    if not iso and not _LOOKS_ISO.match(text):
        try:
            compile(text, "<timer>", "eval")
        except SyntaxError:
            pass
        else:
            return None  # a Python expression (the spiff dialect), checked likewise
    try:
        for part in text.split("/"):
            if re.fullmatch(r"R\d*", part):
                continue
            if part.upper().startswith("P"):
                parse_duration(part)
            else:
                parse_datetime(part)
    except ValueError:
        iso = False
    if iso:
        return None
    return (f"timer {kind} '{text}' cannot be read: write it in ISO 8601, "
            f"{_TIMER_EXAMPLES.get(kind, 'e.g. PT10M')}, or as an expression ${{…}}")


def _first_occurrence(node: Any, text: str) -> tuple[Any, str]:
    """An intermediate timer's cycle as its first occurrence (Camunda 7 waits for that
    one only): ``R3/PT10M`` -> duration PT10M, ``R/2025-03-01T09:00Z/PT1H`` -> that date."""
    parts = [part for part in text.split("/") if not re.fullmatch(r"R\d*", part)]
    first = parts[0]
    node.tag = f"{{{dialects.BPMN_NS}}}" + ("timeDuration" if first.upper().startswith("P")
                                              else "timeDate")
    if first.upper().startswith("P") and len(parts) > 1:  # duration/end: end - duration
        node.tag = f"{{{dialects.BPMN_NS}}}timeDate"
        end = parse_datetime(parts[1])
        first = (end - parse_duration(first)).isoformat() + "Z"
    return node, first


def _drop_definition(event: Any, tag: str) -> None:
    for definition in event.findall(f"{{{dialects.BPMN_NS}}}{tag}"):
        event.remove(definition)
