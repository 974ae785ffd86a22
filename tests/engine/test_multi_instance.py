"""Multi-instance activities as Camunda Modeler draws them (Camunda 7, Zeebe and BPMN forms)."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.errors import DefinitionError
from tests.engine.conftest import FakeSystem

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {activity}
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="each"/>
    <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
FLOWS = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"

REVIEW = f"""<bpmn:userTask id="each" name="Review" camunda:assignee="${{reviewer}}"
        camunda:candidateGroups="${{teams[loopCounter]}}">{FLOWS}
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${{reviewers}}"
          camunda:elementVariable="reviewer">
        <bpmn:completionCondition xsi:type="bpmn:tFormalExpression"
          >${{nrOfCompletedInstances &gt;= 2}}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>"""


def _deploy(engine: Engine, key: str, activity: str) -> None:
    engine.repository.deploy({f"{key}.bpmn": HEAD.format(key=key, activity=activity).encode()})


def test_each_reviewer_gets_a_task_and_two_approvals_cancel_the_third(engine: Engine) -> None:
    _deploy(engine, "review_all", REVIEW)
    inst = engine.runtime.start("review_all", None, {"reviewers": ["ann", "bob", "cy"],
                                                     "teams": ["legal", "sales", "ops"]}, wait=5)
    rows = engine.tasks.open_tasks_of(inst.id)
    assert sorted((r.assignee, r.candidate_groups[0]) for r in rows) == [
        ("ann", "legal"), ("bob", "sales"), ("cy", "ops")]
    by_name = {r.assignee: r for r in rows}
    engine.tasks.complete(by_name["ann"].id, "ann", {"approved": True}, wait=5)
    assert len(engine.tasks.open_tasks_of(inst.id)) == 2
    engine.tasks.complete(by_name["cy"].id, "cy", {"approved": True}, wait=5)

    assert engine.tasks.open_tasks_of(inst.id) == []  # bob's task was cancelled
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed", engine.management.incidents_of(inst.id)
    assert done.variables["approved"] is True
    # the element variable and the counters stay inside the instances
    assert "reviewer" not in done.variables and "loopCounter" not in done.variables


def test_a_sequential_review_creates_one_task_after_the_other(engine: Engine) -> None:
    _deploy(engine, "review_in_turn",
            REVIEW.replace("<bpmn:multiInstanceLoopCharacteristics",
                           '<bpmn:multiInstanceLoopCharacteristics isSequential="true"'))
    inst = engine.runtime.start("review_in_turn", None, {"reviewers": ["ann", "bob", "cy"],
                                                         "teams": ["a", "b", "c"]}, wait=5)
    for reviewer in ("ann", "bob"):
        [row] = engine.tasks.open_tasks_of(inst.id)
        assert row.assignee == reviewer
        engine.tasks.complete(row.id, reviewer, {"approved": True}, wait=5)
    assert engine.tasks.open_tasks_of(inst.id) == []  # cy was never asked
    assert engine.runtime.instance(inst.id).status == "completed"


COUNTERS = f"""<bpmn:scriptTask id="each" scriptFormat="python">{FLOWS}
      <bpmn:multiInstanceLoopCharacteristics {{sequential}}>
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="=items" inputElement="item"
              outputCollection="lines" outputElement="=line"/>
        </bpmn:extensionElements>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>line = (item + ":" + str(loopCounter) + "/" + str(nrOfInstances)
        + " done=" + str(nrOfCompletedInstances))</bpmn:script>
    </bpmn:scriptTask>"""


@pytest.mark.parametrize(("sequential", "done"), [('isSequential="true"', [0, 1, 2]),
                                                  ("", [0, 0, 0])])
def test_zeebe_output_collection_gathers_each_instance_result_with_its_counters(
        engine: Engine, sequential: str, done: list[int]) -> None:
    _deploy(engine, "count_lines", COUNTERS.format(sequential=sequential))
    inst = engine.runtime.start("count_lines", None, {"items": ["a", "b", "c"]}, wait=5)
    assert inst.status == "completed", engine.management.incidents_of(inst.id)
    assert inst.variables["lines"] == [f"{item}:{i}/3 done={d}"
                                       for i, (item, d) in enumerate(zip("abc", done, strict=True))]


RECORD = f"""<bpmn:serviceTask id="each" camunda:type="external" camunda:topic="test.record"
        camunda:resultVariable="outcome">
      <bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="decision">${{decision}}</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements>{FLOWS}
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>decisions</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>outcomes</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="decision" name="decision"/>
        <bpmn:outputDataItem id="outcome" name="outcome"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>"""


def test_a_service_task_runs_once_per_item_and_collects_the_results(
        engine: Engine, system: FakeSystem, drain) -> None:  # type: ignore[no-untyped-def]
    _deploy(engine, "record_each", RECORD)
    inst = engine.runtime.start("record_each", None, {"decisions": ["yes", "no"]}, wait=5)
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert sorted(params["decision"] for _, params, _ in system.calls) == ["no", "yes"]
    assert engine.runtime.instance(inst.id).variables["outcomes"] == [
        {"saved": True, "decision": "yes"}, {"saved": True, "decision": "no"}]


SIGN = f"""<bpmn:subProcess id="each">{FLOWS}
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>${{copies}}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:startEvent id="ss"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="sign" camunda:candidateGroups="${{'desk-' + str(loopCounter)}}">
        <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
      </bpmn:userTask>
      <bpmn:endEvent id="se"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="sign"/>
      <bpmn:sequenceFlow id="g2" sourceRef="sign" targetRef="se"/>
    </bpmn:subProcess>"""


def test_a_subprocess_runs_loop_cardinality_times_and_sees_its_loop_counter(
        engine: Engine) -> None:
    _deploy(engine, "sign_copies", SIGN)
    inst = engine.runtime.start("sign_copies", None, {"copies": 2}, wait=5)
    rows = engine.tasks.open_tasks_of(inst.id)
    assert sorted(r.candidate_groups[0] for r in rows) == ["desk-0", "desk-1"]
    for row in rows:
        engine.tasks.complete(row.id, "sam", {}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"


def test_a_collection_that_is_not_a_variable_is_refused_with_a_way_out(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as caught:
        _deploy(engine, "bad_loop", REVIEW.replace("${reviewers}", "${order.reviewers}"))
    [problem] = caught.value.problems
    assert problem.element_id == "each" and "not a variable name" in problem.message
