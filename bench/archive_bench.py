"""The live tables with 1,000,000 ended instances kept in them, and with them archived.

Run: .venv/bin/python bench/archive_bench.py [--database-url postgresql://…] [--runs 50]
         [--batch 500]

Needs a database seeded by ``bench/scale_bench.py`` (100,000 open tasks, 1,000,000 ended
instances with their events), for example a copy of one:
``createdb -T bf_scale bf_archive_bench``. Upgrades it to the newest migration; if an earlier
run archived its ended instances, they are first put back in ``instances`` (and VACUUM FULL),
so every run starts from the same state.

Prints, for the live table kept whole and then archived (``engine/archive.py``, every ended
instance at once: ``history_archive_after_seconds`` 0): the size of ``instances`` with its
indexes and p50 / p95 of the queries that read live work and history, through the engine's
services, as the pages and the REST API call them; then the ratio of each p95. The archived
state is measured twice: after the archiving's own VACUUM (the table keeps its pages, reused
by new rows) and after a VACUUM FULL (the size it settles at once the pages are reused).
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

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bf_archive_bench"
PROCESSES = [f"process_{i:02d}" for i in range(10)]
TABLES = ("instances", "instances_history")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--batch", type=int, default=500, help="instances per archive batch")
    args = parser.parse_args()
    url = args.database_url
    db = Database(url)
    db.upgrade()
    unarchive(url)
    eng = Engine(db, Settings(database_url=url))
    cases = queries(eng, url)

    results: dict[str, dict[str, float]] = {}
    print(f"kept whole: instances {size(url)}")
    results["kept whole"] = measure(cases, args.runs)

    settings = replace(eng._core.settings, history_archive_after_seconds=0,
                       history_cleanup_batch_size=args.batch)
    daily.roll_up(db, utcnow())  # (untimed) the figures count what moves first
    stats.roll_up(db, utcnow())
    started = time.perf_counter()
    report = archive(db, settings)
    took = time.perf_counter() - started
    print(f"archived {report.instances} instances in {report.batches} batches of "
          f"{args.batch}: {took:.1f} s, {report.instances / took:.0f} instances/s")
    vacuum(url, full=False)
    print(f"archived, VACUUM ANALYZE: instances {size(url)}")
    results["archived"] = measure(cases, args.runs)
    vacuum(url, full=True)
    print(f"archived, VACUUM FULL: instances {size(url)}")
    results["archived, VACUUM FULL"] = measure(cases, args.runs)

    print(f"\n{'p95 ratio, kept whole / archived':56} {'VACUUM':>8} {'FULL':>8}")
    for name in results["kept whole"]:
        whole = results["kept whole"][name]
        print(f"{name:56} {whole / results['archived'][name]:8.2f}"
              f" {whole / results['archived, VACUUM FULL'][name]:8.2f}")


def queries(eng: Engine, url: str) -> list[tuple[str, Callable[[], Any]]]:
    """The live queries a person waits for, and the history reads that now span two tables."""
    three = User(name="user-7", role="user", groups=["group-01", "group-02", "group-03"],
                 password_hash="!", active=True)
    rng = random.Random(11)
    with psycopg.connect(url) as conn:
        ended = [r[0] for r in conn.execute(
            "SELECT id FROM instances WHERE status = 'completed' LIMIT 200")]
    return [
        ("inbox page 1, user in 3 groups", lambda: eng.tasks.queue(three)),
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


def measure(cases: list[tuple[str, Callable[[], Any]]], runs: int) -> dict[str, float]:
    print(f"{'query':56} {'p50 ms':>8} {'p95 ms':>8}")
    out = {}
    for name, call in cases:
        call()  # warm
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        out[name] = p95
        print(f"{name:56} {statistics.median(times):8.1f} {p95:8.1f}", flush=True)
    return out


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
            conn.execute(f"VACUUM {'FULL ' if full else ''}ANALYZE {table}")


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
