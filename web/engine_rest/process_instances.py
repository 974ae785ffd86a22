"""Running process instances as Camunda's process-instance resource, and their variables.

As in Camunda, only instances that have not ended are found here; writing a variable is an
audited admin repair that lands under the instance's lock.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from engine import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    ConflictError,
    Instance,
    InstanceStatus,
    NotFoundError,
    Page,
)

from . import bp
from .common import (
    CamundaError,
    actor,
    engine,
    flag,
    instance_dto,
    json_body,
    paging,
)
from .variables import decode_value, encode_value, encode_variables

ACTIVE = LIVE_STATUSES  # running, waiting, incident: Camunda's "active"
EVERY_INSTANCE = 10_000  # the most one answer lists without maxResults
# How long a variable write may take to land before the answer (a worker holding the
# instance applies it right after)
WRITE_WAIT_SECONDS = 5.0
_KNOWN_ARGS = {"processDefinitionKey", "businessKey", "processInstanceIds", "active",
               "suspended", "firstResult", "maxResults"}


@bp.get("/process-instance")
def list_instances() -> list[dict[str, Any]]:
    """Instances that have not ended, matching every filter given, newest first."""
    first, count = paging()
    if count == 0:
        return []
    page = _query(offset=first, limit=EVERY_INSTANCE if count is None else count)
    return [instance_dto(instance) for instance in page.items]


@bp.get("/process-instance/count")
def count_instances() -> dict[str, Any]:
    """How many instances that have not ended match the filters."""
    return {"count": _query(offset=0, limit=1).total}


@bp.get("/process-instance/<instance_id>")
def show_instance(instance_id: str) -> dict[str, Any]:
    """One instance that has not ended."""
    return instance_dto(_live_instance(instance_id))


@bp.get("/process-instance/<instance_id>/variables")
def instance_variables(instance_id: str) -> dict[str, Any]:
    """Every variable of the instance, typed."""
    return encode_variables(_live_instance(instance_id).variables or {})


@bp.get("/process-instance/<instance_id>/variables/<name>")
def instance_variable(instance_id: str, name: str) -> dict[str, Any]:
    """One variable of the instance, typed."""
    variables = _live_instance(instance_id).variables or {}
    if name not in variables:
        raise CamundaError(404, f"process instance variable with name {name} does not exist")
    return encode_value(variables[name])


@bp.put("/process-instance/<instance_id>/variables/<name>")
def put_instance_variable(instance_id: str, name: str) -> Response:
    """Set one variable from a typed value (an audited admin repair)."""
    value = decode_value(json_body(optional=False), name)
    _change(instance_id, {name: value}, [])
    return Response(status=204)


@bp.delete("/process-instance/<instance_id>/variables/<name>")
def delete_instance_variable(instance_id: str, name: str) -> Response:
    """Remove one variable (an audited admin repair); a missing one is no error."""
    _change(instance_id, {}, [name])
    return Response(status=204)


def _change(instance_id: str, values: dict[str, Any], remove: list[str]) -> None:
    try:
        engine().management.set_variables(instance_id, values, remove, actor=actor(),
                                          wait=WRITE_WAIT_SECONDS)
    except NotFoundError as exc:
        raise CamundaError(404, f"Process instance with id {instance_id} does not exist"
                           ) from exc
    except ConflictError as exc:
        raise CamundaError(400, f"Cannot modify variables of process instance {instance_id}:"
                                f" {exc.message}", "RestException") from exc


def _live_instance(instance_id: str) -> Instance:
    try:
        instance = engine().runtime.instance(instance_id)
    except NotFoundError:
        instance = None
    if instance is None or instance.status in FINAL_STATUSES:
        raise CamundaError(404, f"Process instance with id {instance_id} does not exist")
    return instance


def _query(offset: int, limit: int) -> Page:
    unknown = sorted(set(request.args) - _KNOWN_ARGS)
    if unknown:
        raise CamundaError(400, f"unsupported query parameter(s): {', '.join(unknown)}; "
                                f"supported: {', '.join(sorted(_KNOWN_ARGS))}")
    active, suspended = flag("active"), flag("suspended")
    statuses: list[str] = [*ACTIVE, InstanceStatus.SUSPENDED]
    if active:
        statuses = [s for s in statuses if s in ACTIVE]
    if suspended:
        statuses = [s for s in statuses if s == InstanceStatus.SUSPENDED]
    ids = request.args.get("processInstanceIds")
    return engine().runtime.list_instances(
        process_key=request.args.get("processDefinitionKey") or None,
        business_key=request.args.get("businessKey") or None, statuses=statuses,
        ids=[i for i in ids.split(",") if i] if ids is not None else None,
        offset=offset, per_page=max(limit, 1))
