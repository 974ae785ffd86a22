"""Where a thrown BPMN error or escalation lands, scope by scope, as in Camunda 7.

From the task that throws outwards: the boundary events of the throwing activity, then the
event subprocesses of its scope, then the boundary events of the subprocess (or call
activity) holding that scope, then the event subprocesses of the scope around it, and so on
up to the process. A catcher for the exact code wins over a catch-all one at the same place.
Nothing catches it: an error end event then ends its path like a none end event and an
escalation is ignored (Camunda 7); a service task's error is reported to the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from . import catching

log = logging.getLogger(__name__)


class ScopedErrorEventDefinition(ErrorEventDefinition):  # type: ignore[misc]
    """An error event whose throw reaches the nearest catcher, scope by scope."""

    def throw(self, my_task: Any) -> None:
        event = BpmnEvent(self, payload=_payload(self, my_task))
        if not propagate(my_task, event):
            # nothing in the process catches it: kept for the engine, which hands it to the
            # call activity of the instance's caller, if it has one
            my_task.workflow.top_workflow.bpmn_events.append(event)


class ScopedEscalationEventDefinition(EscalationEventDefinition):  # type: ignore[misc]
    """An escalation event whose throw reaches the nearest catcher, scope by scope."""

    def throw(self, my_task: Any) -> None:
        event = BpmnEvent(self, payload=_payload(self, my_task))
        if not propagate(my_task, event):
            # ignored here (Camunda 7), but a caller's call activity may catch it
            my_task.workflow.top_workflow.bpmn_events.append(event)


SCOPED = {ErrorEventDefinition: ScopedErrorEventDefinition,
          EscalationEventDefinition: ScopedEscalationEventDefinition}


def scoped(definition: Any) -> Any:
    """The scoped twin of an error or escalation definition the parser made (else as is)."""
    twin = SCOPED.get(type(definition))
    if twin is None:
        return definition
    return twin(definition.name, expression=definition.expression,
                variable=definition.variable, code=definition.code,
                description=definition.description)


def _payload(definition: Any, task: Any) -> Any:
    if definition.expression is None:
        return None
    return task.workflow.script_engine.evaluate(task, definition.expression)


def propagate(thrower: Any, event: Any, variables: dict[str, Any] | None = None) -> bool:
    """Hand ``event`` to the nearest catcher around ``thrower``; False when none catches it.

    ``variables`` are written where it is caught (a service task's error code and message).
    """
    activity, scope = thrower, thrower.workflow
    while scope is not None:
        if _catch_on_boundary(activity, event, variables):
            return True
        if _start_event_subprocess(scope, event, variables):
            return True
        if scope.parent_workflow is None:
            break
        activity = scope.top_workflow.get_task_from_id(scope.parent_task_id)
        scope = activity.workflow
    kind = type(event.event_definition).__name__
    log.info("%s '%s' thrown at %s reached no catcher", kind, event.event_definition.code,
             thrower.task_spec.bpmn_id)
    return False


def _best(candidates: list[tuple[Any, Any]], event: Any) -> tuple[Any, Any] | None:
    """The catcher for the exact code, else a catch-all one, of (task or spec, definition)."""
    matching = [c for c in candidates if c[1] == event.event_definition]
    exact = [c for c in matching if c[1].code is not None]
    best = exact or matching
    return best[0] if best else None


def _catch_on_boundary(activity: Any, event: Any, variables: dict[str, Any] | None) -> bool:
    split = activity.parent
    if split is None or type(split.task_spec).__name__ != "BoundaryEventSplit":
        return False
    waiting = [(t, t.task_spec.event_definition) for t in split.children
               if isinstance(t.task_spec, BoundaryEvent) and t.state == TaskState.WAITING]
    found = _best(waiting, event)
    if found is None:
        return False
    task = found[0]
    task.task_spec.catch(task, event)
    task.task_spec._update(task)
    if variables:
        task.data.update(variables)
    return True


def _start_event_subprocess(scope: Any, event: Any,
                            variables: dict[str, Any] | None) -> bool:
    starts = [((name, start), start.event_definition)
              for name, start in catching.scope_starts(scope)]
    found = _best(starts, event)
    if found is None:
        return False
    name, start = found[0]
    catching.start_event_subprocess(scope, name, start, event, variables or {})
    return True
