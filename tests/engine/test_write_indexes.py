"""Migration 0025: the two narrow indexes a start wrote for nothing are gone, and looking up
an instance's history, the engine's own events, or instances by business key still reads an
index (on SQLite and on the partitioned PostgreSQL tables)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from engine.db import Database

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
]


def _plan(database: Database, query: str) -> str:
    with database.sql_engine.begin() as conn:  # a history: many instances' events, few others
        rows = [{"i": f"i-{n % 200}" if n % 100 else None} for n in range(2000)]
        conn.execute(text("INSERT INTO events (instance_id, type, data, created_at)"
                          " VALUES (:i, 'step', '{}', CURRENT_TIMESTAMP)"), rows)
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
    assert {"ix_events_instance_id_id", "ix_instances_business_key_created"} <= names


@pytest.mark.parametrize(("query", "index"), LOOKUPS)
def test_lookups_still_read_an_index(database: Database, query: str, index: str) -> None:
    plan = _plan(database, query)
    assert index in plan, plan
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
    assert "ix_events_instance_id" in {i["name"] for i in inspector.get_indexes("events")}
    assert "ix_instances_business_key" in {i["name"]
                                           for i in inspector.get_indexes("instances")}
    database.upgrade()
    assert "ix_events_instance_id" not in {
        i["name"] for i in inspect(database.sql_engine).get_indexes("events")}
