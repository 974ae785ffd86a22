"""Call activities in a ``WorkflowRunner``: the instances to start, and what they end with.

A called instance's result, errors and escalations come back to its caller's call activity.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from . import serializer, throwing
from .call_activity import CallActivityTask
from .reports import CalledProcess
from .runner_core import PARKED, RunnerCore


class CallActivityRunner(RunnerCore):
    """Moves a workflow's call activities: what to start, and what came back."""

    def pending_calls(self, business_key: str | None) -> list[CalledProcess]:
        """Call activities started and not parked: the instances to start now.

        Their variables and business key are evaluated here; a failing ``camunda:in``
        expression is reported in ``error`` (an incident on the call activity).
        """
        out = []
        for task in self.wf.get_tasks(state=TaskState.STARTED):
            spec = task.task_spec
            if not isinstance(spec, CallActivityTask) or task.internal_data.get(PARKED):
                continue
            try:
                key = spec.business_key_of(task, business_key)
                variables = serializer.to_json_value(spec.variables_in(task))
            except Exception as exc:  # noqa: BLE001 - the analyst's expression: an incident
                out.append(CalledProcess(str(task.id), spec.bpmn_id, spec.called_element,
                                         spec.binding, spec.version, None, {},
                                         f"a camunda:in mapping or the business key of "
                                         f"this call activity failed: {exc}"))
                continue
            out.append(CalledProcess(str(task.id), spec.bpmn_id, spec.called_element,
                                     spec.binding, spec.version, key, variables))
        return out

    def complete_call(self, task_id: str, variables: dict[str, Any]) -> None:
        """The instance a call activity started has ended with ``variables``: go on."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.STARTED or not isinstance(
                task.task_spec, CallActivityTask):
            raise LookupError(f"call activity {task_id} is not waiting")
        task.internal_data.pop(PARKED, None)
        self._before.setdefault(task.id, dict(task.data))
        task.data.update(task.task_spec.variables_out(task, variables))
        task.complete()
        self._record(task)

    def open_calls(self) -> set[str]:
        """The call activities that wait for an instance they started (or will start)."""
        return {str(t.id) for t in self.wf.get_tasks(state=TaskState.STARTED)
                if isinstance(t.task_spec, CallActivityTask)}

    @property
    def calls_processes(self) -> bool:
        """Whether the process has a call activity at all (remembered on the spec)."""
        known = getattr(self.wf.spec, "bf_calls", None)
        if known is None:
            known = any(isinstance(t, CallActivityTask)
                        for s in [self.wf.spec, *self.wf.subprocess_specs.values()]
                        for t in s.task_specs.values())
            self.wf.spec.bf_calls = known
        return bool(known)

    def uncaught(self) -> tuple[list[tuple[str, str]], list[str]]:
        """What the process threw and nothing in it caught, for a caller's call activity:
        BPMN errors as (code, message), and escalation codes."""
        errors, escalations = [], []
        for event in self.wf.bpmn_events:
            definition = event.event_definition
            code = str(getattr(definition, "code", None) or definition.name or "")
            if isinstance(definition, ErrorEventDefinition):
                payload = event.payload if isinstance(event.payload, dict) else {}
                errors.append((code or "error", str(payload.get("message") or "")))
            elif isinstance(definition, EscalationEventDefinition):
                escalations.append(code)
        return errors, escalations

    def throw_escalation(self, task_id: str, code: str) -> bool:
        """Throw an escalation from a task (a call activity whose called instance escalated);
        return False when nothing catches it."""
        task = self._task(task_id)
        if task is None:
            return False
        event = BpmnEvent(throwing.ScopedEscalationEventDefinition(code, code=code))
        return throwing.propagate(task, event)
