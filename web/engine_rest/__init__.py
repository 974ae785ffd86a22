"""Camunda 7's REST API at ``/engine-rest``: its paths, shapes and errors over our engine.

Clients authenticate with Bridgeflow API keys, sent as HTTP Basic (any user name, the key as
the password: what Camunda clients send) or as Bearer; each route needs one of its scopes.
"""

from __future__ import annotations

import base64
import binascii
import logging

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException

from engine import (
    ConflictError,
    DefinitionError,
    EngineError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    Scope,
    UnauthenticatedError,
)

from .common import CamundaError, camunda_error, engine, where
from .variables import VariableError

log = logging.getLogger(__name__)

bp = Blueprint("engine_rest", __name__, url_prefix="/engine-rest")

ANY_KEY: tuple[Scope, ...] = tuple(Scope)  # any valid key may read these
# The scopes a key needs for each route (any one of them); a route missing here is refused.
ENDPOINT_SCOPES: dict[str, tuple[Scope, ...]] = {
    "engine_rest.list_engines": ANY_KEY,
    "engine_rest.show_version": ANY_KEY,
    "engine_rest.unsupported": ANY_KEY,  # a 404 naming what is not offered
    "engine_rest.start_by_key": (Scope.PROCESSES_START,),
    "engine_rest.correlate_message": (Scope.MESSAGES_SEND,),
    "engine_rest.throw_signal": (Scope.MESSAGES_SEND,),
    "engine_rest.list_tasks": (Scope.TASKS_READ,),
    "engine_rest.count_tasks": (Scope.TASKS_READ,),
    "engine_rest.show_task": (Scope.TASKS_READ,),
    "engine_rest.claim_task": (Scope.TASKS_ACT,),
    "engine_rest.unclaim_task": (Scope.TASKS_ACT,),
    "engine_rest.complete_task": (Scope.TASKS_ACT,),
    "engine_rest.list_instances": (Scope.ADMIN,),
    "engine_rest.count_instances": (Scope.ADMIN,),
    "engine_rest.show_instance": (Scope.ADMIN, Scope.PROCESSES_START),
    "engine_rest.instance_variables": (Scope.ADMIN, Scope.PROCESSES_START),
    "engine_rest.instance_variable": (Scope.ADMIN, Scope.PROCESSES_START),
    "engine_rest.put_instance_variable": (Scope.ADMIN,),
    "engine_rest.delete_instance_variable": (Scope.ADMIN,),
    "engine_rest.create_deployment": (Scope.DEPLOY,),
    "engine_rest.fetch_and_lock": (Scope.EXTERNAL_TASKS,),
    "engine_rest.complete_external_task": (Scope.EXTERNAL_TASKS,),
    "engine_rest.fail_external_task": (Scope.EXTERNAL_TASKS,),
    "engine_rest.bpmn_error_external_task": (Scope.EXTERNAL_TASKS,),
    "engine_rest.extend_external_task_lock": (Scope.EXTERNAL_TASKS,),
    "engine_rest.unlock_external_task": (Scope.EXTERNAL_TASKS, Scope.ADMIN),
    "engine_rest.set_external_task_retries": (Scope.ADMIN,),
    "engine_rest.list_external_tasks": (Scope.EXTERNAL_TASKS, Scope.ADMIN),
    "engine_rest.count_external_tasks": (Scope.EXTERNAL_TASKS, Scope.ADMIN),
    "engine_rest.show_external_task": (Scope.EXTERNAL_TASKS, Scope.ADMIN),
}


def _secret() -> str:
    """The API key from ``Authorization``: Basic's password, or Bearer's token."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CamundaError(401, "the Basic credentials are not base64 of 'user:key'",
                               "AuthenticationException") from None
        _, colon, key = decoded.partition(":")
        if colon and key:
            return key
        raise CamundaError(401, "send the API key as the Basic password ('user:key'); "
                                "the user name is not read as a key",
                           "AuthenticationException")
    raise CamundaError(401, "send an API key as HTTP Basic (any user, the key as password) "
                            "or as 'Authorization: Bearer <key>'", "AuthenticationException")


@bp.before_request
def authenticate() -> None:
    """Accept only a valid key holding one of the route's scopes."""
    if request.routing_exception is not None:
        return
    identity = engine().identity
    principal = identity.authenticate_key(_secret(), where())
    identity.require_scope(principal, ENDPOINT_SCOPES.get(request.endpoint or "", ()), where())
    g.principal = principal


# -- every failure in Camunda's error shape ---------------------------------------------------

@bp.errorhandler(CamundaError)
def _camunda_error(exc: CamundaError) -> tuple[Response, int]:
    return camunda_error(exc.status, exc.type, exc.message, exc.details)


@bp.errorhandler(VariableError)
def _variable_error(exc: VariableError) -> tuple[Response, int]:
    return camunda_error(400, "InvalidRequestException", str(exc))


# engine error → (status, Camunda's exception type); the first that matches wins
_ENGINE_ERRORS: list[tuple[type[EngineError], int, str]] = [
    (UnauthenticatedError, 401, "AuthenticationException"),
    (ForbiddenError, 403, "AuthorizationException"),
    (NotFoundError, 404, "InvalidRequestException"),
    (DefinitionError, 400, "ParseException"),
    (InvalidInputError, 400, "InvalidRequestException"),
    (ConflictError, 500, "ProcessEngineException"),  # Camunda answers engine refusals so
]


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError) -> tuple[Response, int]:
    status, type_ = next(((s, t) for kind, s, t in _ENGINE_ERRORS if isinstance(exc, kind)),
                         (400, "RestException"))
    return camunda_error(status, type_, exc.message, exc.details or None)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    return camunda_error(exc.code or 500, "RestException", exc.description or exc.name)


from . import (  # noqa: E402  (the views register themselves on bp)
    deployments,
    external_tasks,
    messages,
    process_definitions,
    process_instances,
    system,
    tasks,
)

__all__ = ["ENDPOINT_SCOPES", "bp", "deployments", "external_tasks", "messages",
           "process_definitions", "process_instances", "system", "tasks"]
