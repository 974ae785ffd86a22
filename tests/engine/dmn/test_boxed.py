"""Boxed expressions: contexts, invocations, lists, relations, conditionals, filters, loops."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.engine.dmn.builders import DMN13, load


def lit(text: str) -> str:
    return f"<literalExpression><text>{text}</text></literalExpression>"


def entry(name: str, body: str) -> str:
    return f'<contextEntry><variable name="{name}"/>{body}</contextEntry>'


FILE = f"""<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">
  <businessKnowledgeModel id="k" name="double it">
    <encapsulatedLogic><formalParameter name="n"/>{lit("n * 2")}</encapsulatedLogic>
  </businessKnowledgeModel>
  <decision id="ctx" name="Ctx">
    <knowledgeRequirement><requiredKnowledge href="#k"/></knowledgeRequirement>
    <context>
      {entry("base price", lit("10"))}
      {entry("doubled", '<invocation>' + lit("double it")
             + '<binding><parameter name="n"/>' + lit("base price") + '</binding></invocation>')}
      {entry("items", "<list>" + lit("1") + lit("base price") + "</list>")}
      {entry("big", '<filter><in>' + lit("items") + '</in><match>' + lit("item > 5")
             + '</match></filter>')}
      {entry("label", '<conditional><if>' + lit("doubled > 15") + '</if><then>' + lit('"high"')
             + '</then><else>' + lit('"low"') + '</else></conditional>')}
      {entry("squares", '<for iteratorVariable="i"><in>' + lit("items") + '</in><return>'
             + lit("i * i") + '</return></for>')}
      {entry("rows", '<relation><column name="a"/><column name="b"/><row>' + lit("1")
             + lit('"x"') + '</row></relation>')}
      {entry("inc", '<functionDefinition><formalParameter name="x"/>' + lit("x + 1")
             + '</functionDefinition>')}
      <contextEntry>{lit("{doubled: doubled, big: big, label: label, squares: squares, "
                         "rows: rows, next: inc(base price)}")}</contextEntry>
    </context>
  </decision>
</definitions>""".encode()


def test_a_boxed_context_with_every_kind_of_boxed_expression_evaluates() -> None:
    assert load(FILE).evaluate("ctx", {}).outputs == {
        "doubled": Decimal(20),
        "big": [Decimal(10)],
        "label": "high",
        "squares": [Decimal(1), Decimal(100)],
        "rows": [{"a": Decimal(1), "b": "x"}],
        "next": Decimal(11),
    }


def _boxed_decision(body: str) -> bytes:
    return (f'<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">'
            f'<decision id="b" name="B">{body}</decision></definitions>').encode()


NOT_BOOLEAN = '"not a boolean"'


@pytest.mark.parametrize(
    "body",
    [
        "<conditional><if>" + lit('"abc"') + "</if><then>" + lit('"then"') + "</then><else>"
        + lit('"else"') + "</else></conditional>",
        "<filter><in>" + lit("[1, 2, 3]") + "</in><match>"
        + lit(f"if item &lt;= 2 then true else {NOT_BOOLEAN}") + "</match></filter>",
        '<some iteratorVariable="e"><in>' + lit("[1, 2]") + "</in><satisfies>"
        + lit(f"if e = 2 then true else {NOT_BOOLEAN}") + "</satisfies></some>",
        '<every iteratorVariable="e"><in>' + lit("[1, 2]") + "</in><satisfies>"
        + lit(f"if e = 1 then true else {NOT_BOOLEAN}") + "</satisfies></every>",
    ],
)
def test_a_boxed_condition_that_is_not_a_boolean_gives_null_with_an_error(body: str) -> None:
    result = load(_boxed_decision(body)).evaluate("b", {})
    assert result.outputs is None
    assert any("not a boolean" in e for e in result.errors), result.errors


def test_a_boxed_condition_that_is_null_is_false() -> None:
    body = ("<conditional><if>" + lit("null") + "</if><then>" + lit('"then"') + "</then><else>"
            + lit('"else"') + "</else></conditional>")
    result = load(_boxed_decision(body)).evaluate("b", {})
    assert result.outputs == "else"
