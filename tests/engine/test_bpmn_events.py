"""Errors, escalations, conditions and timers as Camunda 7 runs them, scope by scope.

Each runs through the engine fixture: on SQLite and PostgreSQL, with the workflow saved and
restored between every step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from engine import DefinitionError, Engine
from tests.engine import bpmn_files
from tests.engine.bpmn_files import steps as _steps

HEAD = bpmn_files.HEAD + """  <bpmn:error id="err_fraud" name="Fraud" errorCode="FRAUD"/>
  <bpmn:error id="err_short" name="Stock short" errorCode="stock_short"/>
  <bpmn:escalation id="esc_late" name="Late" escalationCode="LATE"/>
  <bpmn:escalation id="esc_other" name="Other" escalationCode="OTHER"/>
"""


def _file(key: str, body: str) -> bytes:
    return bpmn_files.process_file(key, body, HEAD)


def _open(engine: Engine, instance_id: str) -> list[str]:
    return sorted(t.element_id for t in engine.tasks.open_tasks_of(instance_id))


def _script(element_id: str, code: str) -> str:
    return (f'<bpmn:scriptTask id="{element_id}" scriptFormat="python">'
            f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


def _event_subprocess(sub_id: str, start: str, body_id: str, code: str,
                      interrupting: bool = True) -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    return f"""
  <bpmn:subProcess id="{sub_id}" triggeredByEvent="true">
    <bpmn:startEvent id="{sub_id}_start"{flag}>{start}</bpmn:startEvent>
    <bpmn:sequenceFlow id="{sub_id}_f1" sourceRef="{sub_id}_start" targetRef="{body_id}"/>
    {_script(body_id, code)}
    <bpmn:sequenceFlow id="{sub_id}_f2" sourceRef="{body_id}" targetRef="{sub_id}_end"/>
    <bpmn:endEvent id="{sub_id}_end"/>
  </bpmn:subProcess>"""


# -- error event subprocesses ------------------------------------------------------------------

def _fraud_check(error_start: str) -> bytes:
    """A subprocess that throws FRAUD for a high score; no boundary event, an error event
    subprocess on the process instead (and a review task left open on a parallel path)."""
    return _file("fraud_check", f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="review"/>
  <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="check"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="join"/>
  <bpmn:subProcess id="check">
    <bpmn:startEvent id="check_start"/>
    <bpmn:sequenceFlow id="c1" sourceRef="check_start" targetRef="looks_bad"/>
    <bpmn:exclusiveGateway id="looks_bad" default="c3"/>
    <bpmn:sequenceFlow id="c2" sourceRef="looks_bad" targetRef="fraud">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${{score &gt; 80}}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="c3" sourceRef="looks_bad" targetRef="check_end"/>
    <bpmn:endEvent id="fraud"><bpmn:errorEventDefinition errorRef="err_fraud"/></bpmn:endEvent>
    <bpmn:endEvent id="check_end"/>
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f5" sourceRef="check" targetRef="join"/>
  <bpmn:parallelGateway id="join"/>
  <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="ok"/>
  {_script("ok", 'outcome = "ok"')}
  <bpmn:sequenceFlow id="f7" sourceRef="ok" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  {_event_subprocess("on_error", error_start, "blocked", 'outcome = "blocked"')}
""")


@pytest.mark.parametrize("error_start", [
    '<bpmn:errorEventDefinition errorRef="err_fraud"/>',
    "<bpmn:errorEventDefinition/>",
], ids=["by_code", "catch_all"])
def test_an_uncaught_error_end_event_starts_the_error_event_subprocess(
        engine: Engine, error_start: str) -> None:
    engine.repository.deploy({"fraud_check.bpmn": _fraud_check(error_start)})
    inst = engine.runtime.start("fraud_check", None, {"score": 95}, wait=5)
    assert inst.status == "completed"
    assert inst.variables["outcome"] == "blocked"
    steps = _steps(engine, inst.id)
    assert "fraud" in steps and "blocked" in steps and "ok" not in steps
    assert _open(engine, inst.id) == []  # interrupting: the review on the other path is gone


def test_no_error_leaves_the_error_event_subprocess_unstarted(engine: Engine) -> None:
    bpmn = _fraud_check('<bpmn:errorEventDefinition errorRef="err_fraud"/>')
    engine.repository.deploy({"fraud_check.bpmn": bpmn})
    inst = engine.runtime.start("fraud_check", None, {"score": 10}, wait=5)
    assert (inst.status, _open(engine, inst.id)) == ("waiting", ["review"])
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables["outcome"]) == ("completed", "ok")
    assert "blocked" not in _steps(engine, inst.id)


def test_an_error_event_subprocess_for_another_code_does_not_catch(engine: Engine) -> None:
    other = '<bpmn:errorEventDefinition errorRef="err_short"/>'
    engine.repository.deploy({"fraud_check.bpmn": _fraud_check(other)})
    inst = engine.runtime.start("fraud_check", None, {"score": 95}, wait=5)
    # Camunda 7: an error end event nobody catches ends its path like a none end event
    assert (inst.status, _open(engine, inst.id)) == ("waiting", ["review"])
    assert "blocked" not in _steps(engine, inst.id)


NESTED_ERRORS = _file("nested_errors", f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="outer"/>
  <bpmn:subProcess id="outer">
<bpmn:startEvent id="outer_start"/>
<bpmn:sequenceFlow id="o1" sourceRef="outer_start" targetRef="throw"/>
<bpmn:endEvent id="throw"><bpmn:errorEventDefinition errorRef="err_fraud"/></bpmn:endEvent>
{_event_subprocess("inner_any", "<bpmn:errorEventDefinition/>", "inner_any_note",
                   'caught_by = "inner catch-all"')}
{_event_subprocess("inner_code", '<bpmn:errorEventDefinition errorRef="err_fraud"/>',
                   "inner_code_note", 'caught_by = "inner by code"')}
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f2" sourceRef="outer" targetRef="after"/>
  {_script("after", 'went_on = True')}
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  {_event_subprocess("process_level", '<bpmn:errorEventDefinition errorRef="err_fraud"/>',
                 "process_note", 'caught_by = "process"')}
""")


def test_the_error_code_beats_a_catch_all_and_the_inner_scope_beats_the_outer(
        engine: Engine) -> None:
    engine.repository.deploy({"nested_errors.bpmn": NESTED_ERRORS})
    inst = engine.runtime.start("nested_errors", None, {}, wait=5)
    assert inst.status == "completed"
    assert inst.variables["caught_by"] == "inner by code"
    # the subprocess's own event subprocess handled it: the subprocess then ends normally
    assert inst.variables["went_on"] is True
    steps = _steps(engine, inst.id)
    assert "inner_any_note" not in steps and "process_note" not in steps


STOCK_ORDER = _file("stock_order", f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check_stock"/>
  <bpmn:serviceTask id="check_stock" camunda:type="external" camunda:topic="test.stock"
      camunda:resultVariable="stock">
    <bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="qty">${{qty}}</camunda:inputParameter>
    </camunda:inputOutput></bpmn:extensionElements>
  </bpmn:serviceTask>
  <bpmn:sequenceFlow id="f2" sourceRef="check_stock" targetRef="reserve"/>
  {_script("reserve", 'outcome = "reserved"')}
  <bpmn:sequenceFlow id="f3" sourceRef="reserve" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  {_event_subprocess("on_short", '<bpmn:errorEventDefinition errorRef="err_short"/>',
                     "restock", 'outcome = "restock: " + error_message')}
""")


def test_a_connector_business_error_starts_the_error_event_subprocess(engine: Engine) -> None:
    engine.repository.deploy({"stock_order.bpmn": STOCK_ORDER})
    inst = engine.runtime.start("stock_order", None, {"qty": 50}, wait=5)
    inst = engine.runtime.wait_for(inst.id, 5)
    assert inst.status == "completed", engine.management.incidents_of(inst.id)
    assert inst.variables["outcome"] == "restock: only 10 in stock"
    assert inst.variables["error_code"] == "stock_short"
    assert "reserve" not in _steps(engine, inst.id)
    assert engine.management.incidents_of(inst.id) == []


def test_a_connector_business_error_nobody_catches_is_an_incident(engine: Engine) -> None:
    other = STOCK_ORDER.replace(b'errorRef="err_short"', b'errorRef="err_fraud"')
    engine.repository.deploy({"stock_order.bpmn": other})
    inst = engine.runtime.start("stock_order", None, {"qty": 50}, wait=5)
    inst = engine.runtime.wait_for(inst.id, 5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "check_stock" and "stock_short" in incident.message


@pytest.mark.parametrize(("start", "where", "message"), [
    ('<bpmn:startEvent id="bad_start" isInterrupting="false">'
     '<bpmn:errorEventDefinition errorRef="err_fraud"/></bpmn:startEvent>', "event subprocess",
     "an error start event is always interrupting"),
    ('<bpmn:startEvent id="bad_start"><bpmn:errorEventDefinition errorRef="err_fraud"/>'
     "</bpmn:startEvent>", "process", "an error start event can only start an event subprocess"),
    ('<bpmn:startEvent id="bad_start"><bpmn:escalationEventDefinition escalationRef="esc_late"/>'
     "</bpmn:startEvent>", "process",
     "an escalation start event can only start an event subprocess"),
    ('<bpmn:startEvent id="bad_start"><bpmn:conditionalEventDefinition><bpmn:condition '
     'xsi:type="bpmn:tFormalExpression">${x &gt; 1}</bpmn:condition>'
     "</bpmn:conditionalEventDefinition></bpmn:startEvent>", "process",
     "a conditional start event can only start an event subprocess"),
], ids=["non_interrupting_error", "error_process_start", "escalation_process_start",
        "conditional_process_start"])
def test_a_start_event_that_cannot_start_is_refused_at_deploy(
        engine: Engine, start: str, where: str, message: str) -> None:
    flows = ('<bpmn:sequenceFlow id="b1" sourceRef="bad_start" targetRef="bad_end"/>'
             '<bpmn:endEvent id="bad_end"/>')
    if where == "process":
        body = start + flows
    else:
        body = ('<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" '
                'targetRef="end"/><bpmn:endEvent id="end"/>'
                f'<bpmn:subProcess id="side" triggeredByEvent="true">{start}{flows}'
                "</bpmn:subProcess>")
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"refused.bpmn": _file("refused", body)})
    [problem] = [p for p in caught.value.problems if p.element_id == "bad_start"]
    assert problem.file == "refused.bpmn" and problem.line == 9
    assert problem.message.startswith(message)
    assert "<" not in problem.message and "0x" not in problem.message


# -- escalations -------------------------------------------------------------------------------

def _escalating(throw: str, catch: str) -> bytes:
    """A subprocess that raises LATE (intermediate throw, or end event) and then waits at a
    task; ``catch`` is a boundary event on it or an event subprocess of the process."""
    if throw == "intermediate":
        raising = ('<bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition '
                   'escalationRef="esc_late"/></bpmn:intermediateThrowEvent>'
                   '<bpmn:sequenceFlow id="h2" sourceRef="raise" targetRef="finish"/>'
                   '<bpmn:userTask id="finish" camunda:candidateGroups="ops"/>'
                   '<bpmn:sequenceFlow id="h3" sourceRef="finish" targetRef="h_end"/>'
                   '<bpmn:endEvent id="h_end"/>')
    else:
        raising = ('<bpmn:endEvent id="raise"><bpmn:escalationEventDefinition '
                   'escalationRef="esc_late"/></bpmn:endEvent>')
    return _file("escalating", f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle"/>
  <bpmn:subProcess id="handle">
    <bpmn:startEvent id="h_start"/>
    <bpmn:sequenceFlow id="h1" sourceRef="h_start" targetRef="raise"/>
    {raising}
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="after"/>
  {_script("after", 'went_on = True')}
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  {catch}
""")


def _boundary(interrupting: bool, ref: str = "esc_late") -> str:
    return f"""
  <bpmn:boundaryEvent id="on_late" attachedToRef="handle"
      cancelActivity="{'true' if interrupting else 'false'}">
    <bpmn:escalationEventDefinition escalationRef="{ref}"/>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="on_late" targetRef="notify"/>
  {_script("notify", 'notified = True')}
  <bpmn:sequenceFlow id="f5" sourceRef="notify" targetRef="end_notified"/>
  <bpmn:endEvent id="end_notified"/>"""


ESCALATION_START = '<bpmn:escalationEventDefinition escalationRef="esc_late"/>'


def test_an_escalation_end_event_is_caught_by_an_interrupting_boundary_event(
        engine: Engine) -> None:
    engine.repository.deploy({"escalating.bpmn": _escalating("end", _boundary(True))})
    inst = engine.runtime.start("escalating", None, {}, wait=5)
    assert (inst.status, inst.variables["notified"]) == ("completed", True)
    steps = _steps(engine, inst.id)
    assert "raise" in steps and "after" not in steps  # the subprocess was interrupted


def test_an_escalation_end_event_is_caught_by_a_non_interrupting_boundary_event(
        engine: Engine) -> None:
    engine.repository.deploy({"escalating.bpmn": _escalating("end", _boundary(False))})
    inst = engine.runtime.start("escalating", None, {}, wait=5)
    assert inst.status == "completed"
    assert (inst.variables["notified"], inst.variables["went_on"]) == (True, True)


@pytest.mark.parametrize("throw", ["intermediate", "end"])
def test_an_escalation_starts_a_non_interrupting_event_subprocess(
        engine: Engine, throw: str) -> None:
    catch = _event_subprocess("on_late", ESCALATION_START, "notify", "notified = True",
                              interrupting=False)
    engine.repository.deploy({"escalating.bpmn": _escalating(throw, catch)})
    inst = engine.runtime.start("escalating", None, {}, wait=5)
    assert "notify" in _steps(engine, inst.id)
    if throw == "intermediate":  # the thrower went on to its task, which is still open
        assert (inst.status, _open(engine, inst.id)) == ("waiting", ["finish"])
        [task] = engine.tasks.open_tasks_of(inst.id)
        engine.tasks.complete(task.id, "olga", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert (done.variables["notified"], done.variables["went_on"]) == (True, True)


def test_an_escalation_starts_an_interrupting_event_subprocess(engine: Engine) -> None:
    catch = _event_subprocess("on_late", ESCALATION_START, "notify", "notified = True")
    engine.repository.deploy({"escalating.bpmn": _escalating("intermediate", catch)})
    inst = engine.runtime.start("escalating", None, {}, wait=5)
    assert (inst.status, inst.variables["notified"]) == ("completed", True)
    assert _open(engine, inst.id) == []
    assert "finish" not in _steps(engine, inst.id) and "after" not in _steps(engine, inst.id)


@pytest.mark.parametrize("throw", ["intermediate", "end"])
def test_an_escalation_nobody_catches_is_ignored_and_the_path_goes_on(
        engine: Engine, throw: str) -> None:
    engine.repository.deploy({"escalating.bpmn": _escalating(throw, _boundary(True, "esc_other"))})
    inst = engine.runtime.start("escalating", None, {}, wait=5)
    if throw == "intermediate":
        assert (inst.status, _open(engine, inst.id)) == ("waiting", ["finish"])
        [task] = engine.tasks.open_tasks_of(inst.id)
        engine.tasks.complete(task.id, "olga", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables["went_on"]) == ("completed", True)
    assert "notify" not in _steps(engine, inst.id)
    assert engine.management.incidents_of(inst.id) == []


# -- conditional event subprocesses --------------------------------------------------------------

def _watched(interrupting: bool) -> bytes:
    condition = ('<bpmn:conditionalEventDefinition><bpmn:condition '
                 'xsi:type="bpmn:tFormalExpression">${amount &gt; 1000}</bpmn:condition>'
                 "</bpmn:conditionalEventDefinition>")
    return (HEAD + '<bpmn:message id="m_amended" name="order_amended"/>'
            + '<bpmn:process id="watched_amount" isExecutable="true">' + f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="amended"/>
  <bpmn:intermediateCatchEvent id="amended">
    <bpmn:messageEventDefinition messageRef="m_amended"/>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="amended" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  {_event_subprocess("on_big", condition, "flag", "flags = flags + 1", interrupting)}
</bpmn:process></bpmn:definitions>""").encode()


def test_a_conditional_event_subprocess_starts_when_a_task_sets_the_variable(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"watched_amount.bpmn": _watched(False)})
    inst = engine.runtime.start("watched_amount", "ORD-1", {"amount": 10, "flags": 0}, wait=5)
    assert (inst.status, _open(engine, inst.id)) == ("waiting", ["review"])
    assert "flag" not in _steps(engine, inst.id)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {"amount": 5000}, wait=5)
    after = engine.runtime.instance(inst.id)
    assert after.variables["flags"] == 1  # started once, by the change
    assert (after.status, after.active_elements) == ("waiting", ["amended"])  # not interrupted
    # a message raising the amount again while it stays above 1000: no second start
    engine.runtime.send_message("order_amended", business_key="ORD-1",
                                variables={"amount": 7000})
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(inst.id).variables["flags"] == 1


def test_a_message_that_sets_the_variable_starts_the_conditional_event_subprocess(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"watched_amount.bpmn": _watched(False)})
    inst = engine.runtime.start("watched_amount", "ORD-2", {"amount": 10, "flags": 0}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    assert engine.runtime.instance(inst.id).variables["flags"] == 0
    engine.runtime.send_message("order_amended", business_key="ORD-2",
                                variables={"amount": 5000})
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(inst.id).variables["flags"] == 1
    assert "flag" in _steps(engine, inst.id)


def test_an_interrupting_conditional_event_subprocess_cancels_the_open_task(
        engine: Engine) -> None:
    engine.repository.deploy({"watched_amount.bpmn": _watched(True)})
    inst = engine.runtime.start("watched_amount", None, {"amount": 10, "flags": 0}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert engine.tasks.task(task.id).status == "ready"
    # a condition already true when the instance starts starts it at once (as in Camunda)
    other = engine.runtime.start("watched_amount", None, {"amount": 2000, "flags": 0}, wait=5)
    assert (other.status, other.variables["flags"]) == ("completed", 1)
    assert _open(engine, other.id) == []
    assert "review" not in _steps(engine, other.id)
    assert engine.runtime.instance(inst.id).status == "waiting"  # the first is untouched


# -- timers: dates, cycles, and boundary timers on subprocesses ----------------------------------

def _timer(kind: str, text: str) -> str:
    return (f'<bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}>'
            "</bpmn:timerEventDefinition>")


def _waits(kind: str, text: str) -> bytes:
    return _file("waits", f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_until"/>
  <bpmn:intermediateCatchEvent id="wait_until">{_timer(kind, text)}
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="wait_until" targetRef="after"/>
  {_script("after", "rounds = rounds + 1")}
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


def _soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize(("kind", "text"), [
    ("timeDate", "${due}"),
    ("timeCycle", "R3/PT1S"),  # Camunda 7: an intermediate cycle waits for its first only
], ids=["date", "cycle"])
def test_an_intermediate_timer_waits_for_its_date_or_first_cycle_then_goes_on_once(
        engine: Engine, drain: Callable[..., None], kind: str, text: str) -> None:
    engine.repository.deploy({"waits.bpmn": _waits(kind, text)})
    started = datetime.now(UTC)
    inst = engine.runtime.start("waits", None, {"due": _soon(1), "rounds": 0}, wait=5)
    assert (inst.status, inst.active_elements) == ("waiting", ["wait_until"])
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert datetime.now(UTC) - started >= timedelta(seconds=1)
    assert engine.runtime.instance(inst.id).variables["rounds"] == 1
    assert _steps(engine, inst.id).count("after") == 1


def test_an_intermediate_timer_date_in_the_past_fires_at_once(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"waits.bpmn": _waits("timeDate", "2020-01-01T09:00:00Z")})
    inst = engine.runtime.start("waits", None, {"rounds": 0}, wait=5)
    drain(lambda: engine.runtime.instance(inst.id).status == "completed", timeout=5)
    assert engine.runtime.instance(inst.id).variables["rounds"] == 1


@pytest.mark.parametrize(("kind", "text"), [
    ("timeDate", "next tuesday"),
    ("timeDate", "2025-13-45T10:00:00"),
    ("timeDuration", "P1X"),
    ("timeCycle", "R3/PT10Q"),
])
def test_an_unreadable_timer_is_refused_at_deploy_naming_the_element(
        engine: Engine, kind: str, text: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"waits.bpmn": _waits(kind, text)})
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.element_id) == ("waits.bpmn", 12, "wait_until")
    assert problem.message.startswith(f"timer {kind} '{text}' cannot be read: write it in "
                                      "ISO 8601")


def _guarded(boundary: str, interrupting: bool) -> bytes:
    flag = "true" if interrupting else "false"
    return _file("guarded", f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle"/>
  <bpmn:subProcess id="handle">
    <bpmn:startEvent id="h_start"/>
    <bpmn:sequenceFlow id="h1" sourceRef="h_start" targetRef="work"/>
    <bpmn:userTask id="work" camunda:candidateGroups="ops"/>
    <bpmn:sequenceFlow id="h2" sourceRef="work" targetRef="h_end"/>
    <bpmn:endEvent id="h_end"/>
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:boundaryEvent id="timer" attachedToRef="handle" cancelActivity="{flag}">
    {boundary}
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="timer" targetRef="remind"/>
  {_script("remind", "reminders = reminders + 1")}
  <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="reminded"/>
  <bpmn:endEvent id="reminded"/>
""")


def test_an_interrupting_timer_on_a_subprocess_cancels_its_open_task(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"guarded.bpmn": _guarded(_timer("timeDuration", "PT1S"),
                                                        True)})
    inst = engine.runtime.start("guarded", None, {"reminders": 0}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.element_id == "work"
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(inst.id).variables["reminders"] == 1
    assert engine.tasks.task(task.id).status == "cancelled"
    assert "end" not in _steps(engine, inst.id)


@pytest.mark.parametrize(("kind", "text", "fires"), [
    ("timeDuration", "PT1S", 1),
    ("timeCycle", "R2/PT1S", 2),  # a non-interrupting cycle fires again, as in Camunda
], ids=["duration", "cycle"])
def test_a_non_interrupting_timer_on_a_subprocess_leaves_its_task_open(
        engine: Engine, drain: Callable[..., None], kind: str, text: str, fires: int) -> None:
    engine.repository.deploy({"guarded.bpmn": _guarded(_timer(kind, text), False)})
    inst = engine.runtime.start("guarded", None, {"reminders": 0}, wait=5)
    drain(lambda: _steps(engine, inst.id).count("remind") == fires, timeout=15)
    time.sleep(1.5)  # a third cycle would be due by now
    drain()
    assert _steps(engine, inst.id).count("remind") == fires
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert (task.element_id, task.status) == ("work", "ready")
    engine.tasks.complete(task.id, "olga", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables["reminders"]) == ("completed", fires)
    assert "end" in _steps(engine, inst.id)
