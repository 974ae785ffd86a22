"""Engine fixtures: an engine over a fresh database with the test processes deployed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import Engine
from engine.config import Settings
from engine.db import Database
from engine.models import User
from engine.registry import CallContext, OperationRegistry
from engine.worker import Worker
from service_tasks.base import BusinessRuleError, TransientError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class FakeSystem:
    """Operations for the test processes, recording every call as a connector's peer would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], CallContext]] = []
        self.fail_times = 0
        self.stock = 10

    def record(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.calls.append(("test.record", params, ctx))
        if self.fail_times > 0:
            self.fail_times -= 1
            raise TransientError("the ERP did not answer (connection refused)")
        return {"saved": True, "decision": params["decision"]}

    def stock_check(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.calls.append(("test.stock", params, ctx))
        if params["qty"] > self.stock:
            raise BusinessRuleError("stock_short", f"only {self.stock} in stock")
        return {"available": self.stock}


@pytest.fixture
def system() -> FakeSystem:
    return FakeSystem()


@pytest.fixture
def registry(system: FakeSystem) -> OperationRegistry:
    # the built-in connectors' families, as the app reserves them: never external tasks
    registry = OperationRegistry(reserved=("erp", "crm", "notify", "reconcile", "mapping"))
    registry.register("test.record", system.record)
    registry.register("test.stock", system.stock_check)
    registry.register("test.slow", lambda p, c: {"slept": 0})
    registry.register("test.count", lambda p, c: {"counted": True})
    return registry


@pytest.fixture
def engine(database: Database, registry: OperationRegistry) -> Iterator[Engine]:
    # timer start cycles of a second, so that the cycle tests take seconds, not minutes
    settings = Settings(checkpoint_every_step=True, retry_backoff_seconds=0.05,
                        retry_backoff_factor=1.0, job_lease_seconds=5,
                        min_start_cycle_seconds=1)
    eng = Engine(database, settings, registry)
    eng.repository.deploy_directory(FIXTURES / "processes")
    eng.repository.deploy_directory(FIXTURES / "engine")
    add_actors(database)
    yield eng


# Execution tests act as these people; as admins they may act on any task (who may act is
# tested in tests/web/test_task_acting.py). They cannot sign in: the hash matches nothing.
ACTORS = ("ann", "ben", "bob", "cy", "finance-lead", "fiona", "maria", "olga", "sam", "sue",
          "wendy")


def add_actors(database: Database) -> None:
    with database.write() as s:
        known = set(s.scalars(select(User.name)))
        s.add_all(User(name=name, role="admin", groups=[], password_hash="!", active=True)
                  for name in ACTORS if name not in known)


@pytest.fixture
def drain(engine: Engine) -> Callable[..., None]:
    """Run due jobs like a worker until ``until()`` holds (or nothing is left to do)."""
    worker = Worker(engine, "test-worker")

    def run(until: Callable[[], bool] | None = None, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            did = worker.poll_once()
            if until is not None and until():
                return
            if until is None and not did:
                return
            if not did:
                time.sleep(0.05)
        if until is not None:
            raise AssertionError("the condition did not hold before the time-out")

    return run
