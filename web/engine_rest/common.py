"""What the /engine-rest views share: Camunda's error body, the body, paging, dates, DTOs."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from engine import FINAL_STATUSES, Engine, Instance, InstanceStatus, Principal

from .variables import format_date

__all__ = ["CamundaError", "actor", "bool_field", "camunda_error", "engine", "flag",
           "format_date", "instance_dto", "json_body", "paging", "principal", "text_field",
           "where"]


class CamundaError(Exception):
    """An answer in Camunda's error shape: ``{"type", "message"}`` (and ``details``)."""

    def __init__(self, status: int, message: str, type_: str = "InvalidRequestException",
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.details = status, message, type_, details


def camunda_error(status: int, type_: str, message: str,
                  details: dict[str, Any] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"type": type_, "message": message}
    if details:
        body["details"] = details
    response = jsonify(body)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="bridgeflow"'
    return response, status


def engine() -> Engine:
    eng: Engine = current_app.extensions["bridgeflow"]
    return eng


def principal() -> Principal:
    found: Principal = g.principal
    return found


def actor() -> str:
    """Who the audit trail names: the token's person, else the service account."""
    who = principal()
    return who.person.name if who.person is not None else who.account


def where() -> str:
    return f"{request.method} {request.path}"


def json_body(optional: bool = True) -> dict[str, Any]:
    """The JSON object sent; an empty body is ``{}`` when ``optional``; else a 400."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise CamundaError(400, "a JSON body is required")
    try:  # the app's strict provider: no NaN or Infinity, bounded nesting
        data = current_app.json.loads(raw)
    except ValueError as exc:
        raise CamundaError(400, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CamundaError(400, "the body must be a JSON object")
    return data


def text_field(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise CamundaError(400, f"'{name}' is required")
        return None
    if not isinstance(value, str) or not value:
        raise CamundaError(400, f"'{name}' must be a non-empty string")
    return value


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise CamundaError(400, f"'{name}' must be true or false")
    return value


def flag(name: str) -> bool | None:
    """A ``true``/``false`` query parameter, ``None`` when absent."""
    value = request.args.get(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise CamundaError(400, f"Cannot set query parameter '{name}' to value '{value}': "
                                "expected true or false")
    return value.lower() == "true"


def paging() -> tuple[int, int | None]:
    """``firstResult`` and ``maxResults`` (Camunda's paging), checked."""
    out: list[int | None] = []
    for name in ("firstResult", "maxResults"):
        value = request.args.get(name)
        if value is None:
            out.append(None)
            continue
        try:
            number = int(value)
        except ValueError:
            raise CamundaError(400, f"Cannot set query parameter '{name}' to value '{value}'"
                               ": expected a whole number") from None
        if number < 0:
            raise CamundaError(400, f"'{name}' must not be negative")
        out.append(number)
    return out[0] or 0, out[1]


def instance_dto(instance: Instance) -> dict[str, Any]:
    """Camunda's ProcessInstanceDto for one instance."""
    return {
        "id": instance.id,
        "definitionId": instance.definition_id,
        "definitionKey": instance.process_key,
        "businessKey": instance.business_key,
        "caseInstanceId": None,
        "ended": instance.status in FINAL_STATUSES,
        "suspended": instance.status == InstanceStatus.SUSPENDED,
        "tenantId": None,
        "links": [{"method": "GET", "href": f"{request.url_root.rstrip('/')}/engine-rest/"
                   f"process-instance/{instance.id}", "rel": "self"}],
    }
