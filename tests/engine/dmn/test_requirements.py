"""Decision requirements: input data, required decisions, business knowledge models, typing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.dmn import DecisionEvaluationError
from engine.errors import NotFoundError
from tests.engine.dmn.builders import DMN13, load

DRD = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{DMN13}" id="defs" name="Loans" namespace="http://t">
  <inputData id="i_age" name="Applicant Age"><variable name="Applicant Age" typeRef="number"/>
  </inputData>
  <inputData id="i_amount" name="Amount"><variable name="Amount" typeRef="number"/></inputData>
  <businessKnowledgeModel id="b_fee" name="Fee">
    <encapsulatedLogic>
      <formalParameter name="amount" typeRef="number"/>
      <literalExpression><text>amount * 0.01 + 5</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <decision id="risk" name="Risk Class">
    <variable name="Risk Class" typeRef="string"/>
    <informationRequirement><requiredInput href="#i_age"/></informationRequirement>
    <decisionTable hitPolicy="UNIQUE">
      <input label="Age"><inputExpression typeRef="number"><text>Applicant Age</text>
      </inputExpression></input>
      <output name="Risk Class"/>
      <rule id="young"><inputEntry><text>&lt; 25</text></inputEntry>
        <outputEntry><text>"high"</text></outputEntry></rule>
      <rule id="older"><inputEntry><text>&gt;= 25</text></inputEntry>
        <outputEntry><text>"low"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="offer" name="Offer">
    <informationRequirement><requiredDecision href="#risk"/></informationRequirement>
    <informationRequirement><requiredInput href="#i_amount"/></informationRequirement>
    <knowledgeRequirement><requiredKnowledge href="#b_fee"/></knowledgeRequirement>
    <literalExpression>
      <text>if Risk Class = "low" then Amount + Fee(Amount) else null</text>
    </literalExpression>
  </decision>
</definitions>
""".encode()


def test_required_decisions_run_first_and_are_known_by_their_names() -> None:
    doc = load(DRD)
    assert doc.evaluate("offer", {"Applicant Age": 40, "Amount": 1000}).outputs == Decimal(1015)
    assert doc.evaluate("offer", {"Applicant Age": 20, "Amount": 1000}).outputs is None


def test_decisions_are_described_for_the_engine() -> None:
    doc = load(DRD)
    assert doc.namespace == DMN13
    risk = doc.decisions["risk"]
    assert (risk.name, risk.variable_name, risk.kind) == ("Risk Class", "Risk Class",
                                                         "decision table")
    assert risk.hit_policy == "UNIQUE" and risk.output_names == ["Risk Class"]
    assert doc.decisions["offer"].required_decisions == ["risk"]
    assert doc.decisions["offer"].required_inputs == ["Amount"]


def test_evaluate_accepts_an_unambiguous_name_and_reports_unknown_ones() -> None:
    doc = load(DRD)
    assert doc.evaluate("Risk Class", {"Applicant Age": 30}).outputs == "low"
    with pytest.raises(NotFoundError) as caught:
        doc.evaluate("nope", {})
    assert "offer, risk" in caught.value.message


def test_declared_input_data_left_out_is_null() -> None:
    assert load(DRD).evaluate("risk", {}).outputs is None


def test_a_wrongly_typed_input_is_an_error_not_a_silent_no_match() -> None:
    with pytest.raises(DecisionEvaluationError) as caught:
        load(DRD).evaluate("risk", {"Applicant Age": "40"})
    assert "'Applicant Age' must be a number" in caught.value.message


def test_an_undeclared_missing_variable_is_an_error_naming_it() -> None:
    xml = DRD.replace(b"<text>Applicant Age</text>", b"<text>Applicant Years</text>")
    with pytest.raises(DecisionEvaluationError) as caught:
        load(xml).evaluate("risk", {"Applicant Age": 30})
    assert "uses 'Applicant Years'" in caught.value.message
    assert caught.value.decision_id == "risk"


def test_an_unquoted_word_in_a_cell_is_reported_as_a_missing_variable() -> None:
    xml = DRD.replace(b'<text>"low"</text>', b"<text>low</text>")
    with pytest.raises(DecisionEvaluationError) as caught:
        load(xml).evaluate("risk", {"Applicant Age": 30})
    assert 'write "low" in double quotes' in caught.value.message


@pytest.mark.parametrize(
    "namespace",
    [
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
        "https://www.omg.org/spec/DMN/20211108/MODEL/",
        "https://www.omg.org/spec/DMN/20230324/MODEL/",
    ],
)
def test_every_dmn_version_from_1_1_to_1_5_is_read(namespace: str) -> None:
    doc = load(DRD.replace(DMN13.encode(), namespace.encode()))
    assert doc.namespace == namespace
    assert doc.evaluate("risk", {"Applicant Age": 18}).outputs == "high"
