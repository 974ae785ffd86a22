"""Old tree against new tree on one database seeded by scale_bench.py: the engine calls only.

Run from the root of the tree to measure (its ``engine`` package is the one imported):
    cd /tmp/old && python /path/to/bench/scale_compare.py [--database-url …] [--runs 30]
    cd /path/to/new && python bench/scale_compare.py …
and alternate. No Flask app is built, so an older tree runs against a database migrated past
its newest revision (``create_app`` would refuse it); the calls are those of scale_bench.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

sys.path.insert(0, os.getcwd())

from engine import Engine  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import User  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bridgeflow_scale"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    eng = Engine(Database(args.database_url), Settings(database_url=args.database_url))
    three = User(name="user-7", role="user", groups=["group-01", "group-02", "group-03"],
                 password_hash="!", active=True)
    admin = User(name="ada", role="admin", groups=[], password_hash="!", active=True)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("inbox page 1, user in 3 groups", lambda: eng.tasks.queue(three)),
        ("inbox page 20, by priority", lambda: eng.tasks.queue(three, sort="priority",
                                                               page=20)),
        ("REST task list of that user", lambda: eng.tasks.list_tasks(visible_to=three)),
        ("admin inbox page 1", lambda: eng.tasks.queue(admin)),
        ("instance list, completed, page 1", lambda: eng.history.search_instances(
            status="completed")),
        ("dashboard statistics", eng.management.stats),
        ("dashboard figures, 14 days", lambda: eng.history.process_figures(14)),
        ("instance search by business key", lambda: eng.history.search_instances(
            business_key="BK-17")),
    ]
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    print(f"tree {os.getcwd()} at {datetime.now():%H:%M:%S}, load {' '.join(load)}")
    for name, call in cases:
        call()  # warm
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        print(f"{name:40} p50 {statistics.median(times):8.1f}  p95 {p95:8.1f}", flush=True)


if __name__ == "__main__":
    main()
