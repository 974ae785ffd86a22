"""Camunda's execution and task listeners: checked at deploy, and where each one runs.

On a task, subprocess or call activity a listener becomes SpiffWorkflow's pre- or
post-script (``place``). On an event or a gateway the runner runs it (``event_listeners``,
read with the spec); on a sequence flow the flow is split by a pass-through task that runs
it (``take``); a user task's ``assignment`` listeners run when the task is claimed. Complete
and assignment listeners read ``task`` (``task_in_view``), never a process variable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

from . import deploy_checks, dialects
from .dialects import NSMAP, local_name


class Checker(Protocol):
    """What placing listeners reports to: the file checker."""

    def problem(self, node: Any, message: str, line: int | None = None) -> None: ...

    def check_code(self, node: Any, source: str, mode: Any, what: str,
                   line: int | None = None) -> None: ...


# Where a listener's script goes: SpiffWorkflow's pre-script (when the task is reached) or
# post-script (when it completes); these elements have them.
_EXECUTION_EVENTS = {"start": "preScript", "end": "postScript"}
_TASK_EVENTS = {"create": "preScript", "complete": "postScript"}
_SCRIPTABLE = {"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
               "receiveTask", "manualTask", "subProcess", "callActivity"}
# Events and gateways run execution listeners through the runner (``event_listeners``).
_LISTENING = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
              "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
              "eventBasedGateway"}
# ``${execution.setVariable('name', value)}``: the one JUEL statement listeners are made of
_SET_VARIABLE = re.compile(r"^\s*[$#]\{\s*execution\s*\.\s*setVariable\(\s*(['\"])"
                           r"(?P<name>[A-Za-z_]\w*)\1\s*,(?P<value>.*)\)\s*\}\s*$", re.DOTALL)


def place(checker: Checker, node: Any) -> None:
    """Camunda's script and expression listeners.

    On a task, subprocess or call activity they run as SpiffWorkflow's pre/post scripts:
    an execution listener on ``start`` and a task listener on ``create`` when the task is
    reached, before it runs or waits; ``end`` and ``complete`` ones when it completes.
    On an event or a gateway, execution listeners run when it completes (a catch event:
    when it is caught), ``start`` ones first (``event_listeners``). Listeners in Java are
    refused by the deploy checks.
    """
    kind = local_name(node)
    if kind == "sequenceFlow":
        _split_flow(checker, node)
        return
    slots: dict[str, list[str]] = {"preScript": [], "postScript": []}
    for listener in _listeners_of(node):
        if any(listener.get(a) for a in deploy_checks.JAVA_ATTRIBUTES):
            continue  # refused, with its own message, by the deploy checks
        tag, event = local_name(listener), (listener.get("event") or "").strip()
        if kind == "userTask" and tag == "taskListener" and event == "assignment":
            code, problem = listener_code(listener, tag)  # run by the engine on claim
            if problem is not None:
                checker.problem(node, problem)
            elif code is not None:
                checker.check_code(node, code, "exec", f"{tag} script")
            continue
        slot = (_EXECUTION_EVENTS if tag == "executionListener" else _TASK_EVENTS).get(event)
        if slot is None:
            allowed = ("start and end (and take on sequence flows)"
                       if tag == "executionListener" else
                       "create, assignment and complete")
            checker.problem(node, f"a camunda:{tag} on '{event or '(no event)'}' is not "
                               f"supported: Bridgeflow runs {tag}s on {allowed}; move the "
                               "work into a script task")
            continue
        if kind in _LISTENING and tag == "executionListener":
            code, problem = listener_code(listener, tag)
            if problem is not None:
                checker.problem(node, problem)
            elif code is not None:
                checker.check_code(node, code, "exec", f"{tag} script")
            continue
        if kind not in _SCRIPTABLE:
            where = ("user tasks" if tag == "taskListener" else
                     "tasks, subprocesses, call activities, events and gateways")
            checker.problem(node, f"a camunda:{tag} on {deploy_checks.words_with_article(kind)}"
                               f" is not supported: Bridgeflow runs them on {where}; put a "
                               "script task here")
            continue
        code, problem = listener_code(listener, tag)
        if problem is not None:
            checker.problem(node, problem)
        elif code is not None:
            slots[slot].append(code)
    extensions = node.find(f"{{{dialects.BPMN_NS}}}extensionElements")
    for slot, scripts in slots.items():
        if not scripts or extensions is None:
            continue
        element = extensions.find(f"{{{dialects.SPIFF_NS}}}{slot}")
        if element is None:
            element = etree.SubElement(extensions, f"{{{dialects.SPIFF_NS}}}{slot}")
        element.text = "\n".join([*([element.text] if element.text else []), *scripts])
        checker.check_code(node, element.text, "exec", f"{tag} script")

def _split_flow(checker: Checker, flow: Any) -> None:
    """Execution listeners on a sequence flow run when a token takes it (Camunda's
    ``take``): the flow is split by a pass-through task that runs them as its script,
    named after the flow (the audit trail shows the flow, see ``dialects.TAKEN``)."""
    codes = []
    for listener in _listeners_of(flow):
        event = (listener.get("event") or "take").strip()
        if local_name(listener) != "executionListener" or event != "take":
            checker.problem(flow, f"a camunda:{local_name(listener)} on '{event}' cannot be on "
                               "a sequence flow: a flow has only take listeners")
            continue
        if any(listener.get(a) for a in deploy_checks.JAVA_ATTRIBUTES):
            continue  # refused, with its own message, by the deploy checks
        code, problem = listener_code(listener, "executionListener")
        if problem is not None:
            checker.problem(flow, problem)
        elif code is not None:
            codes.append(code)
    source = flow.getroottree().xpath("//*[@id=$id]", id=flow.get("sourceRef") or "")
    if source and local_name(source[0]) == "eventBasedGateway":
        checker.problem(flow, "a take listener on a flow out of an event-based gateway cannot "
                           "run (the flow must lead straight to its event): put it on the "
                           "event's end listener instead")
        return
    if not codes:
        return
    checker.check_code(flow, "\n".join(codes), "exec", "take listener script")
    flow_id, target = flow.get("id"), flow.get("targetRef")
    step_id = f"{flow_id}{dialects.TAKEN}"
    step = etree.Element(f"{{{dialects.BPMN_NS}}}task", id=step_id)
    extensions = etree.SubElement(step, f"{{{dialects.BPMN_NS}}}extensionElements")
    etree.SubElement(extensions, f"{{{dialects.SPIFF_NS}}}preScript").text = "\n".join(codes)
    rest = etree.Element(f"{{{dialects.BPMN_NS}}}sequenceFlow", id=f"{flow_id}__rest",
                         sourceRef=step_id, targetRef=target or "")
    flow.set("targetRef", step_id)
    flow.addnext(step)
    step.addnext(rest)


def _listeners_of(node: Any) -> list[Any]:
    found: list[Any] = node.xpath("./bpmn:extensionElements/camunda:executionListener | "
                                  "./bpmn:extensionElements/camunda:taskListener",
                                  namespaces=NSMAP)
    return found


def listener_code(listener: Any, tag: str) -> tuple[str | None, str | None]:
    """The Python a listener runs (its inline script, or its expression as a statement), or
    the problem that keeps it from running."""
    script = listener.find(f"{{{dialects.CAMUNDA_NS}}}script")
    expression = (listener.get("expression") or "").strip()
    if script is not None:
        fmt = (script.get("scriptFormat") or "python").lower()
        if script.get("resource"):
            return None, (f"a camunda:{tag} script from a resource is not supported: put the "
                          "script inline")
        if fmt not in ("python", "py", "text/x-python"):
            return None, (f"a camunda:{tag} script in '{fmt}' cannot run: scripts run here as "
                          "Python; rewrite it in Python")
        if not (script.text or "").strip():
            return None, f"a camunda:{tag} has an empty script"
        return str(script.text).strip(), None
    if expression:
        assignment = _SET_VARIABLE.match(expression)
        if assignment is not None:
            value = dialects.juel_to_python("${" + assignment.group("value") + "}")
            return f"{assignment.group('name')} = {value}", None
        return dialects.juel_to_python(expression), None
    return None, f"a camunda:{tag} has neither a script nor an expression"


def event_listeners(source: str | bytes) -> dict[str, str]:
    """The execution listeners of a file's events and gateways (element id → the Python they
    run, ``start`` listeners first) and the assignment listeners of its user tasks (element
    id + ``ASSIGNMENT``); the deploy checks refused any that cannot run."""
    root: Any = etree.fromstring(source.encode() if isinstance(source, str) else source,
                                 etree.XMLParser(resolve_entities=False, no_network=True))
    out: dict[str, str] = {}
    for kind in sorted(_LISTENING):
        node: Any
        for node in root.xpath(f"//bpmn:{kind}[bpmn:extensionElements/camunda:"
                               "executionListener]", namespaces=NSMAP):
            listeners = [item for item in _listeners_of(node)
                         if local_name(item) == "executionListener"]
            listeners.sort(key=lambda item: (item.get("event") or "").strip() != "start")
            codes = [listener_code(item, "executionListener")[0] for item in listeners]
            if any(codes):
                out[str(node.get("id"))] = "\n".join(code for code in codes if code)
    for node in root.xpath("//bpmn:userTask[bpmn:extensionElements/camunda:taskListener"
                           "[@event='assignment']]", namespaces=NSMAP):
        codes = [listener_code(item, "taskListener")[0] for item in _listeners_of(node)
                 if (item.get("event") or "").strip() == "assignment"]
        if any(codes):
            key = f"{node.get('id')}{dialects.ASSIGNMENT}"
            out[key] = "\n".join(code for code in codes if code)
    return out


_TASK_VIEW = "bf_task_view"  # on a multi-instance task: it holds the ``task`` listeners read


@contextmanager
def task_in_view(task: Any, about: dict[str, Any] | None) -> Iterator[None]:
    """``task`` as a variable while a task listener runs (unless the process has a variable
    of that name), gone afterwards from every task it reached, except the multi-instance
    activity around the task while it runs on: its complete listeners run when its last
    instance completes, and read the last ``task`` (``drop_task_view`` clears it then)."""
    if about is None or "task" in task.data:
        yield
        return
    workflow = task.workflow.top_workflow
    holding = {t.id for t in workflow.get_tasks() if "task" in t.data}
    task.data["task"] = about
    loop = task.parent if task.parent is not None and isinstance(task.parent.task_spec,
                                                                  LoopTask) else None
    try:
        yield
    finally:
        for reached in workflow.get_tasks():
            if reached.id in holding or "task" not in reached.data:
                continue
            if reached is loop and not loop.has_state(TaskState.FINISHED_MASK):
                loop.internal_data[_TASK_VIEW] = True
                continue
            reached.data.pop("task")


def drop_task_view(task: Any) -> None:
    """A multi-instance activity completed: the ``task`` its listeners read goes."""
    if task.internal_data.pop(_TASK_VIEW, None):
        for reached in [task, *task.children]:
            reached.data.pop("task", None)
