"""SQLite's driver connections for the hottest writes and reads (``Database.write_driver``,
``write_plain``, ``read_plain``): one per thread, and transactions on them.

A pool checkout and check-in cost as much as SQLite's own ``BEGIN`` and a third of its
``COMMIT`` on a start that ran to its end in memory. A thread that writes such starts keeps
a connection of its own instead: made by the engine (its connect settings and PRAGMAs),
then taken out of the pool (``detach``), so the pool's size and connections are unchanged.

A thread's connection is closed when the thread's storage goes (the thread ended), when
the database is disposed of, or after an error left it in doubt. A forked child never uses
(nor closes) a connection it inherited: SQLite connections must not cross a fork, and
closing one in the child could checkpoint the parent's log under it.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, exc

# connections a forked child inherited: kept referenced, never used or closed in the child
_INHERITED: list[Any] = []


class _Held:
    """One thread's connection (a detached pool connection) and what it belongs to."""

    def __init__(self, pooled: Any, driver: Any, generation: int) -> None:
        self.pooled = pooled
        self.driver = driver
        self.generation = generation
        self.pid = os.getpid()
        self.busy = False
        self._closer = weakref.finalize(self, _close, pooled, self.pid)
        self._closer.atexit = False  # at exit the process's files close anyway

    def close(self) -> None:
        self._closer()


def _close(pooled: Any, pid: int) -> None:
    if os.getpid() == pid:  # never in a forked child
        pooled.close()  # detached: the driver connection is closed, not pooled


class ThreadConnections:
    """The per-thread connections of one SQLite engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._generation = 0

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """This thread's driver connection for one transaction; ``discard`` it on doubt."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and held.pid != os.getpid():  # inherited through a fork
            _INHERITED.append(held)
            held = None
        if held is None or held.generation != self._generation:
            if held is not None:
                held.close()
            held = self._open()
        if held.busy:  # SQLite has no nested transactions: this would fail obscurely
            raise RuntimeError("this thread's SQLite connection is in a transaction already")
        held.busy = True
        try:
            yield held.driver
        finally:
            held.busy = False
            if held.generation != self._generation:  # disposed of meanwhile
                self.discard()

    def discard(self) -> None:
        """Close this thread's connection; the next transaction opens a new one."""
        held: _Held | None = self._local.__dict__.pop("held", None)
        if held is not None:
            held.close()

    def close_all(self) -> None:
        """Close every thread's connection that is not in a transaction now; the others
        close when their transaction ends."""
        with self._lock:
            self._generation += 1
            idle = [held for held in self._held if not held.busy]
        for held in idle:
            held.close()

    def _open(self) -> _Held:
        pooled = self._engine.raw_connection()
        driver = pooled.driver_connection
        pooled.detach()  # ours now: the pool forgets it and may open another
        with self._lock:
            held = _Held(pooled, driver, self._generation)
            self._held.add(held)
        self._local.held = held
        return held


class DriverTransaction:
    """A transaction on SQLite's driver connection (``Database.write_driver``,
    ``read_plain``)."""

    def __init__(self, engine: Engine, driver: Any) -> None:
        self.dialect = engine.dialect
        self.driver = driver
        self._statement_listeners = engine.dispatch.before_cursor_execute
        self._error = engine.dialect.loaded_dbapi.Error

    def execute(self, sql: str, params: list[Any]) -> int:
        """Run one statement with one row of parameters, or ``executemany`` with several;
        the rows written. Statement listeners see it first, as with ``exec_driver_sql``."""
        many = len(params) > 1
        parameters: Any = params if many else params[0]
        cursor = self.driver.cursor()
        try:
            for listener in self._statement_listeners:
                listener(None, cursor, sql, parameters, None, many)
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            return int(cursor.rowcount)
        except self._error as exc:
            raise exc_from_driver(sql, parameters, exc, self._error) from exc
        finally:
            cursor.close()

    def fetch(self, sql: str, parameters: Any) -> list[Any]:
        """The rows a query answers, as the driver gives them; listeners see it first."""
        cursor = self.driver.cursor()
        try:
            for listener in self._statement_listeners:
                listener(None, cursor, sql, parameters, None, False)
            cursor.execute(sql, parameters)
            return list(cursor.fetchall())
        except self._error as exc:
            raise exc_from_driver(sql, parameters, exc, self._error) from exc
        finally:
            cursor.close()

    def run(self, sql: str, parameters: Any) -> None:
        """A statement of the transaction itself (``BEGIN``, ``COMMIT``): not counted."""
        try:
            self.driver.execute(sql, parameters)
        except self._error as exc:
            raise exc_from_driver(sql, parameters, exc, self._error) from exc


@contextmanager
def driver_transaction(engine: Engine, driver: Any,
                        write: bool = True) -> Iterator[DriverTransaction]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` on ``driver``, rolled back if the block raises
    (``write`` False: ``BEGIN`` … ``ROLLBACK``, as a read session ends); the engine's
    transaction listeners are told (``_tell``)."""
    transaction = DriverTransaction(engine, driver)
    transaction.run("BEGIN IMMEDIATE" if write else "BEGIN", ())
    _tell(engine.dispatch.begin)
    try:
        yield transaction
        if not write:
            transaction.run("ROLLBACK", ())
            _tell(engine.dispatch.rollback)
            return
        transaction.run("COMMIT", ())
    except BaseException:
        if not idle(driver):
            driver.rollback()
        _tell(engine.dispatch.rollback)
        raise
    _tell(engine.dispatch.commit)


def idle(driver: Any) -> bool:
    """Whether the driver connection is usable and outside any transaction."""
    try:
        return not driver.in_transaction
    except Exception:  # noqa: BLE001 - closed or broken: not usable
        return False


def exc_from_driver(sql: str, parameters: Any, error: Exception,
                    dbapi_error: type[Exception]) -> exc.StatementError:
    """The SQLAlchemy exception (``IntegrityError``, ``OperationalError`` …) that
    ``exec_driver_sql`` would raise for this driver error."""
    return exc.DBAPIError.instance(sql, parameters, error, dbapi_error)


def _tell(listeners: Any) -> None:
    """Call a transaction event's listeners for a driver transaction, except the one that
    issues SQLite's own ``BEGIN`` (the driver transaction issued it already)."""
    for listener in listeners:
        if not getattr(listener, "bf_issues_begin", False):
            listener(None)
