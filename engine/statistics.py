"""Running totals for /metrics and the dashboard, so that neither reads the whole history.

What never changes once written — ended instances (completed, terminated) and service-call
events — is added once into ``stat_counters`` up to a watermark; each read adds only the
rows past it (through the indexes on ``ended_at`` and on events' ``type, created_at``).
Live instances are counted as they are, at most once per ``LIVE_MAX_AGE`` for the dashboard
and /metrics (a count may be that old, as Camunda Cockpit's are not real-time either).
The watermark trails the clock by ``SETTLE`` so a row committed late (its time set when its
transaction began) is still counted; a rollup is one compare-and-set on the watermark, so
two processes never add the same rows twice.
Totals survive the history cleanup: they are counters, as Prometheus expects.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .db import Database
from .models import SERVICE_CALL_EVENTS, Event, Instance, StatCounter, StatMark, utcnow
from .vocabulary import FINAL_STATUSES, NOT_ENDED_SQL, InstanceStatus

log = logging.getLogger(__name__)

SETTLE = timedelta(minutes=5)
ROLL_EVERY = timedelta(minutes=1)  # a read rolls up when a watermark trails more than this
ENDED, CALLS = "ended", "service_calls"
# The live instances by status and process: an index-only scan of the partial index
# ix_instances_status_key, whose condition the query writes in the same words (SQLite and
# PostgreSQL prove a partial index usable only from the same condition, not from bound values)
LIVE_COUNTS = (select(Instance.status, Instance.process_key, func.count())
               .where(text(NOT_ENDED_SQL))
               .group_by(Instance.status, Instance.process_key))
# the dashboard's and /metrics' live counts may be this old: counting 100,000 live instances
# is an index-only scan of ~25 ms, so it is done at most once per this time and process
LIVE_MAX_AGE = timedelta(seconds=5)
_LIVE: WeakKeyDictionary[Database, tuple[datetime, list[tuple[str, str, int]]]] = (
    WeakKeyDictionary())


def totals(db: Database, now: datetime | None = None,
           live_max_age: timedelta = timedelta(0)) -> dict[str, Any]:
    """Instances by process and status, completed durations and service calls, as
    ``ManagementService.stats`` reports them; rolls up what has settled first (when a
    watermark trails ``SETTLE`` by more than ``ROLL_EVERY``: not a write per read).
    ``live_max_age``: the live counts may be that old (counted by this process)."""
    now = now or utcnow()
    with db.read() as s:
        marks = {m.name: m.mark_at for m in s.scalars(select(StatMark))}
    stale = now - SETTLE - ROLL_EVERY
    if any((mark := marks.get(name)) is None or mark < stale for name in (ENDED, CALLS)):
        roll_up(db, now)
    with db.read() as s:
        marks = {m.name: m.mark_at for m in s.scalars(select(StatMark))}
        kept = list(s.execute(select(StatCounter.name, StatCounter.key, StatCounter.sub,
                                     StatCounter.count, StatCounter.total)))
        ended = _add({(k, sub): (n, t) for name, k, sub, n, t in kept if name == ENDED},
                     _ended(s, marks.get(ENDED), None))
        calls = _add({(k, sub): (n, t) for name, k, sub, n, t in kept if name == CALLS},
                     _calls(s, marks.get(CALLS), None))
        live = _live(s, db, now, live_max_age)
    by_status = live + [(k, st, n) for (k, st), (n, _t) in sorted(ended.items())]
    durations = [(k, n, t) for (k, st), (n, t) in sorted(ended.items())
                 if st == InstanceStatus.COMPLETED]
    return {"instances": by_status, "completed_durations": durations,
            "service_calls": [(op, out, n, t) for (op, out), (n, t) in sorted(calls.items())]}


def _live(s: Session, db: Database, now: datetime,
          max_age: timedelta) -> list[tuple[str, str, int]]:
    """Live instances by process and status, counted again when older than ``max_age``."""
    kept = _LIVE.get(db)
    if kept is not None and timedelta(0) <= now - kept[0] < max_age:
        return kept[1]
    live = sorted((k, st, int(n)) for st, k, n in s.execute(LIVE_COUNTS))
    _LIVE[db] = (now, live)
    return live


def roll_up(db: Database, now: datetime) -> None:
    """Add what settled since the last rollup into the counters (once, whoever does it)."""
    cutoff = now - SETTLE
    for name, rows_of in ((ENDED, _ended), (CALLS, _calls)):
        with db.write() as s:
            start = mark_of(s, name)
            if start is not None and start >= cutoff:
                continue
            moved = s.execute(update(StatMark).where(
                StatMark.name == name,
                StatMark.mark_at.is_(None) if start is None else StatMark.mark_at == start)
                .values(mark_at=cutoff)).rowcount  # type: ignore[attr-defined]
            if not moved:  # another process rolled this range up just now
                continue
            for (key, sub), (count, total) in rows_of(s, start, cutoff).items():
                row = s.get(StatCounter, (name, key, sub))
                if row is None:
                    s.add(StatCounter(name=name, key=key, sub=sub, count=count, total=total))
                else:
                    row.count, row.total = row.count + count, row.total + total


def mark_of(s: Session, name: str) -> datetime | None:
    """The watermark ``name`` (made, empty, if there is none: two processes may try at once,
    so the insert ignores one already there)."""
    mark = s.get(StatMark, name)
    if mark is not None:
        return mark.mark_at
    dialect = s.bind.dialect.name if s.bind is not None else ""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    s.execute(insert(StatMark).values(name=name, mark_at=None).on_conflict_do_nothing())
    mark = s.get(StatMark, name)
    assert mark is not None
    return mark.mark_at


def _ended(s: Session, since: datetime | None,
           until: datetime | None) -> dict[tuple[str, str], tuple[int, float]]:
    """Ended instances by process and status, with their summed seconds, in [since, until)."""
    seconds = _seconds_between(s, Instance.created_at, Instance.ended_at)
    query = (select(Instance.process_key, Instance.status, func.count(), func.sum(seconds))
             .where(Instance.status.in_(FINAL_STATUSES), Instance.ended_at.is_not(None))
             .group_by(Instance.process_key, Instance.status))
    if since is not None:
        query = query.where(Instance.ended_at >= since)
    if until is not None:
        query = query.where(Instance.ended_at < until)
    return {(str(k), str(st)): (int(n), float(t or 0)) for k, st, n, t in s.execute(query)}


def _calls(s: Session, since: datetime | None,
           until: datetime | None) -> dict[tuple[str, str], tuple[int, float]]:
    """Service-call events by operation and outcome, with summed milliseconds."""
    operation = Event.data["operation"].as_string()
    outcome = Event.data["outcome"].as_string()
    query = (select(operation, outcome, func.count(),
                    func.sum(Event.data["duration_ms"].as_float()))
             .where(SERVICE_CALL_EVENTS).group_by(operation, outcome))  # its partial index
    if since is not None:
        query = query.where(Event.created_at >= since)
    if until is not None:
        query = query.where(Event.created_at < until)
    return {(str(op), str(out)): (int(n), float(ms or 0)) for op, out, n, ms in s.execute(query)}


def _add(base: dict[tuple[str, str], tuple[int, float]],
         more: dict[tuple[str, str], tuple[int, float]],
         ) -> dict[tuple[str, str], tuple[int, float]]:
    out: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for part in (base, more):
        for key, (n, t) in part.items():
            out[key][0] += n
            out[key][1] += t
    return {k: (int(v[0]), float(v[1])) for k, v in out.items()}


def _seconds_between(s: Session, start: Any, end: Any) -> Any:
    """SQL for the seconds between two timestamp columns, on SQLite and PostgreSQL."""
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0
