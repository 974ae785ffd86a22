"""Expressions analysts write in Camunda Modeler: groups, defaults and priorities from data."""

from __future__ import annotations

from engine import Engine

ROUTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://t">
  <bpmn:process id="routed" name="Routed" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="handle" name="Handle it" camunda:candidateGroups="${routing.department}"
        camunda:priority="${routing.priority}">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="amount" label="Amount" type="long"
              defaultValue="${order.total}"/>
          <camunda:formField id="urgent" label="Urgent" type="boolean"
              defaultValue="${routing.priority &gt; 70}"/>
          <camunda:formField id="note" label="Note" type="string" defaultValue="${missing}"/>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="handle"/>
    <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_groups_priority_and_form_defaults_come_from_the_instance_data(engine: Engine) -> None:
    engine.repository.deploy({"routed.bpmn": ROUTED.encode()})
    inst = engine.runtime.start("routed", None,
                                {"routing": {"department": "logistics", "priority": 80},
                                 "order": {"total": 420}}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.candidate_groups == ["logistics"]
    assert task.priority == 80
    fields = task.form["properties"]
    assert fields["amount"]["default"] == 420 and fields["urgent"]["default"] is True
    assert "default" not in fields["note"]  # an expression that fails gives no default


CALLEE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="dc"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" targetNamespace="http://t">
  <bpmn:process id="grade" name="Grade" isExecutable="true">
    <bpmn:startEvent id="gs"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="big" default="g3">
      <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
      <bpmn:outgoing>g3</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="large" scriptFormat="python"><bpmn:incoming>g2</bpmn:incoming>
      <bpmn:outgoing>g4</bpmn:outgoing><bpmn:script>grade = "large"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="small" scriptFormat="python"><bpmn:incoming>g3</bpmn:incoming>
      <bpmn:outgoing>g5</bpmn:outgoing><bpmn:script>grade = "small"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="ge1"><bpmn:incoming>g4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="ge2"><bpmn:incoming>g5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="gs" targetRef="big"/>
    <bpmn:sequenceFlow id="g2" sourceRef="big" targetRef="large">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >${order.total &gt; 100}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="g3" sourceRef="big" targetRef="small"/>
    <bpmn:sequenceFlow id="g4" sourceRef="large" targetRef="ge1"/>
    <bpmn:sequenceFlow id="g5" sourceRef="small" targetRef="ge2"/>
  </bpmn:process>
</bpmn:definitions>
"""

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="dr"
    targetNamespace="http://t">
  <bpmn:process id="caller" name="Caller" isExecutable="true">
    <bpmn:startEvent id="cs"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call_grade" calledElement="grade">
      <bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:endEvent id="ce"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="call_grade"/>
    <bpmn:sequenceFlow id="c2" sourceRef="call_grade" targetRef="ce"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_process_called_from_another_file_deployed_earlier_keeps_its_juel_working(
        engine: Engine) -> None:
    engine.repository.deploy({"grade.bpmn": CALLEE.encode()})
    engine.repository.deploy({"caller.bpmn": CALLER.encode()})  # finds grade among deployed files
    inst = engine.runtime.start("caller", None, {"order": {"total": 250}}, wait=5)
    assert inst.status == "completed", engine.management.incidents_of(inst.id)
    assert inst.variables["grade"] == "large"
