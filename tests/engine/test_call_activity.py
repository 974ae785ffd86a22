"""Call activities with Camunda 7's ``camunda:in`` / ``camunda:out`` variable mappings."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.errors import DefinitionError

CHILD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="dc" targetNamespace="http://t">
  <bpmn:process id="pack" isExecutable="true">
    <bpmn:startEvent id="ps"><bpmn:outgoing>p1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="pack_it" camunda:candidateGroups="warehouse">
      <bpmn:incoming>p1</bpmn:incoming><bpmn:outgoing>p2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="note" scriptFormat="python">
      <bpmn:incoming>p2</bpmn:incoming><bpmn:outgoing>p3</bpmn:outgoing>
      <bpmn:script>seen = []
try:
    seen.append(("order_id", order_id))
except Exception:  # the variable was not passed
    pass
try:
    seen.append(("item", item))
except Exception:  # the variable was not passed
    pass
try:
    seen.append(("secret", secret))
except Exception:  # the variable was not passed
    pass
try:
    seen.append(("order", order))
except Exception:  # the variable was not passed
    pass
parcel = "P-" + str(dict(seen).get("order_id"))
scratch = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="pe"><bpmn:incoming>p3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="pack_it"/>
    <bpmn:sequenceFlow id="p2" sourceRef="pack_it" targetRef="note"/>
    <bpmn:sequenceFlow id="p3" sourceRef="note" targetRef="pe"/>
  </bpmn:process>
</bpmn:definitions>
"""

PARENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="dp" targetNamespace="http://t">
  <bpmn:process id="ship" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call_pack" calledElement="pack" {attrs}>
      <bpmn:extensionElements>{mappings}</bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call_pack"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_pack" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
START = {"order": {"id": 42, "weight": 3}, "secret": "s3cr3t"}


def _run(engine: Engine, mappings: str, attrs: str = "") -> dict[str, object]:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(mappings=mappings,
                                                         attrs=attrs).encode()})
    inst = engine.runtime.start("ship", "order-42", START, wait=5)
    [row] = engine.tasks.open_tasks_of(inst.id)
    assert row.element_id == "pack_it"
    engine.tasks.complete(row.id, "wendy", {"weight": 7}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed", engine.management.incidents_of(inst.id)
    return done.variables


def test_the_child_sees_only_mapped_variables_and_the_parent_gets_only_the_out_ones(
        engine: Engine) -> None:
    variables = _run(engine, """
        <camunda:in businessKey="#{execution.processBusinessKey}"/>
        <camunda:in sourceExpression="${order.id}" target="order_id"/>
        <camunda:in source="missing" target="item"/>
        <camunda:out source="parcel" target="parcel_no"/>
        <camunda:out source="seen" target="seen"/>""")
    assert variables["seen"] == [["order_id", 42], ["item", None]]  # no secret, no order
    assert variables["parcel_no"] == "P-42"
    assert "parcel" not in variables and "scratch" not in variables
    assert variables["order"] == START["order"]  # the child's weight did not come back


def test_variables_all_passes_everything_both_ways(engine: Engine) -> None:
    variables = _run(engine, '<camunda:in variables="all"/><camunda:out variables="all"/>')
    assert variables["seen"] == [["secret", "s3cr3t"], ["order", START["order"]]]
    assert variables["scratch"] == 1 and variables["weight"] == 7


def test_a_camunda_model_passes_nothing_in_without_a_camunda_in(engine: Engine) -> None:
    variables = _run(engine, '<camunda:out source="seen" target="seen"/>')
    assert variables["seen"] == []
    assert "parcel" not in variables and variables["order"] == START["order"]


@pytest.mark.parametrize(("attrs", "mappings", "words"), [
    ('camunda:calledElementBinding="version" camunda:calledElementVersion="3"', "",
     'calledElementBinding="version" is not supported'),
    ('camunda:calledElementBinding="deployment"', "", "needs the process 'pack' in the same"),
    ("", '<camunda:in businessKey="${order.id}"/>', "keeps its business key"),
])
def test_what_cannot_be_honoured_is_refused_at_deploy(engine: Engine, attrs: str, mappings: str,
                                                      words: str) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"ship.bpmn": PARENT.format(mappings=mappings,
                                                             attrs=attrs).encode()})
    [problem] = caught.value.problems
    assert problem.element_id == "call_pack" and words in problem.message
