"""Helpers the API views share: the engine, the actor, bodies, query strings, dumping."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from flask import current_app, g, request
from marshmallow import Schema, ValidationError, validate

from engine import Engine, Principal

from ..errors import ApiError

SchemaLike = Schema | type[Schema]


@functools.cache
def _shared(cls: type[Schema]) -> Schema:
    return cls()


def shared(schema: SchemaLike) -> Schema:
    """One instance per schema class for the whole process: building a schema costs more than
    loading or dumping with it, and a schema keeps no state between calls."""
    return _shared(schema) if isinstance(schema, type) else schema


def engine() -> Engine:
    eng: Engine = current_app.extensions["bridgeflow"]
    return eng


def actor() -> str | None:
    name: str | None = g.get("actor")
    return name


def principal() -> Principal:
    """The credential of this request (the blueprint's ``authenticate`` sets it)."""
    found: Principal = g.principal
    return found


def load_body(schema: SchemaLike, *, optional: bool = False) -> dict[str, Any]:
    """Parse the JSON body and validate it: 400 when it is not JSON, 422 when it is wrong."""
    if optional and not request.get_data(cache=True):
        raw: Any = {}
    else:
        if not request.is_json:
            raise ApiError(400, "send the body as JSON with 'Content-Type: application/json'",
                           {"content_type": request.content_type})
        try:  # the app's provider: no NaN or Infinity, bounded nesting (web.strict_json)
            raw = current_app.json.loads(request.get_data(cache=True))
        except ValueError as exc:
            raise ApiError(400, f"the body is not valid JSON: {exc}",
                           {"reason": str(exc)}) from exc
    if not isinstance(raw, dict):
        raise ApiError(422, "the body must be a JSON object",
                       {"fields": {"_schema": ["must be a JSON object"]}})
    data: dict[str, Any] = shared(schema).load(raw)
    return data


def load_args(schema: SchemaLike) -> dict[str, Any]:
    """Validate the query string: an unknown parameter or a wrong value is a 422."""
    return load_args_from(request.args.to_dict(), schema)


def wait_arg() -> float:
    """Read ``?wait=`` (0 when absent), the one parameter a start or a completion takes."""
    from .schemas import WaitArgsSchema

    value: float = load_args(WaitArgsSchema)["wait"]
    return value


def load_args_from(values: dict[str, str], schema: SchemaLike) -> dict[str, Any]:
    schema = shared(schema)
    try:
        out: dict[str, Any] = schema.load(values)
    except ValidationError as exc:
        raise query_error(schema, values, exc.messages_dict) from exc
    return out


def query_error(schema: Schema, values: dict[str, str], messages: dict[str, Any]) -> ApiError:
    """A 422 naming each wrong parameter, with the parameters and values that are allowed."""
    declared = schema.load_fields.items()
    allowed = sorted(field.data_key or name for name, field in declared)
    choices = {field.data_key or name: [str(c) for c in check.choices]
               for name, field in declared for check in field.validators
               if isinstance(check, validate.OneOf)}
    parts = []
    unknown = sorted(name for name in messages if name not in allowed)
    if unknown:
        parts.append(f"unknown query parameter(s) {', '.join(unknown)}; allowed: "
                     f"{', '.join(allowed) or 'none'}")
    for name in sorted(set(messages) - set(unknown)):
        if name in choices:
            parts.append(f"{name} '{values.get(name)}' is not one of: "
                         f"{', '.join(choices[name])}")
        else:
            parts.append(f"invalid {name}: {' '.join(map(str, messages[name]))}")
    return ApiError(422, "; ".join(parts), {"fields": messages, "allowed_parameters": allowed,
                                            "allowed_values": choices})


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
    if callable(getattr(value, "isoformat", None)):  # a FEEL date past year 9999 or before 1
        return value.isoformat()
    return value


def dump(schema: SchemaLike, obj: Any) -> dict[str, Any]:
    """Serialize ``obj`` with ``schema`` into a JSON object."""
    data: dict[str, Any] = shared(schema).dump(obj)
    return data
