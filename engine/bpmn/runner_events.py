"""Events in a ``WorkflowRunner``: messages, signals and timers it waits on or throws.

Also which start event an instance starts by (a process may have several kinds).
"""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from . import catching, serializer
from .reports import Step, ThrownMessage, WaitingMessage, WaitingTimer
from .runner_core import RunnerCore


class EventRunner(RunnerCore):
    """Delivers messages and signals to a workflow, fires its timers, says what it waits on."""

    def refresh_timers(self) -> None:
        self.wf.refresh_timers()

    def deliver_message(self, task_id: str | None, name: str, variables: dict[str, Any]) -> bool:
        """Hand a message to the task waiting for it; return False if none waits."""
        return self._deliver(MessageEventDefinition, task_id, name, variables)

    def deliver_signal(self, task_id: str | None, name: str, variables: dict[str, Any]) -> bool:
        """Hand a signal to the catch event waiting for it; return False if none waits."""
        return self._deliver(SignalEventDefinition, task_id, name, variables)

    def _deliver(self, kind: type, task_id: str | None, name: str,
                 variables: dict[str, Any]) -> bool:
        for task in list(self.wf.event_manager.tasks.values()):
            definition = next((d for d in catching.definitions_of(task)
                               if isinstance(d, kind) and getattr(d, "name", None) == name),
                              None)
            if definition is None:
                continue
            if task_id is not None and str(task.id) != task_id:
                continue
            event = BpmnEvent(definition, payload=deepcopy(variables),
                              correlations=dict(task.workflow.correlations))
            self._before.setdefault(task.id, dict(task.data))
            task.task_spec.catch(task, event)
            task.task_spec._update(task)
            # after _update, which deep-merges the parent's data into the task's: a
            # message's variables replace older values of the same names, never merge
            task.data.update(deepcopy(variables))
            self._record(task)
            return True
        start = catching.trigger_event_subprocess(self.wf, kind, task_id, name, variables)
        if start is None:
            return False
        self.steps.append(Step(start.bpmn_id, type(start).__name__, start.bpmn_name))
        return True

    def choose_start(self, kind: str) -> None:
        """Keep only the start events of one kind ("timer", "message", "signal" or "none").

        A process may have a timer start next to a manual or message start; the instance
        starts by one of them and must not also wait on (or fire) the others. When the
        process has no start of that kind, nothing is changed.
        """
        kinds = _start_kinds(self.wf.spec)
        if len(kinds) < 2 or kind not in kinds:
            return  # nothing else to cancel, or no start of this kind: the workflow stays
        starts = [t for t in self.wf.get_tasks(state=TaskState.NOT_FINISHED_MASK)
                  if t.workflow is self.wf and type(t.task_spec).__name__ == "StartEvent"]
        if any(catching.start_kind(t) == kind for t in starts):
            for task in starts:
                if catching.start_kind(task) != kind:
                    task.cancel()

    def fire_start_timers(self) -> None:
        """Let a timer start event through at once: the scheduler already chose the time.

        Set before the first engine step, so that SpiffWorkflow never evaluates the timer's
        own expression (a cron text it cannot read) and fires exactly one cycle.
        """
        self.choose_start("timer")
        for task in self.wf.get_tasks(state=TaskState.NOT_FINISHED_MASK):
            if task.workflow is not self.wf or catching.start_kind(task) != "timer":
                continue
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                # one cycle, already due: Spiff adds the path's first task and then, with
                # no cycles left, completes the start event
                task.internal_data["event_value"] = {
                    "cycles": 1, "next": "2000-01-01T00:00:00+00:00", "duration": 0}
            else:
                task.internal_data.pop("event_value", None)
                task.internal_data["event_fired"] = True

    def waiting_messages(self) -> list[WaitingMessage]:
        """Catch events (and event subprocess starts) that wait for a message."""
        return catching.waiting(self.wf, MessageEventDefinition)

    def waiting_signals(self) -> list[WaitingMessage]:
        """Catch events (and event subprocess starts) that wait for a signal."""
        return catching.waiting(self.wf, SignalEventDefinition)

    def waiting_timers(self) -> list[WaitingTimer]:
        out = []
        for task in self.wf.event_manager.tasks.values():
            for definition in catching.definitions_of(task):
                if not isinstance(definition, TimerEventDefinition):
                    continue
                if task.internal_data.get("event_value") is None:
                    definition.has_fired(task)  # computes the due time of a gateway's timer
                due = _parse_due(definition.details(task).value)
                if due is not None:
                    out.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, due))
        return out

    def thrown_messages(self) -> list[ThrownMessage]:
        out = []
        for event in self.wf.get_events():
            if isinstance(event.event_definition, MessageEventDefinition):
                out.append(ThrownMessage(event.event_definition.name,
                                         serializer.to_json_value(event.payload),
                                         dict(event.correlations)))
        return out


def _start_kinds(spec: Any) -> frozenset[str]:
    """The kinds of the process's own start events, worked out once per spec."""
    kinds: frozenset[str] | None = getattr(spec, "bf_start_kinds", None)
    if kinds is None:
        kinds = spec.bf_start_kinds = frozenset(
            catching.start_kind(SimpleNamespace(task_spec=task_spec))
            for task_spec in spec.task_specs.values()
            if type(task_spec).__name__ == "StartEvent")
    return kinds


def _parse_due(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        due = value
    elif isinstance(value, str):
        try:
            due = TimerEventDefinition.get_datetime(value)
        except Exception:
            return None
    else:
        return None
    if due.tzinfo is not None:
        due = due.astimezone(UTC).replace(tzinfo=None)
    return due
