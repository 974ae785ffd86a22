"""Helpers the API views share: the engine, the actor, bodies, query strings, dumping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import current_app, g, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import BadRequest

from engine.service import Engine

from ..errors import ApiError


def engine() -> Engine:
    eng: Engine = current_app.extensions["bridgeflow"]
    return eng


def actor() -> str | None:
    name: str | None = g.get("actor")
    return name


def load_body(schema: Schema, *, optional: bool = False) -> dict[str, Any]:
    """Parse the JSON body and validate it: 400 when it is not JSON, 422 when it is wrong."""
    if optional and not request.get_data(cache=True):
        raw: Any = {}
    else:
        if not request.is_json:
            raise ApiError(400, "send the body as JSON with 'Content-Type: application/json'",
                           {"content_type": request.content_type})
        try:
            raw = request.get_json()
        except BadRequest as exc:
            raise ApiError(400, "the body is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise ApiError(422, "the body must be a JSON object",
                       {"fields": {"_schema": ["must be a JSON object"]}})
    data: dict[str, Any] = schema.load(raw)
    return data


def load_args(schema: Schema) -> dict[str, Any]:
    """Validate the query string; a value that cannot be read is a malformed request."""
    return load_args_from(request.args.to_dict(), schema)


def wait_arg() -> float:
    from .schemas import WaitArgsSchema

    wait = request.args.get("wait")
    if wait is None:
        return 0.0
    value: float = load_args_from({"wait": wait}, WaitArgsSchema())["wait"]
    return value


def load_args_from(values: dict[str, str], schema: Schema) -> dict[str, Any]:
    try:
        out: dict[str, Any] = schema.load(values)
    except ValidationError as exc:
        names = ", ".join(sorted(str(k) for k in exc.messages_dict))
        raise ApiError(400, f"invalid query parameter(s): {names}",
                       {"fields": exc.messages_dict}) from exc
    return out


def json_safe(value: Any) -> Any:
    """Turn decision outputs into plain JSON: Decimal → number, dates → ISO strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def dump(schema: Schema, obj: Any) -> dict[str, Any]:
    """Serialize ``obj`` with ``schema`` into a JSON object."""
    data: dict[str, Any] = schema.dump(obj)
    return data
