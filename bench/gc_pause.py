"""The garbage collector's full collections in a web process, before and after start-up is frozen.

Builds the app as a gunicorn worker does (``web/server.py``), with the shipped processes
deployed, and serves REST starts of a one-script process (``POST
/api/v1/process-instances?wait=5``) through the app in this process. Then, in one run:

- how many objects the collector tracks once the app is built and warm;
- how long a full collection (``gc.collect()``) takes, the pause every thread of the process
  waits through, before and after ``freeze_startup()`` (medians of 7);
- over ``--starts`` further starts each way: how many full collections the collector ran by
  itself and the longest of them.

    .venv/bin/python bench/gc_pause.py [--starts 6000]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rest_bench import BPMN, PROCESS_KEY  # noqa: E402


class FullCollections:
    """Records the duration of every generation-2 collection the collector runs."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.durations.append(time.perf_counter() - self._began)


def collect_ms() -> float:
    samples = []
    for _ in range(7):
        began = time.perf_counter()
        gc.collect()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=6000, help="starts each way (6000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/gc.db"
        from engine import Engine, Scope
        from web import create_app
        from web.bootstrap import freeze_startup

        Engine(url).management.upgrade_database()
        # connectors configured as the demo's are, so the shipped processes deploy; nothing
        # here calls them (their clients are made on a thread's first call)
        config = {"database_url": url, "run_worker_in_web": False,
                  "processes_dir": str(ROOT / "processes"),
                  "mappings_dir": str(ROOT / "processes" / "mappings"),
                  "erp_url": "http://127.0.0.1:9/", "crm_url": "http://127.0.0.1:9/",
                  "crm_client_secret": "unused", "smtp_host": "127.0.0.1"}
        app = create_app(config)
        engine = app.extensions["bridgeflow"]
        engine.repository.deploy_directory(ROOT / "processes")
        engine.repository.deploy({"double_it.bpmn": BPMN.encode()})
        key = engine.identity.create_api_key("gc-bench", [Scope.PROCESSES_START.value])
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}

        def starts(n: int) -> float:
            began = time.perf_counter()
            for x in range(n):
                answer = client.post("/api/v1/process-instances?wait=5", headers=headers,
                                     json={"process_key": PROCESS_KEY, "variables": {"x": x}})
                assert answer.status_code == 201, answer.get_data(as_text=True)
                assert answer.get_json()["variables"]["y"] == 2 * x
            return (time.perf_counter() - began) / n * 1000

        starts(300)  # warm: specs parsed, statements compiled, caches filled
        tracked = len(gc.get_objects())
        before_ms = collect_ms()
        unfrozen, frozen = FullCollections(), FullCollections()
        gc.callbacks.append(unfrozen)
        per_start_before = starts(args.starts)
        gc.callbacks.remove(unfrozen)
        freeze_startup()
        frozen_count = gc.get_freeze_count()
        after_ms = collect_ms()
        gc.callbacks.append(frozen)
        per_start_after = starts(args.starts)
        gc.callbacks.remove(frozen)
        engine.close()

    def longest(durations: list[float]) -> str:
        return f"{max(durations) * 1000:.1f} ms" if durations else "-"

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
          f"{tracked:,} objects tracked once built and warm, {frozen_count:,} frozen")
    print(f"unfrozen, the collector runs a full collection once {tracked // 4:,} more objects "
          "have outlived two younger collections (a quarter of those in the old generation)")
    print(f"full collection (gc.collect, median of 7): {before_ms:.1f} ms unfrozen, "
          f"{after_ms:.1f} ms frozen ({before_ms / after_ms:.0f}x)")
    print(f"{args.starts} starts unfrozen: {len(unfrozen.durations)} full collections by the "
          f"collector, longest {longest(unfrozen.durations)}; {per_start_before:.2f} ms a start")
    print(f"{args.starts} starts frozen:   {len(frozen.durations)} full collections, "
          f"longest {longest(frozen.durations)}; {per_start_after:.2f} ms a start")


if __name__ == "__main__":
    main()
