"""Boxed expressions: contexts, invocations, lists, relations, conditionals, filters, loops."""

from __future__ import annotations

from decimal import Decimal

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
