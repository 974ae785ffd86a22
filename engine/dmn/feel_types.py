"""FEEL values in Python: null is None, numbers are 34-digit Decimals, and FEEL's comparisons.

Every value that enters a decision goes through ``to_feel`` so the interpreter only ever sees
the types listed in ``ATOMIC_TYPES`` plus lists and dicts (FEEL contexts).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

from engine.dmn.feel_errors import report
from engine.dmn.feel_far_dates import FarDate, FarDateTime, order_key
from engine.dmn.feel_limits import MAX_EXPONENT, check_number
from engine.dmn.feel_nanos import NANO_TYPES, NanoDateTime, NanoTime, split_nanos

# FEEL numbers follow IEEE 754-2008 Decimal128: 34 significant digits, half-even rounding;
# the exponent is bounded tighter (see feel_limits) so that every result prints as JSON.
NUMBER_CONTEXT = Context(
    prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow],
    Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT,
)


@dataclass(frozen=True, order=True, slots=True)
class YearMonthDuration:
    """A FEEL years-and-months duration, kept as a signed number of months."""

    months: int

    def __str__(self) -> str:
        sign = "-" if self.months < 0 else ""
        years, months = divmod(abs(self.months), 12)
        if years and months:
            return f"{sign}P{years}Y{months}M"
        if years:
            return f"{sign}P{years}Y"
        return f"{sign}P{months}M"


class _NullEnd:
    """The end of a range written as null (``[1..null]``): unknown, so membership is null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "null"


NULL_END = _NullEnd()


def known_end(value: Any) -> Any:
    """A range end as written: null becomes NULL_END (None stands for unbounded)."""
    return NULL_END if value is None else value


@dataclass(frozen=True, slots=True)
class Range:
    """A FEEL range such as ``[1..10[``; a None end means unbounded (``(< 10)``)."""

    start: Any
    end: Any
    start_included: bool
    end_included: bool
    test: str = ""  # "=" for (= x), "!=" for (!= x): not the same value as [x..x]

    def contains(self, value: Any) -> bool | None:
        if self.test:
            same = feel_eq(value, self.start)
            return same if self.test == "=" or same is None else not same
        if self.start is not None:
            c = compare(value, self.start)
            if c is None:
                report(f"{feel_type_name(value)} in a range from {feel_type_name(self.start)} "
                       "cannot be compared: null")
                return None
            if c < 0 or (c == 0 and not self.start_included):
                return False
        if self.end is not None:
            c = compare(value, self.end)
            if c is None:
                report(f"{feel_type_name(value)} in a range to {feel_type_name(self.end)} "
                       "cannot be compared: null")
                return None
            if c > 0 or (c == 0 and not self.end_included):
                return False
        return True


class FeelFunction:
    """A callable FEEL value: a business knowledge model, an inline ``function(a) …`` or a
    built-in passed around by name. ``types`` are the declared parameter types (None where a
    parameter has none) and ``result`` the declared result type, as ``feel_typespec`` types.
    """

    __slots__ = ("name", "params", "body", "types", "result")

    def __init__(
        self, name: str, params: Sequence[str], body: Callable[[list[Any]], Any],
        types: Sequence[Any] | None = None, result: Any = None,
    ) -> None:
        self.name = name
        self.params = tuple(params)
        self.body = body
        self.types = tuple(types) if types is not None else None
        self.result = result

    def call(self, args: list[Any], named: dict[str, Any] | None = None) -> Any:
        if named is not None:
            if set(named) - set(self.params):
                report(f"{self.name}() has no parameter "
                       f"{', '.join(sorted(set(named) - set(self.params)))}: null")
                return None
            args = [named.get(p) for p in self.params]
        if len(args) != len(self.params):
            report(f"{self.name}() takes {len(self.params)} arguments, not {len(args)}: null")
            return None
        return self.body(args)

    def __repr__(self) -> str:
        return f"function {self.name}({', '.join(self.params)})"


ATOMIC_TYPES: frozenset[type] = frozenset(
    {
        type(None),
        bool,
        str,
        Decimal,
        dt.date,
        dt.datetime,
        dt.time,
        dt.timedelta,
        YearMonthDuration,
        Range,
        FarDate,
        FarDateTime,
        NanoTime,
        NanoDateTime,
        FeelFunction,
    }
)
_ORDERED_TYPES: frozenset[type] = frozenset(
    {Decimal, str, dt.date, dt.datetime, dt.time, dt.timedelta, YearMonthDuration,
     FarDate, FarDateTime}
)


class UnsupportedValueError(ValueError):
    """A Python value that has no FEEL equivalent (an arbitrary object, a NaN...)."""


def to_feel(value: Any) -> Any:
    """Return the FEEL form of a Python value: ints and floats become Decimals, tuples lists."""
    t = type(value)
    if t is Decimal:
        return check_number(value)
    if t in ATOMIC_TYPES:
        return value
    if t is int:
        return check_number(Decimal(value))
    if t is float:
        if not math.isfinite(value):
            raise UnsupportedValueError(f"{value!r} is not a FEEL number")
        return check_number(Decimal(repr(value)))
    if isinstance(value, Mapping):
        return {str(k): to_feel(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_feel(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return check_number(Decimal(int(value)))
    if isinstance(value, Decimal):
        return check_number(Decimal(value))
    if isinstance(value, FeelFunction):  # a built-in passed by name
        return value
    raise UnsupportedValueError(f"a {t.__name__} value cannot be used in a decision")


def compare(a: Any, b: Any) -> int | None:
    """Order two FEEL values: -1, 0 or 1, or None (FEEL null) when they are not comparable."""
    ta = type(a)
    if ta is not type(b) or ta not in _ORDERED_TYPES:
        return _compare_far(a, b)
    try:
        return -1 if a < b else (1 if a > b else 0)
    except TypeError:  # aware vs naive date-times and times
        return None


_SAME_KIND = {FarDate: dt.date, FarDateTime: dt.datetime, NanoTime: dt.time,
              NanoDateTime: dt.datetime}


def _compare_far(a: Any, b: Any) -> int | None:
    """Order a far date (year outside 1..9999) against a near one of the same kind, and a
    value to the nanosecond against another of its kind."""
    kind_a, kind_b = type(a), type(b)
    if kind_a in NANO_TYPES or kind_b in NANO_TYPES:
        (base_a, nanos_a), (base_b, nanos_b) = split_nanos(a), split_nanos(b)
        order = compare(base_a, base_b)
        return order if order != 0 else (nanos_a > nanos_b) - (nanos_a < nanos_b)
    if _SAME_KIND.get(kind_a, kind_a) is not _SAME_KIND.get(kind_b, kind_b):
        return None
    if kind_a not in _SAME_KIND and kind_b not in _SAME_KIND:
        return None
    key_a, key_b = order_key(a), order_key(b)
    try:
        return -1 if key_a < key_b else (1 if key_a > key_b else 0)
    except TypeError:
        return None


def feel_eq(a: Any, b: Any) -> bool | None:
    """FEEL ``=``: null equals only null, values of different types give null."""
    if a is None or b is None:
        return a is b
    ta = type(a)
    if ta is not type(b):
        if ta in _SAME_KIND or type(b) in _SAME_KIND:
            order = _compare_far(a, b)
            return None if order is None else order == 0
        return None
    if ta is list:
        if len(a) != len(b):
            return False
        result: bool | None = True
        for x, y in zip(a, b, strict=True):
            e = feel_eq(x, y)
            if e is False:
                return False
            if e is None:
                result = None
        return result
    if ta is dict:
        if a.keys() != b.keys():
            return False
        return feel_eq(list(a.values()), [b[k] for k in a])
    return bool(a == b)


def feel_is(a: Any, b: Any) -> bool:
    """FEEL ``is(a, b)``: the same type and value, and for times the same zone or offset."""
    if type(a) is not type(b):
        return False
    if type(a) in (dt.time, dt.datetime, FarDateTime, *NANO_TYPES) and a.tzinfo != b.tzinfo:
        return False
    return feel_eq(a, b) is True


def feel_not(value: Any) -> bool | None:
    """Ternary ``not``: anything but a boolean gives null."""
    if value is True:
        return False
    if value is False:
        return True
    return None


def all_numbers(*values: Any) -> bool:
    return all(type(v) is Decimal for v in values)


def integer_value(value: Any) -> int | None:
    """The int a FEEL number stands for, or None if it is not a whole number."""
    if type(value) is Decimal and value == value.to_integral_value():
        return int(value)
    return None


def format_duration(value: dt.timedelta | YearMonthDuration) -> str:
    """Write a duration in ISO 8601 form, the way FEEL's duration() reads it."""
    if isinstance(value, YearMonthDuration):
        return str(value)
    sign = "-" if value < dt.timedelta(0) else ""
    total = abs(value)
    days, rest = total.days, total.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or total.microseconds:
        frac = f".{total.microseconds:06d}".rstrip("0") if total.microseconds else ""
        clock += f"{seconds}{frac}S"
    if clock:
        text += "T" + clock
    return text if text not in ("P", "-P") else "PT0S"


def format_number(value: Decimal) -> str:
    """Write a FEEL number without exponent or trailing zeros: 1.2E+3 → 1200."""
    text = format(value.normalize(NUMBER_CONTEXT), "f")
    return "0" if text in ("-0", "0") else text


_TYPE_NAMES: dict[type, str] = {
    type(None): "null", bool: "boolean", str: "string", Decimal: "number", dt.date: "date",
    dt.datetime: "date and time", dt.time: "time", dt.timedelta: "days and time duration",
    YearMonthDuration: "years and months duration", Range: "range", list: "list",
    dict: "context", FeelFunction: "function", _NullEnd: "null", FarDate: "date",
    FarDateTime: "date and time", NanoTime: "time", NanoDateTime: "date and time",
}


def feel_type_name(value: Any) -> str:
    """The FEEL type of a value, for messages: ``number``, ``date and time``, ``list``…"""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def feel_repr(value: Any) -> str:
    """Show a FEEL value the way an analyst writes it in a cell (for messages and string())."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    t = type(value)
    if t is Decimal:
        return format_number(value)
    if t is str:
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if t is list:
        return "[" + ", ".join(feel_repr(v) for v in value) + "]"
    if t is dict:
        return "{" + ", ".join(f"{k}: {feel_repr(v)}" for k, v in value.items()) + "}"
    if t is dt.date or t is FarDate:
        return f'date("{value.isoformat()}")'
    if t is dt.datetime or t is FarDateTime or t is NanoDateTime:
        return f'date and time("{value.isoformat()}")'
    if t is dt.time or t is NanoTime:
        return f'time("{value.isoformat()}")'
    if t is dt.timedelta or t is YearMonthDuration:
        return f'duration("{format_duration(value)}")'
    if t is Range:
        if value.test:
            return f"({value.test} {feel_repr(value.start)})"
        open_ = "[" if value.start_included else "]"
        close = "]" if value.end_included else "["
        return f"{open_}{feel_repr(value.start)}..{feel_repr(value.end)}{close}"
    return str(repr(value))


def plain_numbers(value: Any) -> Any:
    """Turn FEEL decimals into the ints and floats that process scripts compute with (and
    dates with years outside 1..9999 into their ISO text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_numbers(v) for v in value]
    if type(value) is FarDate or type(value) is FarDateTime:
        return value.isoformat()  # no Python date holds the year; process data gets the text
    if type(value) in NANO_TYPES:  # Python's times stop at the microsecond
        return plain_numbers(value.base)
    return value
