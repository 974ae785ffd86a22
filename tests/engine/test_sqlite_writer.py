"""A start that runs to its end is written on its thread's own SQLite connection: kept
between starts, outside the pool, closed when the database is disposed of or the thread
ends, never left in a transaction by a failed write, and never used or closed across a
fork."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import Engine, inline_start
from engine.config import Settings
from engine.db import Database
from engine.models import Instance as InstanceRow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "processes"
LINES = {"lines": [{"qty": 3, "price": 500.0}]}


def _files_open_on(path: Path) -> int:
    """This process's open descriptors of the database file itself."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:  # closed meanwhile
            pass
    return count


def _instances(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(InstanceRow)) or 0)


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def _starts_in_threads(engine: Engine, threads: int, each: int,
                       together: bool) -> list[BaseException]:
    """Start ``each`` instances in each of ``threads`` new threads, all at once or one
    thread after the other; what any of them raised."""
    errors: list[BaseException] = []

    def start_some() -> None:
        try:
            for _ in range(each):
                engine.runtime.start("auto_steps", None, LINES, wait=5)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            errors.append(exc)

    workers = [threading.Thread(target=start_some) for _ in range(threads)]
    for worker in workers:
        worker.start()
        if not together:
            worker.join()
    for worker in workers:
        worker.join()
    return errors


@pytest.fixture()
def started(tmp_path: Path) -> tuple[Database, Engine, Path]:
    """A database with one start written; the checkpoint thread, which opens the file
    too, is told to let go of it, so that the files open on it are the engine's alone."""
    path = tmp_path / "writer.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    engine = Engine(db, Settings(database_url=f"sqlite:///{path}"))
    engine.repository.deploy_directory(FIXTURES)
    engine.runtime.start("auto_steps", None, LINES, wait=5)
    assert db._checkpoints is not None
    db._checkpoints.close()
    time.sleep(0.2)  # the thread wakes at once and closes its connection
    _instances(db)  # the pool has a connection for reads (the thread took one out of it)
    return db, engine, path


def test_a_thread_keeps_one_connection_of_its_own_outside_the_pool(
        started: tuple[Database, Engine, Path]) -> None:
    db, engine, path = started
    pool = db.sql_engine.pool
    opened = _files_open_on(path)
    pooled = pool.checkedin()

    for _ in range(20):
        assert engine.runtime.start("auto_steps", None, LINES, wait=5).status == "completed"

    assert _files_open_on(path) == opened  # the same connection, not one per start
    assert pool.checkedout() == 0 and pool.checkedin() == pooled  # the pool is untouched
    assert _instances(db) == 21
    db.dispose()


def test_dispose_closes_the_connection_and_a_later_start_opens_a_new_one(
        started: tuple[Database, Engine, Path]) -> None:
    db, engine, path = started
    db.dispose()
    assert _eventually(lambda: _files_open_on(path) == 0)  # nothing of it is left open

    assert engine.runtime.start("auto_steps", None, LINES, wait=5).status == "completed"
    assert _instances(db) == 2
    db.dispose()


def test_threads_that_end_let_their_connections_go(
        started: tuple[Database, Engine, Path]) -> None:
    db, engine, path = started
    before = _files_open_on(path)

    # one after the other, as a server's short-lived threads would
    errors = _starts_in_threads(engine, threads=10, each=1, together=False)

    assert not errors
    # each thread's connection went with it; at most the pool opened one to replace the
    # connection the first thread took out of it
    assert _files_open_on(path) <= before + 1
    assert _instances(db) == 11
    db.dispose()


def test_a_failed_write_leaves_no_transaction_open_on_the_thread(
        started: tuple[Database, Engine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db, engine, _path = started
    monkeypatch.setattr(inline_start, "new_id", lambda: "0190a8e2-0000-7000-8000-00000000000a")
    engine.runtime.start("auto_steps", None, LINES, wait=5)
    with pytest.raises(IntegrityError):  # the same id again
        engine.runtime.start("auto_steps", None, LINES, wait=5)
    monkeypatch.undo()

    # the thread's connection is usable and not holding the write lock: another connection
    # writes, and the thread's next start is committed where everyone sees it
    with db.write() as s:
        s.execute(select(1))
    assert engine.runtime.start("auto_steps", None, LINES, wait=5).status == "completed"
    assert _instances(db) == 3
    db.dispose()


def test_threads_writing_at_once_all_land(started: tuple[Database, Engine, Path]) -> None:
    db, engine, _path = started

    errors = _starts_in_threads(engine, threads=4, each=15, together=True)

    assert not errors
    assert _instances(db) == 1 + 4 * 15
    db.dispose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available here")
def test_a_forked_child_neither_uses_nor_closes_the_parents_connection(
        started: tuple[Database, Engine, Path]) -> None:
    db, engine, path = started
    opened = _files_open_on(path)
    pid = os.fork()
    if pid == 0:  # the child: its own connection for its start, the parent's left alone
        code = 1
        try:
            ok = engine.runtime.start("auto_steps", None, LINES, wait=5).status == "completed"
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)

    assert os.WEXITSTATUS(status) == 0
    assert _files_open_on(path) == opened  # the child closed nothing of ours
    assert engine.runtime.start("auto_steps", None, LINES, wait=5).status == "completed"
    assert _instances(db) == 3  # the parent's, the child's, and the parent's again
    db.dispose()
