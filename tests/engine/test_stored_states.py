"""Instances saved by an earlier release still load, run and complete on this engine.

The fixtures were written once by ``tests/fixtures/stored_states/make.py``; never by a test.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Engine
from engine.bpmn import serializer
from engine.db import Database
from engine.models import Instance
from engine.worker import Worker

from .stored_states import STORED, drive, fixtures, insert_rows, read

CASES = fixtures()


def _stored_state(database: Database, instance_id: str) -> bytes | None:
    with database.read() as s:
        return s.scalar(select(Instance.state).where(Instance.id == instance_id))


def test_every_kind_of_wait_state_has_a_stored_instance() -> None:
    assert {p.stem for p in CASES} >= {
        "user_task_waiting", "parallel_one_branch_done", "message_catch", "timer_waiting",
        "multi_instance_half_done", "subprocess_user_task", "call_activity_waiting"}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_an_instance_stored_by_an_earlier_release_runs_to_its_end(
        engine: Engine, database: Database, path: Path) -> None:
    fixture = read(path)
    engine.repository.deploy_directory(STORED)
    insert_rows(engine, database, fixture["rows"])
    stored = engine.runtime.instance(fixture["instance_id"])
    assert stored.status == "waiting"

    done = drive(engine, stored.id, fixture["next"])

    assert engine.management.incidents_of(stored.id) == []
    assert done.status == fixture["expect"]["status"] == "completed"
    assert done.variables == fixture["expect"]["variables"]
    assert all(t.status != "ready" for t in engine.tasks.open_tasks_of(stored.id))


def test_a_state_from_a_newer_release_is_refused_as_an_incident_and_left_as_it_was(
        engine: Engine, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture = read(STORED / "user_task_waiting.json")
    rows = copy.deepcopy(fixture["rows"])
    [row] = rows["instances"]
    newer = row["state"].replace('{"format":1,', '{"format":99,', 1)
    assert newer != row["state"]
    row["state"] = newer
    engine.repository.deploy_directory(STORED)
    insert_rows(engine, database, rows)
    [task] = engine.tasks.open_tasks_of(row["id"])

    engine.tasks.complete(task.id, "fiona", {"decision": "approve"}, wait=5)

    inst = engine.runtime.instance(row["id"])
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.error_type == "state_format"
    assert "format 99, written by a newer Bridgeflow" in incident.message
    assert "this engine reads format 1" in incident.message
    assert _stored_state(database, inst.id) == newer.encode()

    # once every worker reads format 99, the admin retries: the kept completion goes through
    monkeypatch.setattr(serializer, "STATE_FORMAT", 99)
    engine.management.retry_incident(incident.id)
    Worker(engine, "upgraded").drain()
    done = engine.runtime.wait_for(inst.id, 5)
    assert done.status == "completed", engine.management.incidents_of(inst.id)
    assert done.variables["summary"] == "approve 900"


def test_a_state_stored_without_a_format_is_read_as_the_first_format(
        engine: Engine, database: Database) -> None:
    fixture = read(STORED / "user_task_waiting.json")
    rows = copy.deepcopy(fixture["rows"])
    [row] = rows["instances"]
    row["state"] = row["state"].replace('{"format":1,', "{", 1)
    engine.repository.deploy_directory(STORED)
    insert_rows(engine, database, rows)
    [task] = engine.tasks.open_tasks_of(row["id"])

    engine.tasks.complete(task.id, "fiona", {"decision": "reject"}, wait=5)

    done = engine.runtime.instance(row["id"])
    assert done.status == "completed", engine.management.incidents_of(done.id)
    assert done.variables["summary"] == "reject 900"
