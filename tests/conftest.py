"""Shared fixtures: a fresh database on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.db import Database

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get("BRIDGEFLOW_TEST_POSTGRES_URL")


def reset_postgres(url: str) -> None:
    """Drop every table so each test starts from the migrations, as a new install would."""
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()


def own_postgres_database(url: str, suffix: str) -> str:
    """A database of its own beside ``url``'s (created when missing), for a long-lived app.

    Session-wide servers with a job worker (the e2e harness) must not share the database that
    per-test fixtures drop and re-create, nor take the jobs other tests wait for.
    """
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    own = f"{name}_{suffix}"
    admin = create_engine(f"{base}/postgres".replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": own}).scalar():
            conn.execute(text(f'CREATE DATABASE "{own}"'))
    admin.dispose()
    return f"{base}/{own}"


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"bridgeflow: PostgreSQL tests run against {POSTGRES_URL}"
    return ("bridgeflow: BRIDGEFLOW_TEST_POSTGRES_URL is not set, so the PostgreSQL variants "
            "of the tests are skipped (CI sets it)")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bridgeflow.db'}"
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL variant: set BRIDGEFLOW_TEST_POSTGRES_URL to run it")
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
