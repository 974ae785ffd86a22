"""Migrations 0025–0029: the indexes a start wrote for nothing are gone, and looking up
an instance's history, the engine's own events, instances by business key, the service
calls of a time window, the live counts or the live instances of a version still reads an
index (on SQLite and on the partitioned PostgreSQL tables)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from engine.db import Database
from engine.migration_batch import LIVE_OF_VERSION
from engine.models import Definition, Event, Instance, new_id
from engine.statistics import LIVE_COUNTS, _calls

LOOKUPS = [
    # (query, an index whose name the plan must show)
    ("SELECT id, type FROM events WHERE instance_id = 'i-1' ORDER BY id", "instance_id_id"),
    ("SELECT id FROM events WHERE instance_id IN ('i-1', 'i-2')", "instance_id_id"),
    # the security log (engine/users.py): the engine's own events, newest first
    ("SELECT id FROM events WHERE instance_id IS NULL ORDER BY id DESC LIMIT 50",
     "instance_id_id"),
    ("SELECT id FROM instances WHERE business_key = 'order-7'", "business_key_created"),
    ("SELECT id FROM instances WHERE business_key = 'order-7' ORDER BY created_at DESC",
     "business_key_created"),
    ("SELECT id FROM instances_history WHERE business_key = 'order-7'", "business_key_created"),
    # the statistics of the service calls in a time window, as engine/statistics.py asks
    ("STATISTICS", "service_calls"),
    # the live counts by status and process (the dashboard, /metrics): a partial index over
    # the live instances, which does not grow with history; its own (an index-only scan at
    # scale), or on PostgreSQL the narrower one of version while both are nearly empty here
    ("LIVE", "status_key|ix_instances_definition_id"),
    # a migration batch's candidates, the live instances of a version: partial alike
    ("LIVE_OF_VERSION", "definition_id"),
    # the instances an instance called (partial: only called instances are in it)
    ("SELECT id FROM instances WHERE parent_instance_id = 'p-1'", "parent_instance_id"),
    ("SELECT id, status FROM instances WHERE parent_instance_id IN ('p-1', 'p-2')",
     "parent_instance_id"),
]


def _statistics_query(database: Database) -> str:
    """The service-call statistics' SQL since a moment, with its parameters written in."""
    from datetime import datetime

    from sqlalchemy.orm import Session

    captured: list[str] = []

    class Capture(Session):
        def execute(self, statement, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            dialect = database.sql_engine.dialect
            captured.append(str(statement.compile(dialect=dialect)))
            captured.append(str(statement.compile(dialect=dialect,
                                                  compile_kwargs={"literal_binds": True})))
            return []

    _calls(Capture(), datetime(2026, 12, 1), None)
    # the type is written in the SQL, not bound: a prepared statement's generic plan on
    # PostgreSQL could not prove the partial index's condition from a parameter
    assert "type = 'service_call'" in captured[0], captured[0]
    return captured[1]


def _instances(conn: Any) -> None:
    """Many instances, most neither called nor with a business key, as in real use."""
    definition = new_id()
    conn.execute(Definition.__table__.insert().values(
        id=definition, key=f"p-{definition}", version=1, kind="process", content_hash="h",
        filename="p.bpmn", source=""))
    rows = [{"id": f"i-{n}", "business_key": f"order-{n}" if n % 10 == 0 else None,
             "parent_instance_id": None} for n in range(1000)]
    rows += [{"id": f"c-{n}", "business_key": None, "parent_instance_id": f"i-{n % 5}"}
             for n in range(20)]
    conn.execute(Instance.__table__.insert(), [
        dict(row, definition_id=definition, process_key="p", version=1, status="completed",
             variables={}, active_elements=[], revision=1) for row in rows])


def _plan(database: Database, query: str) -> str:
    if query == "STATISTICS":
        query = _statistics_query(database)
    if query == "LIVE":  # as engine/statistics.py asks it
        query = str(LIVE_COUNTS.compile(dialect=database.sql_engine.dialect))
    if query == "LIVE_OF_VERSION":  # as engine/migration_batch.py asks it
        query = str(LIVE_OF_VERSION.params(definition_id="d-1").compile(
            dialect=database.sql_engine.dialect, compile_kwargs={"literal_binds": True}))
    with database.sql_engine.begin() as conn:  # a history: many instances' events, few others
        rows = [{"i": f"i-{n % 200}" if n % 100 else None,
                 "t": "service_call" if n % 50 == 0 else "step"} for n in range(2000)]
        conn.execute(text("INSERT INTO events (instance_id, type, data, created_at)"
                          " VALUES (:i, :t, '{}', CURRENT_TIMESTAMP)"), rows)
        _instances(conn)
        conn.execute(text("ANALYZE"))
    with database.sql_engine.connect() as conn:
        if database.sql_engine.dialect.name == "sqlite":
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {query}")).all()
            return "\n".join(str(row[-1]) for row in rows)
        conn.execute(text("SET enable_seqscan = off"))  # the tables are empty here
        return "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {query}")))


def test_the_narrow_indexes_are_gone(database: Database) -> None:
    inspector = inspect(database.sql_engine)
    names = {i["name"] for table in ("events", "instances", "instances_history")
             for i in inspector.get_indexes(table)}
    assert "ix_events_instance_id" not in names
    assert "ix_instances_business_key" not in names
    assert "ix_events_type_created" not in names
    assert "ix_events_created_at" not in names
    assert {"ix_events_instance_id_id", "ix_instances_business_key_created",
            "ix_events_service_calls"} <= names


@pytest.mark.parametrize("index", ["ix_instances_parent_instance_id",
                                   "ix_instances_business_key_created"])
def test_the_parent_and_business_key_indexes_hold_only_rows_with_a_value(
        database: Database, index: str) -> None:
    with database.sql_engine.connect() as conn:
        definition = _index_sql(conn, index)
    assert "IS NOT NULL" in definition.upper(), definition


def _index_sql(conn: Connection, index: str) -> str:
    """The statement that made ``index``, as the database keeps it."""
    if conn.dialect.name == "sqlite":
        return str(conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                                {"n": index}).scalar())
    return str(conn.execute(text("SELECT pg_get_indexdef(CAST(:n AS regclass))"),
                            {"n": index}).scalar())


def test_removing_an_instance_still_finds_the_instances_it_called(
        database: Database) -> None:
    """The foreign key from a called instance to its caller is checked through the partial
    index: the caller cannot go while a called instance points at it."""
    from sqlalchemy.exc import IntegrityError

    with database.sql_engine.begin() as conn:
        _instances(conn)
    with pytest.raises(IntegrityError):
        with database.sql_engine.begin() as conn:
            conn.execute(text("DELETE FROM instances WHERE id = 'i-1'"))
    with database.sql_engine.begin() as conn:  # one nothing called goes
        assert conn.execute(text("DELETE FROM instances WHERE id = 'i-7'")).rowcount == 1


def test_a_step_is_not_written_to_the_service_call_index(database: Database) -> None:
    """The partial index holds the service calls only (what the statistics read)."""
    with database.sql_engine.begin() as conn:
        for type_ in ("step", "step", "service_call", "instance_completed"):
            conn.execute(Event.__table__.insert().values(type=type_, data={}))
        if database.sql_engine.dialect.name == "sqlite":
            indexed = conn.execute(text("SELECT count(*) FROM events INDEXED BY"
                                        " ix_events_service_calls WHERE type = 'service_call'"
                                        " AND created_at > '2000-01-01'")).scalar()
            assert indexed == 1
            definition = conn.execute(text("SELECT sql FROM sqlite_master WHERE name ="
                                           " 'ix_events_service_calls'")).scalar()
        else:
            definition = conn.execute(text("SELECT pg_get_indexdef("
                                           "'ix_events_service_calls'::regclass)")).scalar()
    assert "service_call" in definition and "WHERE" in definition.upper(), definition


@pytest.mark.parametrize("index", ["ix_instances_status_key", "ix_instances_definition_id"])
def test_the_status_and_version_indexes_hold_only_the_instances_not_ended(
        database: Database, index: str) -> None:
    """Partial over the statuses their queries name (the live counts, a migration batch's
    candidates): an instance that ends at its start never writes them, and one leaves them
    when it ends; what the queries answer is still right (their plans read them:
    test_lookups_still_read_an_index)."""
    with database.sql_engine.begin() as conn:
        _instances(conn)  # 1,020 completed instances
        conn.execute(text("UPDATE instances SET status = 'waiting' WHERE id IN ('i-1', 'i-2')"))
        conn.execute(text("UPDATE instances SET status = 'suspended' WHERE id = 'i-3'"))
        definition = _index_sql(conn, index)
        live = sorted((str(status), key, n) for status, key, n in conn.execute(LIVE_COUNTS))
        version = conn.execute(text("SELECT definition_id FROM instances WHERE id = 'i-1'"))\
            .scalar()
        of_version = sorted(row.id for row in conn.execute(
            LIVE_OF_VERSION.params(definition_id=version)))
    assert "WHERE" in definition.upper(), definition
    for status in ("running", "waiting", "incident", "suspended"):
        assert f"'{status}'" in definition, definition
    assert "'completed'" not in definition and "'terminated'" not in definition, definition
    assert live == [("suspended", "p", 1), ("waiting", "p", 2)]
    assert of_version == ["i-1", "i-2", "i-3"]


@pytest.mark.parametrize(("query", "index"), LOOKUPS)
def test_lookups_still_read_an_index(database: Database, query: str, index: str) -> None:
    plan = _plan(database, query)
    names = index.split("|")  # any of these
    if database.sql_engine.dialect.name == "postgresql":  # a month's copy has its own name
        with database.sql_engine.connect() as conn:
            for name in index.split("|"):
                names += conn.execute(text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname LIKE :n"),
                    {"n": f"%{name}%"}).scalars().all()
    assert any(name in plan for name in names), plan
    assert "SCAN events\n" not in plan + "\n" and "Seq Scan" not in plan, plan


def test_downgrade_puts_them_back(database: Database) -> None:
    from alembic import command
    from alembic.config import Config

    from engine.db import _migrations_dir

    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    with database.sql_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0024")
    inspector = inspect(database.sql_engine)
    back = {i["name"] for i in inspector.get_indexes("events")}
    assert {"ix_events_instance_id", "ix_events_type_created", "ix_events_created_at"} <= back
    assert "ix_events_service_calls" not in back
    assert "ix_instances_business_key" in {i["name"]
                                           for i in inspector.get_indexes("instances")}
    database.upgrade()
    assert "ix_events_instance_id" not in {
        i["name"] for i in inspect(database.sql_engine).get_indexes("events")}
