"""The core of a ``WorkflowRunner``: running engine steps, recording them, and the scope.

Every step the workflow takes is recorded (``Step``, thrown signals), and what a task writes
goes into the instance's one variable scope when paths run side by side (Camunda's
semantics). The other runner modules build on this; ``runtime`` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..errors import EngineError
from . import catching, dialects, listeners, local_scope, serializer
from .reports import Step, TaskFailure, ThrownSignal

PARKED = "bf_parked"
# Camunda's one variable scope per instance: every value a task of the process wrote, kept
# on the workflow, so that a step sees what an earlier step on another branch wrote.
SCOPE = "bf_scope"


class RunnerCore:
    """One workflow in memory: its engine steps, the steps it took, its variables."""

    def __init__(self, workflow: BpmnWorkflow) -> None:
        self.wf = workflow
        self.steps: list[Step] = []
        self.signals: list[ThrownSignal] = []  # thrown since the runner was made
        self._before: dict[Any, dict[str, Any]] = {}  # a running task's data as it began
        # Only a process with concurrent paths needs the scope kept apart from its tasks:
        # on a single path, what a task carries is what was written last.
        self._scoped = has_concurrent_paths(workflow.spec, workflow.subprocess_specs)
        self._conditional = catching.has_conditional_starts(workflow.spec,
                                                            workflow.subprocess_specs)
        # execution listeners of events and gateways, by element id (read with the spec)
        self._listeners: dict[str, str] = getattr(workflow.spec, "bf_listeners", None) or {}
        # Only a process with camunda:inputOutput has local variables to keep apart
        self._locals = local_scope.has_local_scopes(workflow.spec, workflow.subprocess_specs)

    # -- moving ---------------------------------------------------------------------------

    def run_engine_steps(self, checkpoint: Callable[[Any], Any] | None = None,
                         ) -> TaskFailure | None:
        """Run every READY automatic task until the workflow waits; report a failure."""
        try:
            if checkpoint is None:
                self.wf.do_engine_steps(
                    will_complete_task=(self._before_run if self._scoped or self._listeners
                                        else None),
                    did_complete_task=self._record)
            else:
                self._one_step_at_a_time(checkpoint)
        except SpiffWorkflowException as exc:
            return failure_from(exc)
        return None

    def _one_step_at_a_time(self, checkpoint: Callable[[Any], Any]) -> None:
        # Serialize and restore after every single task, as a restart there would.
        while True:
            self.wf.refresh_timers()
            ready = [t for t in self.wf.get_tasks(state=TaskState.READY)
                     if not t.task_spec.manual]
            if not ready:
                break
            self._before_run(ready[0])
            ready[0].run()
            self._record(ready[0])
            self.wf = checkpoint(self.wf)
            # a sub-process may need its parent updated, as do_engine_steps does
            for sp in self.wf.get_active_subprocesses():
                if sp.parent_task_id is not None:
                    task = self.wf.get_task_from_id(sp.parent_task_id)
                    task.task_spec._update(task)
        self.wf.refresh_timers()

    def _before_run(self, task: Any) -> None:
        """Before an automatic task runs: its view of the scope, then an event's or a
        gateway's execution listeners (tasks run theirs as pre- and post-scripts)."""
        self._see_scope(task)
        code = self._listeners.get(getattr(task.task_spec, "bpmn_id", None) or "")
        if code:
            try:
                self.wf.script_engine.execute(task, code)
            except SpiffWorkflowException as exc:
                task._set_state(TaskState.ERROR)
                exc.add_note("Error occurred in an execution listener")
                raise

    def _in_scope(self, task: Any) -> bool:
        """A task of the process itself, not of a called process or of one instance of a
        multi-instance activity (their variables are local, as in Camunda)."""
        parent = task.parent
        return (task.workflow is self.wf
                and not (parent is not None and isinstance(parent.task_spec, LoopTask)))

    def _see_scope(self, task: Any) -> None:
        """Before a task runs: the instance's variables, newer than what its path carried.

        What the task then writes is what differs from this, afterwards (``_record``).
        """
        if not self._scoped or not self._in_scope(task):
            return
        scope = self.wf.data.get(SCOPE)
        if scope:
            if self._locals:
                local_scope.see_outer(task, scope)
            else:
                task.data.update(scope)
        if not isinstance(task.task_spec, SubWorkflowTask):
            # a subprocess's or called process's data comes back changed when it ends:
            # all of it then counts as written
            self._before[task.id] = dict(task.data)

    def _record(self, task: Any) -> None:
        spec = task.task_spec
        if isinstance(spec, LoopTask):
            listeners.drop_task_view(task)
        self._record_scope(task)
        recorded = spec.__dict__.get(_RECORDED)
        if recorded is None:  # worked out once per element, then shared by every instance
            recorded = _what_is_recorded(spec)
            setattr(spec, _RECORDED, recorded)
        step, signal = recorded
        if step is not None:
            self.steps.append(step)
        if signal is not None:  # every throw is broadcast, also when this instance caught it
            self.signals.append(ThrownSignal(signal, step.element_id if step else ""))
        if step is not None and self._conditional and not self.wf.is_completed():
            catching.check_conditions(self.wf, task)

    def _record_scope(self, task: Any) -> None:
        """What a task wrote becomes the instance's, when paths run side by side."""
        if self._scoped and self._in_scope(task):
            before = self._before.pop(task.id, None)
            scope = self.wf.data.setdefault(SCOPE, {})
            hidden = local_scope.local_names(task) if self._locals else frozenset()
            for name, value in task.data.items():
                if name in hidden:
                    continue  # a local variable, or the outer value it hid: not a write
                if before is None or name not in before or before[name] != value:
                    scope[name] = value

    def variables(self) -> dict[str, Any]:
        """The instance's variables: its one scope, updated by the most advanced tasks."""
        scope = dict(self.wf.data.get(SCOPE) or {})
        if self.wf.is_completed():
            data = self.wf.last_task.data if self.wf.last_task is not None else {}
        else:
            waiting = self.wf.get_tasks(state=TaskState.READY | TaskState.STARTED
                                        | TaskState.WAITING | TaskState.ERROR)
            data = {}
            for task in sorted(waiting, key=lambda t: t.last_state_change):
                data.update(local_scope.outer_view(task, self.wf) if self._locals
                            else task.data)
            if not waiting and self.wf.last_task is not None:
                data = (local_scope.outer_view(self.wf.last_task, self.wf) if self._locals
                        else self.wf.last_task.data)
        return dict(serializer.to_json_value({**data, **scope}))

    def set_variables(self, values: dict[str, Any], remove: list[str]) -> None:
        """Write (and remove) instance variables in every task's data and the scope.

        Every task, not only the waiting ones: a task that resumes merges its parents' data
        into its own, which would bring an old value back.
        """
        holders = [task.data for task in self.wf.get_tasks()]
        if SCOPE in self.wf.data:
            holders.append(self.wf.data[SCOPE])
        for data in holders:
            data.update(deepcopy(values))
            for name in remove:
                data.pop(name, None)

    def _task(self, task_id: str) -> Any:
        try:
            return self.wf.get_task_from_id(UUID(task_id))
        except Exception:  # the library raises a bare TaskNotFoundException or KeyError
            return None


_THROWS = {"IntermediateThrowEvent", "EndEvent"}
_CONCURRENT = {"ParallelGateway", "InclusiveGateway", "BoundaryEventSplit"}


_RECORDED = "bf_recorded"  # (the step an element's run records, the signal it throws)


def _what_is_recorded(spec: Any) -> tuple[Step | None, str | None]:
    """The step a run of ``spec`` records (None for the engine's own structural tasks) and
    the name of the signal it throws, if any."""
    bpmn_id = getattr(spec, "bpmn_id", None)
    step = None
    if bpmn_id and bpmn_id.endswith(dialects.TAKEN):  # a flow's take listeners ran
        step = Step(bpmn_id.removesuffix(dialects.TAKEN), "SequenceFlow", None)
    elif bpmn_id:
        step = Step(bpmn_id, element_type(spec), getattr(spec, "bpmn_name", None))
    signal = None
    if type(spec).__name__ in _THROWS and isinstance(
            definition := getattr(spec, "event_definition", None), SignalEventDefinition):
        signal = definition.name
    return step, signal


def element_type(spec: Any) -> str:
    """The kind of element a spec runs, as the audit trail names it (a task with local
    variables is still a ``ServiceCallTask``, not a ``ScopedServiceCallTask``)."""
    return type(spec).__name__.removeprefix("Scoped")


def has_concurrent_paths(spec: Any, subprocess_specs: dict[str, Any]) -> bool:
    """Whether tokens of the process may run side by side (remembered on the spec)."""
    known = getattr(spec, "bf_concurrent", None)
    if known is None:
        specs = [spec, *subprocess_specs.values()]
        known = any(getattr(s.start, "trigger_specs", None) or len(s.start.outputs) > 1
                    for s in specs) or any(
            type(task_spec).__name__ in _CONCURRENT
            for s in specs for task_spec in s.task_specs.values())
        spec.bf_concurrent = known
    return bool(known)


def failure_from(exc: SpiffWorkflowException) -> TaskFailure:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    cause = getattr(exc, "exception", None) or exc.__cause__
    line = getattr(cause, "line", None) or getattr(exc, "line_number", None) or None
    message = str(cause) if cause is not None else str(exc)
    return TaskFailure(
        task_id=str(task.id) if task is not None else None,
        element_id=getattr(spec, "bpmn_id", None),
        error_type=type(cause).__name__ if cause is not None else type(exc).__name__,
        message=message,
        line=line if isinstance(line, int) and line > 0 else None,
        details={"notes": list(getattr(exc, "notes", []) or []),
                 "element_name": getattr(spec, "bpmn_name", None),
                 # our own errors carry structured facts (a decision's matched rules, …)
                 **(cause.details if isinstance(cause, EngineError) else {})},
    )
