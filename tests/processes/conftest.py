"""Fixtures for the shipped processes: an engine with processes/ deployed over fake systems.

Every step of every instance is serialized and restored (``checkpoint_every_step``), as a
restart between any two steps would do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from engine.config import Settings
from engine.db import Database
from engine.models import HumanTask, Instance
from engine.worker import Worker

from .fakes import Systems

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
# The files of the credit approval and complaint handling processes.
SHIPPED = ("credit_approval.bpmn", "credit_decision.dmn", "complaint_handling.bpmn",
           "complaint_routing.dmn", "refund_approval.dmn", "forms/credit_review.json",
           "forms/complaint_resolution.json", "forms/refund_approval.json")


def shipped_files(replace: dict[str, dict[str, str]] | None = None) -> dict[str, bytes]:
    """The shipped files as deployed; ``replace`` edits a file's text (short timers in tests)."""
    files = {}
    for name in SHIPPED:
        text = (PROCESSES / name).read_text()
        for old, new in (replace or {}).get(Path(name).name, {}).items():
            assert old in text, f"{old!r} is not in {name}"
            text = text.replace(old, new)
        files[Path(name).name] = text.encode()
    return files


@pytest.fixture
def systems() -> Systems:
    return Systems()


@pytest.fixture
def engine(database: Database, systems: Systems) -> Iterator[Engine]:
    settings = Settings(checkpoint_every_step=True, job_lease_seconds=5)
    eng = Engine(database, settings, systems.registry())
    eng.repository.deploy(shipped_files())
    eng.identity.ensure_demo_users()  # fiona of finance, sue of support... act on the tasks
    yield eng


class Driver:
    """Runs due jobs like a worker and reads what a person or an admin would see."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.worker = Worker(engine, "process-tests")

    def run(self, until: Callable[[], bool] | None = None, timeout: float = 10.0) -> None:
        """Run due jobs until nothing is due, or until ``until()`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            did = self.worker.poll_once()
            if until is not None and until():
                return
            if until is None and not did:
                return
            if not did:
                time.sleep(0.05)
        raise AssertionError("the condition did not hold before the time-out")

    def start(self, message: str, record_id: str, record: dict[str, Any]) -> str:
        """Start a process as the CRM's webhook does, and run it until it waits."""
        result = self.engine.runtime.send_message(
            message, business_key=record_id,
            variables={"crm_event": {"id": f"evt-{record_id}", "type": message.replace("_", "."),
                                     "record_id": record_id},
                       "record_id": record_id, "crm_record": record})
        (instance_id,) = result.started
        self.run()
        return instance_id

    def instance(self, instance_id: str) -> Instance:
        return self.engine.runtime.instance(instance_id)

    def open_tasks(self, instance_id: str) -> dict[str, HumanTask]:
        """The instance's open human tasks, by BPMN element id."""
        return {t.element_id: t for t in self.engine.tasks.open_tasks_of(instance_id)}

    def complete(self, task: HumanTask, user: str, **variables: Any) -> None:
        self.engine.tasks.claim(task.id, user)
        self.engine.tasks.complete(task.id, user, variables)
        self.run()


@pytest.fixture
def driver(engine: Engine) -> Driver:
    return Driver(engine)
