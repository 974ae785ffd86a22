"""Drive one SpiffWorkflow workflow and describe where it waits, in Bridgeflow's own types.

The engine layer owns persistence and side effects; this module only moves tokens and
reports: open human tasks, pending service calls, waiting messages and timers, thrown
messages, and the steps taken. ``WorkflowRunner`` is put together here from the runner
modules: ``runner_core`` (engine steps and the variable scope), ``runner_services``,
``runner_events`` and ``runner_calls``; user tasks and what is active are here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import dialects, listeners, serializer
from .reports import HumanTaskInfo, TaskFailure
from .runner_calls import CallActivityRunner
from .runner_core import failure_from
from .runner_events import EventRunner
from .runner_services import ServiceTaskRunner


class WorkflowRunner(ServiceTaskRunner, EventRunner, CallActivityRunner):
    """One workflow in memory: start it, move it, and say where it waits."""

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
            return True, failure_from(exc)
        self._record_scope(task)
        return True, None

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

    def failed_tasks(self) -> list[str]:
        return [str(t.id) for t in self.wf.get_tasks(state=TaskState.ERROR)]


_STRUCTURAL = {"BoundaryEventSplit", "BoundaryEventJoin", "_EndJoin", "StartTask",
               "Simple", "SubWorkflowTask", "ScopedSubWorkflowTask", "_BoundaryEventParent"}
