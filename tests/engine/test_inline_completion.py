"""Completing a task with ``wait``: at once in one transaction, or by its job when busy."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from engine import ConflictError, Engine
from engine.models import Event, Job, utcnow
from engine.models import Instance as InstanceRow
from engine.round_trips import count
from engine.vocabulary import JobKind


def _started(engine: Engine) -> tuple[str, str]:
    inst = engine.runtime.start("two_steps", "offer-1", {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.element_id == "prepare"
    return inst.id, task.id


def _open_elements(engine: Engine, instance_id: str) -> list[str]:
    return [t.element_id for t in engine.tasks.open_tasks_of(instance_id)]


def _completions(engine: Engine, instance_id: str) -> list[Event]:
    return [e for e in engine.history.events_of(instance_id) if e.type == "task_completed"]


def test_an_idle_instance_moves_on_in_two_transactions_without_a_job(engine: Engine) -> None:
    instance_id, task_id = _started(engine)
    with count(engine._core.db.sql_engine) as seen:
        done = engine.tasks.complete(task_id, "fiona", {}, wait=5)
    assert done.status == "completed" and done.completed_by == "fiona"
    assert seen.transactions == 2, seen.sql
    assert _open_elements(engine, instance_id) == ["approve"]
    assert engine.runtime.instance(instance_id).status == "waiting"
    [completed] = _completions(engine, instance_id)
    assert completed.actor == "fiona" and completed.data["task_id"] == task_id
    with engine._core.db.read() as s:
        assert s.scalar(select(Job.id).where(Job.instance_id == instance_id)) is None


def test_a_busy_instance_falls_back_to_the_job(engine: Engine,
                                               drain: Callable[..., None]) -> None:
    instance_id, task_id = _started(engine)
    with engine._core.db.write() as s:  # a worker holds the instance
        s.execute(update(InstanceRow).where(InstanceRow.id == instance_id).values(
            locked_by="other-worker", locked_until=utcnow() + timedelta(seconds=30)))
    done = engine.tasks.complete(task_id, "fiona", {}, wait=0.2)
    assert done.status == "completed"  # accepted: its job moves the instance on later
    assert _open_elements(engine, instance_id) == []
    with engine._core.db.read() as s:
        kinds = list(s.scalars(select(Job.kind).where(Job.instance_id == instance_id)))
    assert kinds == [JobKind.COMPLETE_TASK]
    with engine._core.db.write() as s:  # the other worker lets go
        s.execute(update(InstanceRow).where(InstanceRow.id == instance_id)
                  .values(locked_by=None, locked_until=None))
    drain(lambda: _open_elements(engine, instance_id) == ["approve"])
    assert len(_completions(engine, instance_id)) == 1


def test_a_failure_inside_the_inline_run_leaves_the_completion_to_the_job(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    instance_id, task_id = _started(engine)
    executor = engine._core.executor
    real_drive = executor._drive
    runs: list[int] = []

    def broken_once(adv: Any, calls: bool = True) -> Any:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("a bug in our own code")
        return real_drive(adv, calls)

    monkeypatch.setattr(executor, "_drive", broken_once)
    done = engine.tasks.complete(task_id, "fiona", {}, wait=5)
    assert done.status == "completed"
    assert _open_elements(engine, instance_id) == ["approve"]  # the job ran it here
    assert len(_completions(engine, instance_id)) == 1  # the failed inline wrote nothing


def test_two_concurrent_completions_one_wins(engine: Engine) -> None:
    instance_id, task_id = _started(engine)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete(user: str) -> None:
        barrier.wait()
        try:
            engine.tasks.complete(task_id, user, {}, wait=5)
            outcomes.append("done")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=complete, args=(u,)) for u in ("fiona", "sam")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "done"]
    assert _open_elements(engine, instance_id) == ["approve"]
    assert len(_completions(engine, instance_id)) == 1
    assert engine.runtime.instance(instance_id).revision == 2


def test_a_completion_whose_instance_moved_meanwhile_is_refused_once(engine: Engine) -> None:
    """The instance is read, then completed by someone else before the inline write."""
    instance_id, task_id = _started(engine)
    executor = engine._core.executor
    real = executor.snapshot_if_waiting

    def read_then_race(row: Any, busy: bool, now: Any) -> Any:
        snapshot = real(row, busy, now)
        racing = threading.Thread(target=lambda: engine.tasks.complete(task_id, "sam", {},
                                                                       wait=5))
        executor.snapshot_if_waiting = real  # type: ignore[method-assign]
        racing.start()
        racing.join(30)
        return snapshot

    executor.snapshot_if_waiting = read_then_race  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        engine.tasks.complete(task_id, "fiona", {}, wait=5)
    assert engine.tasks.task(task_id).completed_by == "sam"
    assert _open_elements(engine, instance_id) == ["approve"]
    assert len(_completions(engine, instance_id)) == 1


def test_a_completion_without_wait_answers_with_the_row_it_wrote(engine: Engine) -> None:
    instance_id, task_id = _started(engine)
    with count(engine._core.db.sql_engine) as seen:
        done = engine.tasks.complete(task_id, "fiona", {"note": "ok"})
    assert seen.transactions == 1, seen.sql  # no read-back
    stored = engine.tasks.task(task_id)
    for row in (done, stored):
        assert (row.status, row.completed_by, row.assignee) == ("completed", "fiona", "fiona")
        assert row.completed_at is not None
    assert done.completion_data == stored.completion_data
    assert _open_elements(engine, instance_id) == []  # a worker moves it on later
