"""A start that stops at user tasks is written by plain inserts (instance, tasks, their
candidates, events): the rows must be those a worker's advance writes for the same start,
the inbox must find the task, a version deployed meanwhile must still win, and a start
whose assignment could fail takes the path that opens the incident."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import Engine
from engine.config import Settings
from engine.db import Database
from engine.models import Event, HumanTask, Instance, TaskCandidate, User
from engine.round_trips import count
from tests.conftest import DATABASES

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="check"/>
    <bpmn:userTask id="review" name="Review the order" camunda:candidateGroups="finance, sales"
        camunda:candidateUsers="fiona" camunda:priority="${{prio}}" camunda:dueDate="P3D">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="limit" label="Limit" type="long" defaultValue="${{amount * 2}}"/>
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="check" name="Check stock" camunda:assignee="{assignee}"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="join"/>
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
VARIABLES = {"prio": 70, "amount": 21}


def _deploy(engine: Engine, key: str = "two_people", assignee: str = "olga",
            name: str = "Review the order") -> None:
    source = PROCESS.format(key=key, assignee=assignee).replace("Review the order", name)
    engine.repository.deploy({f"{key}.bpmn": source.encode()})


def _tasks(db: Database, instance_id: str) -> list[dict[str, Any]]:
    """The instance's task rows and their candidate rows, without ids and as times since
    the task was made: what two starts of the same process must agree on."""
    with db.read() as s:
        tasks = list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                               .order_by(HumanTask.element_id)))
        out = []
        for task in tasks:
            candidates = s.execute(select(TaskCandidate).where(
                TaskCandidate.task_id == task.id).order_by(TaskCandidate.kind,
                                                           TaskCandidate.name)).scalars()
            out.append({
                "element_id": task.element_id, "name": task.name, "status": task.status,
                "process_key": task.process_key, "business_key": task.business_key,
                "groups": task.candidate_groups, "users": task.candidate_users,
                "assignee": task.assignee, "form": task.form, "priority": task.priority,
                "due_in": task.due_at - task.created_at if task.due_at else None,
                "claimed": task.claimed_at is not None, "completed_at": task.completed_at,
                "candidates": [(c.kind, c.name, c.is_open, c.process_key, c.assignee,
                                c.priority, c.due_at == task.due_at,
                                c.created_at == task.created_at) for c in candidates]})
        return out


def _user(db: Database, name: str) -> User:
    with db.read() as s:
        return s.scalars(select(User).where(User.name == name)).one()


def _event_types(db: Database, instance_id: str) -> list[str]:
    with db.read() as s:
        return sorted(s.scalars(select(Event.type).where(Event.instance_id == instance_id)))


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_start_that_waits_for_people_writes_what_a_worker_writes(
        database: Database, engine: Engine, drain: Callable[..., None]) -> None:
    _deploy(engine)
    inline = engine.runtime.start("two_people", "SO-1", VARIABLES, wait=5)
    by_worker = engine.runtime.start("two_people", "SO-1", VARIABLES)
    drain()

    written = _tasks(database, inline.id)
    assert inline.status == "waiting" and engine.runtime.instance(by_worker.id).status \
        == "waiting"
    assert written == _tasks(database, by_worker.id)
    check, review = written  # in element id order
    # what a reviewer would see wrong in the inbox if a column were lost on the way
    assert review["groups"] == ["finance", "sales"] and review["users"] == ["fiona"]
    assert review["priority"] == 70 and review["due_in"] == timedelta(days=3)
    assert review["form"]["properties"]["limit"]["default"] == 42
    assert review["candidates"] == [
        ("group", "finance", True, "two_people", None, 70, True, True),
        ("group", "sales", True, "two_people", None, 70, True, True),
        ("user", "fiona", True, "two_people", None, 70, True, True)]
    assert check["assignee"] == "olga" and check["status"] == "claimed" and check["claimed"]
    assert _event_types(database, inline.id) == _event_types(database, by_worker.id)


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_the_inbox_offers_the_task_and_completing_both_ends_the_instance(
        database: Database, engine: Engine) -> None:
    _deploy(engine)
    with database.write() as s:  # a clerk in one of the task's groups, no admin
        s.add(User(name="sid", role="user", groups=["sales"], password_hash="!", active=True))
    sid = _user(database, "sid")
    started = engine.runtime.start("two_people", "SO-2", VARIABLES, wait=5)

    inbox = engine.tasks.queue(sid).page.items
    assert [(t.instance_id, t.element_id) for t in inbox] == [(started.id, "review")]

    engine.tasks.complete(inbox[0].id, "sid", {"limit": 40}, wait=5)
    check = engine.runtime.instance_detail(started.id).open_tasks
    assert [t.element_id for t in check] == ["check"]
    engine.tasks.complete(check[0].id, "olga", {}, wait=5)

    assert engine.runtime.instance(started.id).status == "completed"
    assert engine.tasks.queue(sid).page.items == []


def test_a_version_deployed_meanwhile_wins_and_leaves_no_task_of_the_old_one(
        database: Database, engine: Engine) -> None:
    _deploy(engine)
    engine.runtime.start("two_people", None, VARIABLES, wait=5)  # version 1 is remembered
    theirs = Engine(database, Settings(database_url=str(database.sql_engine.url)))
    _deploy(theirs, name="Review the order again")  # another process deploys version 2

    started = engine.runtime.start("two_people", None, VARIABLES, wait=5)

    assert started.version == 2
    assert [t["name"] for t in _tasks(database, started.id)] == ["Check stock",
                                                                 "Review the order again"]
    with database.read() as s:  # the refused write on version 1 left no row behind
        assert s.scalar(select(func.count()).select_from(Instance)) == 2
        assert s.scalar(select(func.count()).select_from(HumanTask)) == 4
        assert s.scalar(select(func.count()).select_from(TaskCandidate)) == 6


def test_a_start_whose_assignment_fails_opens_the_incident(engine: Engine) -> None:
    _deploy(engine, key="bad_assignee", assignee="${owner.name}")

    started = engine.runtime.start("bad_assignee", None, VARIABLES, wait=5)

    assert started.status == "incident"
    detail = engine.runtime.instance_detail(started.id)
    assert [i.error_type for i in detail.open_incidents] == ["expression_error"]
    assert "${owner.name}" in detail.open_incidents[0].message
    # both tasks wait; the one whose assignee failed waits unassigned, as in Camunda
    assert sorted((t.element_id, t.assignee) for t in detail.open_tasks) == [
        ("check", None), ("review", None)]


def test_the_start_is_four_inserts_in_one_transaction(database: Database,
                                                      engine: Engine) -> None:
    _deploy(engine)
    engine.runtime.start("two_people", None, VARIABLES, wait=5)  # version and forms are known
    with count(database.sql_engine) as seen:
        engine.runtime.start("two_people", None, VARIABLES, wait=5)
    assert (seen.statements, seen.transactions, seen.commits) == (4, 1, 1), seen.sql
    assert [sql.split(" (")[0] for sql in seen.sql] == [
        "INSERT INTO instances", "INSERT INTO human_tasks", "INSERT INTO task_candidates",
        "INSERT INTO events"]
