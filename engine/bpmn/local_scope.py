"""Camunda 7's local variables: ``camunda:inputOutput`` on tasks and embedded subprocesses.

While an activity with input parameters runs, they are its local variables: they shadow the
process variables of the same names, and its script, form, service call and every step inside
it see them. A write to a local name stays local; a write to any other name reaches the
process, as Camunda's ``setVariable`` does. When the activity completes, its output parameters
are evaluated over that local view, the locals are dropped, the shadowed values come back,
and the outputs are written to the enclosing scope.

SpiffWorkflow passes data along the path, task to task, so the scope is a frame kept on the
task: the outer values the locals hide, restored when the activity completes.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

IO = "bridgeflow_io"  # in a spec's extensions: what dialects.read_input_output read
FRAME = "bf_locals"  # in a task's internal data: the outer values the locals hide


class LocalScope(BpmnSpecMixin):  # type: ignore[misc]
    """Task spec mixin: input parameters as local variables, output parameters on completion.

    It sits after SpiffWorkflow's pre/post-script handling in the class order, so input
    parameters are set before a start listener runs and outputs are taken after an end one.
    """

    def _update_hook(self, my_task: Any) -> Any:
        ready = super()._update_hook(my_task)  # the data arrives from the previous task here
        frame = my_task.internal_data.get(FRAME)
        if frame is None or frame.get("closed"):
            open_scope(self, my_task)
        return ready

    def _on_complete_hook(self, my_task: Any) -> None:
        close_scope(self, my_task)
        super()._on_complete_hook(my_task)


def io_of(spec: Any) -> dict[str, list[list[Any]]]:
    io: dict[str, list[list[Any]]] = (getattr(spec, "extensions", None) or {}).get(IO) or {}
    return io


def open_scope(spec: Any, task: Any) -> None:
    """Evaluate the input parameters over the outer variables and make them local."""
    values = {name: _evaluated(task, value, f"input parameter '{name}'")
              for name, value in io_of(spec).get("input", [])}
    task.internal_data[FRAME] = {
        "outer": {n: deepcopy(task.data[n]) for n in values if n in task.data},
        "absent": [n for n in values if n not in task.data],
        "outputs": [name for name, _ in io_of(spec).get("output", [])],
    }
    task.data.update(values)


def close_scope(spec: Any, task: Any) -> None:
    """Evaluate the outputs over the local view, drop the locals, write the outputs out."""
    frame = task.internal_data.get(FRAME)
    if frame is None or frame.get("closed"):
        return
    outputs = {name: _evaluated(task, value, f"output parameter '{name}'")
               for name, value in io_of(spec).get("output", [])}
    hide(task.data, frame)
    task.data.update(outputs)
    frame["closed"] = True


def hide(data: dict[str, Any], frame: dict[str, Any]) -> None:
    """Replace the frame's local variables in ``data`` by the outer values they hide."""
    for name in frame["absent"]:
        data.pop(name, None)
    data.update(deepcopy(frame["outer"]))


def local_names(task: Any) -> frozenset[str]:
    """Names ``task`` holds as locals (an open frame), or held and did not write out."""
    frame = task.internal_data.get(FRAME)
    if frame is None:
        return frozenset()
    names = frozenset(frame["outer"]) | frozenset(frame["absent"])
    return names - frozenset(frame["outputs"]) if frame.get("closed") else names


def see_outer(task: Any, scope: dict[str, Any]) -> None:
    """Bring the instance's newer variables to a task without overwriting its locals."""
    frame = task.internal_data.get(FRAME)
    if frame is None or frame.get("closed"):
        task.data.update(scope)
        return
    hidden = set(frame["outer"]) | set(frame["absent"])
    for name, value in scope.items():
        if name not in hidden:
            task.data[name] = value
        else:  # what the local hides is now the newer value
            frame["outer"][name] = deepcopy(value)
            if name in frame["absent"]:
                frame["absent"].remove(name)


def outer_view(task: Any, top: Any) -> dict[str, Any]:
    """What ``task``'s data is without the locals of the activities around it (and its own)."""
    data = dict(task.data)
    node = task
    while node is not None:
        frame = node.internal_data.get(FRAME)
        if frame is not None and not frame.get("closed"):
            hide(data, frame)
        parent_id = node.workflow.parent_task_id if node.workflow is not top else None
        node = top.get_task_from_id(parent_id) if parent_id is not None else None
    return data


def has_local_scopes(spec: Any, subprocess_specs: dict[str, Any]) -> bool:
    """Whether any activity of the process holds local variables (remembered on the spec)."""
    known = getattr(spec, "bf_local_scopes", None)
    if known is None:
        known = any(isinstance(task_spec, LocalScope)
                    for s in (spec, *subprocess_specs.values())
                    for task_spec in s.task_specs.values())
        spec.bf_local_scopes = known
    return bool(known)


def _evaluated(task: Any, value: dict[str, Any], what: str) -> Any:
    try:
        return evaluate(task, value)
    except SpiffWorkflowException as exc:
        task._set_state(TaskState.ERROR)
        exc.add_note(f"Error occurred in the {what}")
        raise
    except Exception as exc:
        task._set_state(TaskState.ERROR)
        raise WorkflowTaskException(f"the {what} failed: {exc}", task=task,
                                    exception=exc) from exc


def evaluate(task: Any, value: dict[str, Any]) -> Any:
    """The value of one parameter over ``task``'s data."""
    if "list" in value:
        return [evaluate(task, item) for item in value["list"]]
    if "map" in value:
        return {key: evaluate(task, item) for key, item in value["map"]}
    # a Python script in a parameter is one expression (the deploy checks made sure)
    source = value["expr"] if "expr" in value else value["script"].strip()
    return task.workflow.script_engine.evaluate(task, source)
