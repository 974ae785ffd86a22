"""What a workflow catches: the event definitions a waiting task listens for, the start
events of event subprocesses, and starting one (interrupting its scope when it must)."""

from __future__ import annotations

import logging
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .reports import WaitingMessage

log = logging.getLogger(__name__)
# The last value of each conditional start's condition, so that it starts its event
# subprocess when the condition becomes true, not again at every step while it holds.
CONDITIONS = "bf_conditions"


def definitions_of(task: Any) -> list[Any]:
    """The event definitions a waiting task catches: one, or those of an event-based gateway."""
    definition = task.task_spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def start_kind(task: Any) -> str:
    """What starts a start event: "timer", "message", "signal" or "none"."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return "timer"
    if isinstance(definition, MessageEventDefinition):
        return "message"
    if isinstance(definition, SignalEventDefinition):
        return "signal"
    return "none"


def waiting(wf: Any, kind: type) -> list[WaitingMessage]:
    """The catch events of ``kind`` a workflow waits on, event subprocess starts included."""
    out = []
    for task in wf.event_manager.tasks.values():
        for definition in definitions_of(task):
            if isinstance(definition, kind):
                out.append(WaitingMessage(str(task.id), task.task_spec.bpmn_id,
                                          str(getattr(definition, "name", ""))))
    for _scope, start, _name in event_subprocess_starts(wf, kind):
        out.append(WaitingMessage(trigger_id(start), start.bpmn_id,
                                  start.event_definition.name))
    return out


def event_subprocess_starts(wf: Any, kind: type) -> list[tuple[Any, Any, str]]:
    """Start events of ``kind`` of the event subprocesses that may start now: (workflow,
    start event spec, event subprocess name), for the process and each running subprocess."""
    found = []
    for scope in [wf, *wf.get_active_subprocesses()]:
        for name, start in scope_starts(scope):
            if isinstance(start.event_definition, kind):
                found.append((scope, start, name))
    return found


def scope_starts(scope: Any) -> list[tuple[str, Any]]:
    """(event subprocess name, start event spec) of the event subprocesses of one scope."""
    found: list[tuple[str, Any]] = []
    for name in getattr(scope.spec.start, "trigger_specs", []):
        sp_spec = scope.top_workflow.subprocess_specs.get(name)
        found.extend((name, start) for start in getattr(sp_spec, "bpmn_start_events", []))
    return found


def wire_event_subprocesses(spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """Lead each event subprocess to the end of its scope, once, when the spec is loaded.

    SpiffWorkflow wires an event subprocess into its scope's start the first time one is
    triggered, which changes the spec shared by every instance: each later instance would
    begin with the event subprocess already waiting. Wired here, the start never leads to it.
    """
    for scope in [spec, *subprocess_specs.values()]:
        start = scope.start
        for name in getattr(start, "trigger_specs", []):
            task_spec = scope.task_specs[name]
            if start not in task_spec.inputs:
                task_spec._inputs.append(start.name)
                task_spec.connect(scope.end)


def trigger_event_subprocess(wf: Any, kind: type, task_id: str | None, name: str,
                             variables: dict[str, Any]) -> Any:
    """Start the event subprocess a message or signal starts; its start event, or None."""
    for scope, start, sub_name in event_subprocess_starts(wf, kind):
        if start.event_definition.name != name:
            continue
        if task_id is not None and task_id != trigger_id(start):
            continue
        event = BpmnEvent(start.event_definition, payload=deepcopy(variables),
                          correlations=dict(scope.correlations))
        start_event_subprocess(scope, sub_name, start, event, variables)
        return start
    return None


def start_event_subprocess(scope: Any, name: str, start: Any, event: Any,
                           variables: dict[str, Any]) -> None:
    """Start event subprocess ``name`` of ``scope`` by ``event``; interrupt the scope if the
    start event is interrupting (every error start is)."""
    top = scope.top_workflow
    child_id = scope.spec.start.trigger_wf(scope.task_tree, name)
    child = scope.get_task_from_id(child_id)
    # predicted now, so that it leads on to the end of its scope when it completes
    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
    subprocess = top.subprocesses[child_id]
    subprocess.correlations.update(event.correlations)
    task = subprocess.get_next_task(state=TaskState.WAITING, spec_name=start.name)
    if task is not None:
        # on the task it inherits from too: a conditional start checks its condition again
        for holder in (task.parent, task):
            holder.data.update(deepcopy(variables))
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
        # after _update, which deep-merges the parent's data: the event's values win
        task.data.update(deepcopy(variables))
    if start.bpmn_id not in getattr(top.spec, "bf_non_interrupting", ()):
        _interrupt(scope, child_id)


def has_conditional_starts(spec: Any, subprocess_specs: dict[str, Any]) -> bool:
    """Whether any event subprocess starts on a condition (remembered on the spec): only
    then is each step followed by a look at the conditions."""
    known = getattr(spec, "bf_conditional", None)
    if known is None:
        known = any(isinstance(start.event_definition, ConditionalEventDefinition)
                    for sp_spec in subprocess_specs.values()
                    for start in getattr(sp_spec, "bpmn_start_events", []))
        spec.bf_conditional = known
    return bool(known)


def check_conditions(wf: Any, task: Any) -> None:
    """After ``task`` changed variables: start each conditional event subprocess whose
    condition has just become true over the task's variables (Camunda evaluates them on
    every variable change; here on every step, and once per change from false to true)."""
    seen = wf.data.setdefault(CONDITIONS, {})
    for scope in [wf, *wf.get_active_subprocesses()]:
        for name, start in scope_starts(scope):
            definition = start.event_definition
            if not isinstance(definition, ConditionalEventDefinition):
                continue
            key = f"{getattr(scope, 'parent_task_id', None) or 'process'}:{start.bpmn_id}"
            holds, held = _holds(wf, task, definition.expression), seen.get(key, False)
            seen[key] = holds
            if holds and not held:
                start_event_subprocess(scope, name, start, BpmnEvent(definition),
                                       dict(task.data))


def _holds(wf: Any, task: Any, expression: str) -> bool:
    """A condition over the task's variables; one that cannot be evaluated (a variable not
    set yet) does not hold."""
    try:
        return bool(wf.script_engine.evaluate(task, expression))
    except Exception as exc:  # noqa: BLE001 - the analyst's condition: logged, not fatal
        log.info("condition %r not evaluated at %s: %s", expression,
                 task.task_spec.bpmn_id, exc)
        return False


def trigger_id(start: Any) -> str:
    """The subscription id of an event subprocess's start event (it has no task yet)."""
    return f"start:{start.bpmn_id}"


def _interrupt(wf: Any, keep: Any) -> None:
    """An interrupting event subprocess started: cancel everything else of its scope."""
    for branch in wf.task_tree.children:
        if branch.id == keep:
            continue
        stack = [branch]
        while stack:
            task = stack.pop()
            if task.has_state(TaskState.NOT_FINISHED_MASK):
                task.cancel()  # and everything below it
            else:
                stack.extend(task.children)
