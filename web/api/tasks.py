"""Human tasks: list, show, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import dump, engine, load_args, load_body, wait_arg
from .schemas import (
    ClaimSchema,
    CompleteTaskSchema,
    TaskArgsSchema,
    TaskPageSchema,
    TaskSchema,
    UnclaimSchema,
)


@bp.get("/tasks")
def list_tasks() -> dict[str, Any]:
    """List open tasks (or those of ``?status=``) for a group or an assignee."""
    args = load_args(TaskArgsSchema())
    return dump(TaskPageSchema(), engine().tasks.list_tasks(**args))


@bp.get("/tasks/<task_id>")
def show_task(task_id: str) -> dict[str, Any]:
    """Show one task with its form."""
    return dump(TaskSchema(), engine().tasks.task(task_id))


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str) -> dict[str, Any]:
    """Assign the task to ``user``."""
    body = load_body(ClaimSchema())
    return dump(TaskSchema(), engine().tasks.claim(task_id, body["user"]))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str) -> dict[str, Any]:
    """Put a claimed task back in its groups' queue."""
    body = load_body(UnclaimSchema(), optional=True)
    return dump(TaskSchema(), engine().tasks.unclaim(task_id, body.get("user")))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> dict[str, Any]:
    """Complete the task with the form's ``variables``; ``?wait=S`` runs what follows."""
    wait = wait_arg()
    body = load_body(CompleteTaskSchema())
    task = engine().tasks.complete(task_id, body["user"], body.get("variables"), wait=wait)
    return dump(TaskSchema(), task)
