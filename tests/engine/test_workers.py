"""Real worker processes sharing one database: crashes and load never lose or repeat work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import Engine
from engine.models import Event, Instance
from tests.conftest import postgres_only

ROOT = Path(__file__).resolve().parents[2]


def _spawn(url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.engine.worker_proc", url, str(log)],
                            cwd=ROOT, env={**os.environ, **env})


def _wait(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_a_killed_worker_s_instance_is_finished_by_another_exactly_once(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    log.touch()
    inst = engine.runtime.start("slow_call", "crash-1", {})
    first = _spawn(database_url, log, TEST_SLOW_SECONDS="60", TEST_LEASE="2")
    try:
        _wait(lambda: "slow-start" in log.read_text(), 30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert engine.runtime.instance(inst.id).status == "running"
    second = _spawn(database_url, log, TEST_SLOW_SECONDS="0", TEST_LEASE="2")
    try:
        _wait(lambda: engine.runtime.instance(inst.id).status == "completed", 60)
    finally:
        second.terminate()
        second.wait(20)
    with engine._core.db.read() as s:
        completed = s.scalar(select(func.count()).select_from(Event).where(
            Event.instance_id == inst.id, Event.type == "instance_completed"))
    assert completed == 1
    lines = log.read_text().split()
    assert lines.count("slow-start") == 2 and lines.count("slow-end") == 1


@pytest.mark.slow
@postgres_only  # the 4-worker load runs on PostgreSQL (SKIP LOCKED); SQLite is one writer
def test_four_workers_finish_500_timer_and_service_instances_each_once(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    log.touch()
    ids = [engine.runtime.start("timed_call", f"load-{n}", {}).id for n in range(500)]
    workers = [_spawn(database_url, log) for _ in range(4)]
    try:
        def all_done() -> bool:
            with engine._core.db.read() as s:
                return s.scalar(select(func.count()).select_from(Instance).where(
                    Instance.status == "completed")) == 500
        _wait(all_done, 240)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)
    calls = Counter(line.split()[1] for line in log.read_text().splitlines())
    assert sorted(calls) == sorted(ids)
    assert set(calls.values()) == {1}, "a service call ran twice"
    pids = {line.split()[2] for line in log.read_text().splitlines()}
    assert len(pids) >= 2, "the load was not shared between workers"
    with engine._core.db.read() as s:
        per_type = dict(s.execute(select(Event.type, func.count()).where(
            Event.type.in_(("instance_completed", "timer_fired"))).group_by(Event.type)).all())
    assert per_type == {"instance_completed": 500, "timer_fired": 500}
