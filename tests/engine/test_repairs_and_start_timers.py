"""Timer start events (cycles) and the admin's token move back to an earlier task."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine.errors import ConflictError, InvalidInputError
from engine.models import Job
from engine.service import Engine

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
    with engine.db.read() as s:
        return list(s.scalars(select(Job).where(Job.kind == "start_timer")))


def test_a_timer_cycle_starts_instances_on_time_and_stops_after_its_repetitions(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.deploy({"tick.bpmn": CYCLE_BPMN.format(cycle="R2/PT1S").encode()})
    # nothing starts at deployment: the first start is one period later
    assert engine.list_instances(process_key="tick").total == 0
    [job] = _start_timer_jobs(engine)
    assert job.due_at is not None
    deployed_at = time.monotonic()
    drain(lambda: engine.list_instances(process_key="tick", status="completed").total == 2,
          timeout=10)
    assert time.monotonic() - deployed_at >= 1.5  # two periods of one second, not at once
    assert _start_timer_jobs(engine) == []  # R2: done after two
    first = engine.list_instances(process_key="tick").items[0]
    assert first.started_by == "timer" and first.variables["ticked"] is True


def test_redeploying_replaces_the_cycle_instead_of_adding_one(engine: Engine) -> None:
    engine.deploy({"tick.bpmn": CYCLE_BPMN.format(cycle="R/PT1H").encode()})
    engine.deploy({"tick.bpmn": CYCLE_BPMN.format(cycle="0 2 * * *").encode()})
    [job] = _start_timer_jobs(engine)
    assert job.payload["expression"] == "0 2 * * *"
    assert (job.due_at.hour, job.due_at.minute) == (2, 0)  # the next 02:00 UTC


def test_moving_the_token_back_reopens_the_earlier_task(engine: Engine,
                                                       drain: Callable[..., None]) -> None:
    inst = engine.start("two_steps", "offer-1", {}, wait=5)
    [prepare] = engine.open_tasks_of(inst.id)
    engine.complete(prepare.id, "sam", {"price": 100}, wait=5)
    [approve] = engine.open_tasks_of(inst.id)
    assert approve.element_id == "approve"

    engine.move_token(inst.id, "prepare", actor="admin")
    drain(lambda: [t.element_id for t in engine.open_tasks_of(inst.id)] == ["prepare"])
    [again] = engine.open_tasks_of(inst.id)
    assert again.id != prepare.id and again.candidate_groups == ["sales"]
    assert engine.task(approve.id).status == "cancelled"
    moved = [e for e in engine.events_of(inst.id) if e.type == "token_moved"]
    assert [(e.element_id, e.actor) for e in moved] == [("prepare", "admin")]

    engine.complete(again.id, "sam", {"price": 90}, wait=5)
    [approve2] = engine.open_tasks_of(inst.id)
    engine.complete(approve2.id, "fiona", {}, wait=5)
    done = engine.instance(inst.id)
    assert done.status == "completed" and done.variables["price"] == 90


def test_a_token_cannot_move_to_an_element_never_reached_or_out_of_a_finished_instance(
        engine: Engine) -> None:
    inst = engine.start("two_steps", None, {}, wait=5)
    with pytest.raises(InvalidInputError, match="never reached 'approve'"):
        engine.move_token(inst.id, "approve")
    engine.terminate(inst.id, actor="admin")
    with pytest.raises(ConflictError, match="terminated"):
        engine.move_token(inst.id, "prepare")
