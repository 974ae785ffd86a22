"""Deploying DMN one decision at a time, and FEEL errors in a process made visible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import Engine
from engine.dmn.results import DecisionEvaluationError
from engine.errors import DefinitionError
from tests.engine.dmn.builders import DMN13

RULES = f"""<definitions xmlns="{DMN13}" id="rules" name="Rules" namespace="http://t/rules">
  <decision id="fee" name="Fee">
    <decisionTable id="fee_table">
      <input id="in_amount" label="Amount">
        <inputExpression typeRef="number"><text>amount</text></inputExpression>
      </input>
      <output id="out_fee" name="fee" typeRef="number"/>
      <rule id="small"><inputEntry><text>&lt; 100</text></inputEntry>
        <outputEntry><text>FEE_CELL</text></outputEntry></rule>
      <rule id="large"><inputEntry><text>&gt;= 100</text></inputEntry>
        <outputEntry><text>amount / 10</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="risk" name="Risk">
    <decisionTable id="risk_table">
      <input id="in_score" label="Score">
        <inputExpression typeRef="number"><text>score</text></inputExpression>
      </input>
      <output id="out_risk" name="risk" typeRef="string"/>
      <rule id="r1"><inputEntry><text>RISK_CELL</text></inputEntry>
        <outputEntry><text>"high"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="advice" name="Advice">
    <informationRequirement><requiredDecision href="#risk"/></informationRequirement>
    <literalExpression><text>"risk is " + Risk</text></literalExpression>
  </decision>
</definitions>"""


def rules(fee: str = "5", risk: str = "&gt; 50") -> bytes:
    return RULES.replace("FEE_CELL", fee).replace("RISK_CELL", risk).encode()


BROKEN = rules(risk="&gt;&gt; 50")  # a cell that is not FEEL: Risk, and Advice after it

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://t">
  <bpmn:process id="pricing" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide_it" camunda:decisionRef="DECISION"
        camunda:resultVariable="result" camunda:mapDecisionResult="singleEntry">
      <bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="done"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="s1" sourceRef="start" targetRef="decide_it"/>
    <bpmn:sequenceFlow id="s2" sourceRef="decide_it" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>"""


def process(decision: str) -> bytes:
    return PROCESS.replace("DECISION", decision).encode()


def test_a_broken_decision_deploys_unavailable_and_the_others_evaluate(engine: Engine) -> None:
    deployed = {d.key: d for d in engine.repository.deploy({"rules.dmn": BROKEN})}
    assert deployed["fee"].available and deployed["fee"].warnings == ()
    assert not deployed["risk"].available
    assert "rule 1, input 'Score' (column 1): cannot read '>> 50'" in str(
        deployed["risk"].unavailable_reason)
    assert "decision 'Risk' is unavailable" in deployed["risk"].warnings[0]
    assert "requires decision 'Risk', which is unavailable" in str(
        deployed["advice"].unavailable_reason)
    assert engine.repository.evaluate_decision("fee", {"amount": 500}).outputs == 50
    with pytest.raises(DecisionEvaluationError, match="cannot be evaluated: .*cannot read"):
        engine.repository.evaluate_decision("risk", {"score": 70})
    with pytest.raises(DecisionEvaluationError, match="requires decision 'Risk'"):
        engine.repository.evaluate_decision("advice", {"score": 70})
    assert engine.repository.definition("risk").unavailable_reason == \
        deployed["risk"].unavailable_reason
    assert engine.repository.definition("fee").unavailable_reason is None


def test_a_process_calling_an_unavailable_decision_is_refused_and_nothing_is_stored(
        engine: Engine) -> None:
    for decision in ("risk", "advice"):
        with pytest.raises(DefinitionError) as caught:
            engine.repository.deploy({"rules.dmn": BROKEN, "pricing.bpmn": process(decision)})
        [problem] = caught.value.problems
        assert problem.element_id == "decide_it"
        assert f"calls decision '{decision}', which is unavailable" in problem.message
        assert "cannot read '>> 50'" in problem.message
    # nothing half-written: neither the decisions nor the process
    keys = {d.key for d in engine.repository.list_definitions()}
    assert not keys & {"fee", "risk", "advice", "pricing"}


def test_a_process_calling_a_decision_deployed_unavailable_earlier_is_refused(
        engine: Engine) -> None:
    engine.repository.deploy({"rules.dmn": BROKEN})
    with pytest.raises(DefinitionError, match="calls decision 'risk', which is unavailable"):
        engine.repository.deploy({"pricing.bpmn": process("risk")})
    [fee_process] = engine.repository.deploy({"pricing.bpmn": process("fee")})
    assert fee_process.new_version
    # deploying the corrected file makes the call deployable
    engine.repository.deploy({"rules.dmn": rules()})
    assert engine.repository.deploy({"pricing.bpmn": process("risk")})[0].version == 2


def test_a_dry_run_answers_the_same_and_stores_nothing(engine: Engine) -> None:
    answer = {d.key: d for d in engine.repository.deploy({"rules.dmn": BROKEN}, dry_run=True)}
    assert not answer["risk"].available and answer["fee"].available
    with pytest.raises(DefinitionError, match="calls decision 'risk'"):
        engine.repository.deploy({"rules.dmn": BROKEN, "pricing.bpmn": process("risk")},
                                 dry_run=True)
    assert "risk" not in {d.key for d in engine.repository.list_definitions()}


def test_a_file_where_no_decision_can_be_evaluated_is_refused(engine: Engine) -> None:
    only = BROKEN.replace(b'<decision id="fee"', b'<decision id="fee_off"').replace(
        b"<text>5</text>", b"<text>5 +</text>")
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"rules.dmn": only})
    assert len(caught.value.problems) == 2  # every problem, not only the first


def test_a_feel_error_in_a_cell_opens_an_incident_and_retry_works_after_a_fix(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"rules.dmn": rules(fee='amount + customer_email'),
                              "pricing.bpmn": process("fee")})
    inst = engine.runtime.start("pricing", None,
                                {"amount": 20, "customer_email": "jane@example.com"}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "decide_it"
    assert "decision 'Fee' rule 1, output 'fee'" in incident.message
    assert "number + string" in incident.message
    assert "amount = 20" in incident.message
    assert "jane@example.com" not in incident.message  # personal values masked
    assert "result" not in engine.runtime.instance(inst.id).variables
    # a null operand is FEEL's null propagation, as in Camunda: no incident, a null result
    empty = engine.runtime.start("pricing", None, {"amount": 20, "customer_email": None},
                                 wait=5)
    assert empty.status == "completed" and empty.variables["result"] is None
    engine.repository.deploy({"rules.dmn": rules(fee="amount / 2")})
    engine.management.retry_incident(incident.id, actor="admin")
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(inst.id).variables["result"] == 10


def test_the_evaluate_api_of_the_engine_returns_the_feel_errors(engine: Engine) -> None:
    engine.repository.deploy({"rules.dmn": rules(fee='amount + "x"')})
    result = engine.repository.evaluate_decision("fee", {"amount": 20})
    assert result.outputs is None
    assert result.errors == ["decision 'Fee' rule 1, output 'fee': number + string is not "
                             "defined: null"]


CONDITION = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://t">
  <bpmn:process id="routing" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:exclusiveGateway id="split" default="to_small"/>
    <bpmn:sequenceFlow id="to_big" sourceRef="split" targetRef="big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=amount + note &gt; 100
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_small" sourceRef="split" targetRef="small"/>
    <bpmn:endEvent id="big"/>
    <bpmn:endEvent id="small"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_feel_error_in_a_condition_is_an_incident_not_the_default_path(
        engine: Engine) -> None:
    engine.repository.deploy({"routing.bpmn": CONDITION})
    inst = engine.runtime.start("routing", None, {"amount": 500, "note": "urgent"}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "split"
    assert "the FEEL expression '=amount + note > 100' met errors" in incident.message
    assert "number + string" in incident.message
    fine = engine.runtime.start("routing", None, {"amount": 500, "note": 1}, wait=5)
    assert fine.status == "completed"


@pytest.mark.parametrize(("fee", "variables", "reported"), [
    ("order.discount", {"order": {"lines": 3}}, "a context has no entry 'discount': null"),
    ("order.discount", {"order": None}, "a null has no property 'discount': null"),
    ("limit in [1..10]", {"limit": None}, "null in a range is not defined: null"),
])
def test_a_missing_entry_is_reported_as_null_propagation_without_an_incident(
        engine: Engine, fee: str, variables: dict[str, Any], reported: str) -> None:
    engine.repository.deploy({"rules.dmn": rules(fee=fee), "pricing.bpmn": process("fee")})
    result = engine.repository.evaluate_decision("fee", {"amount": 20, **variables})
    assert result.outputs is None
    assert any(reported in e for e in result.errors), result.errors
    inst = engine.runtime.start("pricing", None, {"amount": 20, **variables}, wait=5)
    assert inst.status == "completed" and inst.variables["result"] is None
