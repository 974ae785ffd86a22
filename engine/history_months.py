"""The archived instances by month on PostgreSQL: months made as rows arrive, empty ones dropped.

Migration 0024 makes ``instances_history`` range-partitioned on ``ended_at``, with a default
partition. Before a batch moves, ``ensure_months`` makes the partitions of the months the
moved instances ended in (taking any of their rows out of the default partition first), so
each month is a table of its own; once the history time-to-live has removed every row of a
past month, ``drop_empty_months`` detaches and drops it. Each step holds an advisory lock of
its own and bounds how long it waits for table locks, as the events months do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from .db import Database
from .partitions import LOCK_TIMEOUT, month_start, next_month

log = logging.getLogger(__name__)

LOCK_KEY = 0x4246_4948  # "BFIH": the advisory lock of instances_history maintenance
TABLE = "instances_history"
_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def month_name(start: datetime) -> str:
    return f"{TABLE}_y{start:%Y}m{start:%m}"


def _lock(c: Connection) -> None:
    c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    c.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def months(c: Connection) -> dict[datetime, str]:
    """The monthly partitions of ``instances_history`` by first day (the default left out)."""
    rows = c.execute(text(
        "SELECT k.relname, pg_get_expr(k.relpartbound, k.oid) FROM pg_inherits h"
        " JOIN pg_class k ON k.oid = h.inhrelid WHERE h.inhparent = to_regclass(:t)"),
        {"t": TABLE})
    found = {}
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        if match:
            found[datetime.fromisoformat(match.group(1))] = name
    return found


def ensure_months(db: Database, ended: Iterable[datetime]) -> list[str]:
    """Make the partitions of the months of these end times that are missing; the names made."""
    wanted = {month_start(d) for d in ended}
    if not wanted:
        return []
    made: list[str] = []
    with db.sql_engine.begin() as c:
        _lock(c)
        have = months(c)
        for start in sorted(wanted - set(have)):
            end, name = next_month(start), month_name(start)
            bounds = {"lo": start, "hi": end}
            c.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)"))
            c.execute(text(
                f"WITH moved AS (DELETE FROM {TABLE}_default WHERE ended_at >= :lo"
                f" AND ended_at < :hi RETURNING *) INSERT INTO {name} SELECT * FROM moved"),
                bounds)
            c.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name}"
                           f" FOR VALUES FROM ('{start:%Y-%m-%d}') TO ('{end:%Y-%m-%d}')"))
            made.append(name)
    if made:
        log.info("instances_history partitions made: %s", ", ".join(made))
    return made


def drop_empty_months(db: Database, now: datetime) -> list[str]:
    """Detach and drop the months before ``now``'s that hold no archived instance any more
    (the time-to-live removed them all); a lock not granted in time leaves it to a later run."""
    dropped: list[str] = []
    try:
        with db.sql_engine.begin() as c:
            _lock(c)
            for start, name in sorted(months(c).items()):
                if next_month(start) > month_start(now):
                    continue
                if c.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first() is None:
                    c.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {name}"))
                    c.execute(text(f"DROP TABLE {name}"))
                    dropped.append(name)
    except OperationalError:
        log.warning("empty instances_history months not dropped now (a lock was busy); "
                    "the next cleanup run tries again")
        return []
    if dropped:
        log.info("instances_history partitions dropped: %s", ", ".join(dropped))
    return dropped
