"""SQLite's log is copied into the database file by a thread of its own (off the write
path), the log stays bounded under steady writes, and the thread lets go of a database when
it is disposed of, removed, or in a forked child."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, text

from engine.db import Database
from engine.sqlite_checkpoint import CHECKPOINTER, IDLE_SECONDS, WRITER_CHECKPOINT_PAGES


def _eventually(check: Callable[[], bool], seconds: float = 3 * IDLE_SECONDS + 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _rows_in_the_file_alone(db_path: Path, folder: Path) -> int:
    """The rows a reader of the database file sees without its log (the -wal file)."""
    folder.mkdir(exist_ok=True)
    copy = folder / f"copy-{time.monotonic_ns()}.db"  # a new name: no log of an earlier copy
    shutil.copyfile(db_path, copy)  # only the main file: what was checkpointed into it
    reader = sqlite3.connect(copy)
    try:
        return int(reader.execute("SELECT count(*) FROM notes").fetchone()[0])
    except sqlite3.OperationalError:  # the table itself is not in the file yet
        return 0
    finally:
        reader.close()


def _database_without_own_checkpoints(path: Path) -> Database:
    """A database whose writers never checkpoint: only the thread can have done it."""
    db = Database(f"sqlite:///{path}")
    event.listen(db.sql_engine, "connect",
                 lambda dbapi, _record: dbapi.execute("PRAGMA wal_autocheckpoint=0"))
    with db.sql_engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    return db


def test_committed_rows_reach_the_database_file_without_a_writer_checkpointing(
        tmp_path: Path) -> None:
    path = tmp_path / "main.db"
    db = _database_without_own_checkpoints(path)
    try:
        with db.sql_engine.connect() as conn:
            for n in range(200):
                with conn.begin():
                    conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": f"n{n}"})
        assert str(path.resolve()) in CHECKPOINTER.watched()
        assert _eventually(lambda: _rows_in_the_file_alone(path, tmp_path / "copies") == 200)
    finally:
        db.dispose()


def test_a_file_watched_before_it_was_in_wal_mode_is_still_checkpointed(
        tmp_path: Path) -> None:
    """The thread may open a new database file before its first writer switches it to WAL
    mode; a SQLite connection that has not read since then does not see the log, and kept
    reporting that there was none (seen in about one run in five of the test above)."""
    path = tmp_path / "fresh.db"
    sqlite3.connect(path).close()  # an empty file, in the default (rollback) mode
    early = CHECKPOINTER.watch(str(path))
    try:
        time.sleep(0.3)  # the thread has opened the file and found no log
        db = _database_without_own_checkpoints(path)  # now WAL mode, and a table
        try:
            with db.sql_engine.connect() as conn:
                for n in range(50):
                    with conn.begin():
                        conn.execute(text("INSERT INTO notes (body) VALUES (:b)"),
                                     {"b": f"n{n}"})
            assert _eventually(lambda: _rows_in_the_file_alone(path, tmp_path / "copies") == 50)
        finally:
            db.dispose()
    finally:
        early.close()


def test_the_log_stays_bounded_under_steady_writes(tmp_path: Path) -> None:
    """The writers' own checkpoint stays on as the bound: a thread that never catches up
    with a steady stream of commits must not let the log grow without end."""
    path = tmp_path / "steady.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.sql_engine.begin() as conn:
            conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
            page = int(conn.execute(text("PRAGMA page_size")).scalar_one())
        with db.sql_engine.connect() as conn:
            for _ in range(3 * WRITER_CHECKPOINT_PAGES):  # a commit writes a page or more
                with conn.begin():
                    conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": "x" * 900})
        log_bytes = os.path.getsize(f"{path}-wal")
        # the writers' bound and some slack
        assert log_bytes < 2 * WRITER_CHECKPOINT_PAGES * (page + 24), log_bytes
        with db.sql_engine.connect() as conn:  # the bound is set on every connection
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() \
                == WRITER_CHECKPOINT_PAGES
    finally:
        db.dispose()


def test_disposing_of_the_database_stops_watching_it(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    db = _database_without_own_checkpoints(path)
    assert str(path.resolve()) in CHECKPOINTER.watched()
    db.dispose()
    assert str(path.resolve()) not in CHECKPOINTER.watched()


def test_a_removed_database_file_is_not_made_again_and_others_go_on(tmp_path: Path) -> None:
    removed, kept = tmp_path / "removed.db", tmp_path / "kept.db"
    first = _database_without_own_checkpoints(removed)
    second = _database_without_own_checkpoints(kept)
    try:
        first.sql_engine.dispose()  # its connections closed, but still watched
        for suffix in ("", "-wal", "-shm"):
            Path(f"{removed}{suffix}").unlink(missing_ok=True)
        with second.sql_engine.begin() as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
        assert _eventually(lambda: _rows_in_the_file_alone(kept, tmp_path / "copies") == 1)
        assert not removed.exists()  # the thread opens read-write only what is there
    finally:
        first.dispose()
        second.dispose()


def test_memory_databases_are_not_watched() -> None:
    before = CHECKPOINTER.watched()
    db = Database("sqlite://")
    try:
        assert CHECKPOINTER.watched() == before
    finally:
        db.dispose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available here")
def test_a_forked_child_watches_nothing(tmp_path: Path) -> None:
    db = _database_without_own_checkpoints(tmp_path / "parent.db")
    try:
        pid = os.fork()
        if pid == 0:  # the child: SQLite connections must not cross a fork
            os._exit(0 if CHECKPOINTER.watched() == [] else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert str((tmp_path / "parent.db").resolve()) in CHECKPOINTER.watched()
    finally:
        db.dispose()
