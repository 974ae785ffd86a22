"""ISO 8601 durations and cycles, and cron expressions, as the engine's timers need them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


MAX_YEARS = 1000
MAX_DURATION = timedelta(days=365 * MAX_YEARS)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration such as ``PT4H`` or ``P1DT30M`` (months count 30 days)."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as PT10S or P1D")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    days = parts.get("days", 0) + 7 * parts.get("weeks", 0) + 30 * parts.get("months", 0) \
        + 365 * parts.get("years", 0)
    try:
        value = timedelta(days=days, hours=parts.get("hours", 0),
                          minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0))
    except OverflowError:
        value = MAX_DURATION * 2
    if value > MAX_DURATION:  # a date that far ahead would not fit in a date-time
        raise ValueError(f"the duration '{text}' is longer than {MAX_YEARS} years")
    return value


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date-time into naive UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def cycle_repetitions(expression: str) -> int | None:
    """How many times an ISO cycle ``Rn/…`` fires in all; None when it repeats for ever."""
    head = expression.strip().strip("'\"").split("/")[0]
    if re.fullmatch(r"R\d+", head):
        return int(head[1:])
    return None


def next_cycle_time(expression: str, after: datetime) -> datetime | None:
    """Next time a timer start event fires after ``after``, or None when the cycle is over.

    Accepts ISO repeating intervals (``R/PT1H``, ``R5/2026-01-01T02:00:00Z/P1D``), a bare
    duration, or a five-field cron expression (``0 2 * * *``).
    """
    text = expression.strip().strip("'\"")
    fields = text.split()
    if len(fields) >= 5:
        trigger = _cron_trigger(fields)
        fire = trigger.get_next_fire_time(None, after.replace(tzinfo=UTC))
        return fire.astimezone(UTC).replace(tzinfo=None) if fire else None
    parts = text.split("/")
    if parts[0].startswith("R"):
        parts = parts[1:]
    start: datetime | None = None
    period: timedelta | None = None
    for part in parts:
        if part.startswith("P"):
            period = parse_duration(part)
        else:
            start = parse_datetime(part)
    if period is None:
        return start if start is not None and start > after else None
    if start is None or start > after:
        return start if start is not None else after + period
    steps = int((after - start) / period) + 1
    return start + steps * period


def shortest_cycle_gap(expression: str, after: datetime, samples: int = 12) -> timedelta | None:
    """The shortest time between two firings of a timer start cycle (of its next
    ``samples``), or None when it fires at most once; ``ValueError`` when unreadable."""
    text = expression.strip().strip("'\"")
    if len(text.split()) < 5:
        periods = [parse_duration(p) for p in text.split("/") if p.startswith("P")]
        repeats = cycle_repetitions(text)
        return periods[0] if periods and repeats != 1 else None
    times: list[datetime] = []
    moment: datetime | None = after
    while moment is not None and len(times) < samples:
        moment = next_cycle_time(text, moment + timedelta(microseconds=1) if times else moment)
        if moment is not None:
            times.append(moment)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return min(gaps) if gaps else None


def _cron_trigger(fields: list[str]) -> Any:
    """A cron trigger (UTC) from 5 fields, or Quartz's ``sec min hour day month dow [year]``."""
    from apscheduler.triggers.cron import CronTrigger

    if len(fields) == 5:
        return CronTrigger.from_crontab(" ".join(fields), timezone=UTC)
    second, minute, hour, day, month, dow = (f.replace("?", "*") for f in fields[:6])
    year = fields[6] if len(fields) > 6 else None
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=_quartz_weekdays(dow), year=year, timezone=UTC)


_WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _quartz_weekdays(field: str) -> str:
    """Quartz numbers weekdays 1 = Sunday … 7 = Saturday; APScheduler wants names."""
    return re.sub(r"\d", lambda m: _WEEKDAYS[(int(m.group()) - 1) % 7], field)
