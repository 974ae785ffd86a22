"""FEEL dates, times, date-times and durations: reading ISO 8601 text and their arithmetic."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.dmn.feel_far_dates import (
    CYCLE_DAYS,
    DAY_TYPES,
    FAR_TYPES,
    FarDate,
    FarDateTime,
    centred,
    combine,
    day_difference,
    make_date,
    rebuild,
    year_text,
)
from engine.dmn.feel_nanos import (
    NANO_TYPES,
    NanoDateTime,
    NanoTime,
    parse_fraction,
    second_value,
    split_nanos,
    with_fraction,
    with_nanos,
    without_fraction,
)
from engine.dmn.feel_types import YearMonthDuration

# a year has four digits, or more without a leading zero (ISO 8601 expanded years)
_DATE = re.compile(r"(-?(?:\d{4}|[1-9]\d{4,8}))-(\d\d)-(\d\d)")
_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d(?::\d\d)?|@[\w/+-]+)?")
_DURATION = re.compile(
    r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?)?"
)


def parse_date(text: str) -> dt.date | FarDate | None:
    m = _DATE.fullmatch(text)
    if not m:
        return None
    return make_date(int(m[1]), int(m[2]), int(m[3])) if len(m[1]) > 4 or m[1][0] == "-" \
        else _near_date(int(m[1]), int(m[2]), int(m[3]))


def _near_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


class _BadZone:
    pass


_BAD_ZONE = _BadZone()


def _zone(text: str | None) -> dt.tzinfo | None | _BadZone:
    """Return the tzinfo for a suffix, None when absent, _BAD_ZONE when it is not a real zone."""
    if not text:
        return None
    if text == "Z":
        return dt.UTC
    if text.startswith("@"):
        try:
            return ZoneInfo(text[1:])
        except (ZoneInfoNotFoundError, ValueError):
            return _BAD_ZONE
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text[1:].split(":")]
    seconds = parts[2] if len(parts) > 2 else 0
    offset = dt.timedelta(hours=parts[0], minutes=parts[1], seconds=seconds)
    if offset > dt.timedelta(hours=14):
        return _BAD_ZONE
    return dt.timezone(sign * offset)


def parse_time(text: str) -> Any:
    m = _TIME.fullmatch(text)
    if not m:
        return None
    zone = _zone(m[5])
    if isinstance(zone, _BadZone):
        return None
    micro, nanos = parse_fraction((m[4] or ".0")[1:])
    try:
        return with_nanos(dt.time(int(m[1]), int(m[2]), int(m[3]), micro, tzinfo=zone), nanos)
    except ValueError:
        return None


def parse_date_time(text: str) -> Any:
    if "T" not in text:
        day = parse_date(text)
        return None if day is None else combine(day, dt.time(0))
    day_text, _, time_text = text.partition("T")
    end_of_day = time_text.startswith("24:00:00")  # ISO 8601: the next day's midnight
    if end_of_day:
        time_text = "00" + time_text[2:]
    day, clock = parse_date(day_text), parse_time(time_text)
    if day is None or clock is None or (end_of_day and clock != dt.time(0, tzinfo=clock.tzinfo)):
        return None
    joined = combine(day, clock)
    return temporal_add(joined, dt.timedelta(days=1)) if end_of_day else joined


def parse_duration(text: str) -> dt.timedelta | YearMonthDuration | None:
    m = _DURATION.fullmatch(text)
    if not m or text.endswith(("P", "T")):
        return None
    sign = -1 if m[1] else 1
    years, months = m[2], m[3]
    day_time = m[4] or m[5] or m[6] or m[7]
    if (years or months) and day_time:
        return None  # FEEL has no duration that mixes months with days
    if years or months:
        return YearMonthDuration(sign * (int(years or 0) * 12 + int(months or 0)))
    return sign * dt.timedelta(
        days=int(m[4] or 0),
        hours=int(m[5] or 0),
        minutes=int(m[6] or 0),
        seconds=float(Decimal(m[7] or 0)),
    )


def iso_text(value: Any) -> str:
    """ISO 8601 text of a date, time or date-time; a zone id is written ``@Europe/Paris``.

    Fractions of a second are written in groups of three digits, as java.time does.
    """
    if type(value) in NANO_TYPES:
        text = iso_text(value.base)
        clock = text.index("T") + 1 if type(value) is NanoDateTime else 0
        return with_fraction(without_fraction(text, clock), clock, value.fraction)
    if type(value) in FAR_TYPES:
        return year_text(value.year) + iso_text(value.base)[4:]
    if type(value) is dt.date:
        return value.isoformat()
    spec = "milliseconds" if value.microsecond and not value.microsecond % 1000 else "auto"
    if isinstance(value.tzinfo, ZoneInfo):
        return f"{value.replace(tzinfo=None).isoformat(timespec=spec)}@{value.tzinfo.key}"
    return str(value.isoformat(timespec=spec))


def at_literal(text: str) -> Any:
    """The value of ``@"…"``: a date, time, date and time or duration; None if none."""
    if text.startswith(("P", "-P")):
        return parse_duration(text)
    if "T" in text.partition("@")[0]:  # not the T of a zone id such as @Etc/GMT
        return parse_date_time(text)
    if _DATE.fullmatch(text):
        return parse_date(text)
    return parse_time(text)


def _add_months(day: Any, months: int) -> Any:
    """Shift a date or date-time by whole months, clamping to the month's last day."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        return _far_months(day, months)
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def _far_months(day: Any, months: int) -> Any:
    """Shift a day by months when the day or the result is outside years 1..9999."""
    moved, cycles = centred(day)
    extra, months = divmod(months, 12 * 400)
    shifted = _add_months(moved, months)
    return None if shifted is None else rebuild(shifted, cycles + extra)


def _time_shift(clock: dt.time, delta: dt.timedelta) -> dt.time:
    base = dt.datetime.combine(dt.date(2000, 1, 1), clock)
    return (base + delta).timetz()


def temporal_add(a: Any, b: Any) -> Any:
    """FEEL ``+`` for temporal values; None when the operands do not combine."""
    ta, tb = type(a), type(b)
    if ta in (dt.timedelta, YearMonthDuration) and tb not in (dt.timedelta, YearMonthDuration):
        a, b, ta, tb = b, a, tb, ta
    if ta in FAR_TYPES:
        return _far_add(a, b)
    try:
        if tb is dt.timedelta:
            if ta is dt.timedelta:
                return a + b
            if ta is dt.datetime:
                return a + b
            if ta is dt.date:
                return (dt.datetime(a.year, a.month, a.day) + b).date()
            if ta is dt.time:
                return _time_shift(a, b)
        if tb is YearMonthDuration:
            if ta is YearMonthDuration:
                return YearMonthDuration(a.months + b.months)
            if ta in (dt.date, dt.datetime):
                return _add_months(a, b.months)
    except OverflowError:
        return _far_add(a, b) if ta in (dt.date, dt.datetime) else None
    if ta in NANO_TYPES or tb in NANO_TYPES:  # a duration moves the rest; the nanos stay
        (base_a, nanos_a), (base_b, nanos_b) = split_nanos(a), split_nanos(b)
        return with_nanos(temporal_add(base_a, base_b), nanos_a + nanos_b)
    return None


def _far_add(day: Any, duration: Any) -> Any:
    """A day plus a duration when the day or the result is outside years 1..9999."""
    if type(duration) not in (dt.timedelta, YearMonthDuration):
        return None
    moved, cycles = centred(day)
    if type(duration) is dt.timedelta:
        extra, rest = divmod(duration.days, CYCLE_DAYS)
        duration = dt.timedelta(rest, duration.seconds, duration.microseconds)
        cycles += extra
    shifted = temporal_add(moved, duration)
    return None if shifted is None else rebuild(shifted, cycles)


def _midnight(day: Any) -> Any:
    """A date as a date and time: its midnight UTC (so it cannot meet a local date-time)."""
    return combine(day, dt.time(0, tzinfo=dt.UTC))


def temporal_sub(a: Any, b: Any) -> Any:
    """FEEL ``-`` for temporal values; None when the operands do not combine."""
    ta, tb = type(a), type(b)
    if ta in NANO_TYPES or tb in NANO_TYPES:
        return _nano_sub(a, b)
    if ta in DAY_TYPES and tb in DAY_TYPES and (ta in FAR_TYPES or tb in FAR_TYPES or ta is not tb):
        if ta in (dt.date, FarDate) and tb in (dt.datetime, FarDateTime):
            a = _midnight(a)
        elif tb in (dt.date, FarDate) and ta in (dt.datetime, FarDateTime):
            b = _midnight(b)
        return day_difference(a, b)
    if ta in FAR_TYPES and tb in (dt.timedelta, YearMonthDuration):
        return temporal_add(a, -b if tb is dt.timedelta else YearMonthDuration(-b.months))
    try:
        if ta is tb and ta in (dt.date, dt.datetime):
            return a - b
        if ta is dt.time and tb is dt.time:
            base = dt.date(2000, 1, 1)
            return dt.datetime.combine(base, a) - dt.datetime.combine(base, b)
        if tb is dt.timedelta and ta in (dt.timedelta, dt.datetime, dt.date, dt.time):
            return temporal_add(a, -b)
        if tb is YearMonthDuration and ta in (YearMonthDuration, dt.date, dt.datetime):
            return temporal_add(a, YearMonthDuration(-b.months))
    except (OverflowError, TypeError):
        return None
    return None


def _nano_sub(a: Any, b: Any) -> Any:
    (base_a, nanos_a), (base_b, nanos_b) = split_nanos(a), split_nanos(b)
    result = temporal_sub(base_a, base_b)
    if type(result) is dt.timedelta and type(b) not in (dt.timedelta, YearMonthDuration):
        # a duration holds microseconds: the nanoseconds' difference rounds it down
        return result - dt.timedelta(microseconds=1) if nanos_a < nanos_b else result
    return with_nanos(result, nanos_a)


def _seconds(value: dt.timedelta) -> Decimal:
    return Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / 1000000


def duration_times(value: Any, factor: Decimal) -> Any:
    if type(value) is YearMonthDuration:
        return YearMonthDuration(int((value.months * factor).to_integral_value(ROUND_DOWN)))
    try:
        return dt.timedelta(seconds=float(_seconds(value) * factor))
    except OverflowError:
        return None


def duration_divide(value: Any, divisor: Any) -> Any:
    """Duration / number gives a duration; duration / duration gives a number."""
    if type(divisor) is Decimal:
        return None if divisor == 0 else duration_times(value, 1 / divisor)
    if type(value) is type(divisor) is YearMonthDuration:
        return None if divisor.months == 0 else Decimal(value.months) / Decimal(divisor.months)
    if type(value) is type(divisor) is dt.timedelta:
        seconds = _seconds(divisor)
        return None if seconds == 0 else _seconds(value) / seconds
    return None


def _offset(value: Any) -> Any:
    delta = value.utcoffset()
    return delta if delta is not None else None


_PROPERTIES: dict[type, dict[str, Any]] = {
    dt.date: {
        "year": lambda v: Decimal(v.year),
        "month": lambda v: Decimal(v.month),
        "day": lambda v: Decimal(v.day),
        "weekday": lambda v: Decimal(v.isoweekday()),
    },
    dt.time: {
        "hour": lambda v: Decimal(v.hour),
        "minute": lambda v: Decimal(v.minute),
        "second": lambda v: Decimal(v.second) + Decimal(v.microsecond) / 1000000,
        "time offset": _offset,
        "timezone": lambda v: getattr(v.tzinfo, "key", None),
    },
    dt.timedelta: {
        "days": lambda v: Decimal(abs(v).days * (-1 if v.days < 0 else 1)),
        "hours": lambda v: Decimal(abs(v).seconds // 3600 * (-1 if v.days < 0 else 1)),
        "minutes": lambda v: Decimal(abs(v).seconds // 60 % 60 * (-1 if v.days < 0 else 1)),
        "seconds": lambda v: Decimal(abs(v).seconds % 60 * (-1 if v.days < 0 else 1)),
    },
    YearMonthDuration: {
        "years": lambda v: Decimal(int(v.months / 12)),
        "months": lambda v: Decimal(abs(v.months) % 12 * (-1 if v.months < 0 else 1)),
    },
}
_PROPERTIES[dt.datetime] = {**_PROPERTIES[dt.date], **_PROPERTIES[dt.time]}
_PROPERTIES[FarDate] = _PROPERTIES[dt.date]
_PROPERTIES[FarDateTime] = _PROPERTIES[dt.datetime]
_PROPERTIES[NanoTime] = {**_PROPERTIES[dt.time], "second": second_value}
_PROPERTIES[NanoDateTime] = {**_PROPERTIES[dt.datetime], "second": second_value}


def has_property(value: Any, name: str) -> bool:
    return name in _PROPERTIES.get(type(value), {})


def temporal_property(value: Any, name: str) -> Any:
    """``value.name`` for temporal values (``d.year``, ``t.hour``, ``dur.days``...)."""
    getter = _PROPERTIES.get(type(value), {}).get(name)
    return None if getter is None else getter(value)
