"""Expressions analysts write in Camunda Modeler: groups, defaults and priorities from data."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from engine.service import Engine

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
    engine.deploy({"routed.bpmn": ROUTED.encode()})
    inst = engine.start("routed", None, {"routing": {"department": "logistics", "priority": 80},
                                         "order": {"total": 420}}, wait=5)
    [task] = engine.open_tasks_of(inst.id)
    assert task.candidate_groups == ["logistics"]
    assert task.priority == 80
    fields = task.form["properties"]
    assert fields["amount"]["default"] == 420 and fields["urgent"]["default"] is True
    assert "default" not in fields["note"]  # an expression that fails gives no default


def test_an_output_parameter_is_refused_rather_than_ignored(engine: Engine) -> None:
    xml = ROUTED.replace("<camunda:formData>", "<camunda:inputOutput><camunda:outputParameter "
                         'name="copy">${amount}</camunda:outputParameter></camunda:inputOutput>'
                         "<camunda:formData>")
    with pytest.raises(DefinitionError) as caught:
        engine.deploy({"routed.bpmn": xml.encode()})
    [problem] = caught.value.problems
    assert problem.element_id == "handle" and "outputParameter 'copy'" in problem.message
