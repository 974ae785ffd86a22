"""The dashboard's figures per process over any period (up to 366 days), for reports.

The dashboard shows the last 14 days (``reporting.process_figures``); a report asks for a
period of its own, so both ends are bounded here. Counts (started, completed, completed by
day) are exact, counted by the database; durations are read row by row, at most
``MAX_REPORT_ROWS`` of them (the newest): past that, ``PeriodFigures.durations_capped`` says
the averages and percentiles are of that sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from . import archived
from .db import Database
from .reporting import DayFigures, ProcessFigures, percentile
from .vocabulary import InstanceStatus

MAX_REPORT_ROWS = 100_000  # durations read for one report, the newest first


@dataclass
class PeriodFigures:
    """Figures per process over a period; ``durations_capped``: durations are of a sample."""

    processes: list[ProcessFigures]
    durations_capped: bool = False


def figures_between(db: Database, start: datetime, end: datetime) -> PeriodFigures:
    """Per process: instances started in ``[start, end)`` (and of those, completed), and
    the instances completed in it with their durations, by day."""
    # live and archived instances alike (engine/archived.py), each table by its own indexes
    started_in = archived.both(("process_key", "status"), lambda c: [
        c.created_at >= start, c.created_at < end])
    done_in = archived.both(("process_key", "created_at", "ended_at"), lambda c: [
        c.status == InstanceStatus.COMPLETED, c.ended_at >= start, c.ended_at < end])
    with db.read() as s:
        by_status = list(s.execute(
            select(started_in.c.process_key, started_in.c.status, func.count())
            .group_by(started_in.c.process_key, started_in.c.status)))
        per_day = list(s.execute(
            select(done_in.c.process_key, func.date(done_in.c.ended_at), func.count())
            .group_by(done_in.c.process_key, func.date(done_in.c.ended_at))))
        ended = list(s.execute(
            select(done_in.c.process_key, done_in.c.created_at, done_in.c.ended_at)
            .order_by(done_in.c.ended_at.desc()).limit(MAX_REPORT_ROWS)))
    counted: dict[str, dict[date, int]] = {}
    for key, day, n in per_day:
        counted.setdefault(key, {})[date.fromisoformat(str(day)[:10])] = int(n)
    durations: dict[str, dict[date, list[float]]] = {}
    for key, created, finished in ended:
        if finished is None:
            continue
        seconds = max(0.0, (finished - created).total_seconds())
        durations.setdefault(key, {}).setdefault(finished.date(), []).append(seconds)
    started: dict[str, list[int]] = {}
    for key, status, count in by_status:
        entry = started.setdefault(key, [0, 0])
        entry[0] += int(count)
        entry[1] += int(count) if status == InstanceStatus.COMPLETED else 0
    days = _days(start, end)
    out = []
    for key in sorted(set(started) | set(counted)):
        by_day, count_of = durations.get(key, {}), counted.get(key, {})
        every = [d for values in by_day.values() for d in values]
        total, done = started.get(key, [0, 0])
        figures = ProcessFigures(key, total, done, sum(count_of.values()), _mean(every),
                                 percentile(every, 95))
        figures.days = [DayFigures(day, count_of.get(day, 0), _mean(by_day.get(day, [])),
                                   percentile(by_day.get(day, []), 95)) for day in days]
        out.append(figures)
    return PeriodFigures(out, len(ended) >= MAX_REPORT_ROWS)


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
