"""The REST API at ``/api/v1``: one module per resource, all on this blueprint."""

from __future__ import annotations

from flask import Blueprint, g, request

from engine import Scope

from ..errors import ApiError
from .common import engine

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The CRM webhook authenticates by its HMAC signature instead of an API key.
OPEN_ENDPOINTS = {"api.openapi_document", "api.receive_crm_event"}

_READ_PROCESSES = (Scope.PROCESSES_START, Scope.DEPLOY, Scope.ADMIN)
_READ_REPORTS = (Scope.REPORTS_READ, Scope.ADMIN)
# The scopes a key needs for each route (any one of them); a route missing here is refused.
ENDPOINT_SCOPES: dict[str, tuple[Scope, ...]] = {
    "api.evaluate_decision": (Scope.PROCESSES_START, Scope.DEPLOY),
    "api.list_definitions": _READ_PROCESSES,
    "api.show_definition": _READ_PROCESSES,
    "api.definition_xml": _READ_PROCESSES,
    "api.diff_versions": _READ_PROCESSES,
    "api.rollback": (Scope.DEPLOY,),
    "api.deploy": (Scope.DEPLOY,),
    "api.list_incidents": (Scope.ADMIN,),
    "api.retry_incident": (Scope.ADMIN,),
    "api.start_instance": (Scope.PROCESSES_START,),
    "api.list_instances": (Scope.ADMIN,),
    "api.show_instance": (Scope.PROCESSES_START, Scope.ADMIN),
    "api.suspend_instance": (Scope.ADMIN,),
    "api.resume_instance": (Scope.ADMIN,),
    "api.terminate_instance": (Scope.ADMIN,),
    "api.instance_events": (Scope.ADMIN,),
    "api.send_message": (Scope.MESSAGES_SEND,),
    "api.send_signal": (Scope.MESSAGES_SEND,),
    "api.list_tasks": (Scope.TASKS_READ,),
    "api.show_task": (Scope.TASKS_READ,),
    "api.claim_task": (Scope.TASKS_ACT,),
    "api.unclaim_task": (Scope.TASKS_ACT,),
    "api.complete_task": (Scope.TASKS_ACT,),
    "api.erase": (Scope.ADMIN,),
    "api.generate_migration_plan": (Scope.ADMIN,),
    "api.validate_migration": (Scope.ADMIN,),
    "api.migrate": (Scope.ADMIN,),
    "api.show_migration_batch": (Scope.ADMIN,),
    "api.list_migrations": (Scope.ADMIN,),
    "api.list_reports": _READ_REPORTS,
    "api.show_report": _READ_REPORTS,
    "api.report_file": _READ_REPORTS,
    "api.reconciliation_report": _READ_REPORTS,
    "api.process_report": _READ_REPORTS,
}


@bp.before_request
def authenticate() -> None:
    """Accept only a valid ``Authorization: Bearer <key>`` holding the route's scope."""
    if request.endpoint in OPEN_ENDPOINTS or request.routing_exception is not None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    where = f"{request.method} {request.path}"
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "send an API key as 'Authorization: Bearer <key>'")
    identity = engine().identity
    principal = identity.authenticate_key(secret.strip(), where)
    identity.require_scope(principal, ENDPOINT_SCOPES.get(request.endpoint or "", ()), where)
    g.principal = principal
    g.actor = principal.person.name if principal.person is not None else principal.account


from . import (  # noqa: E402  (the views register themselves on bp)
    decisions,
    definitions,
    deployments,
    erasures,
    incidents,
    instances,
    messages,
    migrations,
    openapi,
    reports,
    tasks,
    webhooks,
)

__all__ = ["bp", "decisions", "definitions", "deployments", "erasures", "incidents",
           "instances", "messages", "migrations", "openapi", "reports", "tasks", "webhooks"]
