"""A real worker process for the multi-process tests: `python -m tests.engine.worker_proc URL LOG`.

Its operations append one line per call to LOG, so a test can count side effects.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from engine import Engine
from engine.config import Settings
from engine.db import Database
from engine.registry import CallContext, OperationRegistry
from engine.worker import Worker


def main() -> None:
    url, log_path = sys.argv[1], sys.argv[2]
    lease = float(os.environ.get("TEST_LEASE", "30"))

    def note(kind: str, ctx: CallContext) -> None:
        with open(log_path, "a") as f:
            f.write(f"{kind} {ctx.instance_id} {os.getpid()}\n")
            f.flush()

    def slow(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        note("slow-start", ctx)
        time.sleep(float(os.environ.get("TEST_SLOW_SECONDS", "0")))
        note("slow-end", ctx)
        return {"slept": True}

    def count(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        note("count", ctx)
        return {"counted": True}

    registry = OperationRegistry()
    registry.register("test.slow", slow)
    registry.register("test.count", count)
    registry.register("test.record", lambda p, c: {})
    registry.register("test.stock", lambda p, c: {})
    settings = Settings(job_lease_seconds=lease, worker_poll_seconds=0.1)
    Worker(Engine(Database(url), settings, registry)).run()


if __name__ == "__main__":
    main()
