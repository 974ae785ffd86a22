"""Drive one SpiffWorkflow workflow and describe where it waits, in Bridgeflow's own types.

The engine layer owns persistence and side effects; this module only moves tokens and
reports: open human tasks, pending service calls, waiting messages and timers, thrown
messages, and the steps taken.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..errors import EngineError
from . import catching, dialects, listeners, local_scope, serializer, throwing
from .call_activity import CallActivityTask
from .reports import (
    CalledProcess,
    ExternalWait,
    HumanTaskInfo,
    ServiceCall,
    Step,
    TaskFailure,
    ThrownMessage,
    ThrownSignal,
    WaitingMessage,
    WaitingTimer,
)
from .specs import ServiceCallTask

PARKED = "bf_parked"
EXTERNAL = "bf_external"  # a parked service task waiting for an external worker: its topic
# Camunda's one variable scope per instance: every value a task of the process wrote, kept
# on the workflow, so that a step sees what an earlier step on another branch wrote.
SCOPE = "bf_scope"


class WorkflowRunner:
    """One workflow in memory: start it, move it, and say where it waits."""

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

    @classmethod
    def create(cls, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any,
               variables: dict[str, Any], started_by: str | None = None) -> WorkflowRunner:
        """A new workflow with its start variables (and ``camunda:initiator``'s, if set)."""
        wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        first = wf.get_next_task(state=TaskState.READY)
        if first is not None:
            first.data.update(variables)
            initiator = getattr(spec, "bf_initiator", None)
            if initiator:
                first.data[initiator] = started_by
        return cls(wf)

    @classmethod
    def restore(cls, blob: bytes, spec: Any, subprocess_specs: dict[str, Any],
                script_engine: Any) -> WorkflowRunner:
        wf = serializer.load_state(blob, spec, subprocess_specs)
        wf.script_engine = script_engine
        return cls(wf)

    def dump(self) -> bytes:
        return serializer.dump_state(self.wf)

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
            return _failure_from(exc)
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
        if isinstance(task.task_spec, LoopTask):
            listeners.drop_task_view(task)
        self._record_scope(task)
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id and bpmn_id.endswith(dialects.TAKEN):  # a flow's take listeners ran
            self.steps.append(Step(bpmn_id.removesuffix(dialects.TAKEN), "SequenceFlow", None))
        elif bpmn_id:
            self.steps.append(Step(bpmn_id, element_type(spec), getattr(spec, "bpmn_name", None)))
        if type(spec).__name__ in _THROWS and isinstance(
                definition := getattr(spec, "event_definition", None), SignalEventDefinition):
            # every throw is broadcast, also when this instance caught it itself
            self.signals.append(ThrownSignal(definition.name, bpmn_id or ""))
        if bpmn_id and self._conditional and not self.wf.is_completed():
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

    def refresh_timers(self) -> None:
        self.wf.refresh_timers()

    def complete_human_task(self, task_id: str, data: dict[str, Any],
                            about: dict[str, Any] | None = None) -> None:
        """Complete a user task with the form's data; ``about`` is what its complete
        listeners read as ``task`` (``task.assignee`` …), never stored."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise LookupError(f"task {task_id} is not waiting for a person")
        self._see_scope(task)
        task.data.update(data)
        loop = task.parent.task_spec if task.parent is not None else None
        listening = getattr(task.task_spec, "postscript", None) or (  # complete listeners
            isinstance(loop, LoopTask) and getattr(loop, "postscript", None))
        with listeners.task_in_view(task, about if listening else None):
            task.run()
        self._record(task)

    def run_assignment_listeners(self, task_id: str, about: dict[str, Any],
                                 ) -> tuple[bool, TaskFailure | None]:
        """Run a waiting user task's assignment listeners (Camunda's ``assignment`` task
        listener) with ``about`` as ``task``: whether any ran, and how they failed."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            return False, None
        code = self._listeners.get(f"{task.task_spec.bpmn_id}{dialects.ASSIGNMENT}")
        if not code:
            return False, None
        self._before.setdefault(task.id, dict(task.data))
        try:
            with listeners.task_in_view(task, about):
                self.wf.script_engine.execute(task, code)
        except SpiffWorkflowException as exc:
            exc.add_note("Error occurred in an assignment listener")
            return True, _failure_from(exc)
        self._record_scope(task)
        return True, None

    def complete_service_call(self, task_id: str, result: Any,
                              result_variable: str | None) -> None:
        task = self._task(task_id)
        if task is None or task.state != TaskState.STARTED:
            raise LookupError(f"service task {task_id} is not running")
        task.internal_data.pop(PARKED, None)
        self._before.setdefault(task.id, dict(task.data))
        if result_variable:
            task.data[result_variable] = result
        elif isinstance(result, dict):
            task.data.update(result)
        task.complete()
        self._record(task)

    def park_service_call(self, task_id: str) -> None:
        task = self._task(task_id)
        if task is not None:
            task.internal_data[PARKED] = True

    def park_external(self, task_id: str, topic: str) -> None:
        """Leave a service task to a worker outside Bridgeflow (an external task)."""
        task = self._task(task_id)
        if task is not None:
            task.internal_data[PARKED] = True
            task.internal_data[EXTERNAL] = topic

    def external_task_ids(self) -> set[str]:
        """The ids of the service tasks waiting for an external worker."""
        return set(self.external_elements())

    def external_elements(self) -> dict[str, str]:
        """The service tasks waiting for an external worker: task id → element id."""
        return {str(task.id): task.task_spec.bpmn_id
                for task in self.wf.get_tasks(state=TaskState.STARTED)
                if task.internal_data.get(EXTERNAL)}

    def external_waits(self) -> list[ExternalWait]:
        """The service tasks waiting for an external worker."""
        out = []
        for task in self.wf.get_tasks(state=TaskState.STARTED):
            topic = task.internal_data.get(EXTERNAL)
            if not topic:
                continue
            spec = task.task_spec
            ext = getattr(spec, "external", None) or {}
            names = [name for name, _ in local_scope.io_of(spec).get("input", [])]
            out.append(ExternalWait(
                str(task.id), spec.bpmn_id, topic, self._priority(task, ext.get("priority")),
                serializer.to_json_value({n: task.data.get(n) for n in names}),
                dict(ext.get("properties") or {})))
        return out

    def _priority(self, task: Any, expression: str | None) -> int:
        """``camunda:taskPriority``: a number or an expression over the task's variables."""
        if not expression:
            return 0
        text = expression.strip()
        if text.startswith(("${", "#{")) and text.endswith("}"):
            value = self.wf.script_engine.evaluate(task, dialects.juel_to_python(text[2:-1]))
        else:
            value = text
        try:
            return int(value)
        except (TypeError, ValueError):
            raise EngineError(f"camunda:taskPriority '{expression}' is not a whole number "
                              f"(it gave {value!r})") from None

    def complete_external(self, task_id: str, variables: dict[str, Any],
                          local_variables: dict[str, Any]) -> None:
        """An external worker completed the task: its variables reach the process, its local
        ones live only until the task's output parameters are taken."""
        task = self._task(task_id)
        if task is None or task.state != TaskState.STARTED:
            raise LookupError(f"service task {task_id} is not running")
        task.internal_data.pop(EXTERNAL, None)
        frame = task.internal_data.get(local_scope.FRAME)
        if frame is not None and not frame.get("closed"):
            for name in local_variables:
                if name in task.data and name not in frame["outer"] and \
                        name not in frame["absent"]:
                    frame["outer"][name] = deepcopy(task.data[name])
                elif name not in task.data:
                    frame["absent"].append(name)
            variables = {**variables, **local_variables}
        self.complete_service_call(task_id, variables, None)

    def leave_external(self, task_id: str, variables: dict[str, Any]) -> None:
        """A worker gave up on the task with a BPMN error: keep its variables, and the task
        waits for no worker any more (retrying its incident hands it out again)."""
        task = self._task(task_id)
        if task is not None:
            task.internal_data.pop(EXTERNAL, None)
            task.data.update(variables)

    def unpark_service_call(self, task_id: str) -> bool:
        task = self._task(task_id)
        if task is None or task.state != TaskState.STARTED:
            return False
        task.internal_data.pop(PARKED, None)
        return True

    def throw_error(self, task_id: str, code: str, message: str,
                    variables: dict[str, Any] | None = None) -> bool:
        """Throw a BPMN error from a task, with ``variables`` for whatever catches it; return
        False when nothing in the diagram catches it."""
        task = self._task(task_id)
        if task is None:
            return False
        event = BpmnEvent(throwing.ScopedErrorEventDefinition(code, code=code),
                          payload={"code": code, "message": message})
        return throwing.propagate(task, event, {**(variables or {}), "error_code": code,
                                                "error_message": message})

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

    def reset_to(self, task_id: str) -> None:
        self.wf.reset_from_task_id(UUID(task_id))

    def element_task_id(self, element_id: str) -> str | None:
        """Return the id of the most recent task of an element (for moving a token back)."""
        found = [t for t in self.wf.get_tasks() if getattr(t.task_spec, "bpmn_id", None)
                 == element_id and t.has_state(TaskState.FINISHED_MASK | TaskState.READY)]
        found.sort(key=lambda t: t.last_state_change)
        return str(found[-1].id) if found else None

    # -- reading ------------------------------------------------------------------------

    @property
    def completed(self) -> bool:
        return bool(self.wf.is_completed())

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

    def active_elements(self) -> list[str]:
        mask = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR
        ids = []
        for task in self.wf.get_tasks(state=mask):
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id and type(task.task_spec).__name__ not in _STRUCTURAL:
                ids.append(bpmn_id)
        return sorted(set(ids))

    def human_tasks(self) -> list[HumanTaskInfo]:
        out = []
        for task in self.wf.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            out.append(HumanTaskInfo(str(task.id), spec.bpmn_id, spec.bpmn_name, spec.lane,
                                     dict(getattr(spec, "extensions", {}).get("bridgeflow", {})),
                                     task.data))
        return out

    def pending_service_calls(self) -> list[ServiceCall]:
        """Service tasks started and not parked: the calls to make now."""
        out = []
        for task in self.wf.get_tasks(state=TaskState.STARTED):
            spec = task.task_spec
            if isinstance(spec, ServiceCallTask) and not task.internal_data.get(PARKED):
                out.append(ServiceCall(str(task.id), spec.bpmn_id, spec.operation,
                                       dict(spec.retry),
                                       getattr(spec, "result_variable", None)))
        return out

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

    def evaluate_parameters(self, task_id: str) -> dict[str, Any]:
        """A service call's parameters, evaluated over its task's data."""
        task = self._task(task_id)
        if task is None:
            raise LookupError(f"service task {task_id} is gone")
        engine = self.wf.script_engine
        params = {name: engine.evaluate(task, expr)
                  for name, expr in task.task_spec.parameters.items()}
        # camunda:inputParameters: the local variables, as the task's steps left them
        for name, _ in local_scope.io_of(task.task_spec).get("input", []):
            params[name] = task.data.get(name)
        return params

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

    def failed_tasks(self) -> list[str]:
        return [str(t.id) for t in self.wf.get_tasks(state=TaskState.ERROR)]

    def _task(self, task_id: str) -> Any:
        try:
            return self.wf.get_task_from_id(UUID(task_id))
        except Exception:  # the library raises a bare TaskNotFoundException or KeyError
            return None


_THROWS = {"IntermediateThrowEvent", "EndEvent"}
_STRUCTURAL = {"BoundaryEventSplit", "BoundaryEventJoin", "_EndJoin", "StartTask",
               "Simple", "SubWorkflowTask", "ScopedSubWorkflowTask", "_BoundaryEventParent"}


_CONCURRENT = {"ParallelGateway", "InclusiveGateway", "BoundaryEventSplit"}


def _start_kinds(spec: Any) -> frozenset[str]:
    """The kinds of the process's own start events, worked out once per spec."""
    kinds: frozenset[str] | None = getattr(spec, "bf_start_kinds", None)
    if kinds is None:
        kinds = spec.bf_start_kinds = frozenset(
            catching.start_kind(SimpleNamespace(task_spec=task_spec))
            for task_spec in spec.task_specs.values()
            if type(task_spec).__name__ == "StartEvent")
    return kinds


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


def _failure_from(exc: SpiffWorkflowException) -> TaskFailure:
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
