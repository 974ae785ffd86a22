"""FEEL's temporal built-ins (DMN 1.5, 10.3.4.1 and 10.3.4.11): date(), time(), date and
time(), duration(), years and months duration(), day of year/week, week/month of year,
today() and now(), for near and far years alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine.dmn.feel_far_dates import DAY_TYPES, FarDate, FarDateTime, combine, make_date
from engine.dmn.feel_nanos import NanoDateTime, NanoTime, fraction_seconds, with_nanos
from engine.dmn.feel_temporal import parse_date, parse_date_time, parse_duration, parse_time
from engine.dmn.feel_types import YearMonthDuration
from engine.dmn.feel_types import integer_value as _int


def date(*args: Any) -> Any:
    if len(args) == 3:
        y, m, d = (_int(a) for a in args)
        if y is None or m is None or d is None:
            return None
        return make_date(y, m, d)
    value = args[0]
    if type(value) is str:
        return parse_date(value)
    if type(value) in DAY_TYPES:
        return make_date(value.year, value.month, value.day)
    return None


def time(*args: Any) -> Any:
    if len(args) >= 3:
        h, m = _int(args[0]), _int(args[1])
        if h is None or m is None or type(args[2]) is not Decimal:
            return None
        seconds, micro, nanos = fraction_seconds(args[2])
        tz = None
        if len(args) == 4 and args[3] is not None:
            if type(args[3]) is not dt.timedelta:
                return None
            tz = dt.timezone(args[3])
        return with_nanos(dt.time(h, m, seconds, micro, tzinfo=tz), nanos)
    value = args[0]
    if type(value) is str:
        return parse_time(value)
    if type(value) in (dt.datetime, FarDateTime, NanoDateTime):
        return value.timetz()
    if type(value) in (dt.date, FarDate):
        return dt.time(0, 0, tzinfo=dt.UTC)  # a date is its midnight UTC
    return value if type(value) in (dt.time, NanoTime) else None


def date_and_time(*args: Any) -> Any:
    if len(args) == 2:
        day, clock = args
        if type(day) not in DAY_TYPES or type(clock) not in (dt.time, NanoTime):
            return None
        return combine(day, clock)
    value = args[0]
    return parse_date_time(value) if type(value) is str else None


def duration(value: Any) -> Any:
    return parse_duration(value) if type(value) is str else None


def years_and_months(start: Any, end: Any) -> Any:
    if type(start) not in DAY_TYPES or type(end) not in DAY_TYPES:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return YearMonthDuration(months)


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _is_day(value: Any) -> bool:
    return type(value) in DAY_TYPES


def day_of_year(value: Any) -> Any:
    return Decimal(value.timetuple().tm_yday) if _is_day(value) else None


def day_of_week(value: Any) -> Any:
    return _DAYS[value.weekday()] if _is_day(value) else None


def week_of_year(value: Any) -> Any:
    """The ISO 8601 week number (weeks start on Monday; week 1 holds the first Thursday)."""
    return Decimal(value.isocalendar()[1]) if _is_day(value) else None


def month_of_year(value: Any) -> Any:
    return _MONTHS[value.month - 1] if _is_day(value) else None


def today() -> dt.date:
    return dt.date.today()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
