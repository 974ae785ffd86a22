"""Business hours: due dates and timers that count only working time (a business calendar).

Analysts write ``${business_hours_from_now(4)}`` as a user task's due date or a timer's
``timeDate``; the calendar (working days, hours and time zone) comes from the settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days (0 = Monday) and daily hours in one time zone."""

    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, days: str, hours: str, zone: str) -> BusinessCalendar:
        """``days`` like "mon-fri" or "mon,tue,thu"; ``hours`` like "09:00-17:00"."""
        chosen: set[int] = set()
        for part in days.lower().replace(" ", "").split(","):
            first, _, last = part.partition("-")
            if first not in _DAYS or (last and last not in _DAYS):
                raise ValueError(f"business days {days!r}: use names like mon-fri")
            a, b = _DAYS.index(first), _DAYS.index(last or first)
            chosen.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", hours.replace(" ", ""))
        if match is None:
            raise ValueError(f"business hours {hours!r}: use the form 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = time(h1, m1), time(h2, m2)
        if not start < end:
            raise ValueError(f"business hours {hours!r}: the day must end after it starts")
        return cls(frozenset(chosen), start, end, ZoneInfo(zone))

    def add(self, moment: datetime, hours: float) -> datetime:
        """``moment`` (naive UTC) plus ``hours`` of working time, as naive UTC."""
        if hours < 0:
            raise ValueError("business hours to add must not be negative")
        local = moment.replace(tzinfo=UTC).astimezone(self.zone)
        left = timedelta(hours=hours)
        for _ in range(3660):  # ten years of days: a calendar without working days stops
            day_start = datetime.combine(local.date(), self.start, self.zone)
            day_end = datetime.combine(local.date(), self.end, self.zone)
            if local.weekday() in self.days and local < day_end:
                local = max(local, day_start)
                if local + left <= day_end:
                    return (local + left).astimezone(UTC).replace(tzinfo=None)
                left -= day_end - local
            local = datetime.combine(local.date() + timedelta(days=1), self.start, self.zone)
        raise ValueError("the business calendar has no working days")


def business_hours_function(calendar: BusinessCalendar, now: type[datetime] = datetime) -> object:
    """The ``business_hours_from_now(hours)`` function that expressions may call."""

    def business_hours_from_now(hours: float) -> str:
        """An ISO 8601 UTC time ``hours`` of working time from now (due dates, timers)."""
        start = now.now(UTC).replace(tzinfo=None)
        return calendar.add(start, float(hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    return business_hours_from_now


def business_hours_from_settings(days: str, hours: str, zone: str) -> object:
    """``business_hours_function`` from the settings' text (built so in script workers)."""
    return business_hours_function(BusinessCalendar.parse(days, hours, zone))
