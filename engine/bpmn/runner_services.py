"""Service tasks in a ``WorkflowRunner``: the calls to make, their results, external workers.

A service task waits parked while the engine calls its operation or an external worker
does its work; its result, or the BPMN error it reported, moves the workflow on.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from ..errors import EngineError
from . import dialects, local_scope, serializer, throwing
from .reports import ExternalWait, ServiceCall
from .runner_core import PARKED, RunnerCore
from .specs import ServiceCallTask

EXTERNAL = "bf_external"  # a parked service task waiting for an external worker: its topic


class ServiceTaskRunner(RunnerCore):
    """Moves a workflow's service tasks: park, complete, hand to external workers."""

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
