"""FEEL errors in a decision table say in which cell they happened."""

from __future__ import annotations

from engine.dmn import parse_dmn
from tests.engine.dmn.builders import DMN13

TABLE = f"""<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">
  <decision id="t" name="Tier"><decisionTable hitPolicy="FIRST">
    <input label="Amount"><inputExpression><text>amount</text></inputExpression></input>
    <input label="Code"><inputExpression><text>code * 2</text></inputExpression></input>
    <output name="tier"/>
    <rule><inputEntry><text>&gt; 10</text></inputEntry><inputEntry><text>-</text></inputEntry>
      <outputEntry><text>"big"</text></outputEntry></rule>
    <rule><inputEntry><text>abs(amount) &gt; 1</text></inputEntry><inputEntry><text>-</text>
      </inputEntry><outputEntry><text>amount + "x"</text></outputEntry></rule>
    <rule><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry>
      <outputEntry><text>"small"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>""".encode()


def test_each_error_names_its_rule_and_column_or_output() -> None:
    document = parse_dmn(TABLE, "tier.dmn")
    result = document.evaluate("t", {"amount": 5, "code": "A"})
    assert result.outputs is None and [m.number for m in result.matched_rules] == [2]
    assert result.errors == [
        "decision 'Tier', input 'Code' expression: string * number is not defined: null",
        "decision 'Tier' rule 2, output 'tier': number + string is not defined: null",
    ]


def test_an_error_in_an_input_entry_names_the_rule_and_column() -> None:
    document = parse_dmn(TABLE.replace(b"abs(amount)", b'abs("x")'), "tier.dmn")
    result = document.evaluate("t", {"amount": 5, "code": 1})
    assert result.outputs == "small"
    assert result.errors[0].startswith("decision 'Tier' rule 2, input 'Amount' (column 1): "
                                       "abs() gave null")
    # the first matching rule ends a FIRST table: nothing after it is evaluated or reported
    assert all("rule 3" not in e for e in result.errors)
