"""Count what an operation costs the database: SQL statements and transactions.

Round trips to the database, not milliseconds, are what limit many workers on one
PostgreSQL, and unlike timings they are the same on every machine: tests pin them, and
``bench/round_trips.py`` prints them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event


@dataclass
class RoundTrips:
    """What ran between entering and leaving ``count``: statements, transactions, and the
    statements' text (for a failing test to show)."""

    statements: int = 0
    transactions: int = 0
    commits: int = 0
    sql: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.statements} statements in {self.transactions} transactions "
                f"({self.commits} committed)")


@contextmanager
def count(sql_engine: Engine) -> Iterator[RoundTrips]:
    """Count the statements and transactions on ``sql_engine`` inside the ``with`` block.

    Our own ``BEGIN`` on SQLite (issued in the ``begin`` event) is a transaction, not a
    statement; a transaction ends in a commit or a rollback (the read sessions roll back).
    """
    seen = RoundTrips()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            return
        seen.statements += 1
        seen.sql.append(" ".join(statement.split())[:160])

    def on_begin(_conn: Any) -> None:
        seen.transactions += 1

    def on_commit(_conn: Any) -> None:
        seen.commits += 1

    event.listen(sql_engine, "before_cursor_execute", on_statement)
    event.listen(sql_engine, "begin", on_begin)
    event.listen(sql_engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(sql_engine, "before_cursor_execute", on_statement)
        event.remove(sql_engine, "begin", on_begin)
        event.remove(sql_engine, "commit", on_commit)
