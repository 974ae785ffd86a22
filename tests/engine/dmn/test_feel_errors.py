"""FEEL errors give null and are reported in the decision result, as DMN asks."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from tests.engine.dmn.builders import DMN13, load


def result_of(text: str):  # type: ignore[no-untyped-def]
    xml = (
        f'<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">'
        f'<decision id="calc" name="Calc"><literalExpression><text>{escape(text)}</text>'
        "</literalExpression></decision></definitions>"
    ).encode()
    return load(xml).evaluate("calc", {})


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ('@"P1Y" - "10"', "years and months duration - string is not defined"),
        ('1 + "a"', "number + string is not defined"),
        ('100 = "100"', "number = string is not defined"),
        ('-"a"', "-string is not defined"),
        ('abs("-1")', "abs() gave null"),
        ("date(null)", "date() gave null"),
        ('date("2019-02-30")', "date() gave null"),
        ("1 / 0", "number / number is not defined"),
    ],
)
def test_an_undefined_operation_gives_null_and_is_reported(text: str, reported: str) -> None:
    result = result_of(text)
    assert result.outputs is None
    assert any(reported in e for e in result.errors), result.errors


def test_a_valid_expression_reports_nothing() -> None:
    result = result_of('date("2019-02-28") + @"P1D" = @"2019-03-01"')
    assert result.outputs is True and result.errors == []
    assert result_of('get value({a: 1}, "b")').errors == []


def test_range_properties_and_an_unknown_property() -> None:
    assert result_of("[1..10).end included").outputs is False
    assert result_of("]1..10].start").outputs == 1
    result = result_of('@"P1Y".days')
    assert result.outputs is None and "has no property 'days'" in result.errors[0]


def test_a_decision_result_is_coerced_to_its_type() -> None:
    xml = (
        f'<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">'
        '<decision id="one" name="One"><variable name="One" typeRef="number"/>'
        "<literalExpression><text>[10]</text></literalExpression></decision>"
        '<decision id="bad" name="Bad"><variable name="Bad" typeRef="number"/>'
        '<literalExpression><text>"ten"</text></literalExpression></decision>'
        "</definitions>"
    ).encode()
    document = load(xml)
    assert document.evaluate("one", {}).outputs == 10
    bad = document.evaluate("bad", {})
    assert bad.outputs is None and "must be a number" in bad.errors[0]


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ('for i in "a".."z" return i', "needs whole numbers or dates"),
        ("for i in [2..1] return i", "cannot iterate over a range"),
        ('1 between "a" and 3', "between needs"),
        ("get value(null, null)", "get value() takes a context"),
    ],
)
def test_loops_between_and_get_value_report_their_errors(text: str, reported: str) -> None:
    result = result_of(text)
    assert result.outputs is None and any(reported in e for e in result.errors), result.errors


ITEMS = f"""<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">
  <itemDefinition name="tNumbers" isCollection="true"><typeRef>number</typeRef></itemDefinition>
  <itemDefinition name="tPerson">
    <itemComponent name="name"><typeRef>string</typeRef></itemComponent>
    <itemComponent name="age"><typeRef>number</typeRef></itemComponent>
  </itemDefinition>
  <decision id="is" name="Is"><literalExpression>
    <text>[[1, 2] instance of tNumbers, [1, "2"] instance of tNumbers,
           {{name: "a", age: 1}} instance of tPerson, {{name: "a"}} instance of tPerson]</text>
  </literalExpression></decision>
  <decision id="wrapped" name="Wrapped"><variable name="Wrapped" typeRef="tNumbers"/>
    <literalExpression><text>7</text></literalExpression></decision>
  <decision id="wrong" name="Wrong"><variable name="Wrong" typeRef="tNumbers"/>
    <literalExpression><text>[1, "foo"]</text></literalExpression></decision>
</definitions>""".encode()


def test_item_definitions_are_types_for_instance_of_and_results() -> None:
    document = load(ITEMS)
    assert document.evaluate("is", {}).outputs == [True, False, True, False]
    assert document.evaluate("wrapped", {}).outputs == [7]
    wrong = document.evaluate("wrong", {})
    assert wrong.outputs is None and "must be a list<number>" in wrong.errors[0]
