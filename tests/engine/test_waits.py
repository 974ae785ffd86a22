"""Timers and messages: instances wait for them and move on when they come."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Engine
from engine.errors import ConflictError, DefinitionError, NotFoundError


def test_intermediate_timer_fires_and_boundary_timer_escalates_without_interrupting(
        engine: Engine, drain: Callable[..., None]) -> None:
    inst = engine.runtime.start("timers", None, {}, wait=5)
    assert inst.active_elements == ["wait_a_second"]
    drain(lambda: [t.element_id for t in engine.tasks.open_tasks_of(inst.id)] == ["approve"],
          timeout=10)
    drain(lambda: len(engine.tasks.open_tasks_of(inst.id)) == 2, timeout=10)
    tasks = {t.element_id: t for t in engine.tasks.open_tasks_of(inst.id)}
    assert tasks["escalate"].candidate_groups == ["finance-manager"]
    engine.tasks.complete(tasks["approve"].id, "fiona", {}, wait=5)
    # Non-interrupting: the escalation is a token of its own and still has to be done.
    assert engine.runtime.instance(inst.id).status == "waiting"
    assert [t.element_id for t in engine.tasks.open_tasks_of(inst.id)] == ["escalate"]
    engine.tasks.complete(tasks["escalate"].id, "maria", {}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"
    types = [e.type for e in engine.history.events_of(inst.id)]
    assert types.count("timer_fired") == 2


def test_message_reaches_the_waiting_instance_by_business_key(engine: Engine,
                                                              drain: Callable[..., None]) -> None:
    a = engine.runtime.start("wait_for_restock", "order-a", {}, wait=5)
    b = engine.runtime.start("wait_for_restock", "order-b", {}, wait=5)
    with pytest.raises(ConflictError, match="2 instances wait"):
        engine.runtime.send_message("stock_replenished")
    with pytest.raises(NotFoundError):
        engine.runtime.send_message("stock_replenished", business_key="order-zzz")
    result = engine.runtime.send_message("stock_replenished", business_key="order-a",
                                 variables={"restocked_qty": 5})
    assert result.delivered_to == [a.id]
    drain()
    assert engine.runtime.instance(a.id).status == "completed"
    assert engine.runtime.instance(a.id).variables["restocked_qty"] == 5
    assert engine.runtime.instance(b.id).status == "waiting"
    with pytest.raises(NotFoundError):  # delivered once; the subscription is gone
        engine.runtime.send_message("stock_replenished", business_key="order-a")


def test_message_start_event_starts_the_process(engine: Engine, drain: Callable[..., None]) -> None:
    result = engine.runtime.send_message("order_created", business_key="crm-801",
                                 variables={"order_id": "801"})
    [started] = result.started
    drain()
    inst = engine.runtime.instance(started)
    assert (inst.process_key, inst.status, inst.business_key) == ("order_intake", "completed",
                                                                  "crm-801")
    assert inst.variables["noted"] == "801"


def test_a_thrown_message_reaches_another_instance(engine: Engine,
                                                   drain: Callable[..., None]) -> None:
    waiting = engine.runtime.start("wait_for_restock", "sku-1", {}, wait=5)
    engine.runtime.start("announce_restock", "sku-1", {}, wait=5)
    drain()
    assert engine.runtime.instance(waiting.id).status == "completed"


def test_a_broken_upload_lists_every_problem_and_stores_nothing(engine: Engine) -> None:
    before = len(engine.repository.list_definitions())
    broken = (b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn='
              b'"http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">\n'
              b'<bpmn:process id="bad" isExecutable="true">\n'
              b'<bpmn:startEvent id="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
              b'<bpmn:scriptTask id="evil" scriptFormat="python">'
              b'<bpmn:incoming>f1</bpmn:incoming>\n'
              b'<bpmn:script>import os</bpmn:script></bpmn:scriptTask>\n'
              b'<bpmn:serviceTask id="java_call" camunda:class="x.Y" '
              b'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"/>\n'
              b'<bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="evil"/>\n'
              b'</bpmn:process></bpmn:definitions>')
    with pytest.raises(DefinitionError) as err:
        engine.repository.deploy({"bad.bpmn": broken, "notes.txt": b"hello",
                       "bad.dmn": b"<definitions/>"})
    problems = {(p.file, p.element_id): p for p in err.value.problems}
    assert problems[("bad.bpmn", "Start")].line == 4
    assert "reserved" in problems[("bad.bpmn", "Start")].message
    assert "not allowed" in problems[("bad.bpmn", "evil")].message
    assert problems[("bad.bpmn", "evil")].line == 5
    assert "Java" in problems[("bad.bpmn", "java_call")].message
    assert ("notes.txt", None) in problems
    assert any(p.file == "bad.dmn" for p in err.value.problems)
    assert len(engine.repository.list_definitions()) == before


def test_not_xml_is_refused_with_the_line(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as err:
        engine.repository.deploy({"x.bpmn": b"<bpmn:definitions>\n<oops"})
    [problem] = err.value.problems
    assert problem.file == "x.bpmn" and problem.line is not None
    assert "not well-formed XML" in problem.message


def test_unknown_operation_is_refused_at_deploy_time(engine: Engine) -> None:
    source = engine.repository.definition("review").source.replace("test.record", "erp.nothing")
    with pytest.raises(DefinitionError, match="unknown operation 'erp.nothing'"):
        engine.repository.deploy({"review.bpmn": source.encode()})


def test_a_message_replaces_variables_of_the_same_name_instead_of_merging(
        engine: Engine, drain: Callable[..., None]) -> None:
    inst = engine.runtime.start("wait_for_restock", "order-m",
                                {"restock": {"qty": 1, "note": "old"}}, wait=5)
    engine.runtime.send_message("stock_replenished", business_key="order-m",
                        variables={"restock": {"qty": 5}})
    drain()
    assert engine.runtime.instance(inst.id).variables["restock"] == {"qty": 5}


def _waits_of(engine: Engine, instance_id: str) -> tuple[list[str], list[str]]:
    from sqlalchemy import select

    from engine.models import Job, MessageSubscription

    with engine._core.db.read() as s:
        subs = list(s.scalars(select(MessageSubscription.message_name).where(
            MessageSubscription.instance_id == instance_id)))
        timers = list(s.scalars(select(Job.kind).where(Job.instance_id == instance_id,
                                                       Job.kind == "timer")))
    return subs, timers


def test_an_event_based_gateway_takes_the_message_when_it_comes_first(
        engine: Engine, drain: Callable[..., None]) -> None:
    inst = engine.runtime.start("race", "r-1", {}, wait=5)
    assert inst.status == "waiting"
    assert _waits_of(engine, inst.id) == (["go_ahead"], ["timer"])
    engine.runtime.send_message("go_ahead", business_key="r-1", variables={"by": "crm"})
    drain()
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed" and done.variables["by"] == "crm"
    steps = [e.element_id for e in engine.history.events_of(inst.id) if e.type == "step"]
    assert "went_ahead" in steps and "gave_up" not in steps
    assert _waits_of(engine, inst.id) == ([], [])


def test_an_event_based_gateway_takes_the_timer_when_nothing_comes(
        engine: Engine, drain: Callable[..., None]) -> None:
    inst = engine.runtime.start("race", "r-2", {}, wait=5)
    drain(lambda: engine.runtime.instance(inst.id).status == "completed", timeout=10)
    steps = [e.element_id for e in engine.history.events_of(inst.id) if e.type == "step"]
    assert "gave_up" in steps and "went_ahead" not in steps
    assert _waits_of(engine, inst.id) == ([], [])
    with pytest.raises(NotFoundError):  # nobody waits for it any more
        engine.runtime.send_message("go_ahead", business_key="r-2")
