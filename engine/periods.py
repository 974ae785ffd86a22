"""Report periods: a month (``2026-11``), an ISO week (``2026-W47``), a quarter (``2026-Q4``)
or a year (``2026``); their dates, label and the period before, and which are complete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from .errors import InvalidInputError

ACCEPTED = ("a month like 2026-11, an ISO week like 2026-W47, a quarter like 2026-Q4 or a "
            "year like 2026")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_KEY = re.compile(r"^(\d{4})(?:-(?:(\d{2})|W(\d{2})|Q(\d)))?$")


class PeriodKind(StrEnum):
    """How long a period is."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class PeriodError(InvalidInputError):
    """A period key that is malformed, unknown, or not over yet."""


@dataclass(frozen=True)
class Period:
    """One period: its key, kind, first and last day (both included) and label."""

    key: str
    kind: PeriodKind
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.WEEK:
            return (f"Week {self.first.isocalendar().week}, {self.first.isocalendar().year} "
                    f"({self.first:%d %b} - {self.last:%d %b %Y})")
        if self.kind is PeriodKind.MONTH:
            return f"{_MONTHS[self.first.month - 1]} {self.first.year}"
        if self.kind is PeriodKind.QUARTER:
            return f"Q{(self.first.month - 1) // 3 + 1} {self.first.year}"
        return str(self.first.year)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return containing(self.kind, self.first - timedelta(days=1))

    def as_dict(self) -> dict[str, Any]:
        """``{key, label, from, to}`` as a report document names a period."""
        return {"key": self.key, "label": self.label, "from": self.first.isoformat(),
                "to": self.last.isoformat()}


def containing(kind: PeriodKind, day: date) -> Period:
    """The period of ``kind`` that ``day`` falls in."""
    if kind is PeriodKind.WEEK:
        first = day - timedelta(days=day.weekday())
        iso = first.isocalendar()
        return Period(f"{iso.year}-W{iso.week:02d}", kind, first, first + timedelta(days=6))
    if kind is PeriodKind.MONTH:
        first = day.replace(day=1)
        return Period(f"{day.year}-{day.month:02d}", kind, first, _month_end(first, 1))
    if kind is PeriodKind.QUARTER:
        quarter = (day.month - 1) // 3
        first = date(day.year, quarter * 3 + 1, 1)
        return Period(f"{day.year}-Q{quarter + 1}", kind, first, _month_end(first, 3))
    return Period(str(day.year), kind, date(day.year, 1, 1), date(day.year, 12, 31))


def _month_end(first: date, months: int) -> date:
    month = first.month - 1 + months
    return date(first.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def parse(key: Any, name: str = "period") -> Period:
    """The period a key names; ``PeriodError`` naming ``name`` and the accepted forms."""
    match = _KEY.match(key.strip()) if isinstance(key, str) else None
    try:
        if match is None:
            raise ValueError(key)
        year, month, week, quarter = match.groups()
        if month is not None:
            return containing(PeriodKind.MONTH, date(int(year), int(month), 1))
        if week is not None:
            return containing(PeriodKind.WEEK, date.fromisocalendar(int(year), int(week), 1))
        if quarter is not None:
            if not 1 <= int(quarter) <= 4:
                raise ValueError(key)
            return containing(PeriodKind.QUARTER, date(int(year), int(quarter) * 3 - 2, 1))
        return containing(PeriodKind.YEAR, date(int(year), 1, 1))
    except ValueError:
        raise PeriodError(f"'{name}': {key!r} is not a period; use {ACCEPTED}",
                          {"fields": {name: f"{key!r} is not a period; use {ACCEPTED}"}}) from None


def complete(key: Any, today: date, name: str = "period") -> Period:
    """The period a key names, refused unless it ended before ``today``."""
    period = parse(key, name)
    if period.last >= today:
        when = "is in the future" if period.first > today else "has not ended yet"
        detail = (f"{period.key} ({period.label}) {when}; a report covers a period that is "
                  f"over, such as {last_complete(period.kind, today).key}")
        raise PeriodError(f"'{name}': {detail}", {"fields": {name: detail}})
    return period


def last_complete(kind: PeriodKind | str, today: date) -> Period:
    """The newest period of ``kind`` that ended before ``today``."""
    return containing(PeriodKind(kind), today).previous()
