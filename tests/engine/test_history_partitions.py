"""The audit trail by month on PostgreSQL: the migration keeps every event, months are made
ahead, and the time-to-live cleanup and erasure clear past months whole or row by row."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text

from engine import Engine, partitions
from engine.config import Settings
from engine.db import Database, _migrations_dir
from engine.models import Event, utcnow
from engine.partitions import ensure_months, is_partitioned, month_name, month_start, months
from engine.retention import cleanup

from ..conftest import postgres_only
from .test_history_lifetime import CALLER, age, exists, finish, process, tables_holding

NOW = utcnow()
EARLY = month_start(NOW - timedelta(days=240))  # eight months back: a past month


def months_back(n: int) -> datetime:
    start = EARLY
    for _ in range(8 - n):
        start = month_start(start + timedelta(days=32))
    return start


@pytest.fixture
def engine(database: Database) -> Engine:
    eng = Engine(database, Settings(history_ttl_days=90, history_cleanup_batch_size=3,
                                    checkpoint_every_step=True))
    eng.repository.deploy({"short_lived.bpmn": process("short_lived", "P30D"),
                           "called.bpmn": process("called", "1"),
                           "caller.bpmn": CALLER.encode()})
    eng.identity.create_user("fin", "a long enough password", groups=["finance"], role="user")
    ensure_months(database, EARLY, 8)  # the past months, as if the database had run since
    return eng


def move_events(database: Database, instance_id: str, when: datetime,
                ended: bool = False) -> None:
    """Pretend the instance started (and, if ``ended``, ended) in ``when``'s month, writing its
    events then (the rows change partition)."""
    at = when + timedelta(days=3)
    with database.write() as s:
        s.execute(text("UPDATE events SET created_at = :t WHERE instance_id = :i"),
                  {"t": at, "i": instance_id})
        s.execute(text("UPDATE instances SET created_at = :t WHERE id = :i"),
                  {"t": at, "i": instance_id})
        if ended:
            s.execute(text("UPDATE instances SET ended_at = :t WHERE id = :i"),
                      {"t": at + timedelta(hours=1), "i": instance_id})


def events_of(database: Database, instance_id: str) -> list[tuple[Any, ...]]:
    with database.read() as s:
        return [tuple(r) for r in s.execute(select(Event.id, Event.type, Event.element_id,
                                                   Event.created_at)
                                            .where(Event.instance_id == instance_id)
                                            .order_by(Event.id))]


def table_oid(database: Database, name: str) -> int | None:
    with database.sql_engine.connect() as c:
        oid = c.execute(text("SELECT to_regclass(:n)::oid"), {"n": name}).scalar()
        return int(oid) if oid is not None else None


# -- the migration ------------------------------------------------------------------------------

@pytest.fixture
def at_0010(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    with db.sql_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    yield db
    db.dispose()


STORED = [(1, "i1", "instance_started", datetime(2025, 11, 30, 23, 59, 59)),
          (2, "i1", "task_completed", datetime(2026, 2, 14, 8, 0)),
          (7, None, "definition_deployed", datetime(2026, 2, 1, 0, 0)),
          (9, "i2", "instance_started", NOW - timedelta(minutes=5))]


def test_0012_keeps_every_event_with_its_id_in_its_month(at_0010: Database) -> None:
    with at_0010.sql_engine.begin() as c:
        for row in STORED:
            c.execute(text("INSERT INTO events (id, instance_id, type, data, created_at)"
                           " VALUES (:id, :i, :t, '{\"n\": 1}', :at)"),
                      dict(zip(("id", "i", "t", "at"), row, strict=True)))
        if at_0010.is_postgres:
            c.execute(text("SELECT setval('events_id_seq', 9)"))
    at_0010.upgrade()
    with at_0010.write() as s:
        s.add(Event(instance_id="i2", type="instance_ended", data={}))
    with at_0010.read() as s:
        rows = [(e.id, e.instance_id, e.type, e.created_at, e.data)
                for e in s.scalars(select(Event).order_by(Event.id))]
    assert [r[:4] for r in rows[:4]] == STORED and rows[0][4] == {"n": 1}
    assert rows[4][0] > 9 and rows[4][2] == "instance_ended"  # the ids carry on
    if not at_0010.is_postgres:
        assert not is_partitioned(at_0010)
        return
    assert is_partitioned(at_0010)
    with at_0010.sql_engine.connect() as c:
        made = [m.name for m in months(c)]
        in_nov = c.execute(text("SELECT count(*) FROM events_y2025m11")).scalar()
        in_default = c.execute(text("SELECT count(*) FROM events_default")).scalar()
    assert made[0] == "events_y2025m11" and month_name(month_start(NOW)) in made
    assert len(made) >= 4 + 12 and in_nov == 1 and in_default == 0  # Nov 2025 … 3 ahead

    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    with at_0010.sql_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert not is_partitioned(at_0010)
    with at_0010.read() as s:
        assert [(e.id, e.instance_id, e.type, e.created_at) for e in
                s.scalars(select(Event).order_by(Event.id))][:4] == STORED


# -- months made ahead ------------------------------------------------------------------------

@postgres_only
def test_two_workers_making_the_coming_months_at_once_make_each_once(
        engine: Engine, database: Database) -> None:
    later = month_start(NOW + timedelta(days=200))  # past the months made ahead: no partition
    with database.write() as s:
        s.add(Event(instance_id=None, type="definition_deployed", data={},
                    created_at=later + timedelta(days=2)))
    with database.sql_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM events_default")).scalar() == 1

    made: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            made.append(ensure_months(database, later, 2))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(m) for m in made) == [0, 3]  # one made the three months, one none
    with database.sql_engine.connect() as c:
        names = [m.name for m in months(c)]
        assert names.count(month_name(later)) == 1
        assert c.execute(text("SELECT count(*) FROM events_default")).scalar() == 0
        assert c.execute(text(f"SELECT count(*) FROM {month_name(later)}")).scalar() == 1


# -- the time-to-live cleanup -------------------------------------------------------------------

def expired_in(engine: Engine, database: Database, month: datetime, n: int,
               key: str = "short_lived") -> list[str]:
    ids = [finish(engine, key, f"C-{month:%m}-{k}") for k in range(n)]
    for i in ids:
        move_events(database, i, month, ended=True)
    return ids


@postgres_only
def test_cleanup_drops_an_expired_month_rebuilds_a_thin_one_and_deletes_in_a_full_one(
        engine: Engine, database: Database) -> None:
    dropped, thin, full = months_back(7), months_back(6), months_back(5)
    gone = expired_in(engine, database, dropped, 2)
    gone += expired_in(engine, database, thin, 2)
    gone += expired_in(engine, database, full, 1)
    kept_thin = finish(engine, "short_lived", "K-thin")  # ended, but not yet expired
    move_events(database, kept_thin, thin)
    kept_full = [finish(engine, "short_lived", f"K-full-{k}") for k in range(3)]
    for i in kept_full:
        move_events(database, i, full)
    before = {i: events_of(database, i) for i in [kept_thin, *kept_full]}
    oids = {m: table_oid(database, month_name(m)) for m in (dropped, thin, full)}
    with database.read() as s:
        expected = s.scalar(select(func.count()).select_from(Event)
                            .where(Event.instance_id.in_(gone)))

    report = engine.history.cleanup()

    assert report.instances == 5 and report.removed["events"] == expected
    assert not any(exists(database, i) for i in gone)
    assert all(events_of(database, i) == [] for i in gone)
    assert {i: events_of(database, i) for i in before} == before
    assert table_oid(database, month_name(dropped)) is None  # dropped whole
    assert table_oid(database, month_name(thin)) not in (None, oids[thin])  # rebuilt
    assert table_oid(database, month_name(full)) == oids[full]  # rows deleted in place
    with database.sql_engine.connect() as c:
        assert month_name(dropped) not in [m.name for m in months(c)]


@postgres_only
def test_two_workers_cleaning_up_at_once_remove_every_expired_event_once(
        engine: Engine, database: Database) -> None:
    gone = []
    for n in (7, 6, 5):
        gone += expired_in(engine, database, months_back(n), 2)
    kept = finish(engine, "short_lived", "K-1")
    move_events(database, kept, months_back(6))
    kept_events = events_of(database, kept)
    with database.read() as s:
        expected = s.scalar(select(func.count()).select_from(Event)
                            .where(Event.instance_id.in_(gone)))
    reports: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(run: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            reports.append(run())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def periodic() -> Any:  # as the worker's cleanup job runs it
        return cleanup(database, engine._core.settings)

    threads = [threading.Thread(target=work, args=(periodic,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.instances for r in reports) == 6
    # A sweep that waits too long for the other's lock stops ("live work goes first") and
    # leaves its months to the next run: the next hourly run finishes them, counted once.
    reports.append(periodic())
    assert sum(r.removed.get("events", 0) for r in reports) == expected
    assert not any(exists(database, i) for i in gone)
    with database.read() as s:
        assert s.scalar(select(func.count()).select_from(Event)
                        .where(Event.instance_id.in_(gone))) == 0
    assert events_of(database, kept) == kept_events


@postgres_only
def test_a_manual_cleanup_sweeps_what_a_crash_left_in_past_months(
        engine: Engine, database: Database) -> None:
    [old] = expired_in(engine, database, months_back(6), 1)
    kept = finish(engine, "short_lived", "K-1")
    move_events(database, kept, months_back(6))
    kept_events = events_of(database, kept)
    with database.write() as s:  # a cleanup that died after removing the instance
        s.execute(text("DELETE FROM human_tasks WHERE instance_id = :i"), {"i": old})
        s.execute(text("DELETE FROM jobs WHERE instance_id = :i"), {"i": old})
        s.execute(text("DELETE FROM instances WHERE id = :i"), {"i": old})
    assert cleanup(database, engine._core.settings).removed.get("events", 0) == 0
    assert events_of(database, old) != []

    report = engine.history.cleanup()  # bridgeflow history cleanup, the admin's button

    assert report.removed["events"] > 0 and events_of(database, old) == []
    assert events_of(database, kept) == kept_events


@postgres_only
def test_a_sweep_that_stops_is_carried_on_by_the_next_run_even_if_it_removes_nothing(
        engine: Engine, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = expired_in(engine, database, months_back(7), 2)
    gone += expired_in(engine, database, months_back(5), 1)
    kept = finish(engine, "short_lived", "K-1")
    move_events(database, kept, months_back(5))
    kept_events = events_of(database, kept)
    with database.read() as s:
        expected = s.scalar(select(func.count()).select_from(Event)
                            .where(Event.instance_id.in_(gone)))
    real_sweep = partitions._sweep_month

    def lock_not_granted(c: Any, month: Any, report: Any) -> None:
        raise sa.exc.OperationalError("ALTER TABLE events DETACH PARTITION", {},
                                      Exception("canceling statement due to lock timeout"))

    monkeypatch.setattr(partitions, "_sweep_month", lock_not_granted)
    first = cleanup(database, engine._core.settings)
    assert first.instances == 3 and first.removed.get("events", 0) == 0
    assert events_of(database, gone[0]) != []  # the instances are gone, their events not yet

    monkeypatch.setattr(partitions, "_sweep_month", real_sweep)
    second = cleanup(database, engine._core.settings)  # the next hourly run: nothing expired

    assert second.instances == 0 and second.removed["events"] == expected
    assert all(events_of(database, i) == [] for i in gone)
    assert events_of(database, kept) == kept_events
    with database.read() as s:  # nothing is left to carry on: the marks are gone
        left = "SELECT count(*) FROM stat_marks WHERE name LIKE 'events_sweep%'"
        assert s.scalar(text(left)) == 0
    assert cleanup(database, engine._core.settings).removed.get("events", 0) == 0


@postgres_only
def test_a_dry_run_counts_past_months_events_and_removes_nothing(
        engine: Engine, database: Database) -> None:
    [old] = expired_in(engine, database, months_back(7), 1)
    stored = events_of(database, old)
    report = engine.history.cleanup(dry_run=True)
    assert report.instances == 1 and report.removed["events"] == len(stored)
    assert events_of(database, old) == stored
    assert table_oid(database, month_name(months_back(7))) is not None


# -- erasure ------------------------------------------------------------------------------------

@postgres_only
def test_erasure_removes_a_customers_events_from_every_month(
        engine: Engine, database: Database) -> None:
    first = finish(engine, "short_lived", "C-erase", name="Ada Byron")
    second = finish(engine, "short_lived", "C-erase", name="Ada Byron")
    other = finish(engine, "short_lived", "C-other", name="Grace Hopper")
    move_events(database, first, months_back(7))
    move_events(database, second, months_back(4))
    move_events(database, other, months_back(7))
    assert tables_holding(database, "Ada Byron")
    kept = events_of(database, other)

    report = engine.management.erase("C-erase", "dpo")

    assert report.instances == 2 and report.removed["events"] > 0
    assert events_of(database, first) == [] and events_of(database, second) == []
    assert tables_holding(database, "Ada Byron") == []
    assert events_of(database, other) == kept
    with database.read() as s:
        assert s.scalar(select(sa.func.count()).select_from(Event)
                        .where(Event.type == "personal_data_erased")) == 1


def test_erasure_and_cleanup_still_work_where_events_are_one_table(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    db.upgrade()
    assert not is_partitioned(db) and ensure_months(db, NOW, 3) == []
    eng = Engine(db, Settings(history_ttl_days=90, checkpoint_every_step=True))
    eng.repository.deploy({"short_lived.bpmn": process("short_lived", "P30D")})
    eng.identity.create_user("fin", "a long enough password", groups=["finance"], role="user")
    old = finish(eng, "short_lived", "C-1")
    age(db, old, 40)
    assert eng.history.cleanup().removed["events"] > 0 and events_of(db, old) == []
    db.dispose()
