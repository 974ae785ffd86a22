"""Camunda's own Python external task client, unchanged, works Bridgeflow's external tasks.

``fixtures/external/camunda_worker.py`` is a worker as a team moving from Camunda 7 has it,
on the PyPI client
(camunda-external-task-client-python3); it runs as a separate process against a live server,
on a Camunda Modeler file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from engine import Engine, Instance, InstanceStatus, Scope

from ..conftest import postgres_only
from ..crm_sandbox.helpers import serve
from .conftest import prepared_app

EXTERNAL = Path(__file__).resolve().parent.parent / "fixtures" / "external"
WORKER = EXTERNAL / "camunda_worker.py"


@pytest.fixture
def loan_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = prepared_app({"database_url": database_url, "run_worker_in_web": False,
                        "processes_dir": str(EXTERNAL)})
    yield app
    app.extensions["bridgeflow"].close()


def workers(base: str, key: str, count: int, log: Path) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, str(WORKER), f"{base}/engine-rest", key,
                              f"loan-worker-{i}", str(log)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for i in range(count)]


def wait_until(check: Callable[[], bool], procs: list[subprocess.Popen[bytes]],
               timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise AssertionError("a worker stopped: " + dead[0].stderr.read().decode()[-2000:]
                                 if dead[0].stderr else "")
        time.sleep(0.2)
    raise AssertionError("the instances did not reach their ends in time")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(10)
        if p.stderr is not None:
            p.stderr.close()


def ended_at(engine: Engine, inst: Instance) -> str | None:
    steps = [e.element_id for e in engine.history.events_of(inst.id) if e.type == "step"]
    return steps[-1] if steps else None


def test_the_camunda_client_completes_rejects_and_fails_as_camunda_would(
        loan_app: Flask, tmp_path: Path) -> None:
    engine: Engine = loan_app.extensions["bridgeflow"]
    key = engine.identity.create_api_key("loan-worker", [Scope.EXTERNAL_TASKS])
    granted = engine.runtime.start("loan_granting", "L-1", {"customer": "ann", "amount": 5000},
                                   wait=5)
    rejected = engine.runtime.start("loan_granting", "L-2", {"customer": "bob",
                                                             "amount": 500_000}, wait=5)
    flaky = engine.runtime.start("loan_granting", "L-3", {"customer": "flaky", "amount": 10},
                                 wait=5)
    log = tmp_path / "handled.log"
    with serve(loan_app) as base:
        procs = workers(base, key, 1, log)
        try:
            wait_until(lambda: engine.runtime.instance(granted.id).status
                       == InstanceStatus.COMPLETED
                       and engine.runtime.instance(rejected.id).status
                       == InstanceStatus.COMPLETED
                       and engine.runtime.instance(flaky.id).status
                       == InstanceStatus.INCIDENT, procs, 60)
        finally:
            stop(procs)

    done = engine.runtime.instance(granted.id)
    assert ended_at(engine, done) == "Event_granted"
    assert (done.variables["score"], done.variables["granted"]) == (720, True)

    caught = engine.runtime.instance(rejected.id)
    assert ended_at(engine, caught) == "Event_refused"  # the boundary event caught it
    assert caught.variables["reason"] == "over the limit"

    # the client counted its retries down from 2 (100 ms apart); at 0 Camunda opens an
    # incident and the instance waits at the task
    assert engine.runtime.instance(flaky.id).active_elements == ["Activity_score"]
    [incident] = engine.management.incidents_of(flaky.id)
    assert incident.error_type == "failed_external_task"
    assert "score service down" in incident.message
    outcomes = Counter(line.split()[2] for line in log.read_text().splitlines())
    assert outcomes == {"complete": 3, "bpmn_error": 1, "failure": 3}


@pytest.mark.slow
@postgres_only
def test_four_worker_processes_complete_every_task_exactly_once(loan_app: Flask,
                                                                 tmp_path: Path) -> None:
    engine: Engine = loan_app.extensions["bridgeflow"]
    key = engine.identity.create_api_key("loan-workers", [Scope.EXTERNAL_TASKS])
    ids = [engine.runtime.start("loan_granting", f"L-{i}",
                                {"customer": f"c{i}", "amount": 1000 + i}, wait=5).id
           for i in range(60)]
    log = tmp_path / "handled.log"
    with serve(loan_app) as base:
        procs = workers(base, key, 4, log)
        try:
            wait_until(lambda: all(engine.runtime.instance(i).status
                                   == InstanceStatus.COMPLETED for i in ids), procs, 120)
        finally:
            stop(procs)
    handled = [line.split()[0] for line in log.read_text().splitlines()]
    assert len(handled) == 120 and len(set(handled)) == 120  # no task handed out twice
    for inst_id in ids:
        completed = [e.element_id for e in engine.history.events_of(inst_id)
                     if e.type == "external_task_completed"]
        assert sorted(completed) == ["Activity_grant", "Activity_score"]
        assert engine.runtime.instance(inst_id).variables["granted"] is True
