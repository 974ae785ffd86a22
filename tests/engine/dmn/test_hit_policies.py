"""Each hit policy with a small table, including UNIQUE/ANY violations and default outputs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.dmn import DecisionEvaluationError, MatchedRule
from tests.engine.dmn.builders import run, table_xml

# Rules: amount >= 100 -> "gold"; >= 50 -> "silver"; >= 0 -> "bronze"
TIERS = [([">= 100"], ['"gold"']), ([">= 50"], ['"silver"']), ([">= 0"], ['"bronze"'])]
ORDER = {"result": '"bronze", "silver", "gold"'}


def tiers(policy: str, **options: object) -> bytes:
    return table_xml(TIERS, hit_policy=policy, **options)  # type: ignore[arg-type]


def test_unique_gives_the_single_match_and_its_rule() -> None:
    result = run(tiers("UNIQUE"), {"amount": 10})
    assert result.outputs == "bronze"
    assert result.matched_rules == [MatchedRule("rule_3", 3)]


def test_unique_with_several_matches_names_the_rules() -> None:
    with pytest.raises(DecisionEvaluationError) as caught:
        run(tiers("UNIQUE"), {"amount": 120})
    error = caught.value
    assert error.code == "decision_error"
    assert "'Decision'" in error.message and "UNIQUE" in error.message
    assert "rules 1, 2, 3 matched" in error.message
    assert [r.number for r in error.matched_rules] == [1, 2, 3]


def test_no_match_gives_null_for_single_hit_and_empty_list_for_multi_hit() -> None:
    assert run(tiers("UNIQUE"), {"amount": -1}).outputs is None
    assert run(tiers("UNIQUE"), {"amount": -1}).matched_rules == []
    assert run(tiers("RULE ORDER"), {"amount": -1}).outputs == []
    assert run(tiers("COLLECT"), {"amount": -1}).outputs == []


def test_first_takes_the_first_match_in_rule_order() -> None:
    result = run(tiers("FIRST"), {"amount": 120})
    assert result.outputs == "gold"
    assert [r.number for r in result.matched_rules] == [1]


def test_any_accepts_matches_that_agree() -> None:
    xml = table_xml([([">= 10"], ['"ok"']), (["< 100"], ['"ok"'])], hit_policy="ANY")
    assert run(xml, {"amount": 50}).outputs == "ok"


def test_any_with_disagreeing_matches_is_an_error_naming_rules_and_outputs() -> None:
    with pytest.raises(DecisionEvaluationError) as caught:
        run(tiers("ANY"), {"amount": 60})
    assert "ANY" in caught.value.message
    assert "rules 2, 3" in caught.value.message
    assert '"silver"; "bronze"' in caught.value.message


def test_priority_picks_the_output_listed_first_in_output_values() -> None:
    priority = {"result": '"gold", "silver", "bronze"'}
    result = run(tiers("PRIORITY", output_values=priority), {"amount": 60})
    assert result.outputs == "silver"
    assert result.matched_rules == [MatchedRule("rule_2", 2)]
    low_first = run(tiers("PRIORITY", output_values=ORDER), {"amount": 120})
    assert low_first.outputs == "bronze"


def test_output_order_sorts_all_matches_by_output_values() -> None:
    result = run(tiers("OUTPUT ORDER", output_values=ORDER), {"amount": 120})
    assert result.outputs == ["bronze", "silver", "gold"]
    assert [r.number for r in result.matched_rules] == [3, 2, 1]


def test_rule_order_and_collect_list_every_match_in_rule_order() -> None:
    assert run(tiers("RULE ORDER"), {"amount": 60}).outputs == ["silver", "bronze"]
    assert run(tiers("COLLECT"), {"amount": 120}).outputs == ["gold", "silver", "bronze"]


@pytest.mark.parametrize(
    ("aggregation", "amount", "expected"),
    [
        ("SUM", 120, Decimal(60)),
        ("MIN", 120, Decimal(10)),
        ("MAX", 60, Decimal(20)),
        ("COUNT", 60, Decimal(2)),
        ("COUNT", -1, Decimal(0)),
        ("SUM", -1, None),
    ],
)
def test_collect_aggregations(aggregation: str, amount: int, expected: Decimal | None) -> None:
    xml = table_xml(
        [([">= 100"], ["30"]), ([">= 50"], ["20"]), ([">= 0"], ["10"])],
        hit_policy="COLLECT", aggregation=aggregation,
    )
    assert run(xml, {"amount": amount}).outputs == expected


def test_several_outputs_give_a_dict_or_a_list_of_dicts() -> None:
    rules = [([">= 100"], ['"gold"', "0.1"]), ([">= 0"], ['"basic"', "amount * 0.01"])]
    single = table_xml(rules, outputs=["tier", "discount"], hit_policy="FIRST")
    assert run(single, {"amount": 50}).outputs == {"tier": "basic", "discount": Decimal("0.5")}
    multi = table_xml(rules, outputs=["tier", "discount"], hit_policy="COLLECT")
    assert run(multi, {"amount": 200}).outputs == [
        {"tier": "gold", "discount": Decimal("0.1")},
        {"tier": "basic", "discount": Decimal("2.00")},
    ]


def test_default_output_entries_apply_when_no_rule_matches() -> None:
    xml = table_xml([([">= 100"], ['"gold"', "0.1"])], outputs=["tier", "discount"],
                    defaults={"tier": '"none"', "discount": "0"})
    assert run(xml, {"amount": 5}).outputs == {"tier": "none", "discount": Decimal(0)}
    assert run(xml, {"amount": 500}).outputs == {"tier": "gold", "discount": Decimal("0.1")}
