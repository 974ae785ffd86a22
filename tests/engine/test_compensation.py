"""Compensation as Camunda 7 runs it: boundary events with handlers, thrown by intermediate
and end events, the last completed activity undone first.

Each runs through the engine fixture: on SQLite and PostgreSQL, with the workflow saved and
restored between every step.
"""

from __future__ import annotations

import re

import pytest

from engine import DefinitionError, Engine
from tests.engine.bpmn_files import process_file
from tests.engine.bpmn_files import steps as _steps

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
"""


_ASSOCIATION = re.compile(r"<bpmn:association [^>]*/>")


def _process(key: str, body: str) -> bytes:
    # the schema wants associations (artifacts) after every flow element
    artifacts = "".join(_ASSOCIATION.findall(body))
    body = _ASSOCIATION.sub("", body) + artifacts
    return process_file(key, body, HEAD)


def _script(task_id: str, code: str, *, handler: bool = False) -> str:
    marker = ' isForCompensation="true"' if handler else ""
    return (f'<bpmn:scriptTask id="{task_id}" scriptFormat="python"{marker}>'
            f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


def _undoes(activity: str, handler: str) -> str:
    """A compensation boundary event on ``activity`` associated with ``handler``."""
    return (f'<bpmn:boundaryEvent id="{activity}_comp" attachedToRef="{activity}">'
            "<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
            f'<bpmn:association id="{activity}_assoc" associationDirection="One" '
            f'sourceRef="{activity}_comp" targetRef="{handler}"/>')


def _flows(*ids: str) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
                   for a, b in zip(ids, ids[1:], strict=False))


BOOKINGS = (
    _script("book_hotel", 'hotel = "booked"\ntrail = trail + ["book hotel"]')
    + _script("book_flight", 'flight = "booked"\ntrail = trail + ["book flight"]')
    + _script("cancel_hotel", 'hotel = "cancelled"\ntrail = trail + ["cancel hotel"]',
              handler=True)
    + _script("cancel_flight", 'flight = "cancelled"\ntrail = trail + ["cancel flight"]',
              handler=True)
    + _undoes("book_hotel", "cancel_hotel") + _undoes("book_flight", "cancel_flight")
)

THROW_ALL = _process("trip", '<bpmn:startEvent id="start"/>' + BOOKINGS + """
  <bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/>
  </bpmn:intermediateThrowEvent>
  <bpmn:scriptTask id="after" scriptFormat="python"><bpmn:script>done = True</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="end"/>""" + _flows("start", "book_hotel", "book_flight", "undo", "after",
                                         "end"))


def test_an_intermediate_throw_compensates_every_completed_activity_last_first(
        engine: Engine) -> None:
    engine.repository.deploy({"trip.bpmn": THROW_ALL})
    inst = engine.runtime.start("trip", None, {"trail": []}, wait=5)
    assert inst.status == "completed"
    assert _steps(engine, inst.id) == ["start", "book_hotel", "book_flight", "cancel_flight",
                                       "cancel_hotel", "undo", "after", "end"]
    assert inst.variables["trail"] == ["book hotel", "book flight", "cancel flight",
                                       "cancel hotel"]
    assert (inst.variables["hotel"], inst.variables["flight"]) == ("cancelled", "cancelled")
    assert inst.variables["done"] is True


THROW_AT_END = _process("trip_end", '<bpmn:startEvent id="start"/>' + BOOKINGS + """
  <bpmn:endEvent id="give_up"><bpmn:compensateEventDefinition/></bpmn:endEvent>"""
                        + _flows("start", "book_hotel", "book_flight", "give_up"))


def test_an_end_event_compensates_before_the_instance_ends(engine: Engine) -> None:
    engine.repository.deploy({"trip_end.bpmn": THROW_AT_END})
    inst = engine.runtime.start("trip_end", None, {"trail": []}, wait=5)
    assert inst.status == "completed"
    assert _steps(engine, inst.id)[-3:] == ["cancel_flight", "cancel_hotel", "give_up"]
    assert inst.variables["trail"][-2:] == ["cancel flight", "cancel hotel"]


THROW_ONE = _process("trip_one", '<bpmn:startEvent id="start"/>' + BOOKINGS + """
  <bpmn:intermediateThrowEvent id="undo_hotel">
    <bpmn:compensateEventDefinition activityRef="book_hotel"/>
  </bpmn:intermediateThrowEvent>
  <bpmn:endEvent id="end"/>""" + _flows("start", "book_hotel", "book_flight", "undo_hotel",
                                         "end"))


def test_an_activity_ref_compensates_only_that_activity(engine: Engine) -> None:
    engine.repository.deploy({"trip_one.bpmn": THROW_ONE})
    inst = engine.runtime.start("trip_one", None, {"trail": []}, wait=5)
    assert inst.status == "completed"
    steps = _steps(engine, inst.id)
    assert "cancel_flight" not in steps
    assert steps[-3:] == ["cancel_hotel", "undo_hotel", "end"]
    assert (inst.variables["hotel"], inst.variables["flight"]) == ("cancelled", "booked")


SKIPPED = _process("trip_skip", '<bpmn:startEvent id="start"/>' + BOOKINGS + """
  <bpmn:exclusiveGateway id="fly" default="no_flight"/>
  <bpmn:sequenceFlow id="yes_flight" sourceRef="fly" targetRef="book_flight">
    <bpmn:conditionExpression>by_air</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="no_flight" sourceRef="fly" targetRef="merge"/>
  <bpmn:exclusiveGateway id="merge"/>
  <bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/>
  </bpmn:intermediateThrowEvent>
  <bpmn:endEvent id="end"/>""" + _flows("start", "book_hotel", "fly")
                     + _flows("book_flight", "merge", "undo", "end"))


@pytest.mark.parametrize(("by_air", "undone"), [
    (False, ["cancel_hotel"]),
    (True, ["cancel_flight", "cancel_hotel"]),
])
def test_an_activity_that_never_ran_is_not_compensated(
        engine: Engine, by_air: bool, undone: list[str]) -> None:
    engine.repository.deploy({"trip_skip.bpmn": SKIPPED})
    inst = engine.runtime.start("trip_skip", None, {"trail": [], "by_air": by_air}, wait=5)
    assert inst.status == "completed"
    steps = _steps(engine, inst.id)
    assert [s for s in steps if s.startswith("cancel_")] == undone
    assert ("flight" in inst.variables) is by_air


USER_HANDLER = _process("refund", """
  <bpmn:startEvent id="start"/>""" + _script("charge", "charged = amount") + """
  <bpmn:userTask id="refund_by_hand" name="Refund the customer" isForCompensation="true"
      camunda:candidateGroups="finance"/>""" + _undoes("charge", "refund_by_hand") + """
  <bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/>
  </bpmn:intermediateThrowEvent>
  <bpmn:scriptTask id="close" scriptFormat="python">
    <bpmn:script>closed = refunded == charged</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"/>""" + _flows("start", "charge", "undo", "close", "end"))


def test_a_user_task_handler_waits_in_the_inbox_then_the_instance_goes_on(
        engine: Engine) -> None:
    engine.repository.deploy({"refund.bpmn": USER_HANDLER})
    inst = engine.runtime.start("refund", None, {"amount": 40}, wait=5)
    assert inst.status == "waiting"
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert (task.element_id, task.name) == ("refund_by_hand", "Refund the customer")
    assert "close" not in _steps(engine, inst.id)

    engine.tasks.complete(task.id, "fiona", {"refunded": 40}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables["closed"] is True
    assert _steps(engine, inst.id)[-4:] == ["refund_by_hand", "undo", "close", "end"]


LOOPED = _process("loop_refund", """
  <bpmn:startEvent id="start"/>
  <bpmn:scriptTask id="charge" scriptFormat="python">
    <bpmn:multiInstanceLoopCharacteristics isSequential="true"
        camunda:collection="${items}" camunda:elementVariable="item"/>
    <bpmn:script>charged = charged + [item]</bpmn:script>
  </bpmn:scriptTask>""" + _script("refund", "refunded = refunded + [item]", handler=True)
                       + _undoes("charge", "refund") + """
  <bpmn:endEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:endEvent>"""
                       + _flows("start", "charge", "undo"))


def test_each_instance_of_a_multi_instance_activity_is_compensated(engine: Engine) -> None:
    engine.repository.deploy({"loop_refund.bpmn": LOOPED})
    inst = engine.runtime.start("loop_refund", None,
                                {"items": ["a", "b", "c"], "charged": [], "refunded": []},
                                wait=5)
    assert inst.status == "completed"
    assert inst.variables["charged"] == ["a", "b", "c"]
    assert inst.variables["refunded"] == ["c", "b", "a"]
    assert "item" not in inst.variables


@pytest.mark.parametrize(("body", "element", "words"), [
    pytest.param(
        '<bpmn:startEvent id="start"/>'
        '<bpmn:subProcess id="inner"><bpmn:startEvent id="s2"/>'
        + _script("book_hotel", 'hotel = "booked"')
        + _script("cancel_hotel", 'hotel = "cancelled"', handler=True)
        + _undoes("book_hotel", "cancel_hotel")
        + '<bpmn:endEvent id="e2"/>' + _flows("s2", "book_hotel", "e2") + "</bpmn:subProcess>"
        '<bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/>'
        '</bpmn:intermediateThrowEvent><bpmn:endEvent id="end"/>'
        + _flows("start", "inner", "undo", "end"),
        "undo", "would also compensate the activities inside subprocess 'inner'",
        id="throw-into-a-subprocess"),
    pytest.param(
        '<bpmn:startEvent id="start"/>' + _script("book_hotel", 'hotel = "booked"')
        + '<bpmn:subProcess id="on_error" triggeredByEvent="true">'
        '<bpmn:startEvent id="s2"><bpmn:compensateEventDefinition/></bpmn:startEvent>'
        '<bpmn:endEvent id="e2"/>' + _flows("s2", "e2") + "</bpmn:subProcess>"
        '<bpmn:endEvent id="end"/>' + _flows("start", "book_hotel", "end"),
        "s2", "a compensation event subprocess is not supported",
        id="compensation-event-subprocess"),
    pytest.param(
        '<bpmn:startEvent id="start"/>' + _script("book_hotel", 'hotel = "booked"')
        + _script("cancel_hotel", 'hotel = "cancelled"', handler=True)
        + _undoes("book_hotel", "cancel_hotel")
        + '<bpmn:subProcess id="on_error" triggeredByEvent="true">'
        '<bpmn:startEvent id="s2"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
        '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>'
        '<bpmn:endEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:endEvent>'
        + _flows("s2", "undo") + "</bpmn:subProcess>"
        '<bpmn:endEvent id="end"/>' + _flows("start", "book_hotel", "end"),
        "undo", "throwing compensation inside an event subprocess is not supported",
        id="throw-in-an-event-subprocess"),
    pytest.param(
        '<bpmn:startEvent id="start"/>' + _script("book_hotel", 'hotel = "booked"')
        + _script("cancel_hotel", 'hotel = "cancelled"')
        + _undoes("book_hotel", "cancel_hotel") + '<bpmn:endEvent id="end"/>'
        + _flows("start", "book_hotel", "end"),
        "cancel_hotel", "not marked for compensation: set isForCompensation",
        id="handler-not-marked"),
    pytest.param(
        '<bpmn:startEvent id="start"/>' + _script("book_hotel", 'hotel = "booked"')
        + '<bpmn:intermediateThrowEvent id="undo">'
        '<bpmn:compensateEventDefinition activityRef="book_hotel"/>'
        '</bpmn:intermediateThrowEvent><bpmn:endEvent id="end"/>'
        + _flows("start", "book_hotel", "undo", "end"),
        "undo", "compensates 'book_hotel', which is not an activity of the same process "
                "level with a compensation boundary event", id="activity-ref-without-handler"),
])
def test_what_bridgeflow_cannot_compensate_is_refused_at_deploy(
        engine: Engine, body: str, element: str, words: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"refused.bpmn": _process("refused", body)})
    [problem] = caught.value.problems
    assert (problem.file, problem.element_id) == ("refused.bpmn", element)
    assert problem.line is not None
    assert words in problem.message
    assert "refused" not in {d.key for d in engine.repository.list_definitions()}


IN_SUBPROCESS = _process("sub_trip", """
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="trip"><bpmn:startEvent id="trip_start"/>""" + BOOKINGS + """
    <bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/>
    </bpmn:intermediateThrowEvent><bpmn:endEvent id="trip_end"/>"""
                         + _flows("trip_start", "book_hotel", "book_flight", "undo",
                                  "trip_end") + """
  </bpmn:subProcess>""" + _script("pay", 'paid = True')
                         + _script("refund", 'refunded = True', handler=True)
                         + _undoes("pay", "refund")
                         + _script("report", 'report = trail + ["report"]') + """
  <bpmn:endEvent id="end"/>""" + _flows("start", "pay", "trip", "report", "end"))


def test_a_throw_inside_a_subprocess_compensates_that_subprocess_only(
        engine: Engine) -> None:
    engine.repository.deploy({"sub_trip.bpmn": IN_SUBPROCESS})
    inst = engine.runtime.start("sub_trip", None, {"trail": []}, wait=5)
    assert inst.status == "completed"
    steps = _steps(engine, inst.id)
    assert "refund" not in steps  # a task of the process level above
    assert steps[steps.index("book_flight"):steps.index("report")] == [
        "book_flight", "cancel_flight", "cancel_hotel", "undo", "trip_end", "trip"]
    assert inst.variables["report"] == ["book hotel", "book flight", "cancel flight",
                                        "cancel hotel", "report"]


SUBPROCESS_HANDLER = _process("sub_undo", """
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="trip"><bpmn:startEvent id="trip_start"/>"""
                              + _script("book", 'booked = True') + """
    <bpmn:endEvent id="trip_end"/>""" + _flows("trip_start", "book", "trip_end") + """
  </bpmn:subProcess>""" + _script("cancel_trip", 'booked = False', handler=True)
                              + _undoes("trip", "cancel_trip") + """
  <bpmn:userTask id="confirm" camunda:candidateGroups="sales"/>
  <bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/>
  </bpmn:intermediateThrowEvent>
  <bpmn:intermediateThrowEvent id="undo_again"><bpmn:compensateEventDefinition/>
  </bpmn:intermediateThrowEvent>
  <bpmn:endEvent id="end"/>""" + _flows("start", "trip", "confirm", "undo", "undo_again",
                                         "end"))


def test_a_completed_subprocess_is_compensated_by_its_own_handler_once(
        engine: Engine) -> None:
    engine.repository.deploy({"sub_undo.bpmn": SUBPROCESS_HANDLER})
    inst = engine.runtime.start("sub_undo", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)  # saved and restored while it waits
    engine.tasks.complete(task.id, "sam", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables["booked"] is False
    # the second throw finds nothing left to compensate
    assert _steps(engine, inst.id)[-5:] == ["confirm", "cancel_trip", "undo", "undo_again",
                                            "end"]


PARALLEL = _process("split_trip", """
  <bpmn:startEvent id="start"/>
  <bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>
  <bpmn:serviceTask id="book_hotel" camunda:type="external" camunda:topic="test.count"/>"""
                    + _script("book_flight", 'flight = "booked"')
                    + _script("cancel_hotel", 'hotel = "cancelled"', handler=True) + """
  <bpmn:serviceTask id="cancel_flight" isForCompensation="true" camunda:type="external"
      camunda:topic="test.count"/>"""
                    + _undoes("book_hotel", "cancel_hotel")
                    + _undoes("book_flight", "cancel_flight") + """
  <bpmn:endEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:endEvent>"""
                    + _flows("start", "split", "book_hotel", "join", "undo")
                    + _flows("split", "book_flight", "join"))


def test_parallel_paths_are_compensated_with_service_task_handlers(engine: Engine) -> None:
    engine.repository.deploy({"split_trip.bpmn": PARALLEL})
    inst = engine.runtime.start("split_trip", None, {}, wait=5)
    assert inst.status == "completed"
    steps = _steps(engine, inst.id)
    # a service task is a step when it starts and when it completes: keep the completions
    completed = [s for i, s in enumerate(steps) if s not in steps[i + 1:]]
    done = [s for s in completed if s.startswith("book_")]
    undone = [s for s in completed if s.startswith("cancel_")]
    assert len(done) == len(undone) == 2
    assert undone == ["cancel_" + s.removeprefix("book_") for s in reversed(done)]
    assert steps[-1] == "undo"
    assert inst.variables["hotel"] == "cancelled"
    assert inst.variables["counted"] is True  # the service handler's result

