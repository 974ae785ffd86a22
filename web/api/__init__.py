"""The REST API at ``/api/v1``: one module per resource, all on this blueprint."""

from __future__ import annotations

from flask import Blueprint, g, request

from ..errors import ApiError
from .common import engine

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The CRM webhook authenticates by its HMAC signature instead of an API key.
OPEN_ENDPOINTS = {"api.openapi_document", "api.receive_crm_event"}


@bp.before_request
def authenticate() -> None:
    """Accept only a valid ``Authorization: Bearer <key>``; the key's name is the actor."""
    if request.endpoint in OPEN_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "send an API key as 'Authorization: Bearer <key>'")
    name = engine().identity.check_api_key(secret.strip())
    if name is None:
        raise ApiError(401, "the API key is not valid or has been revoked")
    g.actor = name


from . import (  # noqa: E402  (the views register themselves on bp)
    decisions,
    definitions,
    deployments,
    erasures,
    incidents,
    instances,
    messages,
    openapi,
    tasks,
    webhooks,
)

__all__ = ["bp", "decisions", "definitions", "deployments", "erasures", "incidents",
           "instances", "messages", "openapi", "tasks", "webhooks"]
