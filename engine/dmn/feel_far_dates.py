"""Dates and date-times whose year is outside Python's 1..9999 (FEEL allows ±999,999,999).

The proleptic Gregorian calendar repeats every 400 years (146,097 days, a whole number of
weeks, with the same leap years), so such a value is kept as an ordinary date or datetime
moved by whole 400-year cycles into 2000..2399, plus the number of cycles. Month, day,
weekday, day of year and time of day are those of the moved value; arithmetic runs on it.
Only values outside datetime's range pay for the wrapper: every other date stays a
``datetime.date``. Zone ids of far date-times follow the rules of the moved year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.dmn.feel_nanos import NanoDateTime, split_nanos, with_nanos

CYCLE_YEARS = 400
CYCLE_DAYS = 146_097
BASE_YEAR = 2000
MAX_YEAR = 999_999_999


def year_text(year: int) -> str:
    """ISO 8601 year: at least four digits, a minus sign before the years before year 0."""
    return f"-{-year:04d}" if year < 0 else f"{year:04d}"


@dataclass(frozen=True, slots=True, order=True)
class FarDate:
    """A date with a year outside 1..9999: ``base`` moved by ``cycles`` × 400 years."""

    cycles: int
    base: dt.date

    @property
    def year(self) -> int:
        return self.base.year + CYCLE_YEARS * self.cycles

    def __getattr__(self, name: str) -> Any:  # month, day, weekday(), timetuple()...
        return getattr(self.base, name)

    def isoformat(self) -> str:
        return year_text(self.year) + self.base.isoformat()[4:]


@dataclass(frozen=True, slots=True, order=True)
class FarDateTime:
    """A date and time with a year outside 1..9999: ``base`` moved by ``cycles`` × 400 years."""

    cycles: int
    base: dt.datetime

    @property
    def year(self) -> int:
        return self.base.year + CYCLE_YEARS * self.cycles

    def __getattr__(self, name: str) -> Any:  # hour, tzinfo, utcoffset(), timetz()...
        return getattr(self.base, name)

    def isoformat(self) -> str:
        return year_text(self.year) + self.base.isoformat()[4:]


FAR_TYPES: tuple[type, ...] = (FarDate, FarDateTime)
DAY_TYPES: tuple[type, ...] = (dt.date, dt.datetime, FarDate, FarDateTime, NanoDateTime)
"""Every type that holds a calendar day (FEEL date or date and time)."""


def centred(value: Any) -> tuple[Any, int]:
    """Split a date or date-time into (value moved into 2000..2399, number of 400-year cycles)."""
    if type(value) in FAR_TYPES:
        return value.base, value.cycles
    cycles = (value.year - BASE_YEAR) // CYCLE_YEARS
    return (value.replace(year=value.year - CYCLE_YEARS * cycles) if cycles else value), cycles


def rebuild(moved: Any, cycles: int) -> Any:
    """The date or date-time ``moved`` shifted by ``cycles`` × 400 years; None if past ±MAX_YEAR."""
    year = moved.year + CYCLE_YEARS * cycles
    if 1 <= year <= 9999:
        return moved.replace(year=year)
    if abs(year) > MAX_YEAR:
        return None
    extra = (moved.year - BASE_YEAR) // CYCLE_YEARS
    if extra:
        moved = moved.replace(year=moved.year - CYCLE_YEARS * extra)
    wrapper = FarDateTime if type(moved) is dt.datetime else FarDate
    return wrapper(cycles + extra, moved)


def make_date(year: int, month: int, day: int) -> Any:
    """``date(year, month, day)`` for any FEEL year; None if it is not a real day."""
    try:
        if 1 <= year <= 9999:
            return dt.date(year, month, day)
        return rebuild(dt.date(BASE_YEAR + year % CYCLE_YEARS, month, day),
                       (year - BASE_YEAR) // CYCLE_YEARS)
    except ValueError:
        return None


def combine(day: Any, clock: Any) -> Any:
    """The date and time of a (possibly far) date and a time (maybe to the nanosecond)."""
    if type(clock) is dt.time and type(day) is not NanoDateTime:
        return _combine(day, clock)
    day = split_nanos(day)[0]
    clock, nanos = split_nanos(clock)
    return with_nanos(_combine(day, clock), nanos)


def _combine(day: Any, clock: dt.time) -> Any:
    if type(day) in FAR_TYPES:
        moved = day.base if type(day) is FarDate else day.base.date()
        return FarDateTime(day.cycles, dt.datetime.combine(moved, clock))
    return dt.datetime.combine(dt.date(day.year, day.month, day.day), clock)


def day_difference(a: Any, b: Any) -> dt.timedelta | None:
    """``a - b`` for two dates or two date-times when one of them is far; None on overflow."""
    base_a, cycles_a = centred(a)
    base_b, cycles_b = centred(b)
    try:
        delta: dt.timedelta = base_a - base_b
        return delta + dt.timedelta(days=CYCLE_DAYS * (cycles_a - cycles_b))
    except (OverflowError, TypeError):
        return None


def order_key(value: Any) -> tuple[int, Any]:
    """A key that orders near and far days together (same kind of value on both sides)."""
    base, cycles = centred(value)
    return cycles, base
