"""Reports over a large history on PostgreSQL: the process figures of a period, a download.

Run: .venv/bin/python bench/reports_bench.py [--database-url postgresql://…]
         [--instances 300000] [--runs 10] [--no-seed]

Seeds ``--instances`` ended instances over the last year (as ``scale_bench.py`` does: 10
processes, 90 % completed; default database ``bridgeflow_bench_reports``), then prints p50 /
p95 / max of ``engine.reports.process_figures`` for the last 14, 31 and 366 days beside the
dashboard's own 14-day figures (``history.process_figures``), and of storing and reading back
a report with one 5 MB file. Compare figures of one run only: the machine is shared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
import scale_bench as sb  # noqa: E402

from engine import Engine, NewReportFile  # noqa: E402
from engine.db import Database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bridgeflow_bench_reports"


def seed(url: str, n: int) -> None:
    sb.create_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    db = Database(url)
    db.upgrade()
    db.dispose()
    with psycopg.connect(url) as conn:
        definitions = sb.add_definitions(conn)
        sb.copy(conn, "instances", sb.INSTANCE_COLUMNS, sb.ended_instances(n, definitions))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE instances")


def timed(name: str, runs: int, fn: Callable[[], Any]) -> Any:
    out, took = None, []
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    p95 = took[max(0, round(0.95 * len(took)) - 1)]
    print(f"{name:<44} p50 {statistics.median(took):8.1f} ms  p95 {p95:8.1f} ms  "
          f"max {took[-1]:8.1f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--instances", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    if not args.no_seed:
        seed(args.database_url, args.instances)
    engine = Engine(args.database_url)
    end = sb.NOW.replace(hour=0, minute=0) + timedelta(days=1)
    try:
        for days in (14, 31, 366):
            figures = timed(f"reports.process_figures, {days} days", args.runs,
                            lambda d=days: engine.reports.process_figures(
                                end - timedelta(days=d), end))
            completed = sum(p.completed for p in figures.processes)
            print(f"    {len(figures.processes)} processes, {completed} completed, "
                  f"durations capped: {figures.durations_capped}")
        timed("history.process_figures(14) (dashboard)", args.runs,
              lambda: engine.history.process_figures(14))
        content = b"x" * 5_000_000
        kept = timed("reports.store, one 5 MB file", args.runs, lambda: engine.reports.store(
            kind="sales", title="bench", started_by="user:bench",
            files=[NewReportFile("big.csv", "text/csv", content)]))
        read = timed("reports.file, 5 MB", args.runs,
                     lambda: engine.reports.file(kept.id, "big.csv"))
        assert read.content == content
    finally:
        engine.close()


if __name__ == "__main__":
    main()
