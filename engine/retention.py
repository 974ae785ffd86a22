"""History has a lifetime: remove ended instances past their time-to-live, in short batches.

A called instance goes with the instance at the root of its call tree, by the root's
time-to-live (Camunda 7's default removal-time strategy); everything keyed by an instance
goes with it. Each batch is its own short transaction, so live work is never held up long.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, false, func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import archived, daily, history_months, jobs, partitions, statistics, stored_reports
from .archived import INSTANCES
from .config import Settings
from .db import Database
from .models import (
    Definition,
    Event,
    ExternalTask,
    HumanTask,
    InboundEvent,
    Incident,
    Job,
    MessageSubscription,
    utcnow,
)
from .vocabulary import FINAL_STATUSES, JobKind

log = logging.getLogger(__name__)

# the tables whose rows belong to one instance, removed before the instance itself
KEYED_BY_INSTANCE: tuple[Any, ...] = (Event, HumanTask, Job, MessageSubscription, Incident,
                                      ExternalTask)
MAX_BATCHES_PER_JOB = 20  # then the cleanup job gives the worker back, due again at once


@dataclass
class CleanupReport:
    """What a history cleanup removed (or, in a dry run, would remove), by table."""

    dry_run: bool = False
    batches: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    archived: int = 0  # ended instances then moved out of the live table (engine/archive.py)

    @property
    def instances(self) -> int:
        return self.removed.get("instances", 0)

    def add(self, counts: dict[str, int]) -> None:
        for table, n in counts.items():
            self.removed[table] = self.removed.get(table, 0) + n


def _expired(session: Session, default_days: int, now: datetime, t: Table = INSTANCES) -> Any:
    """SQL for "ended before its definition's time-to-live ran out" (one term per TTL)."""
    ttls = set(session.scalars(select(Definition.history_ttl_days).distinct()
                               .where(Definition.kind == "process")))
    terms = []
    for ttl in ttls:
        of_ttl = (Definition.history_ttl_days.is_(None) if ttl is None
                  else Definition.history_ttl_days == ttl)
        days = default_days if ttl is None else ttl
        terms.append(and_(t.c.definition_id.in_(select(Definition.id).where(of_ttl)),
                          t.c.ended_at < now - timedelta(days=days)))
    return or_(*terms) if terms else false()


def expired_roots(session: Session, settings: Settings, now: datetime, limit: int,
                  lock: bool = False, after: str = "", t: Table = INSTANCES) -> list[str]:
    """Ended instances, not called by another, whose time-to-live has run out, by id
    (``t``: of the live table or of the archived instances)."""
    query = (select(t.c.id)
             .where(_expired(session, settings.history_ttl_days, now, t),
                    t.c.status.in_(FINAL_STATUSES),
                    t.c.parent_instance_id.is_(None), t.c.id > after)
             .order_by(t.c.id).limit(limit))
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def call_tree(session: Session, roots: list[str], t: Table = INSTANCES,
              ) -> tuple[list[list[str]], bool]:
    """The instances ``roots`` called, level by level, and whether every one has ended
    (a call tree is archived whole: its instances are all in ``t``)."""
    levels, frontier, ended = [roots], roots, True
    while frontier:
        rows = session.execute(select(t.c.id, t.c.status).where(
            t.c.parent_instance_id.in_(frontier))).all()
        ended = ended and all(status in FINAL_STATUSES for _, status in rows)
        frontier = [i for i, _ in rows]
        if frontier:
            levels.append(frontier)
    return levels, ended


def count_rows(session: Session, ids: list[str]) -> dict[str, int]:
    """How many rows of each table belong to the instances ``ids``."""
    counts = {"instances": len(ids)}
    for model in KEYED_BY_INSTANCE:
        counts[model.__tablename__] = int(session.scalar(
            select(func.count()).select_from(model).where(model.instance_id.in_(ids))) or 0)
    return counts


def delete_instances(session: Session, levels: list[list[str]],
                     events_from: datetime | None = None, t: Table = INSTANCES,
                     ) -> dict[str, int]:
    """Delete the instances (callers before called, as ``call_tree`` lists them) and their rows.

    With ``events_from``, only their events from then on go now: the older ones are in past
    months' partitions, which ``partitions.sweep_past_months`` clears a whole month at a time.
    """
    ids = [i for level in levels for i in level]
    counts: dict[str, int] = {}
    for model in KEYED_BY_INSTANCE:
        which = model.instance_id.in_(ids)
        if model is Event and events_from is not None:
            which = and_(which, Event.created_at >= events_from)
        result = session.execute(delete(model).where(which))
        counts[model.__tablename__] = int(result.rowcount)  # type: ignore[attr-defined]
    for level in reversed(levels):  # the called first: they point at their caller
        session.execute(delete(t).where(t.c.id.in_(level)))
    counts["instances"] = len(ids)
    return counts


def _trees(session: Session, roots: Iterable[str], t: Table = INSTANCES) -> list[list[str]]:
    """The whole-tree levels of those ``roots`` whose called instances have all ended."""
    kept = []
    for root in roots:
        levels, ended = call_tree(session, [root], t)
        if ended:
            kept.append(levels)
    merged: list[list[str]] = []
    for levels in kept:
        for depth, level in enumerate(levels):
            if depth == len(merged):
                merged.append([])
            merged[depth].extend(level)
    return merged


def cleanup(db: Database, settings: Settings, *, dry_run: bool = False,
            max_batches: int | None = None, now: datetime | None = None,
            sweep_all: bool = False) -> CleanupReport:
    """Remove ended instances past their time-to-live, one batch per transaction.

    Where events are partitioned by month, their past months are swept after: those the
    removed instances lived in and those an earlier sweep did not finish, or with
    ``sweep_all`` every one (as a manual cleanup does).
    """
    now = now or utcnow()
    size = max(1, settings.history_cleanup_batch_size)
    report = CleanupReport(dry_run=dry_run)
    by_month = not dry_run and partitions.is_partitioned(db)
    if not dry_run:  # what is removed stays counted: add it to the totals and days first
        statistics.roll_up(db, now)
        daily.roll_up(db, now)
    events_from = partitions.month_start(now) if by_month else None
    if by_month:
        _ensure_months(db, settings, now)
    span = None
    # the live table, then (PostgreSQL) the archived instances, whose empty months go after
    for t in (INSTANCES, archived.HISTORY) if db.is_postgres else (INSTANCES,):
        after = ""
        while max_batches is None or report.batches < max_batches:
            if dry_run:
                with db.read() as s:
                    roots = expired_roots(s, settings, now, size, after=after, t=t)
                    levels = _trees(s, roots, t)
                    counts = count_rows(s, [i for level in levels for i in level])
            else:
                with db.write() as s:
                    roots = expired_roots(s, settings, now, size, lock=db.is_postgres,
                                          after=after, t=t)
                    levels = _trees(s, roots, t)
                    if by_month:
                        span = _lifetimes(s, [i for level in levels for i in level], span, t)
                        if span is not None:  # kept with the removal: a stopped sweep goes on
                            partitions.note_pending(s, span)
                    counts = delete_instances(s, levels, events_from, t)
            if not roots:
                break
            after = max(roots)  # keyset: roots kept (what they called still runs) passed by
            report.batches += 1
            report.add(counts)
            if len(roots) < size:
                break
    if by_month:  # this run's months, those a stopped sweep left, or with sweep_all every one
        history_months.drop_empty_months(db, now)
        swept = partitions.sweep_past_months(db, now, span, everything=sweep_all)
        report.add({"events": swept.events})
    report.add({"inbound_events": _old_inbound_events(db, settings, now, dry_run)})
    report.add({"reports": stored_reports.remove_expired(db, settings.history_ttl_days, now,
                                                         dry_run)})
    if report.instances:
        log.info("history cleanup removed %d instances in %d batches%s", report.instances,
                 report.batches, " (dry run)" if dry_run else "")
    return report


def _lifetimes(s: Session, ids: list[str], span: partitions.Span | None,
               t: Table = INSTANCES) -> partitions.Span | None:
    """Widen ``span`` to the first start and last end of the instances ``ids``."""
    # by primary key, then min/max here: min() in SQL would walk the created_at index
    rows = s.execute(select(t.c.created_at, t.c.ended_at)
                     .where(t.c.id.in_(ids))).all() if ids else []
    starts = [r[0] for r in rows] + ([span[0]] if span else [])
    ends = [r[1] or r[0] for r in rows] + ([span[1]] if span else [])
    return (min(starts), max(ends)) if starts else span


def _ensure_months(db: Database, settings: Settings, now: datetime) -> None:
    """Make the coming months' events partitions; a failure is logged, never fatal here."""
    try:
        partitions.ensure_months(db, now, settings.history_partition_months_ahead)
    except OperationalError:
        log.exception("events partitions for the coming months could not be made now; "
                      "new events go to the default partition until the next run")


def _old_inbound_events(db: Database, settings: Settings, now: datetime,
                        dry_run: bool) -> int:
    """Webhook receipts older than the default time-to-live (only kept to spot repeats)."""
    cutoff = now - timedelta(days=settings.history_ttl_days)
    old = InboundEvent.received_at < cutoff
    if dry_run:
        with db.read() as s:
            return int(s.scalar(select(func.count()).select_from(InboundEvent)
                                .where(old)) or 0)
    with db.write() as s:
        return int(s.execute(delete(InboundEvent).where(old)).rowcount)  # type: ignore[attr-defined]


# -- the periodic job -------------------------------------------------------------------------

def schedule_cleanup(db: Database, settings: Settings) -> None:
    """Make sure one cleanup job is queued (a worker calls this when it starts)."""
    if settings.history_cleanup_interval_seconds <= 0:
        return
    with db.write() as s:
        if s.scalar(select(Job.id).where(Job.kind == JobKind.HISTORY_CLEANUP).limit(1)) is None:
            jobs.enqueue(s, JobKind.HISTORY_CLEANUP)


def run_cleanup_job(db: Database, settings: Settings, job_id: int, worker_id: str) -> None:
    """Archive and clean up for a while, then queue the next run: soon if more is left,
    else later."""
    from .archive import archive  # it reads call trees from here

    report = cleanup(db, settings, max_batches=MAX_BATCHES_PER_JOB)  # the expired go first
    moved = archive(db, settings, max_batches=MAX_BATCHES_PER_JOB)
    more_left = max(report.batches, moved.batches) >= MAX_BATCHES_PER_JOB
    delay = 0.0 if more_left else settings.history_cleanup_interval_seconds
    with db.write() as s:
        # one cleanup job stays queued, even if two workers started at the same moment
        s.execute(delete(Job).where(Job.kind == JobKind.HISTORY_CLEANUP))
        if settings.history_cleanup_interval_seconds > 0:
            jobs.enqueue(s, JobKind.HISTORY_CLEANUP, due_at=utcnow() + timedelta(seconds=delay))
