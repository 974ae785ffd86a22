"""Incidents: failures that need a person, and retrying them."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import actor, dump, engine, load_args
from .schemas import IncidentArgsSchema, IncidentPageSchema, IncidentSchema


@bp.get("/incidents")
def list_incidents() -> dict[str, Any]:
    """List incidents with ``?status=`` (default open; ``all`` for every one)."""
    args = load_args(IncidentArgsSchema)
    status = None if args["status"] == "all" else args["status"]
    page = engine().management.list_incidents(status, args["page"], args["per_page"])
    return dump(IncidentPageSchema, page)


@bp.post("/incidents/<incident_id>/retry")
def retry_incident(incident_id: str) -> dict[str, Any]:
    """Resolve the incident and let its instance try the failed step again."""
    return dump(IncidentSchema, engine().management.retry_incident(incident_id, actor()))
