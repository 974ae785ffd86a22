"""Human tasks: list, show, claim, unclaim, complete.

Acting on a task needs the scope ``tasks:act``; the engine then checks that the person acted
for exists, is active and is a candidate (or the assignee, or an admin).
"""

from __future__ import annotations

from typing import Any

from flask import request

from engine import ForbiddenError

from . import bp
from .common import dump, engine, load_args, load_body, principal, wait_arg
from .schemas import (
    ClaimSchema,
    CompleteTaskSchema,
    TaskArgsSchema,
    TaskPageSchema,
    TaskSchema,
    UnclaimSchema,
)


def _person(body: dict[str, Any]) -> str:
    """The person this request acts for, as the engine allows it for this credential."""
    return engine().identity.acting_as(principal(), body.get("user"),
                                       f"{request.method} {request.path}")


@bp.get("/tasks")
def list_tasks() -> dict[str, Any]:
    """List open tasks (or those of ``?status=``) for a group or an assignee."""
    args = load_args(TaskArgsSchema)
    # a personal token sees only what its person sees in the inbox
    page = engine().tasks.list_tasks(**args, visible_to=principal().person)
    return dump(TaskPageSchema, page)


@bp.get("/tasks/<task_id>")
def show_task(task_id: str) -> dict[str, Any]:
    """Show one task with its form."""
    task = engine().tasks.task(task_id)
    person = principal().person
    if person is not None and not engine().identity.can_see_task(person, task):
        engine().identity.audit("access_denied", person.name, where=f"GET {request.path}",
                                via=principal().via, task_id=task_id)
        raise ForbiddenError(f"task {task_id} is not one of {person.name}'s tasks")
    return dump(TaskSchema, task)


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str) -> dict[str, Any]:
    """Assign the task to ``user`` (a personal token: to its person)."""
    body = load_body(ClaimSchema, optional=True)
    user = _person(body)
    return dump(TaskSchema, engine().tasks.claim(task_id, user, via=principal().via))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str) -> dict[str, Any]:
    """Put a claimed task back in its groups' queue (its assignee or an admin may)."""
    body = load_body(UnclaimSchema, optional=True)
    user = _person(body)
    return dump(TaskSchema, engine().tasks.unclaim(task_id, user, via=principal().via))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> dict[str, Any]:
    """Complete the task with the form's ``variables``; ``?wait=S`` runs what follows."""
    wait = wait_arg()
    body = load_body(CompleteTaskSchema)
    user = _person(body)
    task = engine().tasks.complete(task_id, user, body.get("variables"), wait=wait,
                                   via=principal().via)
    return dump(TaskSchema, task)
