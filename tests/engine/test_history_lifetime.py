"""History has a lifetime: ended instances go after their time-to-live; a customer's data
can be erased on request, everywhere it is kept, with an audit event that holds none of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import String, cast, func, inspect, select, text, update

from engine import ConflictError, Engine, InvalidInputError, NotFoundError
from engine.archived import HISTORY, find
from engine.config import Settings
from engine.db import Database
from engine.errors import DefinitionError
from engine.models import Event, HumanTask, Instance, Job, utcnow
from engine.retention import schedule_cleanup
from engine.vocabulary import JobKind
from engine.worker import Worker

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_{key}" targetNamespace="http://t">
  <bpmn:process id="{key}" isExecutable="true" {ttl}>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="finance">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="note" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>greeting = "Dear " + customer_name</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="note"/>
    <bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_caller" targetNamespace="http://t">
  <bpmn:process id="caller" isExecutable="true" camunda:historyTimeToLive="10">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call" calledElement="called">
      <bpmn:extensionElements><camunda:in variables="all"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def process(key: str, ttl: str | None = None) -> bytes:
    attr = f'camunda:historyTimeToLive="{ttl}"' if ttl is not None else ""
    return BPMN.format(key=key, ttl=attr).encode()


@pytest.fixture
def engine(database: Database) -> Engine:
    eng = Engine(database, Settings(history_ttl_days=90, history_cleanup_batch_size=3,
                                    checkpoint_every_step=True))
    eng.repository.deploy({"short_lived.bpmn": process("short_lived", "P30D"),
                           "default_lived.bpmn": process("default_lived"),
                           "called.bpmn": process("called", "1"),
                           "caller.bpmn": CALLER.encode()})
    eng.identity.create_user("fin", "a long enough password", groups=["finance"], role="user")
    return eng


def finish(engine: Engine, key: str, business_key: str, name: str = "Ada Lovelace") -> str:
    """Start an instance, complete its review with a note, and let it end."""
    inst = engine.runtime.start(key, business_key, {"customer_name": name,
                                                    "email": f"{business_key}@example.com"},
                                wait=10)
    task = engine.tasks.open_tasks_of(inst.id)[0]
    engine.tasks.complete(task.id, "fin", {"note": f"called {name}"}, wait=10)
    assert engine.runtime.instance(inst.id).status == "completed"
    return inst.id


def waiting(engine: Engine, key: str, business_key: str, name: str = "Ada Lovelace") -> str:
    inst = engine.runtime.start(key, business_key, {"customer_name": name}, wait=10)
    assert inst.status == "waiting"
    return inst.id


def age(database: Database, instance_id: str, days: float) -> None:
    """Pretend the instance ended ``days`` ago."""
    with database.write() as s:  # live or archived
        for table in (Instance.__table__, HISTORY):
            s.execute(update(table).where(table.c.id == instance_id)
                      .values(ended_at=utcnow() - timedelta(days=days)))


def exists(database: Database, instance_id: str) -> bool:
    """Whether the instance is kept: live, or moved to the history table (engine/archive.py,
    which a manual cleanup runs after removing the expired)."""
    with database.read() as s:
        return find(s, instance_id) is not None


def rows_of(database: Database, instance_id: str) -> dict[str, int]:
    with database.read() as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m).where(
            m.instance_id == instance_id)) or 0) for m in (Event, HumanTask, Job)}


def tables_holding(database: Database, value: str) -> list[str]:
    """Every table and column whose stored text (or bytes) contains ``value``."""
    found = []
    with database.read() as s:
        bind = s.get_bind()
        for table in inspect(bind).get_table_names():
            for column in inspect(bind).get_columns(table):
                col = column["name"]
                if "BLOB" in str(column["type"]).upper() or "BYTEA" in str(column["type"]).upper():
                    rows = s.execute(text(f'SELECT "{col}" FROM "{table}"')).scalars()
                    if any(r is not None and value.encode() in bytes(r) for r in rows):
                        found.append(f"{table}.{col}")
                    continue
                hit = s.execute(select(func.count()).select_from(text(f'"{table}"')).where(
                    cast(text(f'"{col}"'), String).contains(value))).scalar()
                if hit:
                    found.append(f"{table}.{col}")
    return found


# -- the time-to-live ---------------------------------------------------------------------------

def test_an_instance_past_its_ttl_goes_with_its_events_tasks_and_jobs(
        engine: Engine, database: Database) -> None:
    old = finish(engine, "short_lived", "C-old")
    young = finish(engine, "short_lived", "C-young")
    running = waiting(engine, "short_lived", "C-running")
    age(database, old, 31)
    age(database, young, 29)
    assert rows_of(database, old)["events"] > 0 and rows_of(database, old)["human_tasks"] == 1

    report = engine.history.cleanup()

    assert report.instances == 1 and report.removed["events"] > 0
    assert report.removed["human_tasks"] == 1
    assert not exists(database, old)
    assert rows_of(database, old) == {"events": 0, "human_tasks": 0, "jobs": 0}
    assert exists(database, young) and exists(database, running)
    assert engine.tasks.open_tasks_of(running)[0].name == "Review"


def test_the_default_ttl_applies_to_a_process_without_one(
        engine: Engine, database: Database) -> None:
    assert engine.repository.definition("default_lived").history_ttl_days is None
    assert engine.repository.definition("short_lived").history_ttl_days == 30
    within = finish(engine, "default_lived", "C-1")
    past = finish(engine, "default_lived", "C-2")
    age(database, within, 89)
    age(database, past, 91)
    engine.history.cleanup()
    assert exists(database, within) and not exists(database, past)


def test_a_dry_run_says_what_would_go_and_removes_nothing(
        engine: Engine, database: Database) -> None:
    old = finish(engine, "short_lived", "C-old")
    age(database, old, 31)
    report = engine.history.cleanup(dry_run=True)
    assert report.dry_run and report.instances == 1 and report.removed["human_tasks"] == 1
    assert exists(database, old)


def test_cleanup_works_in_batches_and_removes_every_expired_instance(
        engine: Engine, database: Database) -> None:
    ids = [finish(engine, "short_lived", f"C-{n}") for n in range(8)]
    for instance_id in ids:
        age(database, instance_id, 40)
    report = engine.history.cleanup()  # batches of 3
    assert report.instances == 8 and report.batches == 3
    assert not any(exists(database, i) for i in ids)


def test_a_caller_and_the_instance_it_called_go_together_by_the_callers_ttl(
        engine: Engine, database: Database) -> None:
    parent = engine.runtime.start("caller", "C-9", {"customer_name": "Grace"}, wait=10)
    [child] = engine.runtime.called_instances(parent.id)
    task = engine.tasks.open_tasks_of(child.id)[0]
    engine.tasks.complete(task.id, "fin", {}, wait=10)
    engine.runtime.wait_for(parent.id, 10)
    assert engine.runtime.instance(parent.id).status == "completed"
    # the called process keeps 1 day, its caller 10: the called one waits for its caller
    age(database, child.id, 5)
    age(database, parent.id, 5)
    engine.history.cleanup()
    assert exists(database, child.id) and exists(database, parent.id)
    age(database, parent.id, 11)
    report = engine.history.cleanup()
    assert report.instances == 2
    assert not exists(database, child.id) and not exists(database, parent.id)


def test_a_worker_queues_one_cleanup_job_that_runs_and_queues_the_next(
        engine: Engine, database: Database) -> None:
    old = finish(engine, "short_lived", "C-old")
    age(database, old, 31)
    schedule_cleanup(database, engine.settings)
    schedule_cleanup(database, engine.settings)  # a second worker starting: still one job
    Worker(engine, "w").poll_once()
    assert not exists(database, old)
    with database.read() as s:
        queued = list(s.scalars(select(Job).where(Job.kind == JobKind.HISTORY_CLEANUP)))
    assert len(queued) == 1 and queued[0].due_at > utcnow() + timedelta(minutes=50)


@pytest.mark.parametrize("value", ["soon", "-5", "P1M", "30.5"])
def test_a_bad_ttl_is_refused_at_deploy_naming_the_file_and_process(
        engine: Engine, value: str) -> None:
    with pytest.raises(DefinitionError) as err:
        engine.repository.deploy({"bad_ttl.bpmn": process("bad_ttl", value)})
    [problem] = err.value.problems
    assert problem.file == "bad_ttl.bpmn" and problem.element_id == "bad_ttl"
    assert f"historyTimeToLive '{value}'" in problem.message and "P180D" in problem.message


def test_the_default_ttl_comes_from_the_environment() -> None:
    assert Settings.from_env({"BRIDGEFLOW_HISTORY_TTL_DAYS": "30"}).history_ttl_days == 30
    assert Settings().history_ttl_days == 180


# -- erasure ------------------------------------------------------------------------------------

SECRET = "Zebulon Quartermain"
OTHER = "Henrietta Oddbody"


def test_erase_removes_the_customers_values_everywhere_and_keeps_others(
        engine: Engine, database: Database) -> None:
    mine = [finish(engine, "short_lived", "C-42", SECRET),
            finish(engine, "default_lived", "C-42", SECRET)]
    theirs = finish(engine, "short_lived", "C-7", OTHER)
    engine.runtime.accept_event(source="crm", event_id="ev-1", event_type="order.created",
                                record_id="C-42", variables={"name": SECRET})
    # variables and the task's completion data at least (an ended instance keeps no state)
    assert len(tables_holding(database, SECRET)) >= 2

    report = engine.management.erase("C-42", actor="dpo")

    assert tables_holding(database, SECRET) == []
    assert tables_holding(database, "C-42@example.com") == []
    assert report.instances == 2 and report.rows > 2
    assert not any(exists(database, i) for i in mine)
    assert exists(database, theirs) and tables_holding(database, OTHER)
    with database.read() as s:
        audit = s.scalars(select(Event).where(Event.type == "personal_data_erased")).one()
    assert audit.actor == "dpo" and audit.data["business_key"] == "C-42"
    assert audit.data["instances"] == 2 and audit.data["rows"] == report.rows
    assert SECRET not in str(audit.data) and "example.com" not in str(audit.data)


def test_erase_refuses_a_running_instance_unless_told_to_terminate(
        engine: Engine, database: Database) -> None:
    running = waiting(engine, "short_lived", "C-5", SECRET)
    with pytest.raises(ConflictError) as err:
        engine.management.erase("C-5")
    assert "have not ended" in err.value.message
    assert exists(database, running)
    report = engine.management.erase("C-5", terminate=True)
    assert report.terminated == 1 and not exists(database, running)
    assert tables_holding(database, SECRET) == []


def test_erase_of_an_unknown_or_empty_key_says_so(engine: Engine) -> None:
    with pytest.raises(NotFoundError) as err:
        engine.management.erase("C-nobody")
    assert "nothing was erased" in err.value.message
    for empty in ("", "   ", None):
        with pytest.raises(InvalidInputError):
            engine.management.erase(empty)  # type: ignore[arg-type]
