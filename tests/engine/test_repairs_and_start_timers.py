"""Timer start events (cycles) and the admin's token move back to an earlier task."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine import Engine
from engine.errors import ConflictError, InvalidInputError
from engine.models import Job

CYCLE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bridgeflow.dev/test">
  <bpmn:process id="tick" name="Tick" isExecutable="true">
    <bpmn:startEvent id="every_second">
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td"><bpmn:timeCycle>{cycle}</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:scriptTask id="count" name="Count" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>ticked = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="every_second" targetRef="count"/>
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _start_timer_jobs(engine: Engine) -> list[Job]:
    with engine._core.db.read() as s:
        return list(s.scalars(select(Job).where(Job.kind == "start_timer")))


def test_a_timer_cycle_starts_instances_on_time_and_stops_after_its_repetitions(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"tick.bpmn": CYCLE_BPMN.format(cycle="R2/PT1S").encode()})
    # nothing starts at deployment: the first start is one period later
    assert engine.runtime.list_instances(process_key="tick").total == 0
    [job] = _start_timer_jobs(engine)
    assert job.due_at is not None
    deployed_at = time.monotonic()
    drain(lambda: engine.runtime.list_instances(process_key="tick", status="completed").total == 2,
          timeout=10)
    assert time.monotonic() - deployed_at >= 1.5  # two periods of one second, not at once
    assert _start_timer_jobs(engine) == []  # R2: done after two
    first = engine.runtime.list_instances(process_key="tick").items[0]
    assert first.started_by == "timer" and first.variables["ticked"] is True


def test_a_cycle_whose_start_keeps_failing_is_tried_later_never_dropped(
        engine: Engine, drain: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    from engine import executor

    engine.repository.deploy({"tick.bpmn": CYCLE_BPMN.format(cycle="R/PT1S").encode()})

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database full")

    monkeypatch.setattr(executor, "create_instance", broken)
    drain(lambda: (_start_timer_jobs(engine) or [Job()])[0].last_error is not None
          and _start_timer_jobs(engine)[0].attempts == 0, timeout=10)
    [job] = _start_timer_jobs(engine)  # still there after its retries ran out
    assert "database full" in (job.last_error or "")
    assert job.locked_by is None and job.due_at is not None
    assert engine.runtime.list_instances(process_key="tick").total == 0


def test_redeploying_replaces_the_cycle_instead_of_adding_one(engine: Engine) -> None:
    engine.repository.deploy({"tick.bpmn": CYCLE_BPMN.format(cycle="R/PT1H").encode()})
    engine.repository.deploy({"tick.bpmn": CYCLE_BPMN.format(cycle="0 2 * * *").encode()})
    [job] = _start_timer_jobs(engine)
    assert job.payload["expression"] == "0 2 * * *"
    assert (job.due_at.hour, job.due_at.minute) == (2, 0)  # the next 02:00 UTC


def test_moving_the_token_back_reopens_the_earlier_task(engine: Engine,
                                                       drain: Callable[..., None]) -> None:
    inst = engine.runtime.start("two_steps", "offer-1", {}, wait=5)
    [prepare] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(prepare.id, "sam", {"price": 100}, wait=5)
    [approve] = engine.tasks.open_tasks_of(inst.id)
    assert approve.element_id == "approve"

    engine.management.move_token(inst.id, "prepare", actor="admin")
    drain(lambda: [t.element_id for t in engine.tasks.open_tasks_of(inst.id)] == ["prepare"])
    [again] = engine.tasks.open_tasks_of(inst.id)
    assert again.id != prepare.id and again.candidate_groups == ["sales"]
    assert engine.tasks.task(approve.id).status == "cancelled"
    moved = [e for e in engine.history.events_of(inst.id) if e.type == "token_moved"]
    assert [(e.element_id, e.actor) for e in moved] == [("prepare", "admin")]

    engine.tasks.complete(again.id, "sam", {"price": 90}, wait=5)
    [approve2] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(approve2.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed" and done.variables["price"] == 90


def test_a_token_cannot_move_to_an_element_never_reached_or_out_of_a_finished_instance(
        engine: Engine) -> None:
    inst = engine.runtime.start("two_steps", None, {}, wait=5)
    with pytest.raises(InvalidInputError, match="never reached 'approve'"):
        engine.management.move_token(inst.id, "approve")
    engine.management.terminate(inst.id, actor="admin")
    with pytest.raises(ConflictError, match="terminated"):
        engine.management.move_token(inst.id, "prepare")


TWO_STARTS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2"
                  targetNamespace="http://bridgeflow.dev/test">
  <bpmn:process id="nightly" name="Nightly or by hand" isExecutable="true">
    <bpmn:startEvent id="by_hand"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:startEvent id="at_two">
      <bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td2"><bpmn:timeCycle>0 2 * * *</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:scriptTask id="work" name="Work" scriptFormat="python">
      <bpmn:incoming>a</bpmn:incoming><bpmn:incoming>b</bpmn:incoming>
      <bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>worked = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="done"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="by_hand" targetRef="work"/>
    <bpmn:sequenceFlow id="b" sourceRef="at_two" targetRef="work"/>
    <bpmn:sequenceFlow id="c" sourceRef="work" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_cron_start_and_a_manual_start_each_run_their_own_path_once(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"nightly.bpmn": TWO_STARTS.encode()})
    by_hand = engine.runtime.start("nightly", None, {}, wait=5)
    assert by_hand.status == "completed"  # the timer start does not keep it waiting
    steps = [e.element_id for e in engine.history.events_of(by_hand.id) if e.type == "step"]
    assert "by_hand" in steps and "at_two" not in steps
    [job] = _start_timer_jobs(engine)
    with engine._core.db.write() as s:  # it is 02:00 now, as far as the job is concerned
        row = s.get(Job, job.id)
        assert row is not None
        row.due_at = row.due_at.replace(year=2000)
    drain(lambda: engine.runtime.list_instances(process_key="nightly").total == 2)
    drain()
    [timed] = [i for i in engine.runtime.list_instances(process_key="nightly").items
               if i.started_by == "timer"]
    assert timed.status == "completed"
    steps = [e.element_id for e in engine.history.events_of(timed.id) if e.type == "step"]
    assert steps.count("work") == 1 and "at_two" in steps and "by_hand" not in steps
    [again] = _start_timer_jobs(engine)  # and the next night is scheduled
    assert again.due_at > row.due_at and (again.due_at.hour, again.due_at.minute) == (2, 0)
