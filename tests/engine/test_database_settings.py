"""PostgreSQL behind a transaction-pooling PgBouncer: prepared statements can be turned off,
and the LISTEN connection can go to a URL of its own (PostgreSQL directly)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from engine import Engine, Settings
from engine.db import Database
from tests.conftest import postgres_only


def threshold_of(engine: Engine) -> Any:
    with engine._core.db.sql_engine.connect() as connection:
        return connection.connection.driver_connection.prepare_threshold


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.close()


@postgres_only
@pytest.mark.parametrize(("setting", "threshold"), [
    ("none", None), ("0", None), ("None", None), ("12", 12), ("", 5)])
def test_the_setting_reaches_psycopg_s_connections(database: Database, database_url: str,
                                                    engines: list[Engine], setting: str,
                                                    threshold: int | None) -> None:
    settings = Settings.from_env({"BRIDGEFLOW_DATABASE_PREPARE_THRESHOLD": setting},
                                 database_url=database_url)
    engines.append(engine := Engine(database_url, settings))
    assert threshold_of(engine) == threshold
    # and the engine works over it: a deployment and a query, as PgBouncer would pass them
    assert engine.repository.list_definitions() == []


@pytest.mark.parametrize("setting", ["often", "-1", "2.5"])
def test_a_bad_threshold_stops_the_start_with_a_clear_error(setting: str) -> None:
    with pytest.raises(ValueError, match="BRIDGEFLOW_DATABASE_PREPARE_THRESHOLD must be a "
                                         "whole number, or none"):
        Settings.from_env({"BRIDGEFLOW_DATABASE_PREPARE_THRESHOLD": setting})


def listeners(url: str) -> list[str]:
    """The application names of the sessions LISTENing for the external task doorbell."""
    database = Database(url)
    try:
        with database.sql_engine.connect() as connection:
            return list(connection.scalars(text(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN bridgeflow_external_tasks%'")))
    finally:
        database.dispose()


@postgres_only
def test_the_listener_uses_its_own_url_and_still_hears_notifications(
        database: Database, database_url: str, engines: list[Engine]) -> None:
    separator = "&" if "?" in database_url else "?"
    listen_url = f"{database_url}{separator}application_name=bf-direct-listener"
    settings = Settings(database_url=database_url, listen_database_url=listen_url,
                        database_prepare_threshold="none")
    engines.append(engine := Engine(database_url, settings))
    doorbell = engine._core.executor.doorbell
    seen = doorbell.rings
    doorbell.wait_past(seen, 0.01)  # starts the listening thread
    deadline = time.monotonic() + 10
    while "bf-direct-listener" not in listeners(database_url):
        assert time.monotonic() < deadline, "no session LISTENs through the listen URL"
        time.sleep(0.1)
    seen = doorbell.rings
    other = Database(database_url)  # another process's commit, as a worker's would be
    try:
        with other.write() as session:
            session.execute(text("SELECT pg_notify('bridgeflow_external_tasks', '')"))
    finally:
        other.dispose()
    try:
        assert doorbell.wait_past(seen, 5), "the notification did not reach the listener"
    finally:
        doorbell.stop()
