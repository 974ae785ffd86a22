"""The value types of a field: converting a source value to its type, and back to JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import _Invalid

TYPE_OPTIONS: dict[str, frozenset[str]] = {
    "string": frozenset({"max_length", "pattern"}),
    "integer": frozenset({"min", "max", "factor"}),
    "decimal": frozenset({"places", "min", "max", "factor"}),
    "boolean": frozenset(),
    "date": frozenset({"format"}),
    "datetime": frozenset({"format"}),
    "enum": frozenset({"table", "case_sensitive"}),
    "any": frozenset(),
}
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Invalid("expected a number, not true/false")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _Invalid("is not a number") from None
    else:
        raise _Invalid(f"expected a number, not {_kind(value)}")
    if not number.is_finite():
        raise _Invalid("is not a finite number")
    return number


def _bounded(number: Decimal, options: dict[str, Any]) -> None:
    if "min" in options and number < options["min"]:
        raise _Invalid(f"must be at least {options['min']}")
    if "max" in options and number > options["max"]:
        raise _Invalid(f"must be at most {options['max']}")


def _to_string(value: Any, options: dict[str, Any]) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Invalid(f"expected text, not {_kind(value)}")
    text = value if isinstance(value, str) else str(_number(value))
    if "max_length" in options and len(text) > options["max_length"]:
        raise _Invalid(f"is longer than {options['max_length']} characters")
    if "pattern" in options and not options["pattern"].fullmatch(text):
        raise _Invalid(f"does not match the pattern {options['pattern'].pattern}")
    return text


def _to_integer(value: Any, options: dict[str, Any]) -> int:
    number = _number(value) * options.get("factor", 1)
    if number != number.to_integral_value():
        raise _Invalid("is not a whole number")
    _bounded(number, options)
    return int(number)


def _to_decimal(value: Any, options: dict[str, Any]) -> Decimal:
    number: Decimal = _number(value) * options.get("factor", 1)
    if "places" in options:
        try:
            number = number.quantize(Decimal(1).scaleb(-options["places"]), ROUND_HALF_UP)
        except InvalidOperation:
            raise _Invalid("is too large") from None
    _bounded(number, options)
    return number


def _to_boolean(value: Any, options: dict[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid("expected true/false, yes/no, 1/0 or on/off")


def _to_datetime(value: Any, options: dict[str, Any]) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = (dt.datetime.strptime(value.strip(), options["format"])
                      if "format" in options else dt.datetime.fromisoformat(value.strip()))
        except ValueError:
            raise _Invalid(f"is not a date and time ({options.get('format', 'ISO 8601')})"
                           ) from None
    else:
        raise _Invalid(f"expected a date and time, not {_kind(value)}")
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment


def _to_date(value: Any, options: dict[str, Any]) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and "format" not in options:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    try:
        return _to_datetime(value, options).date()
    except _Invalid:
        raise _Invalid(f"is not a date ({options.get('format', 'ISO 8601, YYYY-MM-DD')})"
                       ) from None


def _to_enum(value: Any, options: dict[str, Any]) -> Any:
    table: EnumTable = options["table"]
    return table.lookup(value, options.get("case_sensitive", False))


def _to_any(value: Any, options: dict[str, Any]) -> Any:
    return value


CONVERTERS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "string": _to_string, "integer": _to_integer, "decimal": _to_decimal,
    "boolean": _to_boolean, "date": _to_date, "datetime": _to_datetime, "enum": _to_enum,
    "any": _to_any,
}


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.strip() if isinstance(value, str) else str(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__)


def _preview(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(json_ready(value))
    return text if len(text) <= 60 else text[:57] + "..."


def json_ready(value: Any) -> Any:
    """``value`` with decimals as exact strings and dates as ISO 8601 text (for JSON)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class EnumTable:
    """A value table: source value → target value, looked up by text."""

    name: str
    exact: dict[str, Any]
    folded: dict[str, Any]

    def lookup(self, value: Any, case_sensitive: bool) -> Any:
        if isinstance(value, dict | list):
            raise _Invalid(f"expected a plain value, not {_kind(value)}")
        key = _key(value)
        if key in self.exact:
            return self.exact[key]
        if not case_sensitive and key.casefold() in self.folded:
            return self.folded[key.casefold()]
        known = ", ".join(list(self.exact)[:12]) + (", ..." if len(self.exact) > 12 else "")
        raise _Invalid(f"is not in table '{self.name}' (known: {known})")
