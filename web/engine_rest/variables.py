"""Camunda 7's typed variables (``{"value", "type", "valueInfo"}``) to plain values and back.

Pure functions: the external-task endpoints import them too. Every refusal is a
``VariableError`` naming the variable; the blueprint answers it as a 400.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..strict_json import MAX_DEPTH, check_depth

INT_RANGE = (-(2**31), 2**31 - 1)
SHORT_RANGE = (-(2**15), 2**15 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
JSON_FORMAT = "application/json"
# Camunda's date format, yyyy-MM-dd'T'HH:mm:ss.SSSZ (e.g. 2026-12-03T10:00:00.000+0000)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


class VariableError(ValueError):
    """A typed variable that cannot be read; the message names it and says why."""


def format_date(value: dt.datetime | None) -> str | None:
    """Write a datetime (naive means UTC) in Camunda's format, milliseconds and ``+0000``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" \
        + value.strftime("%z")


def parse_date(text: str) -> dt.datetime:
    """Read a date in Camunda's format (also without milliseconds); ``ValueError`` if not."""
    for pattern in (DATE_FORMAT, "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date as yyyy-MM-dd'T'HH:mm:ss.SSSZ, "
                     "e.g. 2026-12-03T10:00:00.000+0000")


def decode_variables(variables: Any, what: str = "variable") -> dict[str, Any]:
    """Turn ``{name: {"value", "type", "valueInfo"}}`` into ``{name: value}``."""
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise VariableError(f"{what}s must be a JSON object of name → typed value")
    return {name: decode_value(typed, name, what) for name, typed in variables.items()}


def decode_value(typed: Any, name: str = "value", what: str = "variable") -> Any:
    """One typed value as a plain Python value; ``VariableError`` naming ``name`` if wrong."""
    if not isinstance(typed, Mapping):
        raise VariableError(f"{what} '{name}' must be an object like "
                            '{"value": ..., "type": "String"}')
    kind = typed.get("type")
    value = typed.get("value")
    info = typed.get("valueInfo")
    info = {} if info is None else info
    if not isinstance(info, Mapping):
        raise VariableError(f"{what} '{name}': valueInfo must be an object")
    if kind is None or kind == "":
        return _untyped(value, name, what)
    if not isinstance(kind, str):
        raise VariableError(f"{what} '{name}': type must be a string")
    reader = _READERS.get(kind.lower())
    if reader is None:
        raise VariableError(f"{what} '{name}': type '{kind}' is not supported; use one of "
                            f"{', '.join(_TYPE_NAMES)}")
    if value is None and kind.lower() not in ("json", "object"):
        return None  # Camunda allows a null value of any primitive type
    try:
        return reader(value, info)
    except (TypeError, ValueError) as exc:
        raise VariableError(f"Cannot convert value '{value}' of type '{kind}' for "
                            f"{what} '{name}': {exc}") from exc


def encode_variables(variables: Mapping[str, Any],
                     names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Turn ``{name: value}`` into Camunda's typed form (only ``names`` when given)."""
    chosen = variables if names is None else {n: variables[n] for n in names if n in variables}
    return {name: encode_value(value) for name, value in chosen.items()}


def encode_value(value: Any) -> dict[str, Any]:
    """One plain value in Camunda's typed form, its type inferred from the Python value."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        kind = "Integer" if INT_RANGE[0] <= value <= INT_RANGE[1] else "Long"
        return {"type": kind, "value": value, "valueInfo": {}}
    if isinstance(value, float | Decimal):
        return {"type": "Double", "value": float(value), "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    if isinstance(value, dt.datetime):
        return {"type": "Date", "value": format_date(value), "valueInfo": {}}
    if isinstance(value, dt.date):
        midnight = dt.datetime.combine(value, dt.time(), dt.UTC)
        return {"type": "Date", "value": format_date(midnight), "valueInfo": {}}
    if isinstance(value, Mapping | list | tuple):
        return {"type": "Json", "value": json.dumps(value, default=str), "valueInfo": {}}
    return {"type": "String", "value": str(value), "valueInfo": {}}


# -- readers, one per Camunda type -----------------------------------------------------------

def _string(value: Any, info: Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a String needs a JSON string, got {_json_kind(value)}")
    return value


def _boolean(value: Any, info: Mapping[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"a Boolean needs true or false, got {_json_kind(value)}")


def _integer(bounds: tuple[int, int], label: str) -> Callable[[Any, Mapping[str, Any]], int]:
    def read(value: Any, info: Mapping[str, Any]) -> int:
        if isinstance(value, bool):
            raise TypeError(f"a {label} needs a whole number, got a boolean")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            value = int(value.strip())  # ValueError names the text
        if not isinstance(value, int):
            raise TypeError(f"a {label} needs a whole number, got {_json_kind(value)}")
        if not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"{value} is outside the range of a {label} "
                             f"({bounds[0]} to {bounds[1]})")
        return value
    return read


def _double(value: Any, info: Mapping[str, Any]) -> float:
    if isinstance(value, bool):
        raise TypeError("a Double needs a number, got a boolean")
    number = float(value.strip()) if isinstance(value, str) else value
    if not isinstance(number, int | float):
        raise TypeError(f"a Double needs a number, got {_json_kind(value)}")
    if not math.isfinite(number):
        raise ValueError("NaN and Infinity are not allowed")
    return float(number)


def _date(value: Any, info: Mapping[str, Any]) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"a Date needs a string, got {_json_kind(value)}")
    return parse_date(value)


def _null(value: Any, info: Mapping[str, Any]) -> None:
    return None


def _json(value: Any, info: Mapping[str, Any]) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"a Json value is sent as a JSON string, got {_json_kind(value)}")
    return _parse_json(value)


def _object(value: Any, info: Mapping[str, Any]) -> Any:
    fmt = info.get("serializationDataFormat") or JSON_FORMAT
    if fmt == "application/x-java-serialized-object":
        raise ValueError("Java-serialized objects are refused: Bridgeflow runs no Java and "
                         "never deserializes foreign objects; send the object as "
                         'serializationDataFormat "application/json" or as type Json')
    if fmt != JSON_FORMAT:
        raise ValueError(f"serializationDataFormat '{fmt}' is not supported; only "
                         f"'{JSON_FORMAT}'")
    return _json(value, info)


def _bytes(value: Any, info: Mapping[str, Any]) -> Any:
    raise ValueError("binary variables (Bytes, File) are not supported by Bridgeflow; "
                     "store the content elsewhere and pass a reference")


def _parse_json(text: str) -> Any:
    """A Json value's text, read as strictly as a request body (bounded nesting)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
    except RecursionError:
        raise ValueError(f"the JSON nests lists and objects more than {MAX_DEPTH} levels "
                         "deep") from None
    check_depth(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _untyped(value: Any, name: str, what: str) -> Any:
    """No ``type``: Camunda infers it from the JSON value; objects and lists pass as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        raise VariableError(f"{what} '{name}': NaN and Infinity are not allowed")
    return value


def _json_kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), "null" if value is None
                                                   else type(value).__name__)


_READERS: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    "string": _string,
    "boolean": _boolean,
    "integer": _integer(INT_RANGE, "Integer"),
    "short": _integer(SHORT_RANGE, "Short"),
    "long": _integer(LONG_RANGE, "Long"),
    "double": _double,
    "date": _date,
    "null": _null,
    "json": _json,
    "object": _object,
    "bytes": _bytes,
    "file": _bytes,
}
_TYPE_NAMES = ("String", "Boolean", "Integer", "Short", "Long", "Double", "Date", "Null",
               "Json", "Object")
