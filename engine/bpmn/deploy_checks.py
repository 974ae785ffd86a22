"""Say what would stop or silently change a BPMN file, in sentences an analyst can act on.

SpiffWorkflow stops at the first problem of a process and words it for its own developers; the
checks here find what it would refuse (or quietly ignore) in every process at once, and
``spiff_messages.translate`` rewords what it still raises with the sentences kept here, so a
problem found by both reads as one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from ..errors import Problem
from .dialects import BPMN_NS, CAMUNDA_NS, NSMAP, element_line, local_name

FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "task", "userTask", "manualTask", "serviceTask", "sendTask",
    "receiveTask", "scriptTask", "businessRuleTask", "callActivity", "subProcess",
    "transaction", "adHocSubProcess", "exclusiveGateway", "inclusiveGateway",
    "parallelGateway", "eventBasedGateway", "complexGateway", "callChoreography",
    "choreographyTask", "subChoreography",
})
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway",
                      "eventBasedGateway", "complexGateway"})
SCOPES = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})

# What SpiffWorkflow reads on each kind of event; any other definition would be dropped and
# the event would behave as a plain one. Link events are joined up before these checks run.
EVENT_DEFINITIONS: Mapping[str, frozenset[str]] = {
    "startEvent": frozenset({"message", "signal", "timer", "conditional", "error",
                             "escalation"}),
    "endEvent": frozenset({"message", "cancel", "error", "escalation", "terminate", "signal",
                           "compensate"}),
    "intermediateCatchEvent": frozenset({"message", "signal", "timer", "conditional", "link"}),
    "intermediateThrowEvent": frozenset({"message", "signal", "escalation", "link",
                                         "compensate"}),
    "boundaryEvent": frozenset({"message", "signal", "timer", "conditional", "error",
                                "escalation", "cancel"}),
}
_EVENT_ADVICE = {
    "error": "catch the error with an error boundary event on the task or subprocess that "
             "throws it",
    "escalation": "catch the escalation with an escalation boundary event on the subprocess",
    "timer": "use an intermediate timer catch event to wait",
}
_NODE_ADVICE = {
    "complexGateway": "use an inclusive gateway (several paths by condition) or a parallel "
                      "gateway",
    "callChoreography": "choreographies only describe message exchanges; model each "
                        "participant's own process",
    "choreographyTask": "choreographies only describe message exchanges; model each "
                        "participant's own process",
    "subChoreography": "choreographies only describe message exchanges; model each "
                       "participant's own process",
}
_OUTSIDE_EVENT_SUBPROCESS = {
    short: f"{article} start event can only start an event subprocess: put it in a subprocess "
           "marked 'event subprocess' (triggeredByEvent=\"true\")" + advice
    for short, article, advice in (
        ("error", "an error", ", or catch the error with an error boundary event"),
        ("escalation", "an escalation",
         ", or catch the escalation with an escalation boundary event"),
        ("conditional", "a conditional",
         "; Bridgeflow starts processes by a call, a message, a signal or a timer"))}
JAVA_ATTRIBUTES = ("class", "delegateExpression")
RUN_BY_OPERATION = ("Bridgeflow runs a service task by a connector operation or as an external "
                    "task: set camunda:type=\"external\" and a camunda:topic, which a "
                    "worker in any language fetches")
RUN_BY_DECISION = ("Bridgeflow evaluates business rule tasks with DMN: set camunda:decisionRef "
                   "to the id of a deployed decision")
_REFS = {"message": "messageRef", "signal": "signalRef", "error": "errorRef",
         "escalation": "escalationRef"}


def _words(tag: str) -> str:
    """``exclusiveGateway`` -> ``exclusive gateway``."""
    return re.sub(r"(?<!^)([A-Z])", lambda m: " " + m.group(1).lower(), tag)


def _children(node: Any, tag: str) -> list[Any]:
    return list(node.findall(f"{{{BPMN_NS}}}{tag}"))


def running_scopes(doc: Any) -> Iterator[Any]:
    """Every executable process of ``doc`` and every subprocess inside one."""
    for process in doc.getroot().xpath("./bpmn:process", namespaces=NSMAP):
        if process.get("isExecutable", "true") != "true":
            continue
        yield process
        yield from (node for node in process.iter(f"{{{BPMN_NS}}}*")
                    if local_name(node) in SCOPES and node is not process)


def drop_non_executable(doc: Any) -> list[str]:
    """Remove the processes not marked executable (``isExecutable="false"``); return their ids.

    They never run here, so nothing in them is checked or parsed; a call activity cannot
    call them either (SpiffWorkflow refuses a non-executable called process).
    """
    dropped = []
    for process in doc.getroot().xpath("./bpmn:process", namespaces=NSMAP):
        if process.get("isExecutable", "true") == "true":
            continue
        dropped.append(process.get("id") or "?")
        doc.getroot().remove(process)
    return dropped


def no_process_problem(filename: str, dropped: list[str]) -> Problem:
    """The reason a file holds nothing that can run."""
    if dropped:
        names = ", ".join(f"'{pid}'" for pid in dropped)
        return Problem(filename, f"nothing in this file can run: process {names} is marked "
                                 "isExecutable=\"false\" (a documentation-only model); tick "
                                 "'Executable' in the modeler (isExecutable=\"true\") to run it")
    return Problem(filename, "nothing in this file can run: it has no bpmn:process (only "
                             "diagrams or a collaboration without processes)")


class StructureCheck:
    """Find every problem SpiffWorkflow would stop at or ignore, in each running process."""

    def __init__(self, filename: str, doc: Any, *, supported: Callable[[str], bool],
                 processes: Collection[str]) -> None:
        self.filename = filename
        self.doc = doc
        self.supported = supported
        self.processes = processes
        self.problems: list[Problem] = []

    def problem(self, node: Any, message: str) -> None:
        self.problems.append(Problem(self.filename, message, element_line(node), node.get("id")))

    def run(self) -> list[Problem]:
        root = self.doc.getroot()
        for store in root.xpath(".//bpmn:dataStore", namespaces=NSMAP):
            self.problem(store, data_store_message(store.get("name") or store.get("id") or ""))
        for scope in running_scopes(self.doc):
            self._scope(scope)
            if local_name(scope) == "process":  # a subprocess is a node of its parent
                self._java(scope)
            for node in scope:
                if isinstance(node.tag, str):
                    self._java(node)
        return self.problems

    def _scope(self, scope: Any) -> None:
        ids = {node.get("id") for node in scope if isinstance(node.tag, str)}
        flows = _children(scope, "sequenceFlow")
        outgoing: dict[str, list[str]] = {}
        for flow in flows:
            for end, verb in (("sourceRef", "starts at"), ("targetRef", "leads to")):
                ref = flow.get(end)
                if ref not in ids:
                    self.problem(flow, flow_end_message(verb, ref))
            outgoing.setdefault(flow.get("sourceRef"), []).append(flow.get("id"))
        for node in scope:
            if not isinstance(node.tag, str) or node.tag.split("}")[0] != f"{{{BPMN_NS}":
                continue
            kind = local_name(node)
            if kind not in FLOW_NODES:
                continue
            if not self.supported(node.tag):
                self.problem(node, unsupported_message(kind))
                continue
            leaving = outgoing.get(node.get("id"), [])
            if kind in GATEWAYS and not leaving:
                self.problem(node, "no sequence flow leaves this gateway: connect it to the "
                                   "paths it chooses between (or remove it)")
            default = node.get("default")
            if default and default not in leaving:
                self.problem(node, f"the default flow '{default}' is not a sequence flow "
                                   "leaving this element: pick one of its outgoing flows as "
                                   "the default")
            if kind in EVENT_DEFINITIONS:
                self._event(node, kind)
            if kind == "callActivity":
                self._call(node)

    def _event(self, node: Any, kind: str) -> None:
        for definition in node:
            if not isinstance(definition.tag, str):
                continue
            name = local_name(definition)
            if not name.endswith("EventDefinition"):
                continue
            short = name[: -len("EventDefinition")]
            if short not in EVENT_DEFINITIONS[kind]:
                self.problem(node, event_message(short, kind))
                continue
            if kind == "startEvent" and short in ("error", "escalation", "conditional"):
                self._event_subprocess_start(node, short)
            attribute = _REFS.get(short)
            ref = definition.get(attribute) if attribute else None
            if ref and not self.doc.getroot().xpath(f"./bpmn:{short}[@id=$ref]",
                                                    namespaces=NSMAP, ref=ref):
                self.problem(node, f"this {_words(kind)} refers to {short} '{ref}', which is "
                                   f"not defined in the file: add a bpmn:{short} with that id "
                                   "(the modeler's 'Global " + short + " reference')")

    def _event_subprocess_start(self, node: Any, short: str) -> None:
        """Error, escalation and conditional starts belong to event subprocesses."""
        parent = node.getparent()
        if not (local_name(parent) == "subProcess"
                and parent.get("triggeredByEvent") == "true"):
            self.problem(node, _OUTSIDE_EVENT_SUBPROCESS[short])
        elif short == "error" and node.get("isInterrupting") == "false":
            self.problem(node, "an error start event is always interrupting: untick "
                               "'Non-interrupting' (isInterrupting=\"false\") or use an "
                               "escalation, which may leave the process running")

    def _call(self, node: Any) -> None:
        called = node.get("calledElement")
        if not called:
            return
        if "${" in called or "#{" in called:
            self.problem(node, f"calledElement '{called}' is an expression; name the called "
                               "process by its id")
        elif called not in self.processes:
            self.problem(node, call_message(called))

    def _java(self, node: Any) -> None:
        kind = local_name(node)
        if kind in ("sendTask", "businessRuleTask"):
            for attribute in (*JAVA_ATTRIBUTES, "expression"):
                if node.get(f"{{{CAMUNDA_NS}}}{attribute}"):
                    self.problem(node, f"camunda:{attribute} on {_a(_words(kind))} is Java, "
                                       "which Bridgeflow cannot run; " + (
                                           RUN_BY_DECISION if kind == "businessRuleTask"
                                           else RUN_BY_OPERATION))
        for listener in node.xpath("./bpmn:extensionElements/camunda:executionListener"
                                   " | ./bpmn:extensionElements/camunda:taskListener",
                                   namespaces=NSMAP):
            for attribute in JAVA_ATTRIBUTES:
                if listener.get(attribute):
                    self.problem(node, f"camunda:{local_name(listener)} with {attribute}="
                                       f"'{listener.get(attribute)}' is Java, which Bridgeflow "
                                       "cannot run; do the work in a script task or a service "
                                       "task with an operation instead")


# -- shared wording ----------------------------------------------------------------------
def flow_end_message(verb: str, ref: str | None) -> str:
    if not ref:
        end = "source" if verb == "starts at" else "target"
        return f"this sequence flow has no {end}: connect both of its ends"
    return (f"this sequence flow {verb} '{ref}', which is not an element of the same process "
            "or subprocess: reconnect it in the modeler")


def unsupported_message(kind: str) -> str:
    advice = _NODE_ADVICE.get(kind)
    text = f"{_a(_words(kind))} is not supported by Bridgeflow"
    return f"{text}; {advice}" if advice else text


def _a(words: str) -> str:
    return f"an {words}" if words[:1] in "aeiou" else f"a {words}"


def event_message(short: str, kind: str) -> str:
    if short == "compensate" and kind == "startEvent":
        return ("a compensation event subprocess is not supported: attach a compensation "
                "boundary event to each activity to undo, associated with its handler task")
    if short == "compensate":
        return (f"compensation on {_a(_words(kind))} is not supported: throw compensation "
                "with an intermediate throw or end event, and catch it with a compensation "
                "boundary event on the activity")
    text = f"{_a(short)} event definition on {_a(_words(kind))} is not supported"
    advice = _EVENT_ADVICE.get(short)
    return f"{text}; {advice}" if advice else text


def call_message(called: str) -> str:
    return (f"this call activity calls process '{called}', which is neither in this "
            "deployment nor deployed before: deploy its BPMN file with this one, or fix "
            "calledElement")


def data_store_message(name: str) -> str:
    return (f"data store '{name}' is not supported: Bridgeflow keeps data in process "
            "variables; read and write outside data with a service task")


MULTIPLE_OUTGOING = ("several sequence flows leave this element, which Bridgeflow cannot split "
                     "by itself: put a parallel gateway (take all paths) or an exclusive "
                     "gateway (choose one) after it")


def words_with_article(tag: str) -> str:
    """``exclusiveGateway`` -> ``an exclusive gateway``, for messages elsewhere."""
    return _a(_words(tag))
