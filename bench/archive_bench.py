"""The live queries with 1,000,000 ended instances kept in the live table, and archived.

Run: .venv/bin/python bench/archive_bench.py [--kept-url postgresql://…]
         [--archived-url postgresql://…] [--runs 50] [--batch 500]

Needs two databases seeded alike by ``bench/scale_bench.py`` (100,000 open tasks, 1,000,000
ended instances with their events), for example two copies of one:
``createdb -T bf_scale bf_archive_kept; createdb -T bf_scale bf_archive_bench``. Both are
upgraded to the newest migration. In ``--archived-url`` every ended instance is archived
(``engine/archive.py`` with ``history_archive_after_seconds`` 0), timed, then VACUUM FULL
(the size the table settles at once its freed pages are reused; the VACUUM ANALYZE size is
printed first); a second run finds it archived and only measures. ``--kept-url`` keeps every
instance in ``instances`` (an earlier archiving there is undone first).

Prints the size of ``instances`` with its indexes in each, and p50 / p95 of the queries that
read live work and history, through the engine's services (what the pages and the REST API
call), the two databases taking turns run by run so that the machine's load falls on both
alike; then the ratio of the p95s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from engine import Engine, daily  # noqa: E402
from engine import statistics as stats  # noqa: E402
from engine.archive import archive  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import User, utcnow  # noqa: E402

KEPT_URL = "postgresql://postgres@127.0.0.1:5432/bf_archive_kept"
ARCHIVED_URL = "postgresql://postgres@127.0.0.1:5432/bf_archive_bench"
PROCESSES = [f"process_{i:02d}" for i in range(10)]
TABLES = ("instances", "instances_history")
Case = tuple[str, Callable[[], Any]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kept-url", default=KEPT_URL)
    parser.add_argument("--archived-url", default=ARCHIVED_URL)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--batch", type=int, default=500, help="instances per archive batch")
    args = parser.parse_args()
    kept, old = Database(args.kept_url), Database(args.archived_url)
    kept.upgrade()
    old.upgrade()
    unarchive(args.kept_url)
    if not archived_count(args.archived_url):
        archive_all(old, args.archived_url, args.batch)
    print(f"kept whole: instances {size(args.kept_url)}")
    print(f"archived:   instances {size(args.archived_url)}")
    sides = [queries(Engine(db, Settings(database_url=url)), url)
             for db, url in ((kept, args.kept_url), (old, args.archived_url))]
    measure(sides[0], sides[1], args.runs)


def archive_all(db: Database, url: str, batch: int) -> None:
    """Archive every ended instance, timed; VACUUM after (plain, then FULL)."""
    daily.roll_up(db, utcnow())  # (untimed) the figures count what moves first
    stats.roll_up(db, utcnow())
    settings = replace(Settings(database_url=url), history_archive_after_seconds=0,
                       history_cleanup_batch_size=batch)
    started = time.perf_counter()
    report = archive(db, settings)
    took = time.perf_counter() - started
    print(f"archived {report.instances} instances in {report.batches} batches of "
          f"{batch}: {took:.1f} s, {report.instances / took:.0f} instances/s")
    vacuum(url, full=False)
    print(f"archived, VACUUM ANALYZE: instances {size(url)}")
    vacuum(url, full=True)


def queries(eng: Engine, url: str) -> list[tuple[str, Callable[[], Any]]]:
    """The live queries a person waits for, and the history reads that now span two tables."""
    three = User(name="user-7", role="user", groups=["group-01", "group-02", "group-03"],
                 password_hash="!", active=True)
    rng = random.Random(11)
    with psycopg.connect(url) as conn:
        ended = [r[0] for r in conn.execute(
            "(SELECT id FROM instances WHERE status = 'completed' LIMIT 200) UNION ALL"
            " (SELECT id FROM instances_history WHERE status = 'completed' LIMIT 200)")]
        waiting = [r[0] for r in conn.execute(
            "SELECT id FROM instances WHERE status = 'waiting' LIMIT 200")]
    return [
        ("inbox page 1, user in 3 groups", lambda: eng.tasks.queue(three)),
        ("instance by id (a waiting one)", lambda: eng.runtime.instance_detail(
            f"{rng.choice(waiting)}")),
        ("running instance list, page 1 (waiting)", lambda: eng.runtime.list_instances(
            statuses=["running", "waiting"])),
        ("running instance list by process", lambda: eng.runtime.list_instances(
            statuses=["running", "waiting"], process_key=rng.choice(PROCESSES))),
        ("dashboard statistics (live counts)", lambda: eng.management.stats()),
        ("instance search by business key (both tables)", lambda: eng.history.search_instances(
            business_key=f"BK-{rng.randrange(1000)}")),
        ("instance list, completed, page 1 (both tables)",
         lambda: eng.history.search_instances(status="completed")),
        ("ended instance by id, with its events", lambda: eng.history.events_of(
            rng.choice(ended))),
    ]


def measure(kept: list[Case], old: list[Case], runs: int) -> None:
    print(f"{'query':50} {'kept p50':>9} {'p95':>7} {'archived p50':>13} {'p95':>7}"
          f" {'p95 ratio':>10}")
    for (name, on_kept), (_, on_old) in zip(kept, old, strict=True):
        on_kept()  # warm: the first run pays for connections and compiled statements
        on_old()
        times: tuple[list[float], list[float]] = ([], [])
        for run in range(runs):
            order = ((0, on_kept), (1, on_old)) if run % 2 else ((1, on_old), (0, on_kept))
            for side, call in order:
                started = time.perf_counter()
                call()
                times[side].append((time.perf_counter() - started) * 1000)
        p50s, p95s = [], []
        for side_times in times:
            side_times.sort()
            p50s.append(statistics.median(side_times))
            p95s.append(side_times[max(0, int(round(0.95 * len(side_times))) - 1)])
        print(f"{name:50} {p50s[0]:9.1f} {p95s[0]:7.1f} {p50s[1]:13.1f} {p95s[1]:7.1f}"
              f" {p95s[0] / p95s[1]:10.2f}", flush=True)


def size(url: str) -> str:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT count(*), pg_total_relation_size('instances'),"
            " (SELECT count(*) FROM instances_history) FROM instances").fetchone()
    assert rows is not None
    live, size_bytes, old = rows
    return f"{live:,} rows, {size_bytes / 2**20:,.0f} MB with indexes; history {old:,} rows"


def vacuum(url: str, full: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            if full:  # (which leaves no visibility map: the plain VACUUM after makes it)
                conn.execute(f"VACUUM FULL {table}")
            conn.execute(f"VACUUM ANALYZE {table}")


def archived_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM instances_history").fetchone()
    return int(row[0]) if row else 0


def unarchive(url: str) -> None:
    """Put archived instances back in the live table (an earlier run's), as seeded."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM instances_history").fetchone()
        if not row or not row[0]:
            return
        print(f"putting {row[0]:,} archived instances back in the live table first")
        conn.execute("INSERT INTO instances SELECT * FROM instances_history")
        conn.execute("TRUNCATE instances_history")
        conn.commit()
    vacuum(url, full=True)


if __name__ == "__main__":
    main()
