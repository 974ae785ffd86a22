"""Ended instances out of the live table: ``instances_history`` and reading both as one.

On PostgreSQL, ``engine/archive.py`` moves instances that ended a while ago (their whole call
tree at once) from ``instances`` into ``instances_history``, partitioned by month of
``ended_at`` (migration 0024). The live table, its indexes and every query of live work keep
only what has not ended. Whatever reads an instance by id, or lists instances that may have
ended, reads through here: by id, the live table first, then the history; a list, the two
tables as one ``UNION ALL`` in the lists' one order (newest first, the id breaking ties),
filtered, counted and paged by the database. A row is in exactly one of the two tables at
any moment (it moves in one statement), so a list paged while rows move neither repeats
nor skips one. SQLite keeps every instance in ``instances`` (a development database stays
small); its ``instances_history`` exists and stays empty.

An archived instance is handed out as a transient ``Instance`` (never added to a session):
the same attributes as a live one, and no way to write it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, FromClause, Index, Select, Table, select, union_all
from sqlalchemy.orm import Session

from .models import Base, Instance
from .vocabulary import FINAL_STATUSES

INSTANCES: Table = Instance.__table__  # type: ignore[assignment]
# every column of a live instance, in the live table's order (what a move copies)
COLUMNS: tuple[str, ...] = tuple(c.name for c in INSTANCES.columns)

HISTORY = Table(
    "instances_history", Base.metadata,
    *[Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
      for c in INSTANCES.columns],
    Index("ix_instances_history_ended_at", "ended_at"),
    Index("ix_instances_history_created", "created_at", "id"),
    Index("ix_instances_history_key_created", "process_key", "created_at"),
    Index("ix_instances_history_status_created", "status", "created_at"),
    Index("ix_instances_history_business_key_created", "business_key", "created_at"),
    Index("ix_instances_history_parent", "parent_instance_id"),
    Index("ix_instances_history_definition", "definition_id"),
)


def detached(row: Any) -> Instance:
    """A transient ``Instance`` holding one row's columns (an archived instance, read-only)."""
    mapping = row._mapping
    return Instance(**{name: mapping[name] for name in COLUMNS if name in mapping})


def find(s: Session, instance_id: str, live: bool = True) -> Instance | None:
    """The instance ``instance_id``, live or from the history (``live`` False: the caller
    has looked in the live table already); None if neither table has it."""
    row = s.get(Instance, instance_id) if live else None
    if row is not None:
        return row
    old = s.execute(select(HISTORY).where(HISTORY.c.id == instance_id)).first()
    return None if old is None else detached(old)


def is_archived(s: Session, instance_id: str) -> bool:
    """Whether ``instance_id`` has ended and moved to the history table."""
    return s.scalar(select(HISTORY.c.id).where(HISTORY.c.id == instance_id)) is not None


def both(columns: Sequence[str] = COLUMNS, where: Any = None,
         newest: int | None = None) -> FromClause:
    """Live and archived instances as one selectable (``where``: a function of a table's
    columns giving the filter of each arm, so each arm uses its own indexes).

    ``newest``: only each arm's first ``newest`` rows in the lists' order (newest first, the
    id breaking ties), which hold the union's first ``newest``: each table reads its top
    rows by its own index, rather than the two being merged and sorted whole."""
    arms = []
    for table in (INSTANCES, HISTORY):
        arm: Select[Any] = select(*[table.c[name] for name in columns])
        if where is not None:
            arm = arm.where(*where(table.c))
        if newest is not None:
            top = arm.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(newest)
            arm = select(top.subquery())
        arms.append(arm)
    return union_all(*arms).subquery("any_instances")


def may_have_ended(statuses: Sequence[str] | None) -> bool:
    """Whether a status filter lets an ended instance through (then the history is read)."""
    return statuses is None or any(s in FINAL_STATUSES for s in statuses)
