"""What the admin console reads: throughput and durations per process, instance search, paths."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Interval, func, literal, select
from sqlalchemy.orm import defer

from . import archived, daily
from .db import Database
from .errors import NotFoundError
from .models import Event, Incident, Instance, Worker, utcnow
from .paging import Page
from .partitions import SKEW


@dataclass
class DayFigures:
    """One day of one process: instances completed, and how long they took."""

    day: date
    completed: int = 0
    avg_seconds: float | None = None
    p95_seconds: float | None = None


@dataclass
class ProcessFigures:
    """One process over the reporting window: started, completed, durations, and by day."""

    process_key: str
    started: int = 0
    started_completed: int = 0
    completed: int = 0
    avg_seconds: float | None = None
    p95_seconds: float | None = None
    days: list[DayFigures] = field(default_factory=list)

    @property
    def share_completed(self) -> float | None:
        """The share of the instances started in the window that have completed (0..1)."""
        return None if not self.started else self.started_completed / self.started


def process_figures(db: Database, days: int = 14,
                    now: datetime | None = None) -> list[ProcessFigures]:
    """Return, per process, what started and completed in the last ``days`` days, by day.

    Read from the daily rollup (engine/daily.py): counts and averages are exact, the 95th
    percentiles are read from histograms (``daily.ACCURACY``); instances removed by the
    history time-to-live still count in the days they ran."""
    now = now or utcnow()
    first_day = (now - timedelta(days=days - 1)).date()
    out = []
    for key, by_day in sorted(daily.figures(db, first_day, now).items()):
        window = daily.Day()
        for day_figures in by_day.values():
            window.merge(day_figures)
        figures = ProcessFigures(key, window.started, window.started_completed,
                                 window.completed, window.avg_seconds, window.percentile(95))
        for offset in range(days):
            day = by_day.get(first_day + timedelta(days=offset), daily.Day())
            figures.days.append(DayFigures(first_day + timedelta(days=offset), day.completed,
                                           day.avg_seconds, day.percentile(95)))
        out.append(figures)
    return out


def percentile(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ``pct`` % of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def search_instances(db: Database, *, process_key: str | None = None,
                     status: str | None = None, business_key: str | None = None,
                     started_from: datetime | None = None,
                     started_before: datetime | None = None,
                     parent_instance_id: str | None = None, page: int = 1,
                     per_page: int = 25, statuses: Sequence[str] | None = None,
                     ids: Sequence[str] | None = None, offset: int | None = None,
                     count_limit: int | None = None) -> Page:
    """Instances matching every filter given, newest first, one page of them (``offset``:
    from that row on instead of from ``page``). The database filters, counts and pages; the
    id breaks ties so pages never repeat or skip one; the serialized state is not loaded.
    Where ended instances may match, the archived ones are read too (PostgreSQL: SQLite
    keeps them in the live table), in the same order.

    ``count_limit``: count at most that many rows past the page's start (the page says
    when the count stopped there), so that a list over the whole history stays cheap."""
    def where(c: Any) -> list[Any]:
        terms = []
        if statuses is not None:
            terms.append(c.status.in_(statuses))
        if ids is not None:
            terms.append(c.id.in_(ids))
        if parent_instance_id:
            terms.append(c.parent_instance_id == parent_instance_id)
        if process_key:
            terms.append(c.process_key == process_key)
        if status:
            terms.append(c.status == status)
        if business_key:
            terms.append(c.business_key == business_key)
        if started_from:
            terms.append(c.created_at >= started_from)
        if started_before:
            terms.append(c.created_at < started_before)
        return terms

    start = (page - 1) * per_page if offset is None else offset
    if not db.is_postgres or not archived.may_have_ended(statuses) or \
            not archived.may_have_ended(None if status is None else [status]):
        return _search_live(db, where(Instance), start, page, per_page, count_limit)
    wanted = [name for name in archived.COLUMNS if name != "state"]
    rows = archived.both(wanted, where, newest=start + per_page)
    every = archived.both(("id",), where)
    counted: Any = select(func.count()).select_from(every)
    if count_limit is not None:
        counted = select(func.count()).select_from(
            select(every.c.id).limit(start + count_limit + 1).subquery())
    with db.read() as s:
        total = int(s.scalar(counted) or 0)
        items = [archived.detached(r) for r in s.execute(
            select(rows).order_by(rows.c.created_at.desc(), rows.c.id.desc())
            .offset(start).limit(per_page))]
    return _page(items, total, start, page, per_page, count_limit)


def _search_live(db: Database, terms: list[Any], start: int, page: int, per_page: int,
                 count_limit: int | None) -> Page:
    """``search_instances`` when only live instances can match: the live table alone."""
    query = select(Instance).where(*terms)
    counted = query.with_only_columns(func.count(), maintain_column_froms=True)
    if count_limit is not None:
        counted = select(func.count()).select_from(
            query.with_only_columns(Instance.id, maintain_column_froms=True)
            .limit(start + count_limit + 1).subquery())
    with db.read() as s:
        total = int(s.scalar(counted) or 0)
        items = list(s.scalars(query.options(defer(Instance.state))
                               .order_by(Instance.created_at.desc(), Instance.id.desc())
                               .offset(start).limit(per_page)))
    return _page(items, total, start, page, per_page, count_limit)


def _page(items: list[Any], total: int, start: int, page: int, per_page: int,
          count_limit: int | None) -> Page:
    if count_limit is not None and total > start + count_limit:
        return Page(items, start + count_limit, page, per_page, total_capped=True)
    return Page(items, total, page, per_page)


@dataclass(frozen=True)
class VisitedElement:
    """An element the instance has passed through, as the step events recorded it."""

    element_id: str
    element_type: str
    name: str | None


def path_taken(db: Database, instance_id: str) -> list[VisitedElement]:
    """The elements the instance has completed, in the order each was first reached."""
    seen: dict[str, VisitedElement] = {}
    query = select(Event.element_id, Event.data).where(Event.instance_id == instance_id,
                                                       Event.type == "step")
    if db.is_postgres:  # only the months since it started (partitions pruned as it runs)
        arms = archived.both(("created_at",), lambda c: [c.id == instance_id])
        started = select(func.min(arms.c.created_at))
        query = query.where(Event.created_at >= started.scalar_subquery()
                            - literal(SKEW, type_=Interval()))
    with db.read() as s:
        rows = s.execute(query.order_by(Event.id))
        for element_id, data in rows:
            if element_id and element_id not in seen:
                data = data or {}
                seen[element_id] = VisitedElement(element_id, str(data.get("type") or ""),
                                                  data.get("name"))
    return list(seen.values())


def earlier_tasks(db: Database, instance_id: str) -> list[VisitedElement]:
    """Tasks on the path taken that a token could be moved back to (an admin repair)."""
    return [v for v in path_taken(db, instance_id) if v.element_type.endswith("Task")]


def workers(db: Database, alive_seconds: float, now: datetime | None = None,
            ) -> list[tuple[Worker, bool]]:
    """Every worker that has announced itself, newest heartbeat first, and whether alive."""
    cutoff = (now or utcnow()) - timedelta(seconds=alive_seconds)
    with db.read() as s:
        rows = list(s.scalars(select(Worker).order_by(Worker.last_seen.desc()).limit(50)))
    return [(w, w.last_seen >= cutoff) for w in rows]


def incident(db: Database, incident_id: str) -> Incident:
    """One incident, open or resolved."""
    with db.read() as s:
        row = s.get(Incident, incident_id)
    if row is None:
        raise NotFoundError(f"no incident with id '{incident_id}'", {"id": incident_id})
    return row
