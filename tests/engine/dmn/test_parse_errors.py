"""Files that cannot be deployed are refused with every problem, precisely located."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError, Problem
from tests.engine.dmn.builders import DMN13, load, table_xml


def problems(xml: bytes) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load(xml, "pricing.dmn")
    assert caught.value.code == "invalid_definition"
    return caught.value.problems


def test_every_bad_cell_is_listed_with_decision_rule_column_and_position() -> None:
    xml = table_xml(
        [
            (["[1..", '"gold"'], ["1"]),
            (["> 5", '"a" "b"'], ["2"]),
            (["-", "-"], ["3 +"]),
        ],
        inputs=[("amount", "number"), ("tier", "string")],
    )
    found = problems(xml)
    assert len(found) == 3
    first, second, third = found
    assert all(p.file == "pricing.dmn" and p.element_id == "decision" for p in found)
    assert first.message.startswith("decision 'Decision' rule 1, input 'amount' (column 1): "
                                    "cannot read '[1..' at character 5")
    assert "rule 2, input 'tier' (column 2)" in second.message
    assert "at character 5" in second.message
    assert "rule 3, output 'result'" in third.message
    assert first.line is not None and second.line is not None and first.line < second.line


@pytest.mark.parametrize(
    ("cell", "advice"),
    [
        ("== 5", 'single "="'),
        ("'gold'", "double quotes"),
        ("True", "write true"),
        ("x is None", "write null"),
        ("> 5 and < 10", "]5..10["),
        (">= 5 and <= 10", "[5..10]"),
        ("< 5 or > 10", "< 5, > 10"),
        ('"gold" or "silver"', '"a", "b"'),
        ("4 < ? < 6", "]4..6["),
        ('in ["a", "b"]', '"a", "b"'),
        ("len(?) > 3", "string length"),
        ('?.lower() = "a"', "lower case"),
        ("not ?", "not(x)"),
        ("? % 2 = 0", "modulo"),
        ('? not in ["a"]', "not(x in [...])"),
    ],
)
def test_python_dialect_cells_are_refused_with_what_to_write(cell: str, advice: str) -> None:
    (problem,) = problems(table_xml([([cell], ['"x"'])]))
    assert advice in problem.message


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [("? > 5", 6, "x"), ("? > 5 and ? < 10", 10, None), ('? in ["a", 2]', 2, "x")],
)
def test_python_dialect_cells_that_are_valid_feel_evaluate_correctly(
    cell: str, value: int, expected: str | None
) -> None:
    doc = load(table_xml([([cell], ['"x"'])]))
    assert doc.evaluate("decision", {"amount": value}).outputs == expected


def test_not_xml_and_not_dmn_are_refused() -> None:
    (bad_xml,) = problems(b"<definitions><decision></definitions>")
    assert "not well-formed XML" in bad_xml.message and bad_xml.line == 1
    (bpmn,) = problems(b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')
    assert "not a DMN file" in bpmn.message


def test_structural_problems_are_all_reported() -> None:
    xml = f"""<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">
      <decision id="a" name="A">
        <informationRequirement><requiredDecision href="#b"/></informationRequirement>
        <literalExpression><text>B + 1</text></literalExpression>
      </decision>
      <decision id="b" name="B">
        <informationRequirement><requiredDecision href="#a"/></informationRequirement>
        <informationRequirement><requiredDecision href="#ghost"/></informationRequirement>
        <literalExpression><text>A + 1</text></literalExpression>
      </decision>
      <decision id="c" name="C">
        <decisionTable hitPolicy="SOMETIMES">
          <input><inputExpression><text>x</text></inputExpression></input>
          <output name="o"/>
          <rule><inputEntry><text>1</text></inputEntry></rule>
        </decisionTable>
      </decision>
      <decision id="e" name="E"><functionDefinition kind="Java"><context/></functionDefinition>
      </decision>
    </definitions>""".encode()
    messages = [p.message for p in problems(xml)]
    assert any("unknown hit policy 'SOMETIMES'" in m for m in messages)
    assert any("rule 1 has 1 input and 0 output entries" in m for m in messages)
    assert any("requires decision 'ghost'" in m for m in messages)
    assert any("cycle: a → b → a" in m for m in messages)
    assert any("defines a Java function" in m for m in messages)


def test_priority_without_output_values_is_refused() -> None:
    (problem,) = problems(table_xml([(["1"], ['"x"'])], hit_policy="PRIORITY"))
    assert "output values" in problem.message


@pytest.mark.parametrize(
    ("expression", "advice"),
    [('customer["tier"]', "customer.tier"), ("items[0]", "items[1] is the first item"),
     ('"a" if amount > 1 else "b"', 'if x then "a" else "b"')],
)
def test_python_indexing_and_inline_if_are_refused(expression: str, advice: str) -> None:
    (problem,) = problems(table_xml([(["-"], [expression])]))
    assert "rule 1, output 'result'" in problem.message
    assert advice in problem.message


def test_unknown_functions_are_refused_at_deploy_time() -> None:
    (problem,) = problems(table_xml([(["-"], ["frobnicate(amount)"])]))
    assert "unknown function 'frobnicate'" in problem.message


def test_other_expression_languages_are_refused() -> None:
    xml = table_xml([(["-"], ['"x"'])]).replace(
        b'<inputExpression id="ie_0" typeRef="number">',
        b'<inputExpression id="ie_0" typeRef="number" expressionLanguage="juel">',
    ).replace(b"<text>amount</text>", b"<text>${amount}</text>")
    messages = [p.message for p in problems(xml)]
    assert any("expression language 'juel' is not supported" in m for m in messages)
    assert any("JUEL expressions such as ${x} are not supported" in m for m in messages)
