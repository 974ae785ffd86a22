"""Check and convert values against a DMN typeRef (number, string, date, ...) on the way in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.dmn.feel_errors import report
from engine.dmn.feel_far_dates import FarDate, FarDateTime
from engine.dmn.feel_nanos import NanoDateTime, NanoTime
from engine.dmn.feel_temporal import parse_date, parse_date_time, parse_duration, parse_time
from engine.dmn.feel_types import ATOMIC_TYPES, YearMonthDuration, feel_repr, to_feel
from engine.dmn.feel_typespec import TypeSpec, conforms

Converter = Callable[[Any], Any]


class TypeMismatchError(ValueError):
    """A value of the wrong type for a declared typeRef."""

    def __init__(self, expected: str, value: Any) -> None:
        shown = feel_repr(value) if type(value) in ATOMIC_TYPES else repr(value)
        super().__init__(f"must be a {expected}, got {shown} ({type(value).__name__})")


def _from_text(parse: Callable[[str], Any], kind: type | tuple[type, ...],
               label: str) -> Converter:
    def convert(value: Any) -> Any:
        if value is None or isinstance(value, kind) and type(value) is not bool:
            if type(value) is dt.datetime and kind is _DATES:
                raise TypeMismatchError(label, value)
            return value
        if type(value) is str:
            parsed = parse(value)
            if parsed is not None and isinstance(parsed, kind):
                return parsed
        raise TypeMismatchError(label, value)

    return convert


def _exact(kind: type, label: str) -> Converter:
    def convert(value: Any) -> Any:
        if value is None or type(value) is kind:
            return value
        raise TypeMismatchError(label, value)

    return convert


_DATES = (dt.date, FarDate)
_DATE_TIMES = (dt.datetime, FarDateTime, NanoDateTime)


def _as_date_time(text: str) -> Any:
    return parse_date_time(text)


_CONVERTERS: dict[str, Converter] = {
    "number": _exact(Decimal, "number"),
    "string": _exact(str, "string"),
    "boolean": _exact(bool, "boolean"),
    "date": _from_text(parse_date, _DATES, "date (yyyy-mm-dd)"),
    "time": _from_text(parse_time, (dt.time, NanoTime), "time (hh:mm:ss)"),
    "date and time": _from_text(_as_date_time, _DATE_TIMES, "date and time"),
    "days and time duration": _from_text(parse_duration, dt.timedelta, "days and time duration"),
    "years and months duration": _from_text(
        parse_duration, YearMonthDuration, "years and months duration"
    ),
}
_ALIASES = {
    "integer": "number", "long": "number", "double": "number", "decimal": "number",
    "int": "number", "datetime": "date and time", "daytimeduration": "days and time duration",
    "yearmonthduration": "years and months duration",
}  # fmt: skip


def _base_name(type_ref: str, item_types: dict[str, str]) -> str:
    name = type_ref.strip()
    seen: set[str] = set()
    while name in item_types and name not in seen:
        seen.add(name)
        name = item_types[name].strip()
    name = name.split(":", 1)[-1].strip().lower()
    return _ALIASES.get(name, name)


def result_check(type_ref: str | None, item_types: dict[str, str],
                 item_specs: dict[str, TypeSpec] | None = None) -> Converter | None:
    """Check a decision's result against its variable's typeRef, as FEEL coerces it: a
    one-item list stands for its item (and an item for a one-item list of a list type); a
    value of another type is a TypeMismatchError."""
    if not type_ref:
        return None
    spec = (item_specs or {}).get(type_ref.strip())
    if spec is not None and spec.name in ("list", "context"):
        return _structured_check(spec, item_specs or {})
    name = _base_name(type_ref, item_types)
    kinds = _RESULT_TYPES.get(name)
    if kinds is None:
        return None

    def check(value: Any) -> Any:
        if type(value) is list and len(value) == 1:
            value = value[0]
        if value is None or type(value) in kinds:
            return value
        raise TypeMismatchError(name, value)

    return check


_RESULT_TYPES: dict[str, tuple[type, ...]] = {
    "number": (Decimal,), "string": (str,), "boolean": (bool,), "date": (dt.date, FarDate),
    "time": (dt.time, NanoTime),
    "date and time": (dt.datetime, FarDateTime, NanoDateTime),
    "days and time duration": (dt.timedelta,),
    "years and months duration": (YearMonthDuration,),
}  # fmt: skip


def _structured_check(spec: TypeSpec, item_specs: dict[str, TypeSpec]) -> Converter:
    def check(value: Any) -> Any:
        if spec.name == "list" and value is not None and type(value) is not list:
            value = [value]
        if value is None or conforms(value, spec, item_specs.get) is not False:
            return value
        raise TypeMismatchError(str(spec), value)

    return check


def coercion(type_ref: str | None, item_types: dict[str, str],
             item_specs: dict[str, TypeSpec] | None, where: str) -> Converter | None:
    """Coerce a FEEL value crossing a typed boundary (a business knowledge model's or a
    decision service's parameter or result), as DMN 1.5 says: a one-item list stands for
    its item, an item for a one-item list of a list type, and a value of another type is
    null, with the error reported (a value that is not None gives None only then)."""
    check = result_check(type_ref, item_types, item_specs)
    if check is None:
        return None

    def coerce(value: Any) -> Any:
        try:
            return check(value)
        except TypeMismatchError as exc:
            report(f"{where} {exc}: null instead")
            return None

    return coerce


def converter(type_ref: str | None, item_types: dict[str, str]) -> Converter | None:
    """The converter for a typeRef, or None for structures, lists and unknown types (a
    one-item list given for a single value is its item, as DMN 1.5 coerces)."""
    if not type_ref:
        return None
    name = _base_name(type_ref, item_types)
    base = _CONVERTERS.get(name)
    if base is None:
        return None

    def convert(value: Any) -> Any:
        if type(value) is list and len(value) == 1:
            value = value[0]  # DMN 1.5: a one-item list stands for its item
        return base(to_feel(value))

    return convert
