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
# CI runs with CI=true: there a missing Tryton, PostgreSQL or Chromium fails the run.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

# The variants of a test that needs a database; `-m "not postgres"` keeps the SQLite ones.
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres, id="postgres")]
# For a test that means something on PostgreSQL only: no SQLite variant is collected at all.
postgres_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres, id="postgres")],
    indirect=True)


def require(condition: object, reason: str) -> None:
    """Skip the test for ``reason`` when ``condition`` is false; fail it instead in CI.

    Every skip for a missing component (Tryton, PostgreSQL) goes through here, so CI cannot
    pass by quietly skipping what it was meant to test. (A missing Chromium always fails.)
    """
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so a missing component fails the test instead of "
                    "skipping it)", pytrace=False)
    pytest.skip(reason)


def postgres_url() -> str:
    """The PostgreSQL URL the PostgreSQL variants run against, or skip (fail in CI)."""
    require(POSTGRES_URL, "PostgreSQL variant: set BRIDGEFLOW_TEST_POSTGRES_URL to run it")
    assert POSTGRES_URL is not None
    return POSTGRES_URL


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
    missing = "fail (CI is set)" if IN_CI else "are skipped (CI sets it)"
    return ("bridgeflow: BRIDGEFLOW_TEST_POSTGRES_URL is not set, so the PostgreSQL variants "
            f"of the tests {missing}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a PostgreSQL variant without the ``postgres`` marker: -m would miss it."""
    unmarked = [item.nodeid for item in items
                if "postgres" in getattr(getattr(item, "callspec", None), "params", {}).values()
                and item.get_closest_marker("postgres") is None]
    if unmarked:
        raise pytest.UsageError("these PostgreSQL variants lack the postgres marker (use "
                                f"tests.conftest.DATABASES): {', '.join(unmarked)}")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bridgeflow.db'}"
    url = postgres_url()
    reset_postgres(url)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
