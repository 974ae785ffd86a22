"""What PostgreSQL did during a bench run: its counters, its waits, and what a commit costs.

Used by ``scaleout_bench.py``. Everything here reads PostgreSQL's own views
(``pg_stat_database``, ``pg_stat_wal``, ``pg_stat_activity``, ``pg_locks``) over a connection
to the ``postgres`` database, so that watching adds nothing to the measured database's counts.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg


def admin_url(url: str, database: str = "postgres") -> str:
    """``url`` with its database replaced (``postgresql://…/x`` -> ``…/postgres``)."""
    return url.rsplit("/", 1)[0] + "/" + database


def recreate(url: str, name: str, template: str | None = None) -> None:
    """Drop database ``name`` (ending its sessions) and create it, from ``template`` if given."""
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        for db in (name, template):
            if db:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (db,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template
                                                    else ""))


COUNTERS = ("xact_commit", "xact_rollback", "active_time", "tup_returned", "tup_fetched",
            "tup_inserted", "tup_updated", "tup_deleted", "blks_read", "blks_hit")


def counters(url: str, name: str) -> dict[str, float]:
    """The database's cumulative counters and the cluster's WAL counters, now."""
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(f"SELECT {', '.join(COUNTERS)} FROM pg_stat_database "
                           "WHERE datname = %s", (name,)).fetchone()
        wal = conn.execute("SELECT wal_records, wal_bytes, wal_sync, wal_write "
                           "FROM pg_stat_wal").fetchone()
    out = {k: float(v or 0) for k, v in zip(COUNTERS, row or (), strict=False)}
    out.update({k: float(v or 0) for k, v in zip(("wal_records", "wal_bytes", "wal_sync",
                                                 "wal_write"), wal or (), strict=False)})
    return out


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


@dataclass
class Waits:
    """Samples of the measured database's client backends: busy, and waiting on what."""

    samples: int = 0
    backend_samples: int = 0  # backends seen, summed over samples
    active: int = 0  # ... running a statement (state 'active')
    lock_waits: int = 0  # ... waiting for a heavyweight lock (a row, a tuple, a relation)
    not_granted: int = 0  # ... holding a pg_locks row that is not granted
    by_wait: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        if not self.samples:
            return "no samples"
        waits = ", ".join(f"{k} {v}" for k, v in self.by_wait.most_common(8)) or "none"
        per = self.backend_samples / self.samples
        return (f"{self.samples} samples; backends per sample {per:.1f}"
                f", active per sample {self.active / self.samples:.2f}; "
                f"heavyweight lock waits {self.lock_waits} (ungranted pg_locks {self.not_granted})"
                f"; waits seen while active: {waits}")


class Sampler:
    """Samples ``pg_stat_activity`` and ``pg_locks`` for one database every ``every`` s."""

    QUERY = ("SELECT a.state, a.wait_event_type, a.wait_event, EXISTS (SELECT 1 FROM pg_locks l "
             "WHERE l.pid = a.pid AND NOT l.granted) FROM pg_stat_activity a "
             "WHERE a.datname = %s AND a.backend_type = 'client backend' "
             "AND a.pid <> pg_backend_pid()")

    def __init__(self, url: str, name: str, every: float = 0.05) -> None:
        self.url, self.name, self.every = url, name, every
        self.waits = Waits()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pg-sampler")

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(admin_url(self.url), autocommit=True) as conn:
            while not self._stop.wait(self.every):
                rows = conn.execute(self.QUERY, (self.name,)).fetchall()
                w = self.waits
                w.samples += 1
                w.backend_samples += len(rows)
                for state, wtype, wevent, ungranted in rows:
                    w.not_granted += int(bool(ungranted))
                    if state != "active":
                        continue
                    w.active += 1
                    if wtype == "Lock":
                        w.lock_waits += 1
                    if wtype:
                        w.by_wait[f"{wtype}:{wevent}"] += 1


def commit_cost(url: str, n: int = 300) -> dict[str, float]:
    """Milliseconds per statement and per commit on this server, from one connection:
    ``SELECT 1``; a one-row INSERT committed with ``synchronous_commit`` on (waits for the
    WAL flush, as the engine's commits do) and off (does not): their difference is the flush."""
    out: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (id bigserial PRIMARY KEY, "
                     "note text)")

        def timed(sql: str, *params: Any) -> float:
            for _ in range(20):
                conn.execute(sql, params or None)
            start = time.perf_counter()
            for _ in range(n):
                conn.execute(sql, params or None)
            return (time.perf_counter() - start) * 1000 / n

        settings = conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                "('max_connections', 'shared_preload_libraries', "
                                "'synchronous_commit', 'wal_level', 'commit_delay')").fetchall()
        out["select_1_ms"] = timed("SELECT 1")
        conn.execute("SET synchronous_commit = on")
        out["insert_commit_sync_ms"] = timed("INSERT INTO bench_commit_probe (note) VALUES (%s)",
                                             "x" * 200)
        conn.execute("SET synchronous_commit = off")
        out["insert_commit_async_ms"] = timed(
            "INSERT INTO bench_commit_probe (note) VALUES (%s)", "x" * 200)
        conn.execute("DROP TABLE bench_commit_probe")
    out["settings"] = dict(settings)  # type: ignore[assignment]
    return out
