"""Ended instances leave the live table (PostgreSQL) and still read as before: by id, in the
lists, in the figures; erasure and the time-to-live reach them; workers and crashes move
each one exactly once."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select, text, update
from sqlalchemy.exc import OperationalError

from engine import ConflictError, Engine
from engine.archive import archive
from engine.archived import HISTORY
from engine.config import Settings
from engine.db import Database
from engine.history_months import month_name
from engine.models import Base, Event, HumanTask, Instance, utcnow
from engine.partitions import month_start
from engine.retention import run_cleanup_job

from ..conftest import postgres_only
from .test_history_lifetime import CALLER, finish, process, tables_holding

QUICK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="d_quick" targetNamespace="http://t">
  <bpmn:process id="quick" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="note" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>done = n * 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="note"/>
    <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
SETTINGS = Settings(history_ttl_days=90, history_cleanup_batch_size=3,
                    checkpoint_every_step=True, history_archive_after_seconds=86400)


@pytest.fixture
def engine(database: Database) -> Engine:
    eng = Engine(database, SETTINGS)
    eng.repository.deploy({"short_lived.bpmn": process("short_lived", "P30D"),
                           "default_lived.bpmn": process("default_lived"),
                           "called.bpmn": process("called", "1"),
                           "caller.bpmn": CALLER.encode(), "quick.bpmn": QUICK.encode()})
    eng.identity.create_user("fin", "a long enough password", groups=["finance"], role="user")
    return eng


def ended_days_ago(db: Database, ids: list[str], days: float, hours: float = 1) -> None:
    """Pretend the instances started ``days`` + ``hours`` ago and ended ``days`` ago."""
    ended = utcnow() - timedelta(days=days)
    with db.write() as s:
        s.execute(update(Instance).where(Instance.id.in_(ids)).values(
            created_at=ended - timedelta(hours=hours), ended_at=ended))


def quick(engine: Engine, n: int, business_key: str | None = None) -> str:
    inst = engine.runtime.start("quick", business_key, {"n": n}, wait=10)
    assert inst.status == "completed"
    return inst.id


def where_is(db: Database, ids: list[str]) -> dict[str, list[str]]:
    """Which table holds each instance: 'live', 'archived', both, or neither."""
    with db.read() as s:
        live = set(s.scalars(select(Instance.id).where(Instance.id.in_(ids))))
        old = set(s.scalars(select(HISTORY.c.id).where(HISTORY.c.id.in_(ids))))
    return {i: [name for name, ids_in in (("live", live), ("archived", old)) if i in ids_in]
            for i in ids}


def read_everything(engine: Engine, instance_id: str, business_key: str) -> dict[str, Any]:
    """What the API and console read of one instance, by id and in the lists."""
    inst = engine.runtime.instance(instance_id)
    detail = engine.runtime.instance_detail(instance_id)
    listed = engine.history.search_instances(business_key=business_key, status="completed")
    return {"status": inst.status, "variables": inst.variables,
            "business_key": inst.business_key, "ended_at": inst.ended_at,
            "events": [(e.type, e.element_id) for e in engine.history.events_of(instance_id)],
            "path": [v.element_id for v in engine.history.path_taken(instance_id)],
            "detail": (detail.instance.id, detail.instance.status,
                       [t.id for t in detail.open_tasks]),
            "listed": [(i.id, i.status) for i in listed.items], "total": listed.total}


@postgres_only
def test_an_archived_instance_reads_as_before_and_refuses_changes(
        engine: Engine, database: Database) -> None:
    kept = finish(engine, "default_lived", "CUST-1")
    fresh = finish(engine, "default_lived", "CUST-2")
    ended_days_ago(database, [kept], 2)
    before = read_everything(engine, kept, "CUST-1")
    with database.read() as s:
        done_task = s.scalars(select(HumanTask.id).where(HumanTask.instance_id == kept)).one()

    report = archive(database, SETTINGS)

    assert report.instances == 1  # ended two days ago; the one that ended just now stays
    assert where_is(database, [kept, fresh]) == {kept: ["archived"], fresh: ["live"]}
    assert read_everything(engine, kept, "CUST-1") == before
    assert engine.tasks.task(done_task).status == "completed"
    assert before["variables"]["note"] == "called Ada Lovelace"
    assert len(before["events"]) >= 3 and before["path"][-1] == "e"
    with pytest.raises(ConflictError, match="completed"):
        engine.management.terminate(kept, "admin")
    with pytest.raises(ConflictError, match="cannot change"):
        engine.management.set_variables(kept, {"x": 1}, actor="admin")
    with pytest.raises(ConflictError, match="already completed"):
        engine.tasks.complete(done_task, "fin", {})
    with pytest.raises(ConflictError, match="already completed"):
        engine.tasks.claim(done_task, "fin")
    assert where_is(database, [kept]) == {kept: ["archived"]}  # the refusals changed nothing


@postgres_only
def test_a_call_tree_moves_whole_once_every_instance_of_it_has_ended(
        engine: Engine, database: Database) -> None:
    caller = engine.runtime.start("caller", "TREE-1", {"customer_name": "Bo"}, wait=10)
    called = engine.runtime.called_instances(caller.id)
    assert len(called) == 1
    ended_days_ago(database, [caller.id, called[0].id], 2)
    with database.write() as s:  # the caller has "ended" but what it called still waits
        s.execute(update(Instance).where(Instance.id == caller.id).values(status="completed"))

    assert archive(database, SETTINGS).instances == 0
    assert where_is(database, [caller.id, called[0].id]) == {
        caller.id: ["live"], called[0].id: ["live"]}

    task = engine.tasks.open_tasks_of(called[0].id)[0]
    engine.tasks.complete(task.id, "fin", {}, wait=10)
    assert engine.runtime.instance(caller.id).status == "completed"
    ended_days_ago(database, [caller.id, called[0].id], 2)

    assert archive(database, SETTINGS).instances == 2
    assert where_is(database, [caller.id, called[0].id]) == {
        caller.id: ["archived"], called[0].id: ["archived"]}
    detail = engine.runtime.instance_detail(caller.id)
    assert [c.id for c in detail.called_instances] == [called[0].id]


@postgres_only
def test_lists_page_across_both_tables_without_gaps_or_repeats_while_the_job_runs(
        engine: Engine, database: Database) -> None:
    ids = [quick(engine, n, f"PAGE-{n % 2}") for n in range(14)]
    ended_days_ago(database, ids, 2)
    waiting = engine.runtime.start("default_lived", "PAGE-0", {"customer_name": "x"}, wait=10)
    every = [*ids, waiting.id]
    expected = engine.history.search_instances(per_page=100)
    assert expected.total == 15

    seen: list[str] = []
    totals = set()
    for page in range(1, 5):
        got = engine.history.search_instances(page=page, per_page=4)
        seen += [i.id for i in got.items]
        totals.add(got.total)
        archive(database, SETTINGS, max_batches=1)  # three more move between pages

    assert seen == [i.id for i in expected.items]  # the same order, each once
    assert sorted(seen) == sorted(every) and totals == {15}
    assert sum(place == ["archived"] for place in where_is(database, ids).values()) == 12
    by_key = engine.runtime.list_instances(business_key="PAGE-0", per_page=100)
    assert sorted(i.id for i in by_key.items) == sorted([*ids[0::2], waiting.id])
    running = engine.runtime.list_instances(statuses=["waiting"], per_page=100)
    assert [i.id for i in running.items] == [waiting.id]
    done = engine.history.search_instances(status="completed", per_page=100)
    assert done.total == 14


@postgres_only
def test_the_figures_read_the_same_after_archiving(engine: Engine, database: Database) -> None:
    ids = [quick(engine, n) for n in range(5)]
    ended_days_ago(database, ids[:3], 2, hours=3)
    ended_days_ago(database, ids[3:], 1.5, hours=1)
    now = utcnow()
    start = month_start(now - timedelta(days=40))

    def figures() -> Any:
        stats = engine.management.stats()
        stats.pop("workers", None)
        return (stats, engine.history.process_figures(14),
                engine.reports.process_figures(start, now + timedelta(hours=1)))

    before = figures()
    assert archive(database, SETTINGS).instances == 5
    assert figures() == before


@postgres_only
def test_erasure_and_the_time_to_live_remove_archived_instances_and_their_events(
        engine: Engine, database: Database) -> None:
    erased = finish(engine, "default_lived", "ERASE-ME", name="Grace Hopper")
    expired = finish(engine, "short_lived", "OLD-1")
    kept = finish(engine, "default_lived", "KEEP-1")
    ended_days_ago(database, [erased, kept], 2)
    ended_days_ago(database, [expired], 40)
    assert archive(database, SETTINGS).instances == 3
    old_month = month_name(month_start(utcnow() - timedelta(days=40)))
    assert _has_table(database, old_month)

    report = engine.management.erase("ERASE-ME", actor="admin")

    assert report.instances == 1 and report.removed["events"] > 0
    assert where_is(database, [erased]) == {erased: []}
    assert tables_holding(database, "Grace Hopper") == []

    cleaned = engine.history.cleanup()

    assert cleaned.instances == 1
    assert where_is(database, [expired, kept]) == {expired: [], kept: ["archived"]}
    with database.read() as s:
        assert s.scalar(select(func.count()).select_from(Event)
                        .where(Event.instance_id == expired)) == 0
    if month_start(utcnow() - timedelta(days=40)) < month_start(utcnow()):
        assert not _has_table(database, old_month)  # emptied: the month was dropped


@postgres_only
def test_two_workers_archiving_at_once_move_each_instance_once(
        engine: Engine, database: Database) -> None:
    ids = [quick(engine, n) for n in range(20)]
    ended_days_ago(database, ids, 2)
    small = replace(SETTINGS, history_cleanup_batch_size=2)
    moved: list[int] = []
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def work() -> None:
        try:
            go.wait()
            moved.append(archive(database, small).instances)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert sum(moved) == 20
    assert set(map(tuple, where_is(database, ids).values())) == {("archived",)}


@postgres_only
def test_a_transaction_killed_mid_batch_leaves_every_instance_in_one_table(
        engine: Engine, database: Database) -> None:
    ids = [quick(engine, n) for n in range(6)]
    ended_days_ago(database, ids, 2)
    killer = database.sql_engine.connect()

    def kill(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("WITH moved AS"):  # the move ran: kill before the commit
            killer.execute(text("SELECT pg_terminate_backend(:p)"),
                           {"p": conn.connection.dbapi_connection.info.backend_pid})

    event.listen(database.sql_engine, "after_cursor_execute", kill)
    try:
        with pytest.raises(OperationalError):
            archive(database, SETTINGS)
    finally:
        event.remove(database.sql_engine, "after_cursor_execute", kill)
        killer.close()

    assert set(map(tuple, where_is(database, ids).values())) == {("live",)}
    assert archive(database, SETTINGS).instances == 6
    assert set(map(tuple, where_is(database, ids).values())) == {("archived",)}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_keeps_every_instance_in_the_live_table(engine: Engine,
                                                       database: Database) -> None:
    ids = [quick(engine, n) for n in range(3)]
    ended_days_ago(database, ids, 2)
    assert archive(database, SETTINGS).instances == 0
    assert set(map(tuple, where_is(database, ids).values())) == {("live",)}
    assert engine.history.search_instances(status="completed").total == 3
    with database.sql_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "instances_history" in repr(d)] == []


@postgres_only
def test_archiving_can_be_turned_off(engine: Engine, database: Database) -> None:
    ids = [quick(engine, n) for n in range(2)]
    ended_days_ago(database, ids, 400)
    off = replace(SETTINGS, history_archive_after_seconds=-1)
    assert archive(database, off).instances == 0
    assert set(map(tuple, where_is(database, ids).values())) == {("live",)}


def _has_table(db: Database, name: str) -> bool:
    with db.sql_engine.connect() as c:
        return c.execute(text("SELECT to_regclass(:t)"), {"t": name}).scalar() is not None



@postgres_only
def test_the_cleanup_job_archives_and_rows_wait_in_the_default_month_when_it_cannot_be_made(
        engine: Engine, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = quick(engine, 1), quick(engine, 2)
    ended_days_ago(database, [first, second], 70)
    month = month_name(month_start(utcnow() - timedelta(days=70)))

    def busy(*_: Any) -> None:
        raise OperationalError("CREATE TABLE", {}, Exception("lock timeout"))

    monkeypatch.setattr("engine.history_months.ensure_months", busy)
    run_cleanup_job(database, SETTINGS, 0, "w1")  # what a worker runs every hour
    assert set(map(tuple, where_is(database, [first, second]).values())) == {("archived",)}
    assert not _has_table(database, month)
    assert _count(database, "instances_history_default") == 2
    assert engine.runtime.instance(first).variables["done"] == 2

    monkeypatch.undo()
    third = quick(engine, 3)
    ended_days_ago(database, [third], 70)
    run_cleanup_job(database, SETTINGS, 0, "w1")

    assert _count(database, "instances_history_default") == 0
    assert _count(database, month) == 3  # the month made, what waited in the default moved in
    assert engine.history.search_instances(status="completed").total == 3


def _count(db: Database, table: str) -> int:
    with db.sql_engine.connect() as c:
        return int(c.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


@postgres_only
def test_a_manual_cleanup_removes_the_expired_and_then_archives_the_rest(
        engine: Engine, database: Database) -> None:
    expired, ended = quick(engine, 1), quick(engine, 2)
    ended_days_ago(database, [expired], 200)  # past the default 90 days
    ended_days_ago(database, [ended], 2)

    report = engine.history.cleanup()

    assert (report.instances, report.archived) == (1, 1)
    assert where_is(database, [expired, ended]) == {expired: [], ended: ["archived"]}
