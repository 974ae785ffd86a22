"""Wake the requests that wait for external tasks as soon as one appears, without polling.

A worker's ``fetchAndLock`` that finds nothing waits (long polling). Whatever makes an
external task available rings the doorbell after its transaction commits: in this process
directly; on PostgreSQL also by ``NOTIFY``, which one listening connection per process turns
into a ring, so a task created by a worker process wakes requests waiting in a web process.
SQLite has no such channel between processes, and a lock that runs out or a retry timeout
that passes rings nothing: for those, while anyone waits, one thread per process asks the
database once a second whether a task of an awaited topic is free, and rings if so. Waiting
requests themselves look only when it rings: one probe per process, however many wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from .db import Database

log = logging.getLogger(__name__)

CHANNEL = "bridgeflow_external_tasks"
PROBE_SECONDS = 1.0


class Doorbell:
    """A counter that waiting threads watch; ``ring`` bumps it and wakes them all."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cond = threading.Condition()
        self._rings = 0
        self._listener: threading.Thread | None = None
        self._stopped = threading.Event()
        self._awaited: Counter[str] = Counter()  # topic -> requests waiting for it
        self._probe: Callable[[frozenset[str]], bool] | None = None
        self._prober: threading.Thread | None = None

    @property
    def rings(self) -> int:
        """How often it rang so far: read before looking, pass to ``wait_past``."""
        return self._rings

    def ring(self) -> None:
        with self._cond:
            self._rings += 1
            self._cond.notify_all()

    def ring_after_commit(self, session: Session) -> None:
        """Ring once ``session``'s transaction commits (and tell other processes so)."""
        if self._db.is_postgres:
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        event.listen(session, "after_commit", lambda _s: self.ring(), once=True)

    def wait_past(self, seen: int, timeout: float) -> bool:
        """Wait until it rings after ``seen`` rings, at most ``timeout`` seconds."""
        if self._db.is_postgres:
            self._listen()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._rings == seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        self._stopped.set()

    # -- while requests wait: one probe per process and second ---------------------------

    def set_probe(self, probe: Callable[[frozenset[str]], bool]) -> None:
        """``probe(topics)`` tells whether a task of one of ``topics`` is free now."""
        self._probe = probe

    @contextmanager
    def awaiting(self, topics: Iterable[str]) -> Iterator[None]:
        """Mark ``topics`` as awaited while the block runs (the probe looks for them)."""
        names = list(topics)
        with self._cond:
            self._awaited.update(names)
            if self._probe is not None and (self._prober is None
                                            or not self._prober.is_alive()):
                self._prober = threading.Thread(target=self._probe_forever, daemon=True,
                                                name="bridgeflow-doorbell-probe")
                self._prober.start()
        try:
            yield
        finally:
            with self._cond:
                self._awaited.subtract(names)
                self._awaited += Counter()  # drop the topics nobody awaits any more

    def _probe_forever(self) -> None:
        while not self._stopped.wait(PROBE_SECONDS):
            with self._cond:
                topics = frozenset(self._awaited)
                if not topics:
                    self._prober = None  # the next waiter starts another
                    return
            try:
                if self._probe is not None and self._probe(topics):
                    self.ring()
            except Exception:  # noqa: BLE001 - the database is away: waiters time out
                log.warning("could not look for free external tasks", exc_info=True)

    # -- PostgreSQL: one LISTEN connection per process -----------------------------------

    def _listen(self) -> None:
        with self._cond:
            if self._listener is not None and self._listener.is_alive():
                return
            self._listener = threading.Thread(target=self._listen_forever, daemon=True,
                                              name="bridgeflow-doorbell")
            self._listener.start()

    def _listen_forever(self) -> None:
        delay = 0.5
        while not self._stopped.is_set():
            try:
                self._listen_once()
                delay = 0.5
            except Exception:  # noqa: BLE001 - the database went away: listen again later
                log.warning("lost the external task channel; listening again in %.1f s",
                            delay, exc_info=True)
                self.ring()  # a notification may have been missed: let waiters look
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _listen_once(self) -> None:
        with self._db.listen_connection() as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            while not self._stopped.is_set():
                for _ in connection.notifies(timeout=5.0, stop_after=1):
                    self.ring()
