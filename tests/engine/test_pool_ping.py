"""Pooled PostgreSQL connections: checked only after sitting idle, and a dead one replaced."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event, select, text

from engine import db as db_module
from engine.db import Database
from engine.models import User
from tests.conftest import postgres_only


def _add_user(database: Database, name: str) -> None:
    with database.write() as s:
        s.add(User(name=name, role="user", groups=[], password_hash="!", active=True))


def _names(database: Database) -> list[str]:
    with database.read() as s:
        return list(s.scalars(select(User.name).order_by(User.name)))


@postgres_only
def test_a_connection_the_server_dropped_while_idle_is_replaced_without_an_error(
        database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_user(database, "ana")
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 0.0)
    with database.read() as s:
        own = s.scalar(text("SELECT pg_backend_pid()"))
    with psycopg.connect(database_url, autocommit=True) as admin:  # as a restart would
        admin.execute("SELECT pg_terminate_backend(%s)", (own,))
    _add_user(database, "bo")  # the pooled connection is dead: the check replaces it
    assert _names(database) == ["ana", "bo"]


@postgres_only
def test_a_connection_in_steady_use_is_not_checked_and_an_idle_one_is(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[object] = []
    real_alive = db_module.alive
    # the check is module-wide: count only this database's connections (a thread an earlier
    # test left running on another database would otherwise be counted too)
    ours: set[int] = set()
    event.listen(database.sql_engine, "connect",
                 lambda dbapi_connection, _record: ours.add(id(dbapi_connection)))
    database.sql_engine.dispose()  # its connections are made again, and seen

    def counted(connection: object) -> bool:
        if id(connection) in ours:
            checks.append(connection)
        return real_alive(connection)

    monkeypatch.setattr(db_module, "alive", counted)
    for i in range(10):
        _add_user(database, f"user{i}")
    assert checks == []  # every checkout came right after a checkin
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 0.0)
    assert len(_names(database)) == 10
    _add_user(database, "after-check")  # the empty query left no transaction behind
    assert "after-check" in _names(database)
    assert len(checks) == 3
