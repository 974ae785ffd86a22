"""The database: one URL picks SQLite or PostgreSQL; sessions for reading and for writing."""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from .sqlite_checkpoint import CHECKPOINTER, WRITER_CHECKPOINT_PAGES, Watch
from .sqlite_writer import DriverTransaction, ThreadConnections, driver_transaction, idle


def _migrations_dir() -> Path:
    """Where the migrations live: beside the package in a checkout, or named explicitly."""
    import os

    named = os.environ.get("BRIDGEFLOW_MIGRATIONS_DIR")
    if named:
        return Path(named)
    beside = Path(__file__).resolve().parent.parent / "migrations"
    return beside if beside.is_dir() else Path.cwd() / "migrations"


class Database:
    """Owns the SQLAlchemy engine; gives short transactions to the rest of the engine."""

    def __init__(self, url_or_engine: str | Engine,
                 postgres_connect_args: dict[str, Any] | None = None,
                 listen_url: str | None = None) -> None:
        """``listen_url``: where the LISTEN connection goes (a transaction-pooling PgBouncer
        loses notifications), when not the database's own pool."""
        self.listen_url = listen_url or None
        self._postgres_connect_args = dict(postgres_connect_args or {})
        if isinstance(url_or_engine, str):
            self.sql_engine = make_engine(url_or_engine, self._postgres_connect_args)
        else:
            self.sql_engine = url_or_engine
            if self.sql_engine.dialect.name == "sqlite":
                _tune_sqlite(self.sql_engine)
            elif self.sql_engine.dialect.name == "postgresql":
                ping_when_idle(self.sql_engine)
        self.is_postgres = self.sql_engine.dialect.name == "postgresql"
        self._checkpoints = _watch_sqlite_file(self)
        self._write_engine = self.sql_engine.execution_options(bf_write=True)
        self._thread_connections = (ThreadConnections(self.sql_engine)
                                    if self._checkpoints is not None else None)
        self._reader = sessionmaker(self.sql_engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        self._heads: set[str] | None = None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; nothing it changes is kept."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.expunge_all()  # keep what was loaded readable after the session
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes are committed together, or not at all."""
        with self._writer() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write_core(self) -> Iterator[Connection]:
        """A plain connection in one write transaction, for hot paths with Core statements."""
        with self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def write_driver(self) -> Iterator[DriverTransaction]:
        """SQLite only: one write transaction on a driver connection itself.

        For the hottest write (a start that ran to its end in memory), where SQLAlchemy's
        ``Connection`` and ``Transaction`` bookkeeping cost more than SQLite's own work.
        On a database file the connection is the thread's own (``sqlite_writer``: a pool
        checkout and check-in cost as much as SQLite's ``BEGIN``); otherwise the pool's. The
        transaction is ``BEGIN IMMEDIATE`` as every writer's, committed when the block ends
        and rolled back if it raises. Listeners of the engine's ``begin``, ``commit``,
        ``rollback`` and ``before_cursor_execute`` events (round-trip counting) still hear
        of it, with no SQLAlchemy connection (``None``); a driver error is raised as
        SQLAlchemy's.
        """
        if self.is_postgres:
            raise RuntimeError("write_driver is for SQLite; use write_core")
        with self._driver() as driver:
            with driver_transaction(self.sql_engine, driver) as write:
                yield write

    @contextmanager
    def write_plain(self) -> Iterator[Connection | DriverTransaction]:
        """A write transaction without the ORM, for ``Prepared`` statements on hot paths: on
        SQLite ``write_driver``'s, on PostgreSQL ``write_core``'s."""
        if self.is_postgres:
            with self.write_core() as connection:
                yield connection
            return
        with self.write_driver() as write:
            yield write

    @contextmanager
    def read_plain(self) -> Iterator[Connection | DriverTransaction]:
        """A read transaction without the ORM, for ``Prepared`` queries on hot paths: on
        SQLite on the driver connection (``write_driver``'s, so a thread's reads share its
        connection), rolled back at the end; on PostgreSQL a plain connection.

        It must not be opened inside a ``write_driver`` block of the same thread."""
        if self.is_postgres:
            with self.sql_engine.connect() as connection:
                yield connection
            return
        with self._driver() as driver:
            with driver_transaction(self.sql_engine, driver, write=False) as read:
                yield read

    @contextmanager
    def _driver(self) -> Iterator[Any]:
        """SQLite's driver connection for one transaction: the thread's own on a database
        file (``sqlite_writer``), else the pool's; one left in doubt by an error is closed."""
        if self._thread_connections is None:  # not a plain file: the pool's connection
            pooled = self.sql_engine.raw_connection()
            try:
                yield pooled.driver_connection
            finally:
                pooled.close()
            return
        with self._thread_connections.connection() as driver:
            try:
                yield driver
            except BaseException:
                if not idle(driver):  # even the rollback failed: the next opens anew
                    self._thread_connections.discard()
                raise

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_migrations_dir()))
        with self.sql_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def is_current(self) -> bool:
        """Whether the schema is at the newest migration; reads, never creates, anything."""
        from alembic.migration import MigrationContext
        from alembic.script import ScriptDirectory

        if self._heads is None:  # the files do not change while the process runs
            self._heads = set(ScriptDirectory(str(_migrations_dir())).get_heads())
        heads = self._heads
        with self.sql_engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        return current == heads

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.close()
        if self._thread_connections is not None:
            self._thread_connections.close_all()
        self.sql_engine.dispose()

    @contextmanager
    def listen_connection(self) -> Iterator[Any]:
        """A psycopg connection in autocommit mode for LISTEN, closed (never pooled) after:
        to ``listen_url`` when there is one, else from the database's own pool."""
        if self.listen_url is not None:
            import psycopg

            conninfo = self.listen_url.replace("postgresql+psycopg://", "postgresql://", 1)
            connection = psycopg.connect(conninfo, autocommit=True,
                                         **self._postgres_connect_args)
            try:
                yield connection
            finally:
                connection.close()
            return
        raw: Any = self.sql_engine.raw_connection()
        try:
            connection = raw.driver_connection
            connection.autocommit = True
            yield connection
        finally:
            raw.invalidate()  # a LISTENing connection must not go back to the pool


def _watch_sqlite_file(database: Database) -> Watch | None:
    """Checkpoint a SQLite database file off the write path (engine/sqlite_checkpoint.py),
    until the database is disposed of or collected."""
    url = database.sql_engine.url
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:" \
            or path.startswith("file:") or url.query.get("uri"):
        return None
    watch = CHECKPOINTER.watch(path)
    weakref.finalize(database, watch.close)
    return watch


def make_engine(url: str, postgres_connect_args: dict[str, Any] | None = None) -> Engine:
    """Create an engine with the settings each backend needs for many workers."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _tune_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_size=10, max_overflow=20,
                           connect_args=dict(postgres_connect_args or {}))
    ping_when_idle(engine)
    return engine


# A pooled connection used less than this long ago is not checked before its next use.
PING_IDLE_SECONDS = 1.0


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before use only if it sat idle, with one empty
    query outside any transaction; a dead one is replaced (``DisconnectionError``).

    SQLAlchemy's ``pool_pre_ping`` runs ``SELECT 1`` in a transaction of its own on every
    checkout: one more transaction and up to three more round trips per checkout, which
    doubled the transactions a worker's job costs the server. A connection that served a
    statement a moment ago needs no check; one the server dropped while it was in use
    fails that use, and SQLAlchemy then invalidates the whole pool, as with the pre-ping.
    """
    if getattr(engine, "_bf_pings", False):
        return
    engine._bf_pings = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["bf_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("bf_idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return  # new, or in use just now
        if not alive(dbapi_connection):
            raise exc.DisconnectionError("the database closed an idle pooled connection")


def alive(dbapi_connection: Any) -> bool:
    """Whether the server answers an empty query on this psycopg connection (one round
    trip, no transaction: libpq's level, beneath psycopg's transaction handling)."""
    from psycopg import pq

    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # not psycopg 3: ask the portable way
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - whatever the driver raises, it is dead
            return False
        finally:
            dbapi_connection.rollback()
        return True
    try:
        return bool(pgconn.exec_(b"").status == pq.ExecStatus.EMPTY_QUERY)
    except Exception:  # noqa: BLE001 - the socket is gone
        return False


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # the checkpoint thread copies the log; a writer checkpoints only at this bound
        cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front so two writers never deadlock on an upgrade.
        write = connection.get_execution_options().get("bf_write")
        # straight to the driver: through ``exec_driver_sql`` this statement cost more CPU
        # than an empty transaction's own work; statement counters count the ``begin`` event
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    _on_begin.bf_issues_begin = True  # type: ignore[attr-defined]  # skipped by write_driver


__all__ = ["Database", "DriverTransaction", "Session", "make_engine"]
