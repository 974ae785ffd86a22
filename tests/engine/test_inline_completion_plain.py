"""A completion with ``wait`` whose instance waits only for people, and a claim, are written
with prepared statements, without the ORM session (on SQLite on the driver connection).
What a reviewer and an administrator see afterwards must be what the session and job paths
write: the next tasks with their candidates and forms, the cancelled ones closed, the ended
instance without jobs, the same audit events; a bad, stale or refused step must change
nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import ConflictError, Engine, ForbiddenError
from engine.db import Database
from engine.models import Event, HumanTask, Instance, Job, TaskCandidate, User, utcnow
from engine.round_trips import count
from engine.vocabulary import JobKind
from tests.conftest import DATABASES

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="order_review" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="prepare"/>
    <bpmn:userTask id="prepare" name="Prepare" camunda:candidateGroups="sales"/>
    <bpmn:sequenceFlow id="f1" sourceRef="prepare" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="approve"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="pack"/>
    <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="finance"
        camunda:candidateUsers="fiona" camunda:formKey="approve.json" camunda:dueDate="P2D"/>
    <bpmn:userTask id="pack" name="Pack" camunda:assignee="olga"/>
    <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="stop"/>
    <bpmn:sequenceFlow id="f5" sourceRef="pack" targetRef="end"/>
    <bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FORM = {"title": "Approve the order", "type": "object",
        "properties": {"approved": {"type": "boolean", "title": "Approved"}}}


@pytest.fixture()
def plain_saves(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which write each inline completion took: ``plain`` or ``session``."""
    executor = engine._core.executor
    taken: list[str] = []
    real_plain, real_save = executor._save_plain, executor._save

    def plain(adv: Any, write: Any) -> bool:
        done = real_plain(adv, write)
        taken.append("plain" if done else "session")
        return done

    def save(job_id: Any, worker_id: str, adv: Any, before: Any = None) -> str:
        if job_id is not None:
            taken.append("job")
        return real_save(job_id, worker_id, adv, before)

    monkeypatch.setattr(executor, "_save_plain", plain)
    monkeypatch.setattr(executor, "_save", save)
    return taken


def _deploy(engine: Engine) -> None:
    engine.repository.deploy({"order_review.bpmn": PROCESS.encode(),
                              "approve.json": json.dumps(FORM).encode()})


def _started(engine: Engine) -> tuple[str, str]:
    inst = engine.runtime.start("order_review", "SO-7", {"amount": 120}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    return inst.id, task.id


def _view(db: Database, instance_id: str) -> dict[str, Any]:
    """What two instances moved the same way must agree on (no ids, times as offsets)."""
    with db.read() as s:
        inst = s.get_one(Instance, instance_id)
        tasks = []
        for task in s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                              .order_by(HumanTask.element_id)):
            candidates = s.execute(select(TaskCandidate.kind, TaskCandidate.name,
                                          TaskCandidate.is_open).where(
                TaskCandidate.task_id == task.id).order_by(TaskCandidate.kind,
                                                           TaskCandidate.name)).all()
            tasks.append((task.element_id, task.status, task.candidate_groups,
                          task.candidate_users, task.assignee, task.form,
                          task.due_at - task.created_at if task.due_at else None,
                          task.completed_by, task.completion_data,
                          task.completed_at is not None, [tuple(c) for c in candidates]))
        events = sorted((e.type, e.element_id or "") for e in s.scalars(
            select(Event).where(Event.instance_id == instance_id)))
        jobs = s.scalar(select(func.count()).select_from(Job).where(
            Job.instance_id == instance_id))
        return {"status": inst.status, "variables": inst.variables, "state": inst.state is None,
                "ended": inst.ended_at is not None, "revision": inst.revision,
                "active": inst.active_elements, "tasks": tasks, "events": events, "jobs": jobs}


def _open(engine: Engine, instance_id: str, element_id: str) -> str:
    return next(t.id for t in engine.tasks.open_tasks_of(instance_id)
                if t.element_id == element_id)


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_completion_writes_what_the_job_path_writes(
        database: Database, engine: Engine, drain: Callable[..., None],
        plain_saves: list[str]) -> None:
    _deploy(engine)
    inline_id, inline_task = _started(engine)
    by_job_id, by_job_task = _started(engine)

    engine.tasks.complete(inline_task, "sam", {"note": "ok"}, wait=5)
    engine.tasks.complete(by_job_task, "sam", {"note": "ok"})
    drain()
    assert plain_saves == ["plain", "job"]
    inline, by_job = _view(database, inline_id), _view(database, by_job_id)
    assert inline == by_job
    # what the next people see in their inbox: the form read from its file, the due date,
    # the candidates as rows the inbox filters on
    approve = next(t for t in inline["tasks"] if t[0] == "approve")
    assert approve[1] == "ready" and approve[5]["title"] == "Approve the order"
    assert approve[6] == timedelta(days=2)
    assert approve[10] == [("group", "finance", True), ("user", "fiona", True)]
    pack = next(t for t in inline["tasks"] if t[0] == "pack")
    assert pack[1] == "claimed" and pack[4] == "olga"
    assert inline["status"] == "waiting" and inline["variables"] == {"amount": 120,
                                                                     "note": "ok"}
    assert [t.id for t in engine.tasks.list_tasks(candidate_group="finance").items
            if t.instance_id == inline_id] == [_open(engine, inline_id, "approve")]


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_terminating_completion_cancels_the_other_task_and_drops_the_jobs(
        database: Database, engine: Engine, drain: Callable[..., None],
        plain_saves: list[str]) -> None:
    _deploy(engine)
    views = []
    for wait in (5, 0):
        instance_id, task_id = _started(engine)
        engine.tasks.complete(task_id, "sam", {}, wait=5)
        with engine._core.db.write() as s:  # a reminder due tomorrow: it goes with the end
            s.add(Job(kind=JobKind.ADVANCE, instance_id=instance_id, payload={},
                      due_at=utcnow() + timedelta(days=1)))
        engine.tasks.complete(_open(engine, instance_id, "approve"), "fiona",
                              {"approved": True}, wait=wait)
        drain()
        assert engine.tasks.open_tasks_of(instance_id) == []
        views.append(_view(database, instance_id))
    assert plain_saves == ["plain", "plain", "plain", "job"]
    inline, by_job = views
    assert inline == by_job
    assert inline["status"] == "completed" and inline["ended"] and inline["state"]
    assert inline["jobs"] == 0
    pack = next(t for t in inline["tasks"] if t[0] == "pack")
    assert pack[1] == "cancelled" and not any(is_open for *_, is_open in pack[10])
    assert ("task_cancelled", "pack") in inline["events"]
    assert ("instance_completed", "") in inline["events"]


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_completion_is_three_writes_and_a_read_in_one_transaction(
        engine: Engine, plain_saves: list[str]) -> None:
    _deploy(engine)
    engine.tasks.complete(_started(engine)[1], "sam", {}, wait=5)  # the form is read once
    instance_id, task_id = _started(engine)
    with count(engine._core.db.sql_engine) as seen:
        engine.tasks.complete(task_id, "sam", {}, wait=5)
    assert plain_saves == ["plain", "plain"]
    # the read of the task; then instance, task, its rows, 2 new tasks, candidates, events
    assert (seen.statements, seen.transactions, seen.commits) == (7, 2, 1), seen.sql
    assert seen.sql[1].startswith("UPDATE instances") and "INSERT INTO events" in seen.sql[-1]


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_stale_or_doubled_completion_changes_nothing(
        database: Database, engine: Engine, plain_saves: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _deploy(engine)
    instance_id, task_id = _started(engine)
    before = _view(database, instance_id)
    executor = engine._core.executor
    real = executor._save_plain

    def completed_meanwhile(adv: Any, write: Any) -> bool:
        engine.tasks.complete(task_id, "sam", {}, wait=0)  # someone else, by the job path
        return bool(real(adv, write))

    monkeypatch.setattr(executor, "_save_plain", completed_meanwhile)
    with pytest.raises(ConflictError, match="completed by someone else"):
        engine.tasks.complete(task_id, "fiona", {"note": "late"}, wait=5)
    after = _view(database, instance_id)
    # one completion only, by the first: the late one wrote no row, no event, no variable
    assert [e for e in after["events"] if e[0] == "task_completed"] == \
        [("task_completed", "prepare")]
    assert after["variables"] == before["variables"]
    assert after["tasks"][0][7] == "sam"


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_claim_is_one_plain_transaction_and_a_refused_one_changes_nothing(
        database: Database, engine: Engine) -> None:
    _deploy(engine)
    instance_id, task_id = _started(engine)
    with count(engine._core.db.sql_engine) as seen:
        claimed = engine.tasks.claim(task_id, "sam", via="api-key:crm")
    assert (seen.statements, seen.transactions) == (3, 1), seen.sql
    assert claimed.assignee == "sam" and claimed.status == "claimed" and claimed.claimed_at
    with database.read() as s:
        task = s.get_one(HumanTask, task_id)
        event = s.scalars(select(Event).where(Event.type == "task_claimed")).one()
        # the inbox's candidate rows carry the assignee (their trigger copies it)
        assignees = set(s.scalars(select(TaskCandidate.assignee).where(
            TaskCandidate.task_id == task_id)))
    assert (task.assignee, task.status, task.claimed_at) == ("sam", "claimed",
                                                             claimed.claimed_at)
    assert event.actor == "sam" and event.data == {"task_id": task_id, "via": "api-key:crm"}
    assert assignees == {"sam"}
    before = _view(database, instance_id)
    with pytest.raises(ConflictError, match="claimed by sam"):
        engine.tasks.claim(task_id, "fiona")
    with database.write() as s:  # in finance, not in sales: no candidate of this task
        s.add(User(name="nina", role="user", groups=["finance"], password_hash="!",
                   active=True))
    with pytest.raises(ForbiddenError, match="nina is neither a candidate"):
        engine.tasks.claim(task_id, "nina")
    assert _view(database, instance_id) == before
    with database.read() as s:
        refusal = s.scalars(select(Event).where(Event.type == "access_denied")).one()
    assert refusal.actor == "nina" and refusal.data["action"] == "task.claim"
