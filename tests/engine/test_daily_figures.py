"""The dashboard's 14-day figures from the daily rollup (engine/daily.py): right after starts,
completions and incidents, the same once the days are rolled up, and kept after the cleanup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from engine import Engine, daily, statistics
from engine.models import DayFigure, Definition, Instance
from engine.reporting import ProcessFigures, percentile, process_figures
from engine.retention import delete_instances

from .conftest import FakeSystem

T0 = datetime(2026, 1, 5, 9, 0)


def add(engine: Engine, ident: str, status: str, created: datetime,
        ended: datetime | None = None, key: str = "review") -> None:
    with engine._core.db.write() as s:
        definition = s.scalars(select(Definition).where(Definition.key == key)).first()
        assert definition is not None
        s.add(Instance(id=ident, definition_id=definition.id, process_key=key, version=1,
                       status=status, created_at=created, ended_at=ended))


def review(engine: Engine, now: datetime) -> ProcessFigures:
    [figures] = [f for f in process_figures(engine._core.db, 14, now)
                 if f.process_key == "review"]
    return figures


def seen(f: ProcessFigures) -> tuple[object, ...]:
    return (f.started, f.started_completed, f.completed, f.avg_seconds, f.p95_seconds,
            [(d.day.isoformat(), d.completed, d.avg_seconds, d.p95_seconds)
             for d in f.days if d.completed])


def test_figures_are_the_same_from_the_tail_from_the_rollup_and_after_the_cleanup(
        engine: Engine) -> None:
    # day 1: two completed (10 s and 30 s); day 2: one completed (100 s) started on day 1,
    # one terminated, one in an incident, one waiting; long before the window: one completed
    add(engine, "a", "completed", T0, T0 + timedelta(seconds=10))
    add(engine, "b", "completed", T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=30))
    add(engine, "c", "completed", T0 + timedelta(hours=20),
        T0 + timedelta(hours=20, seconds=100))
    add(engine, "d", "terminated", T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1))
    add(engine, "e", "incident", T0 + timedelta(days=1, hours=2))
    add(engine, "old", "completed", T0 - timedelta(days=40),
        T0 - timedelta(days=40) + timedelta(seconds=5))
    now = T0 + timedelta(days=2)
    day1, day2 = T0.date().isoformat(), (T0 + timedelta(days=1)).date().isoformat()
    expected = (5, 3, 3, 140 / 3, 100.0,
                [(day1, 2, 20.0, 30.0), (day2, 1, 100.0, 100.0)])
    # read from the tail before the first rollup, and from day_figures after it: the same
    assert seen(review(engine, T0 + timedelta(days=1, hours=3))) == expected
    first = seen(review(engine, now))
    assert first == expected
    with engine._core.db.read() as s:  # at most one row per process and day
        assert s.scalar(select(func.count()).select_from(DayFigure)
                        .where(DayFigure.process_key == "review")) == 3
    assert seen(review(engine, now)) == first  # rolled up once, not twice
    with engine._core.db.write() as s:  # the history cleanup removes them: the days keep them
        delete_instances(s, [["a", "b", "c", "d", "old"]])
    assert seen(review(engine, now + timedelta(minutes=10))) == first


def test_figures_right_after_a_start_a_completion_and_an_incident(
        engine: Engine, drain: Callable[..., None], system: FakeSystem) -> None:
    before = {f.process_key: f for f in engine.history.process_figures(14)}
    done = engine.runtime.start("auto_steps", None, {"lines": [{"qty": 1, "price": 10.0}]},
                                wait=5)
    assert done.status == "completed"
    system.fail_times = 3
    failing = engine.runtime.start("review", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(failing.id)
    engine.tasks.complete(task.id, "fiona", {"decision": "approve", "amount": 1}, wait=1)
    drain(lambda: engine.runtime.instance(failing.id).status == "incident")
    after = {f.process_key: f for f in engine.history.process_figures(14)}
    old = before.get("auto_steps") or ProcessFigures("auto_steps")
    auto = after["auto_steps"]
    assert (auto.started, auto.completed, auto.started_completed) == (
        old.started + 1, old.completed + 1, old.started_completed + 1)
    assert auto.days[-1].completed == (old.days[-1].completed if old.days else 0) + 1
    assert auto.p95_seconds is not None and auto.avg_seconds is not None
    old_review = before.get("review") or ProcessFigures("review")
    assert (after["review"].started, after["review"].completed) == (
        old_review.started + 1, old_review.completed)  # the incident: started, not completed
    stats = engine.management.stats()
    assert ("review", "incident", 1) in [tuple(r) for r in stats["instances"]]


def test_the_p95_is_read_from_the_histogram_within_ten_percent_and_never_below() -> None:
    values = [0.0005, 0.02, 1.0, 1.7, 3.0, 59.0, 60.0, 61.0, 3600.0, 86400.0 * 3]
    for pct in (50, 95, 99, 100):
        day = daily.Day()
        for v in values * 7:
            day.add_duration(v)
        exact = percentile(values * 7, pct)
        assert exact is not None
        read = day.percentile(pct)
        assert read is not None and exact <= read <= max(exact * 1.1, 0.001), pct
    assert daily.Day().percentile(95) is None


def test_two_rollups_of_the_same_range_add_it_once(engine: Engine) -> None:
    add(engine, "a", "completed", T0, T0 + timedelta(seconds=10))
    db = engine._core.db
    daily.roll_up(db, T0 + timedelta(days=1))
    daily.roll_up(db, T0 + timedelta(days=1))  # the watermark is there: nothing added
    statistics.roll_up(db, T0 + timedelta(days=1))
    with db.read() as s:
        row = s.get(DayFigure, (T0.date(), "review"))
        assert row is not None
        assert (row.started, row.started_completed, row.completed, row.seconds) == (
            1, 1, 1, 10.0)


def test_live_counts_are_at_most_five_seconds_old_on_the_dashboard(engine: Engine) -> None:
    db = engine._core.db
    age = statistics.LIVE_MAX_AGE

    def waiting(now: datetime, max_age: timedelta = age) -> int:
        rows = statistics.totals(db, now, live_max_age=max_age)["instances"]
        return sum(n for key, status, n in rows if (key, status) == ("review", "waiting"))

    now = T0 + timedelta(days=1)
    assert waiting(now) == 0
    add(engine, "live", "waiting", now)
    assert waiting(now + age / 2) == 0  # counted again only once the count is that old
    assert waiting(now + age / 2, timedelta(0)) == 1  # asked for exact: counted now
    assert waiting(now + age * 2) == 1
