"""Move a workflow in memory onto another version's spec: the SpiffWorkflow side of migration.

Every task keeps its id, state, data and internal data (a timer's due time, a
multi-instance's progress); only its spec changes, by the mapping of element ids. Finished
tasks whose element the target lacks are cut out of the tree (their children move up to
their parent), predicted tasks are dropped and predicted again from the new spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from .call_activity import CallActivityTask
from .runner_core import element_type

# spec names SpiffWorkflow derives from an element id
_SUFFIXES = (" [child]", ".BoundaryEventSplit", ".BoundaryEventJoin")
_ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR
_NOT_REACHED = TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE  # predicted, no token
_JOINING = {"ParallelGateway", "InclusiveGateway", "EventBasedGateway"}
_WAITING_EVENTS = {"IntermediateCatchEvent", "BoundaryEvent", "ReceiveTask"}


@dataclass(frozen=True)
class MigrationElement:
    """One element that may hold a token: its id, name, kind and the scope it is in."""

    element_id: str
    name: str | None
    kind: str  # the spec type, with the event definition for events ("BoundaryEvent:Timer")
    scope: str  # the process or embedded subprocess id it belongs to


class MigrationTransformError(Exception):
    """A token sits on an element the target has no counterpart for."""


def kind_of(spec: Any) -> str:
    """The kind of an element, as a plan compares it: a user task never becomes a timer."""
    kind = element_type(spec)
    definition = getattr(spec, "event_definition", None)
    if definition is not None:
        name = type(definition).__name__.removesuffix("EventDefinition")
        kind += ":" + name.removeprefix("Spiff").removeprefix("Scoped").removeprefix("Cycle")
    return kind


def _may_hold_token(spec: Any) -> bool:
    kind = element_type(spec)
    return (getattr(spec, "bpmn_id", None) is not None and spec.name == spec.bpmn_id
            and ("Task" in kind or kind in _JOINING or kind in _WAITING_EVENTS
                 or isinstance(spec, SubWorkflowTask)))


def elements(spec: Any, subprocess_specs: dict[str, Any]) -> dict[str, MigrationElement]:
    """Every element of the process (and its embedded subprocesses) that may hold a token."""
    out: dict[str, MigrationElement] = {}
    seen: set[str] = set()

    def walk(process: Any) -> None:
        if process.name in seen:
            return
        seen.add(process.name)
        for task_spec in process.task_specs.values():
            if not _may_hold_token(task_spec):
                continue
            out[task_spec.bpmn_id] = MigrationElement(task_spec.bpmn_id,
                                             getattr(task_spec, "bpmn_name", None),
                                             kind_of(task_spec), process.name)
            if isinstance(task_spec, SubWorkflowTask) and not isinstance(
                    task_spec, CallActivityTask) and task_spec.spec in subprocess_specs:
                walk(subprocess_specs[task_spec.spec])

    walk(spec)
    return out


def active_elements(workflow: Any) -> dict[str, str]:
    """MigrationElement id → kind of every element a token sits on (subprocesses included)."""
    out: dict[str, str] = {}
    for task in workflow.get_tasks(state=_ACTIVE):
        spec = task.task_spec
        if _may_hold_token(spec):
            out[spec.bpmn_id] = kind_of(spec)
    return out


def _split(name: str) -> tuple[str, str]:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix), suffix
    return name, ""


def rebuild(workflow: Any, spec: Any, subprocess_specs: dict[str, Any],
            mapping: dict[str, str]) -> None:
    """Put ``workflow`` on ``spec``: each task onto the element ``mapping`` (or the same id)
    names. ``MigrationTransformError``: an active task would have no element."""
    workflow.spec = spec
    workflow.subprocess_specs = subprocess_specs
    _rebuild_one(workflow, spec, mapping)
    for sub_id, sub in list(workflow.subprocesses.items()):
        parent = workflow.get_task_from_id(sub_id)
        name = getattr(parent.task_spec, "spec", None)
        target = subprocess_specs.get(name) if name else None
        if target is None:
            raise MigrationTransformError(
                f"the target has no process for the subprocess of '{parent.task_spec.name}'")
        sub.spec = target
        _rebuild_one(sub, target, mapping)


def _rebuild_one(workflow: Any, spec: Any, mapping: dict[str, str]) -> None:
    cut, drop = [], []
    for task in list(workflow.tasks.values()):
        prefix, suffix = _split(task.task_spec.name)
        new = spec.task_specs.get(mapping.get(prefix, prefix) + suffix)
        if new is not None:
            task.task_spec = new
        elif task.has_state(_NOT_REACHED):
            drop.append(task)
        elif task.has_state(TaskState.FINISHED_MASK):
            cut.append(task)
        else:
            raise MigrationTransformError(
                f"a token is on '{prefix}', which has no counterpart in the target")
    for task in drop:
        if task.id in workflow.tasks:
            workflow._remove_task(task.id)
    for task in cut:
        if task.id in workflow.tasks:
            _cut(workflow, task)
    for task in workflow.get_tasks(state=_ACTIVE):
        if task.workflow is workflow:
            _predict_again(task)
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = None


def _cut(workflow: Any, task: Any) -> None:
    """Remove a finished task from the tree; its children take its place under its parent."""
    parent = task.parent
    if parent is None:
        raise MigrationTransformError(f"cannot remove the root task {task.task_spec.name}")
    index = parent._children.index(task.id)
    parent._children[index:index + 1] = list(task._children)
    for child in task.children:
        child._parent = parent.id
    del workflow.tasks[task.id]


def _predict_again(task: Any) -> None:
    """Drop a waiting task's predicted children and predict them from its new spec.

    A multi-instance keeps its instances (children of its inner spec), a boundary event's
    parent its branches: only the children nobody reached are replaced.
    """
    inner = getattr(task.task_spec, "task_spec", None)  # a multi-instance's instances
    for child in list(task.children):
        if child.has_state(_NOT_REACHED) and child.task_spec.name != inner:
            task.workflow._remove_task(child.id)
    if not task.children:
        task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE
                                | task.state)
        return
    present = {child.task_spec.name for child in task.children}
    for spec in task.task_spec.outputs:
        if spec.name not in present:
            child = task._add_child(spec, TaskState.FUTURE)
            spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
