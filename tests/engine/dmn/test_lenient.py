"""parse_dmn_lenient: one unsupported decision fails alone, the others of the file still run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.dmn import DecisionEvaluationError, parse_dmn
from engine.dmn.lenient import parse_dmn_lenient
from engine.errors import DefinitionError
from tests.engine.dmn.builders import DMN13

FILE = f"""<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">
  <decision id="good" name="Good"><literalExpression><text>1 + 1</text></literalExpression>
  </decision>
  <decision id="bad" name="Bad"><literalExpression><text>1 +* 2</text></literalExpression>
  </decision>
  <decision id="boxed" name="Boxed"><functionDefinition kind="Java"><context/>
  </functionDefinition></decision>
  <decision id="after" name="After">
    <informationRequirement><requiredDecision href="#bad"/></informationRequirement>
    <literalExpression><text>Bad + 1</text></literalExpression>
  </decision>
  <decision name="No id"><literalExpression><text>"named"</text></literalExpression></decision>
</definitions>""".encode()


def test_the_supported_decisions_evaluate_and_the_others_say_why_not() -> None:
    document, problems = parse_dmn_lenient(FILE, "mixed.dmn")
    assert {p.element_id for p in problems} == {"bad", "boxed"}
    assert document.evaluate("good", {}).outputs == Decimal(2)
    assert document.evaluate("No id", {}).outputs == "named"
    with pytest.raises(DecisionEvaluationError, match="cannot be evaluated: .*cannot read"):
        document.evaluate("bad", {})
    with pytest.raises(DecisionEvaluationError, match="Java function"):
        document.evaluate("boxed", {})
    with pytest.raises(DecisionEvaluationError,
                       match="requires decision .Bad., which is unavailable"):
        document.evaluate("after", {})


def test_deploying_still_refuses_the_whole_file() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_dmn(FILE, "mixed.dmn")
    assert len(caught.value.problems) == 2


def test_a_problem_outside_any_decision_still_refuses_the_file() -> None:
    empty = f'<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t"/>'.encode()
    with pytest.raises(DefinitionError, match="defines no decision"):
        parse_dmn_lenient(empty, "empty.dmn")
