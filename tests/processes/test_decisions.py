"""The shipped decision tables, rule by rule: every rule is reached by a case it exists for.

The tables are evaluated by Bridgeflow's DMN engine exactly as a business rule task (and
``bridgeflow decide``) evaluates them; UNIQUE tables fail on a gap or an overlap, so a
matched rule id here also proves that no other rule matched.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from lxml import etree

from engine.dmn import DmnDocument, parse_dmn

from .conftest import PROCESSES

ACME = "001000000000001AAA"


@cache
def document(filename: str) -> DmnDocument:
    return parse_dmn((PROCESSES / filename).read_bytes(), filename)


def rule_ids(filename: str, decision_id: str) -> set[str]:
    tree = etree.parse(str(PROCESSES / filename))
    return {str(r.get("id")) for r in tree.iterfind(
        f".//{{*}}decision[@id='{decision_id}']//{{*}}rule")}


def matched(filename: str, decision_id: str, variables: dict[str, Any]) -> tuple[str, Any]:
    result = document(filename).evaluate(decision_id, variables)
    (rule,) = result.matched_rules
    return str(rule.id), result.outputs


# -- credit_decision -------------------------------------------------------------------------

def contract(amount: float | None, tier: str | None, term: int | None = 12) -> dict[str, Any]:
    return {"amount": amount, "term_months": term, "account": {"id": ACME, "tier": tier}}


def credit(available: str | float | None) -> dict[str, Any]:
    return {"limit": None if available is None else "50000.00", "available": available}


CREDIT = [
    ("no_amount", contract(None, "gold"), credit("10000.00"), "finance_review"),
    ("no_amount", contract(0, "gold"), credit("10000.00"), "finance_review"),
    ("no_credit_limit", contract(500, "gold"), credit(None), "finance_review"),
    ("no_credit_left", contract(500, "gold"), credit("0.00"), "reject"),
    ("no_credit_left", contract(500, "bronze"), credit("-250.00"), "reject"),
    ("over_limit_gold", contract(12000, "gold"), credit("10000.00"), "finance_review"),
    ("over_limit_silver_slightly", contract(12000, "silver"), credit("10000.00"),
     "finance_review"),
    ("over_limit_silver", contract(12001, "silver"), credit("10000.00"), "reject"),
    ("over_limit_other", contract(10001, "bronze"), credit("10000.00"), "reject"),
    ("over_limit_other", contract(10001, None), credit("10000.00"), "reject"),
    ("long_term", contract(9000, "gold", 48), credit("10000.00"), "finance_review"),
    ("long_term", contract(1000, "bronze", None), credit("10000.00"), "finance_review"),
    ("large_share_bronze", contract(6000, "bronze"), credit("10000.00"), "finance_review"),
    ("large_share_bronze", contract(10000, None, 36), credit("10000.00"), "finance_review"),
    ("within_limit_trusted", contract(10000, "silver", 36), credit("10000.00"),
     "auto_approve"),
    ("within_limit_trusted", contract(5001, "gold"), credit("10000.00"), "auto_approve"),
    ("within_half", contract(5000, "bronze"), credit("10000.00"), "auto_approve"),
    ("within_half", contract(1, None, 1), credit(10000), "auto_approve"),  # a number works too
]


@pytest.mark.parametrize(("rule", "contract_", "credit_", "decision"), CREDIT,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(CREDIT)])
def test_each_credit_rule_decides_its_case(rule: str, contract_: dict[str, Any],
                                           credit_: dict[str, Any], decision: str) -> None:
    got, outputs = matched("credit_decision.dmn", "credit_decision",
                           {"contract": contract_, "credit": credit_})
    assert (got, outputs["decision"]) == (rule, decision)
    assert outputs["reason"][0].isupper() and outputs["reason"].endswith(".")
    assert outputs["rule"] and outputs["rule"][0].isupper()  # the review page shows it


def test_each_credit_rule_has_a_name_of_its_own_for_the_review_page() -> None:
    names = {}
    for _, contract_, credit_, _decision in CREDIT:
        got, outputs = matched("credit_decision.dmn", "credit_decision",
                               {"contract": contract_, "credit": credit_})
        names[got] = outputs["rule"]
    assert set(names) == rule_ids("credit_decision.dmn", "credit_decision")
    assert len(set(names.values())) == len(names), f"two rules share a name: {names}"


# -- complaint_routing -----------------------------------------------------------------------

def case(category: str | None = None, severity: str | None = None,
         tier: str | None = None) -> dict[str, Any]:
    return {"case": {"category": category, "severity": severity,
                     "account": None if tier is None else {"tier": tier}}}


DEPARTMENTS = [("delivery", "Delivery", "logistics"), ("billing", "Billing", "finance"),
               ("quality_service", "Quality", "support"),
               ("quality_service", "Service", "support"), ("other", "Other", "support"),
               ("other", None, "support")]
URGENCIES = [("critical", "Critical", "bronze", "High", "PT4H"),
             ("critical", "Critical", None, "High", "PT4H"),
             ("high_gold", "High", "gold", "High", "PT4H"),
             ("high_other", "High", "silver", "High", "PT8H"),
             ("high_other", "High", None, "High", "PT8H"),
             ("medium_gold", "Medium", "gold", "High", "PT8H"),
             ("medium_silver", "Medium", "silver", "Medium", "PT12H"),
             ("medium_other", "Medium", "bronze", "Medium", "PT24H"),
             ("medium_other", "Medium", None, "Medium", "PT24H"),
             ("low_gold", "Low", "gold", "Medium", "PT24H"),
             ("low_gold", None, "gold", "Medium", "PT24H"),
             ("low_other", "Low", "silver", "Low", "PT24H"),
             ("low_other", None, None, "Low", "PT24H")]


@pytest.mark.parametrize(("rule", "category", "department"), DEPARTMENTS)
def test_each_category_goes_to_its_department(rule: str, category: str | None,
                                              department: str) -> None:
    assert matched("complaint_routing.dmn", "complaint_department",
                   case(category)) == (rule, department)


@pytest.mark.parametrize(("rule", "severity", "tier", "priority", "deadline"), URGENCIES)
def test_severity_and_tier_give_priority_and_deadline(rule: str, severity: str | None,
                                                      tier: str | None, priority: str,
                                                      deadline: str) -> None:
    assert matched("complaint_routing.dmn", "complaint_urgency", case(None, severity, tier)) \
        == (rule, {"priority": priority, "response_deadline": deadline})


def test_routing_combines_department_and_urgency_for_the_process() -> None:
    result = document("complaint_routing.dmn").evaluate("complaint_routing",
                                                        case("Delivery", "High", "gold"))
    assert result.outputs == {"department": "logistics", "priority": "High",
                              "response_deadline": "PT4H"}


def test_no_complaint_waits_longer_than_24_hours() -> None:
    text = (PROCESSES / "complaint_routing.dmn").read_text()
    deadlines = {cell.split('"')[1] for cell in text.split("<text>")[1:]
                 if cell.startswith('"PT')}
    assert deadlines == {"PT4H", "PT8H", "PT12H", "PT24H"}


# -- refund_approval -------------------------------------------------------------------------

REFUNDS = [("no_amount", None, "gold", True), ("gold_small", 1000, "gold", False),
           ("gold_large", 1000.01, "gold", True), ("silver_small", 500, "silver", False),
           ("silver_large", 501, "silver", True), ("other_small", 100, "bronze", False),
           ("other_small", 99.5, None, False), ("other_large", 100.01, "bronze", True),
           ("other_large", 250, None, True)]


@pytest.mark.parametrize(("rule", "amount", "tier", "needed"), REFUNDS)
def test_refunds_above_the_tiers_threshold_need_finance(rule: str, amount: float | None,
                                                        tier: str | None, needed: bool) -> None:
    got, outputs = matched("refund_approval.dmn", "refund_approval",
                           {"refund_amount": amount, **case(tier=tier)})
    assert (got, outputs["finance_approval"]) == (rule, needed)


# -- coverage --------------------------------------------------------------------------------

@pytest.mark.parametrize(("filename", "decision_id", "tested"), [
    ("credit_decision.dmn", "credit_decision", {r[0] for r in CREDIT}),
    ("complaint_routing.dmn", "complaint_department", {r[0] for r in DEPARTMENTS}),
    ("complaint_routing.dmn", "complaint_urgency", {r[0] for r in URGENCIES}),
    ("refund_approval.dmn", "refund_approval", {r[0] for r in REFUNDS})])
def test_every_rule_has_a_case_here(filename: str, decision_id: str, tested: set[str]) -> None:
    assert rule_ids(filename, decision_id) == tested
