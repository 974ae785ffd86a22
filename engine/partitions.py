"""The audit trail by month on PostgreSQL: months made ahead, expired months dropped whole.

Migration 0012 partitions ``events`` by range of ``created_at``, one partition a month plus
a default one. ``ensure_months`` makes the coming months (moving any of their rows out of the
default partition), so new events land in a small partition of their own month.
``sweep_past_months`` removes the events of instances the time-to-live cleanup has removed
from the months before this one: a month left with nothing to keep is detached and dropped
(no row-by-row DELETE, no dead rows to vacuum); one with a few rows to keep is rebuilt with
just those; otherwise the dead rows are deleted. Every step holds an advisory lock, so
several workers may call these at once, and each is one short transaction, so a crash
leaves either the old month or the new one, never half of each. SQLite is left alone.

What is left to sweep is kept in the database (``note_pending``, in the transaction that
removes the instances): a sweep that stops — a lock not granted in time, a crash — is
carried on by the next cleanup run, whether or not that run removes anything.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .db import Database

log = logging.getLogger(__name__)

LOCK_KEY = 0x4246_4556  # "BFEV": the advisory lock of events partition maintenance
LOCK_TIMEOUT = "5s"  # never queue live inserts behind maintenance for longer than this
REBUILD_SHARE = 0.5  # rebuild a month instead of deleting when at most this share stays
SKEW = timedelta(days=1)  # events may be stamped by another machine's clock
_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")
# an event to keep: not about an instance, or about one that still exists
# (live or archived: engine/archived.py)
_KEEP = ("(e.instance_id IS NULL"
         " OR EXISTS (SELECT 1 FROM instances i WHERE i.id = e.instance_id)"
         " OR EXISTS (SELECT 1 FROM instances_history h WHERE h.id = e.instance_id))")
# the span still to sweep, as two rows of stat_marks (absent when nothing is left)
PENDING_FROM, PENDING_TO = "events_sweep_from", "events_sweep_to"


@dataclass(frozen=True)
class Month:
    """One monthly partition of ``events``: its table name and range [start, end)."""

    name: str
    start: datetime
    end: datetime


Span = tuple[datetime, datetime]  # from the first start to the last end of removed instances


@dataclass
class SweepReport:
    """What a sweep of past months did: months dropped, rebuilt, deleted in; events removed."""

    dropped: int = 0
    rebuilt: int = 0
    deleted_in: int = 0
    events: int = 0


def month_start(d: datetime) -> datetime:
    """The first instant of ``d``'s month (naive UTC, as stored)."""
    return datetime(d.year, d.month, 1)


def next_month(d: datetime) -> datetime:
    """The first instant of the month after ``d``'s."""
    return datetime(d.year + d.month // 12, d.month % 12 + 1, 1)


def written_since(created_at: datetime) -> datetime:
    """The earliest an instance created at ``created_at`` may have written an event.

    An instance's events are written from its start on: bounding a query of them by this
    lets PostgreSQL skip the months before it (clocks of other machines allowed for).
    """
    return created_at - SKEW


def month_name(start: datetime) -> str:
    return f"events_y{start:%Y}m{start:%m}"


def is_partitioned(db: Database) -> bool:
    """Whether ``events`` is partitioned by month (PostgreSQL after migration 0012)."""
    if not db.is_postgres:
        return False
    with db.sql_engine.connect() as c:
        return bool(c.execute(text(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('events')"))
            .scalar())


def months(c: Connection) -> list[Month]:
    """The monthly partitions of ``events``, oldest first (the default one left out)."""
    rows = c.execute(text(
        "SELECT k.relname, pg_get_expr(k.relpartbound, k.oid) FROM pg_inherits h"
        " JOIN pg_class k ON k.oid = h.inhrelid WHERE h.inhparent = to_regclass('events')"))
    found = []
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        if match:
            found.append(Month(name, datetime.fromisoformat(match[1]),
                               datetime.fromisoformat(match[2])))
    return sorted(found, key=lambda m: m.start)


def _lock(c: Connection) -> None:
    """Take the maintenance lock (waiting for another worker's step), then bound lock waits."""
    c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    c.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def ensure_months(db: Database, now: datetime, ahead: int) -> list[str]:
    """Make the partitions of this month and the ``ahead`` next; return the ones made."""
    if not is_partitioned(db):
        return []
    made: list[str] = []
    with db.sql_engine.begin() as c:
        _lock(c)
        have = {m.start for m in months(c)}
        start = month_start(now)
        for _ in range(ahead + 1):
            if start not in have:
                _make_month(c, start, next_month(start))
                made.append(month_name(start))
            start = next_month(start)
    if made:
        log.info("events partitions made: %s", ", ".join(made))
    return made


def _make_month(c: Connection, start: datetime, end: datetime) -> None:
    """Make one month's partition, taking its rows out of the default partition first."""
    name, bounds = month_name(start), {"lo": start, "hi": end}
    c.execute(text(f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)"))
    c.execute(text(
        f"WITH moved AS (DELETE FROM events_default WHERE created_at >= :lo"
        f" AND created_at < :hi RETURNING *) INSERT INTO {name} SELECT * FROM moved"), bounds)
    c.execute(text(f"ALTER TABLE events ATTACH PARTITION {name}"
                   f" FOR VALUES FROM ('{start:%Y-%m-%d}') TO ('{end:%Y-%m-%d}')"))


def note_pending(s: Session, span: Span) -> None:
    """Add ``span`` to what is left to sweep, in the caller's transaction (PostgreSQL only).

    Written with the removal of the instances that lived in it, so a sweep that never runs
    or stops half-way is carried on by the next cleanup run.
    """
    for name, at, keep in ((PENDING_FROM, span[0], "LEAST"), (PENDING_TO, span[1], "GREATEST")):
        s.execute(text(
            "INSERT INTO stat_marks (name, mark_at) VALUES (:n, :at) ON CONFLICT (name)"
            f" DO UPDATE SET mark_at = {keep}(stat_marks.mark_at, EXCLUDED.mark_at)"),
            {"n": name, "at": at})


def _pending(c: Connection) -> Span | None:
    rows = c.execute(text("SELECT name, mark_at FROM stat_marks WHERE name IN (:a, :b)"),
                     {"a": PENDING_FROM, "b": PENDING_TO}).all()
    marks: dict[str, datetime] = {name: at for name, at in rows}
    lo, hi = marks.get(PENDING_FROM), marks.get(PENDING_TO)
    return (lo, hi) if lo is not None and hi is not None else None


def _done(c: Connection, span: Span) -> None:
    """Forget the pending span swept, unless another cleanup has widened it meanwhile."""
    c.execute(text(
        "DELETE FROM stat_marks WHERE name IN (:a, :b) AND NOT EXISTS (SELECT 1 FROM stat_marks"
        " m WHERE (m.name = :a AND m.mark_at < :lo) OR (m.name = :b AND m.mark_at > :hi))"),
        {"a": PENDING_FROM, "b": PENDING_TO, "lo": span[0], "hi": span[1]})


def sweep_past_months(db: Database, now: datetime, span: Span | None = None, *,
                      everything: bool = False) -> SweepReport:
    """Remove the events of removed instances from the months before ``now``'s.

    Only the months that ``span`` and the pending span (``note_pending``) overlap are looked
    at: an instance's events are written while it runs, so the others hold none of theirs.
    With ``everything``, every past month is (a manual cleanup). With neither, nothing is.
    """
    report = SweepReport()
    if not is_partitioned(db):
        return report
    with db.sql_engine.connect() as c:
        pending = _pending(c)
    wanted = [x for x in (span, pending) if x is not None]
    if everything:
        wanted.append((datetime.min + SKEW, month_start(now)))
    if not wanted:
        return report
    span = (min(x[0] for x in wanted), max(x[1] for x in wanted))
    lo, hi = span[0] - SKEW, min(span[1] + SKEW, month_start(now))
    with db.sql_engine.connect() as c:
        past = [m for m in months(c) if m.end <= month_start(now) and m.end > lo
                and m.start < hi]
    try:
        for month in past:
            with db.sql_engine.begin() as c:
                _lock(c)
                _sweep_month(c, month, report)
        with db.sql_engine.begin() as c:  # rows of past months without a partition of their own
            _lock(c)
            gone = c.execute(text(f"DELETE FROM events_default e WHERE e.created_at >= :lo"
                                  f" AND e.created_at < :hi AND NOT {_KEEP}"),
                             {"lo": lo, "hi": hi})
            report.events += int(gone.rowcount)
            if pending is not None:
                _done(c, span)
    except OperationalError:  # a lock not granted in time: live work goes first
        log.exception("events partitions: the sweep of past months stopped; the next cleanup "
                      "run carries on")
    if report.events:
        log.info("events of removed instances: %d gone (%d months dropped, %d rebuilt)",
                 report.events, report.dropped, report.rebuilt)
    return report


def _sweep_month(c: Connection, month: Month, report: SweepReport) -> None:
    if c.execute(text("SELECT to_regclass(:n)"), {"n": month.name}).scalar() is None:
        return  # another worker dropped it while this one waited for the lock
    total, kept = c.execute(text(
        f"SELECT count(*), count(*) FILTER (WHERE {_KEEP}) FROM {month.name} e")).one()
    if total == kept:
        return
    if kept <= total * REBUILD_SHARE:
        c.execute(text(f"ALTER TABLE events DETACH PARTITION {month.name}"))
        if kept:
            keep = f"{month.name}_keep"
            c.execute(text(f"CREATE TABLE {keep} (LIKE events INCLUDING DEFAULTS)"))
            c.execute(text(f"INSERT INTO {keep} SELECT e.* FROM {month.name} e WHERE {_KEEP}"))
        c.execute(text(f"DROP TABLE {month.name}"))
        if kept:
            c.execute(text(f"ALTER TABLE {keep} RENAME TO {month.name}"))
            c.execute(text(f"ALTER TABLE events ATTACH PARTITION {month.name} FOR VALUES"
                           f" FROM ('{month.start:%Y-%m-%d}') TO ('{month.end:%Y-%m-%d}')"))
            report.rebuilt += 1
        else:
            report.dropped += 1
    else:
        c.execute(text(f"DELETE FROM {month.name} e WHERE NOT {_KEEP}"))
        report.deleted_in += 1
    report.events += total - kept
