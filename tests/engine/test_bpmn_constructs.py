"""Constructs Camunda Modeler users draw every day, run with Camunda 7's semantics.

Each runs through the engine fixture: on SQLite and PostgreSQL, with the workflow saved and
restored between every step.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import DefinitionError, Engine
from tests.engine.bpmn_files import HEAD
from tests.engine.bpmn_files import process_file as _process
from tests.engine.bpmn_files import steps as _steps

# -- FEEL conditions (Camunda 8 / Zeebe style) --------------------------------------------

FEEL_GATEWAY = _process("feel_route", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
  <bpmn:exclusiveGateway id="split" default="to_small"/>
  <bpmn:sequenceFlow id="to_big" sourceRef="split" targetRef="big">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
      =amount &gt; 100 and tier = "gold"</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_small" sourceRef="split" targetRef="small"/>
  <bpmn:scriptTask id="big" scriptFormat="python">
    <bpmn:script>route = "big"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:scriptTask id="small" scriptFormat="python">
    <bpmn:script>route = "small"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="big" targetRef="end"/>
  <bpmn:sequenceFlow id="f3" sourceRef="small" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


@pytest.mark.parametrize(("variables", "route"), [
    ({"amount": 150, "tier": "gold"}, "big"),
    ({"amount": 150, "tier": "silver"}, "small"),
    ({"amount": 50, "tier": "gold"}, "small"),
    ({"tier": "gold"}, "small"),  # a missing variable is FEEL null: the comparison is not true
])
def test_a_feel_condition_routes_through_the_feel_engine(
        engine: Engine, variables: dict[str, object], route: str) -> None:
    engine.repository.deploy({"feel_route.bpmn": FEEL_GATEWAY})
    inst = engine.runtime.start("feel_route", None, variables, wait=5)
    assert inst.status == "completed"
    assert inst.variables["route"] == route


def test_a_feel_condition_that_is_not_feel_is_refused_at_deploy(engine: Engine) -> None:
    broken = FEEL_GATEWAY.replace(b"=amount &gt; 100 and", b"=amount &gt; and")
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"feel_route.bpmn": broken})
    [problem] = caught.value.problems
    assert problem.element_id == "to_big"
    assert "FEEL expression cannot be read" in problem.message
    assert "feel_route" not in {d.key for d in engine.repository.list_definitions()}


# -- pass-through tasks ---------------------------------------------------------------------

PLAIN_TASKS = _process("plain_tasks", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="note"/>
  <bpmn:task id="note" name="Take a note"/>
  <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="sign"/>
  <bpmn:manualTask id="sign" name="Sign on paper"/>
  <bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


def test_plain_and_manual_tasks_pass_through_as_in_camunda(engine: Engine) -> None:
    engine.repository.deploy({"plain_tasks.bpmn": PLAIN_TASKS})
    inst = engine.runtime.start("plain_tasks", None, {}, wait=5)
    assert inst.status == "completed"
    assert engine.tasks.open_tasks_of(inst.id) == []  # nobody's inbox gets them
    assert _steps(engine, inst.id)[:3] == ["start", "note", "sign"]


# -- link events -----------------------------------------------------------------------------

LINKS = _process("linked", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
  <bpmn:scriptTask id="first" scriptFormat="python">
    <bpmn:script>trail = ["first"]</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="go_on"/>
  <bpmn:intermediateThrowEvent id="go_on" name="to page 2">
    <bpmn:linkEventDefinition id="l1" name="page2"/>
  </bpmn:intermediateThrowEvent>
  <bpmn:intermediateCatchEvent id="page2" name="from page 1">
    <bpmn:linkEventDefinition id="l2" name="page2"/>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="page2" targetRef="second"/>
  <bpmn:scriptTask id="second" scriptFormat="python">
    <bpmn:script>trail = trail + ["second"]</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f4" sourceRef="second" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f5" sourceRef="review" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


def test_a_link_throw_event_goes_on_at_its_catch_event(engine: Engine) -> None:
    engine.repository.deploy({"linked.bpmn": LINKS})
    inst = engine.runtime.start("linked", None, {}, wait=5)
    assert inst.status == "waiting"  # never completed silently at the throw event
    assert inst.variables["trail"] == ["first", "second"]
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.element_id == "review"
    assert _steps(engine, inst.id)[:5] == ["start", "first", "go_on", "page2", "second"]
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"


def test_a_link_without_its_catch_event_is_refused_at_deploy(engine: Engine) -> None:
    broken = LINKS.replace(b'name="page2"/>\n  </bpmn:intermediateCatchEvent>',
                           b'name="page3"/>\n  </bpmn:intermediateCatchEvent>')
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"linked.bpmn": broken})
    [problem] = caught.value.problems
    assert (problem.element_id, problem.line) == ("go_on", 12)
    assert "no link catch event" in problem.message and "'page2'" in problem.message


# -- terminate end events --------------------------------------------------------------------

TERMINATE = _process("race", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="review"/>
  <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="check"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="done"/>
  <bpmn:endEvent id="done"/>
  <bpmn:userTask id="check" camunda:candidateGroups="support"/>
  <bpmn:sequenceFlow id="f5" sourceRef="check" targetRef="stop_all"/>
  <bpmn:endEvent id="stop_all"><bpmn:terminateEventDefinition id="t1"/></bpmn:endEvent>
""")


def test_a_terminate_end_event_cancels_every_open_task_of_the_instance(engine: Engine) -> None:
    engine.repository.deploy({"race.bpmn": TERMINATE})
    inst = engine.runtime.start("race", None, {}, wait=5)
    tasks = {t.element_id: t for t in engine.tasks.open_tasks_of(inst.id)}
    assert set(tasks) == {"review", "check"}
    engine.tasks.complete(tasks["check"].id, "sue", {}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"
    assert engine.tasks.open_tasks_of(inst.id) == []
    assert engine.tasks.task(tasks["review"].id).status == "cancelled"


# -- timers ----------------------------------------------------------------------------------

BOUNDARY = _process("reminded", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">
    <bpmn:timerEventDefinition>
      <bpmn:timeDuration>PT0S</bpmn:timeDuration>
    </bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="note"/>
  <bpmn:scriptTask id="note" scriptFormat="python">
    <bpmn:script>reminded = True</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f4" sourceRef="note" targetRef="reminder_sent"/>
  <bpmn:endEvent id="reminder_sent"/>
""")


def test_a_non_interrupting_timer_runs_its_path_and_the_task_stays(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"reminded.bpmn": BOUNDARY})
    inst = engine.runtime.start("reminded", None, {}, wait=5)
    drain(lambda: "note" in _steps(engine, inst.id))
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.element_id == "review" and task.status == "ready"
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"


# -- event subprocesses started by a message --------------------------------------------------

def _event_subprocess(interrupting: bool) -> bytes:
    flag = "true" if interrupting else "false"
    return (HEAD + '<bpmn:message id="m_cancel" name="order_cancelled"/>'
            '<bpmn:process id="cancellable" isExecutable="true">' + f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:subProcess id="on_cancel" triggeredByEvent="true">
    <bpmn:startEvent id="cancel_start" isInterrupting="{flag}">
      <bpmn:messageEventDefinition messageRef="m_cancel"/>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="cancel_start" targetRef="note"/>
    <bpmn:scriptTask id="note" scriptFormat="python">
      <bpmn:script>cancel_note = "cancelled by " + reason</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="note" targetRef="cancel_end"/>
    <bpmn:endEvent id="cancel_end"/>
  </bpmn:subProcess>
</bpmn:process></bpmn:definitions>""").encode()


def test_a_message_reaches_an_interrupting_event_subprocess(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"cancellable.bpmn": _event_subprocess(True)})
    inst = engine.runtime.start("cancellable", "ORD-7", {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    result = engine.runtime.send_message("order_cancelled", business_key="ORD-7",
                                         variables={"reason": "the customer"})
    assert result.delivered_to == [inst.id]  # answered, not 404
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    done = engine.runtime.instance(inst.id)
    assert done.variables["cancel_note"] == "cancelled by the customer"
    assert engine.tasks.task(task.id).status == "cancelled"
    assert "cancel_start" in _steps(engine, inst.id) and "note" in _steps(engine, inst.id)


def test_a_non_interrupting_event_subprocess_leaves_the_task_open(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"cancellable.bpmn": _event_subprocess(False)})
    inst = engine.runtime.start("cancellable", "ORD-8", {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.runtime.send_message("order_cancelled", business_key="ORD-8",
                                variables={"reason": "a reminder"})
    drain(lambda: "note" in _steps(engine, inst.id))
    assert [t.id for t in engine.tasks.open_tasks_of(inst.id)] == [task.id]
    assert engine.runtime.instance(inst.id).status == "waiting"
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"


# -- signals -----------------------------------------------------------------------------------

SIGNAL_DEFS = '<bpmn:signal id="sig_recall" name="product_recall"/>'


def _signal_file(key: str, body: str) -> bytes:
    return (HEAD + SIGNAL_DEFS + f'<bpmn:process id="{key}" isExecutable="true">{body}'
            "</bpmn:process></bpmn:definitions>").encode()


WAITS_FOR_RECALL = _signal_file("order_watch", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:boundaryEvent id="recalled" attachedToRef="review">
    <bpmn:signalEventDefinition signalRef="sig_recall"/>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="recalled" targetRef="stopped"/>
  <bpmn:scriptTask id="stopped" scriptFormat="python">
    <bpmn:script>outcome = "recalled"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f4" sourceRef="stopped" targetRef="end_recalled"/>
  <bpmn:endEvent id="end_recalled"/>
""")

THROWS_RECALL = _signal_file("recall", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="announce"/>
  <bpmn:endEvent id="announce"><bpmn:signalEventDefinition signalRef="sig_recall"/></bpmn:endEvent>
""")

STARTS_ON_RECALL = _signal_file("recall_report", """
  <bpmn:startEvent id="on_recall">
    <bpmn:signalEventDefinition signalRef="sig_recall"/>
  </bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="on_recall" targetRef="report"/>
  <bpmn:userTask id="report" camunda:candidateGroups="logistics"/>
  <bpmn:sequenceFlow id="f2" sourceRef="report" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


def test_a_signal_thrown_by_one_instance_reaches_every_waiting_instance_and_starts_processes(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"order_watch.bpmn": WAITS_FOR_RECALL, "recall.bpmn": THROWS_RECALL,
                              "recall_report.bpmn": STARTS_ON_RECALL})
    waiting = [engine.runtime.start("order_watch", f"ORD-{n}", {}, wait=5) for n in range(3)]
    thrower = engine.runtime.start("recall", None, {}, wait=5)
    assert thrower.status == "completed"
    thrown = [e for e in engine.history.events_of(thrower.id) if e.type == "signal_thrown"]
    assert sorted(thrown[0].data["delivered_to"]) == sorted(i.id for i in waiting)
    drain()
    for inst in waiting:
        done = engine.runtime.instance(inst.id)
        assert (done.status, done.variables["outcome"]) == ("completed", "recalled")
        assert engine.tasks.open_tasks_of(inst.id) == []
    [started] = thrown[0].data["started"]
    assert engine.runtime.instance(started).process_key == "recall_report"
    [report] = engine.tasks.open_tasks_of(started)
    assert report.candidate_groups == ["logistics"]


def test_a_signal_from_outside_reaches_every_waiting_instance(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"order_watch.bpmn": WAITS_FOR_RECALL})
    first = engine.runtime.start("order_watch", "A", {}, wait=5)
    second = engine.runtime.start("order_watch", "B", {}, wait=5)
    result = engine.runtime.send_signal("product_recall", {"batch": "B-17"}, sender="crm")
    assert sorted(result.delivered_to) == sorted([first.id, second.id])
    drain()
    assert {engine.runtime.instance(i).status for i in (first.id, second.id)} == {"completed"}
    # nobody waits any more: a signal is a broadcast, not an error (as in Camunda)
    assert engine.runtime.send_signal("product_recall").delivered_to == []


def test_a_signal_is_delivered_by_jobs_written_with_the_throw(engine: Engine) -> None:
    # a worker crash between the throw and the delivery loses nothing: the jobs are rows
    from sqlalchemy import select

    from engine.models import Job

    engine.repository.deploy({"order_watch.bpmn": WAITS_FOR_RECALL, "recall.bpmn": THROWS_RECALL})
    inst = engine.runtime.start("order_watch", "C", {}, wait=5)
    engine.runtime.start("recall", None, {}, wait=5)
    with engine._core.db.read() as s:
        jobs = list(s.scalars(select(Job).where(Job.instance_id == inst.id,
                                                Job.kind == "signal")))
    assert [j.payload["name"] for j in jobs] == ["product_recall"]


# -- gateways, receive tasks, errors, intermediate timers ------------------------------------

INCLUSIVE = _process("inclusive", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
  <bpmn:inclusiveGateway id="split"/>
  <bpmn:sequenceFlow id="to_a" sourceRef="split" targetRef="a">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
      ${wants_a}</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_b" sourceRef="split" targetRef="b">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
      ${wants_b}</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:userTask id="a" camunda:candidateGroups="finance"/>
  <bpmn:userTask id="b" camunda:candidateGroups="sales"/>
  <bpmn:sequenceFlow id="from_a" sourceRef="a" targetRef="join"/>
  <bpmn:sequenceFlow id="from_b" sourceRef="b" targetRef="join"/>
  <bpmn:inclusiveGateway id="join"/>
  <bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


@pytest.mark.parametrize(("wants", "tasks"), [
    ({"wants_a": True, "wants_b": False}, ["a"]),
    ({"wants_a": True, "wants_b": True}, ["a", "b"]),
])
def test_an_inclusive_join_waits_only_for_the_branches_taken(
        engine: Engine, wants: dict[str, bool], tasks: list[str]) -> None:
    engine.repository.deploy({"inclusive.bpmn": INCLUSIVE})
    inst = engine.runtime.start("inclusive", None, wants, wait=5)
    open_tasks = sorted(engine.tasks.open_tasks_of(inst.id), key=lambda t: t.element_id)
    assert [t.element_id for t in open_tasks] == tasks
    for n, task in enumerate(open_tasks):
        assert engine.runtime.instance(inst.id).status == "waiting"
        engine.tasks.complete(task.id, "fiona", {}, wait=5)
        last = n == len(open_tasks) - 1
        assert (engine.runtime.instance(inst.id).status == "completed") is last


RECEIVE = (HEAD + '<bpmn:message id="m_paid" name="payment_received"/>'
           '<bpmn:process id="awaits_payment" isExecutable="true">' + """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_payment"/>
  <bpmn:receiveTask id="wait_payment" messageRef="m_paid"/>
  <bpmn:sequenceFlow id="f2" sourceRef="wait_payment" targetRef="end"/>
  <bpmn:endEvent id="end"/>
</bpmn:process></bpmn:definitions>""").encode()


def test_a_receive_task_waits_for_its_message(engine: Engine,
                                              drain: Callable[..., None]) -> None:
    engine.repository.deploy({"awaits_payment.bpmn": RECEIVE})
    inst = engine.runtime.start("awaits_payment", "INV-1", {}, wait=5)
    assert (inst.status, inst.active_elements) == ("waiting", ["wait_payment"])
    engine.runtime.send_message("payment_received", business_key="INV-1",
                                variables={"amount": 120})
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(inst.id).variables["amount"] == 120


def _error_file(code_ref: str) -> bytes:
    return (HEAD + '<bpmn:error id="err_fraud" name="Fraud" errorCode="FRAUD"/>'
            '<bpmn:process id="checked" isExecutable="true">' + f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
  <bpmn:subProcess id="check">
    <bpmn:startEvent id="check_start"/>
    <bpmn:sequenceFlow id="c1" sourceRef="check_start" targetRef="looks_bad"/>
    <bpmn:exclusiveGateway id="looks_bad" default="c3"/>
    <bpmn:sequenceFlow id="c2" sourceRef="looks_bad" targetRef="fraud">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        =score &gt; 80</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="c3" sourceRef="looks_bad" targetRef="check_end"/>
    <bpmn:endEvent id="fraud"><bpmn:errorEventDefinition errorRef="err_fraud"/></bpmn:endEvent>
    <bpmn:endEvent id="check_end"/>
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="ok"/>
  <bpmn:scriptTask id="ok" scriptFormat="python">
    <bpmn:script>outcome = "ok"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f3" sourceRef="ok" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:boundaryEvent id="caught" attachedToRef="check">
    <bpmn:errorEventDefinition {code_ref}/>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="caught" targetRef="blocked"/>
  <bpmn:scriptTask id="blocked" scriptFormat="python">
    <bpmn:script>outcome = "blocked"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f5" sourceRef="blocked" targetRef="end_blocked"/>
  <bpmn:endEvent id="end_blocked"/>
</bpmn:process></bpmn:definitions>""").encode()


@pytest.mark.parametrize("code_ref", ['errorRef="err_fraud"', ""], ids=["by_code", "catch_all"])
@pytest.mark.parametrize(("score", "outcome"), [(95, "blocked"), (10, "ok")])
def test_an_error_end_event_is_caught_by_the_boundary_event_of_its_subprocess(
        engine: Engine, code_ref: str, score: int, outcome: str) -> None:
    engine.repository.deploy({"checked.bpmn": _error_file(code_ref)})
    inst = engine.runtime.start("checked", None, {"score": score}, wait=5)
    assert (inst.status, inst.variables["outcome"]) == ("completed", outcome)


INTERMEDIATE_TIMER = _process("pause", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="cool_off"/>
  <bpmn:intermediateCatchEvent id="cool_off">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT0S</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="cool_off" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


def test_an_intermediate_timer_waits_then_goes_on(engine: Engine,
                                                  drain: Callable[..., None]) -> None:
    engine.repository.deploy({"pause.bpmn": INTERMEDIATE_TIMER})
    inst = engine.runtime.start("pause", None, {}, wait=5)
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert "cool_off" in _steps(engine, inst.id)


# -- listeners, the initiator, the JUEL helpers analysts write ---------------------------------

LISTENED = _process("listened", """
  <bpmn:startEvent id="start" camunda:initiator="requester"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
  <bpmn:scriptTask id="prepare" scriptFormat="python">
    <bpmn:extensionElements>
      <camunda:executionListener event="start">
        <camunda:script scriptFormat="python">trail = ["before"]</camunda:script>
      </camunda:executionListener>
      <camunda:executionListener event="end"
          expression="${execution.setVariable('trail', trail + ['after'])}"/>
    </bpmn:extensionElements>
    <bpmn:script>trail = trail + ["script"]</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance">
    <bpmn:extensionElements>
      <camunda:taskListener event="create"
          expression="${execution.setVariable('review_opened', true)}"/>
      <camunda:taskListener event="complete">
        <camunda:script scriptFormat="python">reviewed = decision.upper()</camunda:script>
      </camunda:taskListener>
    </bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="split"/>
  <bpmn:exclusiveGateway id="split" default="to_small"/>
  <bpmn:sequenceFlow id="to_many" sourceRef="split" targetRef="many">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
      ${execution.getVariable("trail").size() > 2 &amp;&amp; requester.startsWith("crm")}
    </bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_small" sourceRef="split" targetRef="end_small"/>
  <bpmn:endEvent id="end_small"/>
  <bpmn:scriptTask id="many" scriptFormat="python"><bpmn:script>route = "many"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f4" sourceRef="many" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


def test_listeners_the_initiator_and_juel_helpers_run_as_in_camunda(engine: Engine) -> None:
    engine.repository.deploy({"listened.bpmn": LISTENED})
    inst = engine.runtime.start("listened", None, {}, started_by="crm-connector", wait=5)
    assert inst.variables["requester"] == "crm-connector"  # camunda:initiator
    assert inst.variables["trail"] == ["before", "script", "after"]
    assert inst.variables["review_opened"] is True  # the create listener ran
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {"decision": "approve"}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables["reviewed"] == "APPROVE"  # the complete listener ran
    assert done.variables["route"] == "many"  # .size(), .startsWith(), getVariable


EVENT_LISTENERS = _process("listened_events", """
  <bpmn:startEvent id="start">
    <bpmn:extensionElements>
      <camunda:executionListener event="end"
          expression="${execution.setVariable('log', log + ['start end'])}"/>
      <camunda:executionListener event="start">
        <camunda:script scriptFormat="python">log = ["start start"]</camunda:script>
      </camunda:executionListener>
    </bpmn:extensionElements>
  </bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
  <bpmn:exclusiveGateway id="split" default="f3">
    <bpmn:extensionElements>
      <camunda:executionListener event="start">
        <camunda:script scriptFormat="python">log = log + ["gateway"]
big = amount &gt; 100</camunda:script>
      </camunda:executionListener>
    </bpmn:extensionElements>
  </bpmn:exclusiveGateway>
  <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="wait">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">big</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="end"/>
  <bpmn:intermediateCatchEvent id="wait">
    <bpmn:extensionElements>
      <camunda:executionListener event="end">
        <camunda:script scriptFormat="python">log = log + [f"caught {approved}"]</camunda:script>
      </camunda:executionListener>
    </bpmn:extensionElements>
    <bpmn:messageEventDefinition messageRef="m_approve"/>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="end"/>
  <bpmn:endEvent id="end">
    <bpmn:extensionElements>
      <camunda:executionListener event="end"
          expression="${execution.setVariable('log', log + ['end'])}"/>
    </bpmn:extensionElements>
  </bpmn:endEvent>
""").replace(b'<bpmn:process id="listened_events"',
             b'<bpmn:message id="m_approve" name="approve"/><bpmn:process id="listened_events"')


@pytest.mark.parametrize(("amount", "log"), [
    (50, ["start start", "start end", "gateway", "end"]),
    (500, ["start start", "start end", "gateway", "caught True", "end"]),
])
def test_execution_listeners_run_on_events_and_gateways(
        engine: Engine, drain: Callable[..., None], amount: int, log: list[str]) -> None:
    engine.repository.deploy({"listened_events.bpmn": EVENT_LISTENERS})
    inst = engine.runtime.start("listened_events", "LE-1", {"amount": amount}, wait=5)
    if amount > 100:  # the gateway's listener decided the route: wait for the message
        assert inst.status == "waiting" and inst.active_elements == ["wait"]
        engine.runtime.send_message("approve", "LE-1", variables={"approved": True})
        drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables["log"] == log


def test_a_failing_listener_on_a_gateway_is_an_incident_there(engine: Engine) -> None:
    broken = EVENT_LISTENERS.replace(b"big = amount &gt; 100", b"big = amount / 0 &gt; 1")
    engine.repository.deploy({"listened_events.bpmn": broken})
    inst = engine.runtime.start("listened_events", None, {"amount": 5}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "split" and "division by zero" in incident.message


TAKE_AND_ASSIGN = _process("take_and_assign", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
  <bpmn:exclusiveGateway id="split" default="to_small"/>
  <bpmn:sequenceFlow id="to_big" sourceRef="split" targetRef="fork">
    <bpmn:extensionElements>
      <camunda:executionListener event="take"
          expression="${execution.setVariable('taken', taken + ['to_big'])}"/>
    </bpmn:extensionElements>
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=amount &gt; 100
    </bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="to_small" sourceRef="split" targetRef="end_small">
    <bpmn:extensionElements>
      <camunda:executionListener
          expression="${execution.setVariable('taken', taken + ['to_small'])}"/>
    </bpmn:extensionElements>
  </bpmn:sequenceFlow>
  <bpmn:endEvent id="end_small"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:sequenceFlow id="a1" sourceRef="fork" targetRef="review"/>
  <bpmn:sequenceFlow id="b1" sourceRef="fork" targetRef="note"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance">
    <bpmn:extensionElements>
      <camunda:taskListener event="assignment">
        <camunda:script scriptFormat="python">claimed_by = task["assignee"]</camunda:script>
      </camunda:taskListener>
      <camunda:taskListener event="complete"
          expression="${execution.setVariable('approved_by', task.assignee)}"/>
    </bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:scriptTask id="note" scriptFormat="python"><bpmn:script>noted = True</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="a2" sourceRef="review" targetRef="join">
    <bpmn:extensionElements>
      <camunda:executionListener event="take">
        <camunda:script scriptFormat="python">taken = taken + ["a2"]</camunda:script>
      </camunda:executionListener>
    </bpmn:extensionElements>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="b2" sourceRef="note" targetRef="join"/>
  <bpmn:parallelGateway id="join"/>
  <bpmn:sequenceFlow id="f9" sourceRef="join" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


def test_take_listeners_run_on_the_flows_taken_only(engine: Engine) -> None:
    engine.repository.deploy({"take_and_assign.bpmn": TAKE_AND_ASSIGN})
    inst = engine.runtime.start("take_and_assign", None, {"amount": 5, "taken": []}, wait=5)
    assert inst.status == "completed"
    assert inst.variables["taken"] == ["to_small"]
    assert "to_small" in _steps(engine, inst.id)  # the audit trail shows the flow taken
    assert not any(step.endswith("__taken") for step in _steps(engine, inst.id))


def test_assignment_and_complete_listeners_see_the_task(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"take_and_assign.bpmn": TAKE_AND_ASSIGN})
    inst = engine.runtime.start("take_and_assign", None, {"amount": 500, "taken": []}, wait=5)
    assert inst.variables["taken"] == ["to_big"]
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.claim(task.id, "fiona")
    drain(lambda: "claimed_by" in engine.runtime.instance(inst.id).variables)
    assert engine.runtime.instance(inst.id).variables["claimed_by"] == "fiona"
    assert "task" not in engine.runtime.instance(inst.id).variables  # never stored
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed", engine.management.incidents_of(inst.id)
    assert done.variables["approved_by"] == "fiona"
    assert done.variables["taken"] == ["to_big", "a2"]  # the join still joined both paths
    assert "task" not in done.variables


def test_a_take_listener_after_an_event_based_gateway_is_refused(engine: Engine) -> None:
    bad = EVENT_GATEWAY.replace(
        b'<bpmn:sequenceFlow id="f2" sourceRef="which" targetRef="recall"/>',
        b'<bpmn:sequenceFlow id="f2" sourceRef="which" targetRef="recall"><bpmn:extensionElements>'
        b'<camunda:executionListener expression="${x}"/></bpmn:extensionElements>'
        b'</bpmn:sequenceFlow>')
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"race_recall.bpmn": bad})
    [problem] = caught.value.problems
    assert problem.element_id == "f2" and "event-based gateway" in problem.message


@pytest.mark.parametrize(("listener", "message"), [
    ('<camunda:executionListener event="take" expression="${x}"/>', "on 'take' is not supported"),
    ('<camunda:taskListener event="delete" expression="${x}"/>',
     "on 'delete' is not supported"),
    ('<camunda:executionListener event="start"><camunda:script scriptFormat="groovy">x = 1'
     '</camunda:script></camunda:executionListener>', "in 'groovy' cannot run"),
    ('<camunda:executionListener event="start"/>', "neither a script nor an expression"),
    ('<camunda:executionListener event="start" class="org.acme.Audit"/>', "is Java"),
])
def test_a_listener_that_cannot_run_is_refused_at_deploy(engine: Engine, listener: str,
                                                        message: str) -> None:
    bpmn = _process("refused_listener", f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  <bpmn:userTask id="work" camunda:candidateGroups="finance">
    <bpmn:extensionElements>{listener}</bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"refused_listener.bpmn": bpmn})
    assert [p.element_id for p in caught.value.problems] == ["work"]
    assert message in caught.value.problems[0].message


# -- more event paths: a signal branch, escalations, timer- and signal-started subprocesses ----

EVENT_GATEWAY = _signal_file("race_recall", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="which"/>
  <bpmn:eventBasedGateway id="which"/>
  <bpmn:sequenceFlow id="f2" sourceRef="which" targetRef="recall"/>
  <bpmn:sequenceFlow id="f3" sourceRef="which" targetRef="later"/>
  <bpmn:intermediateCatchEvent id="recall"><bpmn:signalEventDefinition signalRef="sig_recall"/>
  </bpmn:intermediateCatchEvent>
  <bpmn:intermediateCatchEvent id="later">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="recall" targetRef="end_recall"/>
  <bpmn:endEvent id="end_recall"/>
  <bpmn:sequenceFlow id="f5" sourceRef="later" targetRef="end_later"/>
  <bpmn:endEvent id="end_later"/>
""")


def test_the_signal_branch_of_an_event_based_gateway(engine: Engine,
                                                      drain: Callable[..., None]) -> None:
    engine.repository.deploy({"race_recall.bpmn": EVENT_GATEWAY})
    inst = engine.runtime.start("race_recall", None, {}, wait=5)
    assert inst.status == "waiting"
    assert engine.runtime.send_signal("product_recall").delivered_to == [inst.id]
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    steps = _steps(engine, inst.id)
    assert "end_recall" in steps and "end_later" not in steps


ESCALATION = (HEAD + '<bpmn:escalation id="esc_late" name="Late" escalationCode="LATE"/>'
              '<bpmn:process id="escalated" isExecutable="true">' + """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle"/>
  <bpmn:subProcess id="handle">
    <bpmn:startEvent id="h_start"/>
    <bpmn:sequenceFlow id="h1" sourceRef="h_start" targetRef="raise"/>
    <bpmn:intermediateThrowEvent id="raise">
      <bpmn:escalationEventDefinition escalationRef="esc_late"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="h2" sourceRef="raise" targetRef="h_end"/>
    <bpmn:endEvent id="h_end"/>
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:boundaryEvent id="on_late" attachedToRef="handle" cancelActivity="false">
    <bpmn:escalationEventDefinition escalationRef="esc_late"/>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="on_late" targetRef="notify"/>
  <bpmn:scriptTask id="notify" scriptFormat="python">
    <bpmn:script>escalated = True</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f4" sourceRef="notify" targetRef="end_notified"/>
  <bpmn:endEvent id="end_notified"/>
</bpmn:process></bpmn:definitions>""").encode()


def test_an_escalation_is_caught_by_the_boundary_event_of_its_subprocess(
        engine: Engine) -> None:
    engine.repository.deploy({"escalated.bpmn": ESCALATION})
    inst = engine.runtime.start("escalated", None, {}, wait=5)
    assert inst.status == "completed"
    steps = _steps(engine, inst.id)
    assert "notify" in steps and "end" in steps  # non-interrupting: both paths ran


def _started_subprocess(definition: str) -> bytes:
    return (HEAD + SIGNAL_DEFS + '<bpmn:process id="watched" isExecutable="true">' + f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:subProcess id="side" triggeredByEvent="true">
    <bpmn:startEvent id="side_start" isInterrupting="false">{definition}</bpmn:startEvent>
    <bpmn:sequenceFlow id="s1" sourceRef="side_start" targetRef="note"/>
    <bpmn:scriptTask id="note" scriptFormat="python"><bpmn:script>noted = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="s2" sourceRef="note" targetRef="side_end"/>
    <bpmn:endEvent id="side_end"/>
  </bpmn:subProcess>
</bpmn:process></bpmn:definitions>""").encode()


@pytest.mark.parametrize("definition", [
    '<bpmn:signalEventDefinition signalRef="sig_recall"/>',
    "<bpmn:timerEventDefinition><bpmn:timeDuration>PT0S</bpmn:timeDuration>"
    "</bpmn:timerEventDefinition>",
], ids=["signal", "timer"])
def test_a_non_interrupting_event_subprocess_started_by_a_signal_or_a_timer(
        engine: Engine, drain: Callable[..., None], definition: str) -> None:
    engine.repository.deploy({"watched.bpmn": _started_subprocess(definition)})
    inst = engine.runtime.start("watched", None, {}, wait=5)
    if "signal" in definition:
        assert engine.runtime.send_signal("product_recall").delivered_to == [inst.id]
    drain(lambda: "note" in _steps(engine, inst.id))
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.element_id == "review"
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"


# -- parallel branches finished at once, under two workers ---------------------------------------

PARALLEL_REVIEWS = _process("three_reviews", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:sequenceFlow id="to_legal" sourceRef="fork" targetRef="legal"/>
  <bpmn:sequenceFlow id="to_sales" sourceRef="fork" targetRef="sales"/>
  <bpmn:sequenceFlow id="to_ops" sourceRef="fork" targetRef="ops"/>
  <bpmn:userTask id="legal" camunda:candidateGroups="legal"/>
  <bpmn:userTask id="sales" camunda:candidateGroups="sales"/>
  <bpmn:userTask id="ops" camunda:candidateGroups="ops"/>
  <bpmn:sequenceFlow id="from_legal" sourceRef="legal" targetRef="join"/>
  <bpmn:sequenceFlow id="from_sales" sourceRef="sales" targetRef="join"/>
  <bpmn:sequenceFlow id="from_ops" sourceRef="ops" targetRef="join"/>
  <bpmn:parallelGateway id="join"/>
  <bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


INCLUSIVE_REVIEWS = PARALLEL_REVIEWS.replace(b"parallelGateway", b"inclusiveGateway")
for _flow, _condition in (("to_legal", b"=true"), ("to_sales", b"=not(big)"),
                          ("to_ops", b"=big")):
    _plain = f'<bpmn:sequenceFlow id="{_flow}" sourceRef="fork" targetRef="{_flow[3:]}"'.encode()
    INCLUSIVE_REVIEWS = INCLUSIVE_REVIEWS.replace(
        _plain + b"/>", _plain + b"><bpmn:conditionExpression>" + _condition
        + b"</bpmn:conditionExpression></bpmn:sequenceFlow>")

MULTI_REVIEWS = _process("three_reviews", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="${team}">
    <bpmn:multiInstanceLoopCharacteristics camunda:collection="${teams}"
        camunda:elementVariable="team"/>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="join"/>
  <bpmn:parallelGateway id="join"/>
  <bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="end"/>
  <bpmn:endEvent id="end"/>
""")


@pytest.mark.parametrize(("bpmn", "done_by"), [
    (PARALLEL_REVIEWS, {"legal", "sales", "ops"}),
    (INCLUSIVE_REVIEWS, {"legal", "sales"}),  # the join waits only for the branches taken
    (MULTI_REVIEWS, {"review"}),
], ids=["parallel", "inclusive", "multi_instance"])
def test_parallel_branches_completed_at_once_join_once_under_two_workers(
        engine: Engine, bpmn: bytes, done_by: set[str]) -> None:
    import threading

    from engine import Worker

    engine.repository.deploy({"three_reviews.bpmn": bpmn})
    start = {"big": False, "teams": ["legal", "sales", "ops"]}
    instances = [engine.runtime.start("three_reviews", None, start, wait=5) for _ in range(3)]
    for inst in instances:  # every branch completed before any worker runs
        tasks = engine.tasks.open_tasks_of(inst.id)
        assert {t.element_id for t in tasks} == done_by
        for task in tasks:
            engine.tasks.complete(task.id, "fiona", {f"{task.element_id}_ok": True})
    workers = [Worker(engine, f"worker-{n}") for n in range(2)]

    def work(worker: Worker) -> None:
        idle = 0
        while idle < 20:
            idle = 0 if worker.poll_once() else idle + 1

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for inst in instances:
        done = engine.runtime.instance(inst.id)
        assert done.status == "completed", engine.management.incidents_of(inst.id)
        assert [s for s in _steps(engine, inst.id) if s in ("join", "end")] == ["join", "end"]
        if bpmn is not MULTI_REVIEWS:
            assert {k.removesuffix("_ok") for k, v in done.variables.items()
                    if v is True and k.endswith("_ok")} == done_by


# -- one variable scope per instance ------------------------------------------------------------

SCOPED = _process("scoped", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
  <bpmn:userTask id="review" camunda:candidateGroups="finance"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="after"/>
  <bpmn:scriptTask id="after" scriptFormat="python">
    <bpmn:script>seen = "reminded" if reminded else "not reminded"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT0S</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="note"/>
  <bpmn:scriptTask id="note" scriptFormat="python"><bpmn:script>reminded = True</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f5" sourceRef="note" targetRef="reminder_sent"/>
  <bpmn:endEvent id="reminder_sent"/>
""")


def test_a_variable_written_on_another_branch_is_seen_by_every_later_step(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"scoped.bpmn": SCOPED})
    inst = engine.runtime.start("scoped", None, {"reminded": False}, wait=5)
    drain(lambda: "reminder_sent" in _steps(engine, inst.id))
    assert engine.runtime.instance(inst.id).variables["reminded"] is True  # the API's view
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {"decision": "ok"}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables["seen"] == "reminded"  # written on the timer's branch, seen here
    assert (done.variables["reminded"], done.variables["decision"]) == (True, "ok")


def test_task_in_a_complete_listener_never_becomes_a_variable_of_a_multi_instance(
        engine: Engine) -> None:
    listened = MULTI_REVIEWS.replace(
        b'<bpmn:multiInstanceLoopCharacteristics',
        b'<bpmn:extensionElements><camunda:taskListener event="complete" expression='
        b'"${execution.setVariable(\'last_reviewer\', task.assignee)}"/>'
        b'</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics')
    engine.repository.deploy({"three_reviews.bpmn": listened})
    inst = engine.runtime.start("three_reviews", None, {"teams": ["legal", "sales"]}, wait=5)
    for task, person in zip(engine.tasks.open_tasks_of(inst.id), ("ann", "ben"), strict=True):
        engine.tasks.complete(task.id, person, {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed", engine.management.incidents_of(inst.id)
    assert done.variables["last_reviewer"] == "ben"  # once, at the end (Camunda: per task)
    assert "task" not in done.variables
