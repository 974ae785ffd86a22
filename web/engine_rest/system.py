"""The engine list and the version: what Camunda clients ask first."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from . import bp
from .common import CamundaError

# The Camunda 7 REST API level this subset speaks (not a Camunda release we ship).
API_LEVEL = "7.21.0"


@bp.get("/engine")
def list_engines() -> ResponseReturnValue:
    """Name the one engine, as Camunda names its default one."""
    return jsonify([{"name": "default"}])


@bp.get("/version")
def show_version() -> dict[str, Any]:
    """Report the Camunda REST API level this subset speaks."""
    return {"version": API_LEVEL}


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
def unsupported(rest: str) -> dict[str, Any]:
    """Say in Camunda's error shape that this part of Camunda's API is not offered here."""
    raise CamundaError(404, f"Bridgeflow does not offer {request.method} /engine-rest/{rest}; "
                            "the README lists the Camunda 7 endpoints it supports",
                       "RestException")
