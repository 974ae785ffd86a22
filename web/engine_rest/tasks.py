"""Human tasks as Camunda's task resource: query, count, show, claim, unclaim, complete.

Camunda acts as the signed-in user; here a personal token acts as its person, and a service
account as ``userId`` (claim), the task's assignee, or else the Basic auth user name.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue

from engine import (
    OPEN_TASK_STATUSES,
    ConflictError,
    ForbiddenError,
    HumanTask,
    NotFoundError,
    Page,
)

from . import bp
from .common import (
    CamundaError,
    bool_field,
    engine,
    flag,
    format_date,
    json_body,
    paging,
    principal,
    text_field,
    where,
)
from .variables import decode_variables, encode_variables

# How long a completion runs the instance on before it answers (Camunda answers once the
# instance reached its next wait state; a longer run goes on in a worker).
COMPLETE_WAIT_SECONDS = 5.0
EVERY_TASK = 1_000_000  # no maxResults: every match from firstResult on
_FILTERS = {"processInstanceId": "instance_id", "processDefinitionKey": "process_key",
            "assignee": "assignee", "candidateGroup": "candidate_group",
            "candidateUser": "candidate_user", "taskDefinitionKey": "element_id",
            "processInstanceBusinessKey": "business_key"}
_KNOWN_ARGS = {*_FILTERS, "firstResult", "maxResults", "includeAssignedTasks", "unassigned"}


@bp.get("/task")
def list_tasks() -> ResponseReturnValue:
    """Open tasks matching every filter given, oldest due first."""
    first, count = paging()
    tasks: list[HumanTask] = _query(first, EVERY_TASK if count is None else count).items
    definitions = _definition_ids(tasks)
    return [_dto(task, definitions) for task in tasks]


@bp.get("/task/count")
def count_tasks() -> dict[str, Any]:
    """How many open tasks match the filters."""
    return {"count": _query(0, 0).total}


@bp.get("/task/<task_id>")
def show_task(task_id: str) -> dict[str, Any]:
    """One open task; a personal token sees only its person's tasks."""
    task = _open_task(task_id)
    person = principal().person
    if person is not None and not engine().identity.can_see_task(person, task):
        engine().identity.audit("access_denied", person.name, where=where(),
                                via=principal().via, task_id=task_id)
        raise CamundaError(403, f"task {task_id} is not one of {person.name}'s tasks",
                           "AuthorizationException")
    return _dto(task, _definition_ids([task]))


@bp.post("/task/<task_id>/claim")
def claim_task(task_id: str) -> Response:
    """Assign the task to ``userId`` (a personal token: only to its own person)."""
    body = json_body()
    task = _open_task(task_id)
    user = _acting_as(text_field(body, "userId", required=principal().person is None))
    try:
        engine().tasks.claim(task.id, user, via=principal().via)
    except ConflictError as exc:
        if "assignee" in exc.details:
            raise CamundaError(500, f"Task '{task_id}' is already claimed by someone else.",
                               "TaskAlreadyClaimedException") from exc
        raise
    return Response(status=204)


@bp.post("/task/<task_id>/unclaim")
def unclaim_task(task_id: str) -> Response:
    """Give a claimed task back to its candidates; an unclaimed one stays as it is."""
    task = _open_task(task_id)
    if task.assignee is None:
        return Response(status=204)
    person = principal().person
    user = _acting_as(person.name if person is not None else task.assignee)
    engine().tasks.unclaim(task.id, user, via=principal().via)
    return Response(status=204)


@bp.post("/task/<task_id>/complete")
def complete_task(task_id: str) -> ResponseReturnValue:
    """Complete the task with typed ``variables`` checked by its form."""
    body = json_body()
    variables = decode_variables(body.get("variables"))
    with_variables = bool_field(body, "withVariablesInReturn")
    task = _open_task(task_id)
    user = _acting_as(_completer(task))
    eng = engine()
    eng.tasks.complete(task.id, user, variables, wait=COMPLETE_WAIT_SECONDS,
                       via=principal().via)
    if not with_variables:
        return Response(status=204)
    instance = eng.runtime.instance(task.instance_id)
    return encode_variables(instance.variables or {})


def _completer(task: HumanTask) -> str:
    """Who completes: a token's person, the assignee, or the Basic auth user name."""
    person = principal().person
    if person is not None:
        return person.name
    if task.assignee:
        return task.assignee
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username
    raise CamundaError(400, f"Cannot complete task {task.id}: it is not claimed; claim it for "
                            "a person first, or send that person as the Basic user name")


def _acting_as(user: str | None) -> str:
    try:
        return engine().identity.acting_as(principal(), user, where())
    except ForbiddenError as exc:
        raise CamundaError(403, exc.message, "AuthorizationException") from exc


def _open_task(task_id: str) -> HumanTask:
    try:
        task = engine().tasks.task(task_id)
    except NotFoundError:
        task = None
    if task is None or task.status not in OPEN_TASK_STATUSES:
        raise CamundaError(404, f"No matching task with id {task_id}")
    return task


def _query(first: int, count: int) -> Page:
    """The open tasks the request's filters ask for, ``count`` of them from ``first`` on."""
    unknown = sorted(set(request.args) - _KNOWN_ARGS)
    if unknown:
        raise CamundaError(400, f"unsupported query parameter(s): {', '.join(unknown)}; "
                                f"supported: {', '.join(sorted(_KNOWN_ARGS))}")
    filters: dict[str, Any] = {ours: request.args[theirs] for theirs, ours in _FILTERS.items()
               if request.args.get(theirs)}
    # Camunda leaves claimed tasks out of a candidate query unless told to include them
    by_candidate = "candidate_group" in filters or "candidate_user" in filters
    unassigned = flag("unassigned") or (by_candidate and not flag("includeAssignedTasks"))
    return engine().tasks.list_tasks(**filters, unassigned=unassigned,
                                     visible_to=principal().person, offset=first,
                                     per_page=count)


def _definition_ids(tasks: list[HumanTask]) -> dict[str, str]:
    """The definition id of each task's instance, by instance id."""
    runtime = engine().runtime
    return {instance_id: runtime.instance(instance_id).definition_id
            for instance_id in {t.instance_id for t in tasks}}


def _dto(task: HumanTask, definitions: dict[str, str]) -> dict[str, Any]:
    """Camunda's TaskDto."""
    return {
        "id": task.id, "name": task.name, "assignee": task.assignee, "owner": None,
        "created": format_date(task.created_at), "lastUpdated": None,
        "due": format_date(task.due_at), "followUp": None, "delegationState": None,
        "description": None, "executionId": task.instance_id, "parentTaskId": None,
        "priority": task.priority, "processDefinitionId": definitions[task.instance_id],
        "processInstanceId": task.instance_id, "taskDefinitionKey": task.element_id,
        "caseExecutionId": None, "caseInstanceId": None, "caseDefinitionId": None,
        "suspended": False, "formKey": None, "camundaFormRef": None, "tenantId": None,
    }
