"""Tables whose cells are constants are matched column by column, each distinct cell tested
once: the matches, their order and the hit-policy checks are those of rule-by-rule matching."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from engine.dmn import DecisionEvaluationError
from tests.engine.dmn.builders import run, table_xml

INPUTS = (("amount", "number"), ("tier", "string"))
# cells repeat across rules (shared), some rules overlap, one column has "-" cells
RULES = [
    (["[0..100[", '"gold", "silver"'], ['"a"']),
    (["[0..100[", "-"], ['"b"']),
    ([">= 100", '"gold"'], ['"c"']),
    (["[0..100[", '"bronze"'], ['"d"']),
    (["-", '"gold", "silver"'], ['"e"']),
    ([">= 100", "-"], ['"f"']),
]
SAMPLES = [{"amount": a, "tier": t} for a, t in itertools.product(
    [-5, 0, 50, 99.5, 100, 1000, None], ["gold", "silver", "bronze", "none", None])]


def expected_matches(values: dict[str, Any]) -> list[int]:
    """The rules that match, by reading the cells above in plain Python."""
    amount, tier = values["amount"], values["tier"]
    low = amount is not None and 0 <= amount < 100
    high = amount is not None and amount >= 100
    gold_silver = tier in ("gold", "silver")
    checks = [low and gold_silver, low, high and tier == "gold", low and tier == "bronze",
              gold_silver, high]
    return [i + 1 for i, ok in enumerate(checks) if ok]


@pytest.mark.parametrize("values", SAMPLES)
def test_rule_order_gives_every_match_in_order(values: dict[str, Any]) -> None:
    result = run(table_xml(RULES, inputs=INPUTS, hit_policy="RULE ORDER"), values)
    assert [r.number for r in result.matched_rules] == expected_matches(values)
    assert result.outputs == ["abcdef"[i - 1] for i in expected_matches(values)]


@pytest.mark.parametrize("values", SAMPLES)
def test_first_gives_the_first_match(values: dict[str, Any]) -> None:
    result = run(table_xml(RULES, inputs=INPUTS, hit_policy="FIRST"), values)
    first = expected_matches(values)[:1]
    assert [r.number for r in result.matched_rules] == first
    assert result.outputs == ("abcdef"[first[0] - 1] if first else None)


def test_unique_still_names_every_overlapping_rule() -> None:
    with pytest.raises(DecisionEvaluationError) as caught:
        run(table_xml(RULES, inputs=INPUTS), {"amount": 50, "tier": "gold"})
    assert "rules 1, 2, 5 matched" in caught.value.message


def test_a_cell_reading_another_input_is_matched_rule_by_rule() -> None:
    rules = [(["< limit", "-"], ['"under"']), (["-", "-"], ['"any"'])]
    xml = table_xml(rules, inputs=(("amount", "number"), ("limit", "number")),
                    hit_policy="RULE ORDER")
    assert run(xml, {"amount": 5, "limit": 10}).outputs == ["under", "any"]
    assert run(xml, {"amount": 50, "limit": 10}).outputs == ["any"]
