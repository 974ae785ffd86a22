"""``create_app`` only builds: it migrates, deploys, seeds and starts nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect

from engine import Settings
from tests.conftest import postgres_url, reset_postgres
from web import create_app
from web.bootstrap import StartupError, upgrade_database
from web.extensions import database_config, db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "processes"


def tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def test_a_missing_database_is_refused_and_not_created(tmp_path: Path) -> None:
    database = tmp_path / "missing.db"
    with pytest.raises(StartupError) as info:
        create_app({"database_url": f"sqlite:///{database}", "processes_dir": str(FIXTURES)})
    assert str(info.value) == (f"the database at sqlite:///{database} is not migrated; "
                               "run `bridgeflow db upgrade`")
    assert not database.exists()


def test_an_empty_database_is_refused_and_left_empty(tmp_path: Path) -> None:
    database = tmp_path / "empty.db"
    sqlite3.connect(database).close()
    with pytest.raises(StartupError, match="is not migrated; run `bridgeflow db upgrade`"):
        create_app({"database_url": f"sqlite:///{database}", "processes_dir": str(FIXTURES)})
    assert tables(database) == []  # no tables, so no users either


def _threads() -> set[threading.Thread]:
    """The threads running, but the process's one SQLite checkpoint thread (it copies the
    log of any database the process opened, engine/sqlite_checkpoint.py; it runs no work)."""
    return {t for t in threading.enumerate() if t.name != "bridgeflow-sqlite-checkpoint"}


def test_on_a_migrated_database_it_writes_nothing_and_starts_no_thread(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade_database(Settings.from_env(database_url=url))
    threads = _threads()
    app = create_app({"database_url": url, "processes_dir": str(FIXTURES)})  # development
    try:
        assert _threads() == threads  # no job worker: `serve` starts one
        engine = app.extensions["bridgeflow"]
        assert engine.identity.list_users() == []  # demo users: `bridgeflow users demo`
        assert engine.repository.list_definitions() == []  # deploying: serve, worker, demo
        assert "bridgeflow_worker" not in app.extensions
    finally:
        app.extensions["bridgeflow"].close()


def test_flask_sqlalchemy_owns_the_pool_the_engine_runs_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade_database(Settings.from_env(database_url=url))
    app = create_app({"database_url": url})
    try:
        with app.app_context():
            assert db.engine is app.extensions["bridgeflow"]._core.db.sql_engine
            assert "users" in inspect(db.engine).get_table_names()
            assert db.session.get_bind() is db.engine
    finally:
        app.extensions["bridgeflow"].close()


def test_database_settings_mirror_the_engines() -> None:
    assert database_config("postgresql://u:p@h/bf") == {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u:p@h/bf",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 20}}
    assert database_config("postgresql://u:p@h/bf", {"prepare_threshold": None})[
        "SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"prepare_threshold": None}
    relative = database_config("sqlite:///instance/bridgeflow.db")  # the working directory's
    assert relative["SQLALCHEMY_DATABASE_URI"] == \
        f"sqlite:///{Path('instance/bridgeflow.db').absolute()}"
    assert relative["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "connect_args": {"timeout": 30, "check_same_thread": False}}


@pytest.mark.postgres
def test_behind_pgbouncer_the_app_s_pool_prepares_no_statements() -> None:
    url = postgres_url()
    reset_postgres(url)
    upgrade_database(Settings.from_env(database_url=url))
    app = create_app({"database_url": url, "database_prepare_threshold": "none"})
    try:
        with app.app_context(), db.engine.connect() as connection:
            assert connection.connection.driver_connection.prepare_threshold is None
    finally:
        app.extensions["bridgeflow"].close()
