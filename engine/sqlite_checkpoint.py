"""SQLite's write-ahead log copied into the database file by a thread of its own.

In WAL mode a commit appends the pages it changed to the log; a checkpoint copies them into
the database file and syncs both. By default the connection whose commit takes the log past
1,000 pages runs that checkpoint itself, in its own transaction's time: one start in about
seventy copied a few hundred pages and waited for two fsyncs, which cost as much as all the
other starts' writing together. Here one thread per process runs a *passive* checkpoint on
each watched database a few times a second while it is being written (less often when it is
idle). A passive checkpoint never waits for a lock and never makes a reader or a writer
wait; it copies what it can and stops. The writers' own automatic checkpoint stays on as
the bound on the log's size, at ``WRITER_CHECKPOINT_PAGES`` (``engine.db`` sets it on every
connection). Under steady writes the log cannot start over from its beginning while the
thread is behind it (a commit always lands while the thread syncs), so that bound is what
ends each cycle of the log: a writer checkpoints there, finds most of the log copied
already, and waits for the two syncs. At SQLite's default of 1,000 pages one start in about
fifty paid them (about 2 ms); at 4,000 a quarter as often, for a log of at most about 16 MiB.
Durability is unchanged: the same syncs, in another thread.

Only plain database files are watched (not ``:memory:`` or URI databases). A forked child
starts with nothing watched and no thread (SQLite connections must not cross a fork).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

BUSY_SECONDS = 0.1  # between checkpoints while the log grows
IDLE_SECONDS = 2.0  # at most, between checks of a database nobody writes
# The log's size at which a writer checkpoints itself (SQLite's wal_autocheckpoint; its
# default is 1,000 pages): one steady writer fills 1,000 pages before the thread's next turn
WRITER_CHECKPOINT_PAGES = 4000


class Watch:
    """One database watched; ``close`` stops watching it (idempotent)."""

    def __init__(self, owner: Checkpointer, path: str) -> None:
        self._owner, self.path = owner, path
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner.forget(self)


class Checkpointer:
    """The thread that checkpoints every watched SQLite database of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: list[Watch] = []
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def watch(self, path: str) -> Watch:
        """Checkpoint the database file at ``path`` until the returned watch is closed."""
        watch = Watch(self, str(Path(path).resolve()))
        with self._lock:
            self._watches.append(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="bridgeflow-sqlite-checkpoint")
                self._thread.start()
        return watch

    def forget(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)
        self._wake.set()  # let the thread see it (and end when nothing is left)

    def watched(self) -> list[str]:
        with self._lock:
            return sorted({w.path for w in self._watches})

    def _run(self) -> None:
        connections: dict[str, sqlite3.Connection] = {}
        seen: dict[str, tuple[int, int]] = {}
        delay = BUSY_SECONDS
        try:
            while True:
                paths = self.watched()
                for gone in set(connections) - set(paths):
                    connections.pop(gone).close()
                    seen.pop(gone, None)
                if not paths:
                    with self._lock:  # a watch added meanwhile finds the thread ending
                        if not self._watches:
                            self._thread = None
                            return
                    continue
                busy = False
                for path in paths:
                    state = _checkpoint(connections, path)
                    if state is not None and state != seen.get(path):
                        seen[path], busy = state, True
                delay = BUSY_SECONDS if busy else min(delay * 2, IDLE_SECONDS)
                self._wake.wait(delay)
                self._wake.clear()
        finally:
            for connection in connections.values():
                connection.close()

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._watches = []
        self._thread = None
        self._wake = threading.Event()


def _checkpoint(connections: dict[str, sqlite3.Connection],
                path: str) -> tuple[int, int] | None:
    """One passive checkpoint of ``path``: (pages in the log, pages copied), or None if the
    file is not there (yet, or any more) or SQLite refused."""
    connection = connections.get(path)
    try:
        if connection is None:
            # mode=rw: a database not made yet is not made here
            connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True,
                                         isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA synchronous=NORMAL")  # as the writers: same syncs
            connections[path] = connection
        _busy, pages, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if pages < 0:
            # No log seen: a connection opened while the file was not yet in WAL mode keeps
            # answering so until it reads. One read lets it find the log, if there is one now.
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            _busy, pages, copied = connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(pages), int(copied)
    except sqlite3.Error as exc:
        dropped = connections.pop(path, None)
        if dropped is not None:
            dropped.close()
        if os.path.exists(path):  # a missing file is a database not made yet, or removed
            log.debug("background checkpoint of %s failed: %s", path, exc)
        return None


CHECKPOINTER = Checkpointer()
os.register_at_fork(after_in_child=CHECKPOINTER._reset_after_fork)
