"""Compensation as Camunda 7 runs it, on top of SpiffWorkflow (which has none).

At deploy time a compensation boundary event and its association become a mark on the
activity naming its handler, and what Bridgeflow cannot run is refused. At run time a
compensation throw event, when reached, runs the handler of every completed activity of its
process level (or of the one its ``activityRef`` names) once per completed execution, the
last completed first, one after the other, and goes on only when the last handler is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.parser.event_parsers import EventDefinitionParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import EventConverter
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

from .dialects import BPMN_NS, NSMAP, local_name

# The mark the deploy checks leave on an activity: the id of its compensation handler.
HANDLER = "{urn:bridgeflow:bpmn}compensationHandler"
HANDLER_KINDS = frozenset({"task", "userTask", "manualTask", "serviceTask", "sendTask",
                           "scriptTask", "businessRuleTask"})
ACTIVITIES = HANDLER_KINDS | {"receiveTask", "subProcess", "callActivity", "transaction"}
_SCOPES = ("subProcess", "transaction")
_PENDING = "bf_compensation_pending"  # handlers still to run: [handler spec, local variables]
_RUNNING = "bf_compensation_running"  # the handler task running now and its local names
_DONE = "bf_compensated"  # on a completed activity's task: its handler has been started

Report = Callable[[Any, str], None]


# -- deploy time ---------------------------------------------------------------------------

def rewrite(root: Any, report: Report) -> None:
    """Check every compensation of a document and turn its boundary events into marks.

    ``report(node, message)`` records a problem against an element. A compensation boundary
    event is removed from the document either way: SpiffWorkflow cannot read one.
    """
    scopes = root.xpath(".//bpmn:process | .//bpmn:subProcess | .//bpmn:transaction",
                        namespaces=NSMAP)
    for scope in scopes:
        for boundary in scope.xpath("./bpmn:boundaryEvent[bpmn:compensateEventDefinition]",
                                    namespaces=NSMAP):
            _boundary(root, scope, boundary, report)
            scope.remove(boundary)
    for scope in scopes:
        for throw in scope.xpath("./bpmn:intermediateThrowEvent[bpmn:compensateEventDefinition]"
                                 " | ./bpmn:endEvent[bpmn:compensateEventDefinition]",
                                 namespaces=NSMAP):
            _throw(scope, throw, report)


def _child(scope: Any, element_id: str | None) -> Any:
    found = scope.xpath("./*[@id=$id]", id=element_id or "")
    return found[0] if found else None


def _boundary(root: Any, scope: Any, boundary: Any, report: Report) -> None:
    activity = _child(scope, boundary.get("attachedToRef"))
    if activity is None or local_name(activity) not in ACTIVITIES:
        report(boundary, "this compensation boundary event is not attached to an activity of "
                         "the same process level: attach it to the task or subprocess it undoes")
        return
    targets = [a.get("targetRef") for a in root.xpath(".//bpmn:association[@sourceRef=$id]",
                                                      namespaces=NSMAP, id=boundary.get("id"))]
    if len(targets) != 1:
        report(boundary, "this compensation boundary event must be associated with exactly one "
                         f"compensation handler (it has {len(targets)}): connect it to the task "
                         "that undoes the activity")
        return
    handler = _child(scope, targets[0])
    if handler is None:
        report(boundary, f"the compensation handler '{targets[0]}' of this boundary event is "
                         "not an element of the same process level as the activity: move it "
                         "next to the activity")
        return
    if activity.get(HANDLER):
        report(boundary, f"activity '{activity.get('id')}' has two compensation boundary "
                         "events: keep one, with one handler")
        return
    if _handler_problem(scope, handler, report):
        return
    activity.set(HANDLER, handler.get("id"))


def _handler_problem(scope: Any, handler: Any, report: Report) -> bool:
    kind = local_name(handler)
    handler_id = handler.get("id")
    if kind not in HANDLER_KINDS:
        report(handler, f"a {kind} cannot be a compensation handler in Bridgeflow: make the "
                        "handler a script, service, user, business rule, send or plain task")
    elif handler.get("isForCompensation") != "true":
        report(handler, "this compensation handler is not marked for compensation: set "
                        "isForCompensation=\"true\" (the modeler's 'Compensation' marker)")
    elif scope.xpath("./bpmn:sequenceFlow[@sourceRef=$id or @targetRef=$id]",
                     namespaces=NSMAP, id=handler_id):
        report(handler, "a compensation handler has no sequence flows: remove the flows "
                        "into and out of it (it runs only when compensation is thrown)")
    elif handler.xpath("./bpmn:multiInstanceLoopCharacteristics | "
                       "./bpmn:standardLoopCharacteristics", namespaces=NSMAP):
        report(handler, "a compensation handler with loop or multi-instance markers is not "
                        "supported: compensate each instance with a plain handler instead")
    elif scope.xpath("./bpmn:boundaryEvent[@attachedToRef=$id]", namespaces=NSMAP,
                     id=handler_id):
        report(handler, "boundary events on a compensation handler are not supported: "
                        "remove them")
    else:
        return False
    return True


def _throw(scope: Any, throw: Any, report: Report) -> None:
    if scope.get("triggeredByEvent") == "true":
        report(throw, "throwing compensation inside an event subprocess is not supported "
                      "(Camunda would compensate the enclosing process level): throw it on "
                      "the path of the process or subprocess whose activities it undoes")
        return
    definition = throw.find(f"{{{BPMN_NS}}}compensateEventDefinition")
    ref = definition.get("activityRef")
    if ref:
        activity = _child(scope, ref)
        if activity is None or not activity.get(HANDLER):
            report(throw, f"this event compensates '{ref}', which is not an activity of the "
                          "same process level with a compensation boundary event and handler:"
                          " name such an activity in activityRef, or leave activityRef empty")
        return
    for sub in scope:
        if not isinstance(sub.tag, str) or local_name(sub) not in _SCOPES or sub.get(HANDLER):
            continue
        if sub.get("triggeredByEvent") == "true":
            continue
        inner = sub.xpath(f".//*[@*[local-name()='{HANDLER.split('}')[1]}']]")
        if inner:
            report(throw, f"compensation thrown here would also compensate the activities "
                          f"inside subprocess '{sub.get('id')}', which Bridgeflow does not do "
                          "(it compensates one process level): throw compensation inside "
                          "that subprocess, or give the subprocess a compensation handler of "
                          "its own")
            return


# -- parse time ----------------------------------------------------------------------------

class CompensationParsing(EventDefinitionParser):  # type: ignore[misc]
    """Parser mixin for end and intermediate throw events that may throw compensation."""

    def compensation_task(self, spec_class: type) -> Any:
        """The spec of a compensation throw, with its handlers parsed; None if it is none."""
        definition = self.node.find(f"{{{BPMN_NS}}}compensateEventDefinition")
        if definition is None:
            return None
        ref = definition.get("activityRef")
        handlers: dict[str, str] = {}
        for activity in self.process_parser.node:
            if not isinstance(activity.tag, str) or not activity.get(HANDLER):
                continue
            if ref and activity.get("id") != ref:
                continue
            handler = self.process_parser.get_node_by_id(activity.get(HANDLER))
            handlers[activity.get("id")] = self.process_parser.parse_node(handler).name
        task = spec_class(self.spec, self.bpmn_id, event_definition=NoneEventDefinition(),
                          handlers=handlers, **self.bpmn_attributes)
        for name in handlers.values():
            # a handler is entered from the throw events that run it, but is none of their
            # outputs: the path after the throw does not lead through it
            self.spec.task_specs[name]._inputs.append(task.name)
        return task


# -- run time ------------------------------------------------------------------------------

class _Compensating:
    """Run the handlers of the completed activities of this process level, then go on."""

    handlers: dict[str, str]  # activity spec name -> handler spec name

    def _update_hook(self, my_task: Any) -> bool:
        if _PENDING not in my_task.internal_data:
            super()._update_hook(my_task)  # type: ignore[misc]  # inherit the path's data
            my_task.internal_data[_PENDING] = self._to_compensate(my_task)
        running = my_task.internal_data.get(_RUNNING)
        if running is not None:
            child = next(c for c in my_task.children if str(c.id) == running["task"])
            if not child.has_state(TaskState.FINISHED_MASK):
                return False
            if child.state == TaskState.COMPLETED:  # the handler's writes are the process's
                my_task.data.update({k: v for k, v in child.data.items()
                                     if k not in running["local"]})
            my_task.internal_data[_RUNNING] = None
        pending = my_task.internal_data[_PENDING]
        if not pending:
            return True
        handler, local = pending.pop(0)
        if my_task.state != TaskState.WAITING:
            my_task._set_state(TaskState.WAITING)
        child = my_task._add_child(my_task.workflow.spec.task_specs[handler], TaskState.WAITING)
        child.triggered = True  # never dropped when the event's outputs are predicted
        my_task.internal_data[_RUNNING] = {"task": str(child.id), "local": sorted(local)}
        child.task_spec._update(child)
        child.data.update(local)
        return False

    def _to_compensate(self, my_task: Any) -> list[list[Any]]:
        """[handler spec, local variables] per completed execution, last completed first."""
        found: list[tuple[float, int, str, dict[str, Any]]] = []
        for task in my_task.workflow.get_tasks(state=TaskState.COMPLETED):
            handler = self.handlers.get(task.task_spec.name)
            if handler is None or task.workflow is not my_task.workflow \
                    or task.internal_data.get(_DONE):
                continue
            task.internal_data[_DONE] = True  # Camunda compensates an execution once
            for execution, local in _executions(task):
                found.append((execution.last_state_change, execution.depth, handler, local))
        found.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [[handler, local] for _time, _depth, handler, local in found]


def _executions(task: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The completed executions of an activity's task: its instances if multi-instance, with
    the local variables (element variable, loop counter) each handler call sees."""
    spec = task.task_spec
    if not isinstance(spec, LoopTask):
        return [(task, {})]
    names = spec._local_names() if hasattr(spec, "_local_names") else ["loopCounter"]
    return [(child, {k: child.data[k] for k in names if k in child.data})
            for child in task.children
            if child.task_spec.name == spec.task_spec and child.state == TaskState.COMPLETED]


class CompensationThrowEvent(_Compensating, IntermediateThrowEvent):  # type: ignore[misc]
    """An intermediate throw event with a compensate event definition."""

    def __init__(self, wf_spec: Any, bpmn_id: str, handlers: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.handlers = dict(handlers or {})


class CompensationEndEvent(_Compensating, EndEvent):  # type: ignore[misc]
    """An end event with a compensate event definition."""

    def __init__(self, wf_spec: Any, bpmn_id: str, handlers: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.handlers = dict(handlers or {})


class CompensationConverter(EventConverter):  # type: ignore[misc]
    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["handlers"] = dict(spec.handlers)
        return dct
