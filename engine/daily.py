"""The dashboard's figures by day and process, added up once so that a read takes ≤ 14 rows.

``day_figures`` holds per day and process: instances started (by ``created_at``), how many of
those have completed, instances completed (by ``ended_at``), their summed and largest
duration and a histogram of durations in buckets 10 % wide. Rows are added to behind the
``days`` watermark of ``stat_marks`` with the compare-and-set of engine/statistics.py: the
watermark trails the clock by ``SETTLE`` and moves once per range, whoever moves it; a read
adds the rows past the watermark (the unsettled tail, through the indexes on ``created_at``
and ``ended_at``) to the stored days.

Percentiles come from the merged histogram: the bucket's upper edge (no larger than the
largest duration seen), so a reported p95 is at or above the exact one and less than 10 %
above it. Averages and counts are exact. Instances removed by the history time-to-live stay
counted in the days they ran, as the running totals keep them (Prometheus-style counters).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from .db import Database
from .models import DayFigure, Instance, StatMark, utcnow
from .statistics import ROLL_EVERY, SETTLE, mark_of
from .vocabulary import InstanceStatus

MARK = "days"
RATIO = 1.1  # bucket i holds durations in (RATIO**(i-1), RATIO**i] milliseconds
ACCURACY = "within 10 % (histogram buckets 10 % wide), never below the exact value"


class Day:
    """One day of one process, as stored or as added up from the unsettled tail."""

    __slots__ = ("started", "started_completed", "completed", "seconds", "max_seconds",
                 "buckets")

    def __init__(self) -> None:
        self.started = self.started_completed = self.completed = 0
        self.seconds = self.max_seconds = 0.0
        self.buckets: dict[str, int] = {}

    def add_duration(self, seconds: float) -> None:
        self.add_group(bucket(seconds), 1, seconds, seconds)

    def add_group(self, in_bucket: int, count: int, seconds: float, largest: float) -> None:
        """Add ``count`` durations of one bucket, summing ``seconds``, the longest ``largest``."""
        self.completed += count
        self.seconds += seconds
        self.max_seconds = max(self.max_seconds, largest)
        key = str(in_bucket)
        self.buckets[key] = self.buckets.get(key, 0) + count

    def merge(self, other: Day | DayFigure) -> None:
        self.started += other.started
        self.started_completed += other.started_completed
        self.completed += other.completed
        self.seconds += other.seconds
        self.max_seconds = max(self.max_seconds, other.max_seconds)
        mine = self.buckets
        for key, n in (other.buckets or {}).items():
            mine[key] = mine.get(key, 0) + n

    @property
    def avg_seconds(self) -> float | None:
        return self.seconds / self.completed if self.completed else None

    def percentile(self, pct: float) -> float | None:
        return histogram_percentile(self.buckets, pct, self.max_seconds)


def bucket(seconds: float) -> int:
    """The histogram bucket of a duration (0: a millisecond or less)."""
    ms = seconds * 1000.0
    return 0 if ms <= 1.0 else math.ceil(math.log(ms) / math.log(RATIO) - 1e-9)


def histogram_percentile(buckets: dict[str, int], pct: float,
                         largest: float) -> float | None:
    """The nearest-rank percentile read from a histogram: its bucket's upper edge, no larger
    than the largest duration counted."""
    total = sum(buckets.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(pct / 100 * total)), 0
    for key in sorted(buckets, key=int):
        seen += buckets[key]
        if seen >= rank:
            return min(RATIO ** int(key) / 1000.0, largest)
    return largest  # pragma: no cover (rank <= total)


def figures(db: Database, first_day: date, now: datetime | None = None,
            ) -> dict[str, dict[date, Day]]:
    """Per process, per day from ``first_day`` on: the stored days plus the unsettled tail.
    Rolls up first when the watermark trails ``SETTLE`` by more than ``ROLL_EVERY``."""
    now = now or utcnow()
    since = datetime(first_day.year, first_day.month, first_day.day)
    for attempt in (1, 2):
        out: dict[str, dict[date, Day]] = {}
        with db.read() as s:
            mark = s.scalar(select(StatMark.mark_at).where(StatMark.name == MARK))
            if attempt == 1 and (mark is None or mark < now - SETTLE - ROLL_EVERY):
                roll_up_now = True
            else:
                roll_up_now = False
                for row in s.scalars(select(DayFigure).where(DayFigure.day >= first_day)):
                    out.setdefault(row.process_key, {}).setdefault(row.day, Day()).merge(row)
                tail = _tail(s, max(since, mark) if mark is not None else since, None, since)
        if not roll_up_now:
            break
        roll_up(db, now)
    for key, days in tail.items():
        for day, figures_of_day in days.items():
            out.setdefault(key, {}).setdefault(day, Day()).merge(figures_of_day)
    return out


def roll_up(db: Database, now: datetime) -> None:
    """Add what settled since the last rollup into ``day_figures`` (once, whoever does it)."""
    cutoff = now - SETTLE
    with db.write() as s:
        start = mark_of(s, MARK)
        if start is not None and start >= cutoff:
            return
        moved = s.execute(update(StatMark).where(
            StatMark.name == MARK,
            StatMark.mark_at.is_(None) if start is None else StatMark.mark_at == start)
            .values(mark_at=cutoff)).rowcount  # type: ignore[attr-defined]
        if not moved:  # another process rolled this range up just now
            return
        tail = _tail(s, start, cutoff, None)
        touched = sorted({day for days in tail.values() for day in days})
        rows = {(r.day, r.process_key): r for r in s.scalars(
            select(DayFigure).where(DayFigure.day.in_(touched)))} if touched else {}
        for key, days in tail.items():
            for day, more in days.items():
                row = rows.get((day, key))
                if row is None:
                    row = DayFigure(day=day, process_key=key, started=0, started_completed=0,
                                    completed=0, seconds=0.0, max_seconds=0.0, buckets={})
                    s.add(row)
                row.started += more.started
                row.started_completed += more.started_completed
                row.completed += more.completed
                row.seconds += more.seconds
                row.max_seconds = max(row.max_seconds, more.max_seconds)
                merged = dict(row.buckets or {})
                for b, n in more.buckets.items():
                    merged[b] = merged.get(b, 0) + n
                row.buckets = merged  # a new dict, so that the change is written


def _tail(s: Session, start: datetime | None, until: datetime | None,
          created_since: datetime | None) -> dict[str, dict[date, Day]]:
    """Instances started, and completed, in [start, until), by process and day;
    ``created_since``: count only completions of instances started from then on."""
    out: dict[str, dict[date, Day]] = {}

    def day_of(key: str, day: date) -> Day:
        return out.setdefault(key, {}).setdefault(day, Day())

    def between(query: Any, column: Any) -> Any:
        if start is not None:
            query = query.where(column >= start)
        if until is not None:
            query = query.where(column < until)
        return query

    completed = (Instance.status == InstanceStatus.COMPLETED, Instance.ended_at.is_not(None))
    created_day = _day(Instance.created_at)
    started = between(select(Instance.process_key, created_day, func.count())
                      .group_by(Instance.process_key, created_day), Instance.created_at)
    for key, day, n in s.execute(started):
        day_of(key, _as_date(day)).started += int(n)
    done = between(select(Instance.process_key, created_day, func.count()).where(*completed)
                   .group_by(Instance.process_key, created_day), Instance.ended_at)
    if created_since is not None:
        done = done.where(Instance.created_at >= created_since)
    for key, day, n in s.execute(done):
        day_of(key, _as_date(day)).started_completed += int(n)
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        # grouped by day and bucket in SQL: the first rollup of a long history stays quick
        seconds = func.greatest(func.extract("epoch", Instance.ended_at - Instance.created_at),
                                0.0)
        ms = seconds * 1000.0
        bucket_of = case((ms <= 1.0, 0),
                         else_=func.ceil(func.ln(ms) / math.log(RATIO) - 1e-9))
        ended_day = _day(Instance.ended_at)
        grouped = between(select(Instance.process_key, ended_day, bucket_of, func.count(),
                                 func.sum(seconds), func.max(seconds)).where(*completed)
                          .group_by(Instance.process_key, ended_day, bucket_of),
                          Instance.ended_at)
        for key, day, b, n, total, largest in s.execute(grouped):
            day_of(key, _as_date(day)).add_group(int(b), int(n), float(total), float(largest))
        return out
    rows = between(select(Instance.process_key, Instance.created_at, Instance.ended_at)
                   .where(*completed), Instance.ended_at)
    for key, created, ended in s.execute(rows.execution_options(yield_per=5000)):
        seconds_taken = max(0.0, (ended - created).total_seconds())
        day_of(key, ended.date()).add_group(bucket(seconds_taken), 1, seconds_taken,
                                            seconds_taken)
    return out


def _day(column: Any) -> Any:
    """SQL for the day of a timestamp column (``date()`` on SQLite and PostgreSQL)."""
    return func.date(column)


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    return date.fromisoformat(str(value))
