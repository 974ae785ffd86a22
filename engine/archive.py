"""Move instances that ended a while ago out of the live table, a short transaction per batch.

Run by the worker's history cleanup job before the time-to-live cleanup (PostgreSQL only:
SQLite keeps every instance in ``instances``). An instance is moved once it has been ended
for ``history_archive_after_seconds`` and the dashboard's rollups have counted it (their
watermarks trail the clock by ``statistics.SETTLE``), so every figure reads the same before
and after. A call tree moves whole, when its root and every instance it called have ended,
or not at all. Each batch is one statement, ``DELETE … RETURNING`` feeding an ``INSERT``:
a crash leaves every instance in exactly one table. Roots are taken with ``FOR UPDATE SKIP
LOCKED``, so several workers archive at once, each instance moved by one of them.

What hangs off an instance stays where it is, keyed by its id: its events (partitioned by
month), its finished human tasks and resolved incidents. An instance that still has a
message subscription or an external task row (which the live table's foreign keys guard)
is left in the live table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, tuple_, union
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import daily, history_months, statistics
from .archived import COLUMNS, INSTANCES
from .config import Settings
from .db import Database
from .models import ExternalTask, MessageSubscription, StatMark, utcnow
from .retention import call_tree
from .vocabulary import FINAL_STATUSES

log = logging.getLogger(__name__)

_NAMES = ", ".join(COLUMNS)
_MOVE = text(f"WITH moved AS (DELETE FROM instances WHERE id = ANY(:ids) RETURNING {_NAMES})"
             f" INSERT INTO instances_history ({_NAMES}) SELECT {_NAMES} FROM moved")


@dataclass
class ArchiveReport:
    """What one archiving run moved: instances (called ones included) and in how many batches."""

    instances: int = 0
    batches: int = 0


def cutoff(db: Database, settings: Settings, now: datetime) -> datetime | None:
    """Instances that ended before this may move: ``history_archive_after_seconds`` ago, and
    before both rollups' watermarks (None: a rollup has never run, nothing moves yet)."""
    with db.read() as s:
        marks = [s.scalar(select(StatMark.mark_at).where(StatMark.name == name))
                 for name in (statistics.ENDED, daily.MARK)]
    counted = [mark for mark in marks if mark is not None]
    if len(counted) < len(marks):
        return None
    return min([now - timedelta(seconds=settings.history_archive_after_seconds), *counted])


def archive(db: Database, settings: Settings, *, now: datetime | None = None,
            max_batches: int | None = None) -> ArchiveReport:
    """Move ended call trees out of ``instances`` into ``instances_history``, batch by batch."""
    report = ArchiveReport()
    if not db.is_postgres or settings.history_archive_after_seconds < 0:
        return report
    now = now or utcnow()
    statistics.roll_up(db, now)  # what moves is counted first (the rollups read the live table)
    daily.roll_up(db, now)
    before = cutoff(db, settings, now)
    if before is None:
        return report
    size = max(1, settings.history_cleanup_batch_size)
    _make_months(db, before)
    after: tuple[datetime, str] | None = None
    while max_batches is None or report.batches < max_batches:
        with db.write() as s:
            roots = _roots(s, before, size, after)
            ids = _movable(s, [root_id for _, root_id in roots])
            if ids:
                s.execute(_MOVE, {"ids": ids})
        if not roots:
            break
        after = roots[-1]  # keyset: trees left (one still runs) are passed by
        report.batches += 1
        report.instances += len(ids)
        if len(roots) < size:
            break
    if report.instances:
        log.info("archived %d ended instances in %d batches", report.instances, report.batches)
    return report


def _make_months(db: Database, before: datetime) -> None:
    """The history partitions of every month an instance to move ended in; a failure (a
    lock not granted in time) is logged: the rows go to the default partition meanwhile."""
    with db.read() as s:
        ended = list(s.scalars(text(
            "SELECT DISTINCT date_trunc('month', ended_at) FROM instances"
            " WHERE ended_at < :before AND status = ANY(:final)"),
            {"before": before, "final": list(FINAL_STATUSES)}))
    try:
        history_months.ensure_months(db, ended)
    except DBAPIError:
        log.exception("instances_history partitions could not be made now; archived "
                      "instances go to the default partition until a later run makes them")


def _roots(s: Session, before: datetime, size: int, after: tuple[datetime, str] | None,
           ) -> list[tuple[datetime, str]]:
    """The next ended instances that no other called, oldest end first, locked (skipping any
    another worker holds)."""
    c = INSTANCES.c
    query = (select(c.ended_at, c.id)
             .where(c.ended_at < before, c.status.in_(FINAL_STATUSES),
                    c.parent_instance_id.is_(None))
             .order_by(c.ended_at, c.id).limit(size).with_for_update(skip_locked=True))
    if after is not None:
        query = query.where(tuple_(c.ended_at, c.id) > tuple_(*after))
    return [(ended_at, root_id) for ended_at, root_id in s.execute(query)]


def _movable(s: Session, roots: list[str]) -> list[str]:
    """Every instance of the trees of ``roots`` that have ended whole and hold no waits."""
    c = INSTANCES.c
    callers = set(s.scalars(select(c.parent_instance_id).distinct()
                            .where(c.parent_instance_id.in_(roots)))) if roots else set()
    trees = [[root] for root in roots if root not in callers]  # most call nothing
    for root in roots:
        if root in callers:
            levels, ended = call_tree(s, [root])
            if ended:
                trees.append([i for level in levels for i in level])
    everyone = [i for tree in trees for i in tree]
    if not everyone:
        return []
    held = set(s.scalars(union(
        select(MessageSubscription.instance_id).where(
            MessageSubscription.instance_id.in_(everyone)),
        select(ExternalTask.instance_id).where(ExternalTask.instance_id.in_(everyone)))))
    return [i for tree in trees if not held.intersection(tree) for i in tree]
