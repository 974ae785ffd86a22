"""The CRM reads of the report processes, against the real sandbox CRM."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service_tasks.base import InvalidParameters
from service_tasks.crm import operations

from .conftest import Crm, Ctx
from .test_with_sandbox import ACME, BOREALIS, new_order


def read_op(crm: Crm, name: str, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    return operations(crm.client)[name](params, ctx)


def test_accounts_and_orders_give_owner_tier_and_each_named_orders_status(crm: Crm) -> None:
    first, second = new_order(crm), new_order(crm, BOREALIS, activate=False)
    crm.client.update("Order", first, {"Status": "Awaiting restock"})
    read = read_op(crm, "crm.accounts_and_orders", {"order_ids": [first, second]}, Ctx())
    assert json.loads(json.dumps(read)) == read
    accounts = {a["id"]: a for a in read["accounts"]}
    assert accounts[ACME]["tier"] == "gold" and accounts[ACME]["owner"] == "Sam Seller"
    assert {o["id"]: o["status"] for o in read["orders"]} == {
        first: "Awaiting restock", second: "Draft"}
    assert {o["id"]: o["total_amount"] for o in read["orders"]}[first] == 2180.0


def test_no_order_ids_reads_accounts_only(crm: Crm) -> None:
    read = read_op(crm, "crm.accounts_and_orders", {}, Ctx())
    assert read["orders"] == [] and len(read["accounts"]) >= 6


def test_opportunities_per_account_most_advanced_open_stage_pipeline_and_won(
        crm: Crm) -> None:
    # The seed gives Acme two open ones (Proposal/Price Quote 48,000, Qualification 6,500)
    # and Borealis one (Negotiation/Review 12,400).
    def new(account: str, stage: str, amount: float | None, close: str) -> str:
        return crm.client.create("Opportunity", {"Name": f"{stage} deal", "AccountId": account,
                                                 "StageName": stage, "Amount": amount,
                                                 "CloseDate": close})

    new(ACME, "Prospecting", 1000.5, "2025-07-01")
    new(ACME, "Closed Won", 5000, "2025-06-15")
    new(ACME, "Closed Won", 7000, "2025-05-31")      # won, but before the period
    new(BOREALIS, "Id. Decision Makers", None, "2025-08-01")   # no amount: adds nothing
    new(BOREALIS, "Closed Lost", 900, "2025-06-10")  # lost: neither open nor won
    read = read_op(crm, "crm.accounts_and_orders",
                   {"won_from": "2025-06-01", "won_to": "2025-06-30"}, Ctx())
    found = {o["account_id"]: o for o in read["opportunities"]}
    assert found[ACME] == {"account_id": ACME, "open": 3, "stage": "Proposal/Price Quote",
                           "pipeline": 55500.5, "won": 1}
    assert found[BOREALIS] == {"account_id": BOREALIS, "open": 2,
                               "stage": "Negotiation/Review", "pipeline": 12400.0, "won": 0}
    without_period = read_op(crm, "crm.accounts_and_orders", {}, Ctx())
    assert {o["account_id"]: o["won"] for o in without_period["opportunities"]}[ACME] == 0


@pytest.mark.parametrize("params, named", [
    ({"won_from": "2025-06-01"}, "'won_to' must be a date"),
    ({"won_from": "June", "won_to": "2025-06-30"}, "'won_from' must be a date"),
    ({"won_from": "2025-07-01", "won_to": "2025-06-30"}, "'won_from' 2025-07-01 is after"),
])
def test_a_bad_won_period_is_refused_naming_the_parameter(
        crm: Crm, params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidParameters, match=named):
        read_op(crm, "crm.accounts_and_orders", params, Ctx())


def test_cases_open_and_refunded_with_their_age(crm: Crm) -> None:
    open_case = crm.client.create("Case", {"AccountId": ACME, "Subject": "Late delivery"})
    refunded = crm.client.create("Case", {"AccountId": BOREALIS, "Subject": "Dented",
                                          "Status": "Closed", "Refund_Amount__c": 120.5})
    closed = crm.client.create("Case", {"AccountId": BOREALIS, "Status": "Closed"})
    read = read_op(crm, "crm.accounts_and_cases", {}, Ctx())
    cases = {c["id"]: c for c in read["cases"]}
    assert closed not in cases
    assert cases[open_case]["open"] and isinstance(cases[open_case]["age_days"], float)
    assert cases[open_case]["account_id"] == ACME
    assert not cases[refunded]["open"] and cases[refunded]["refund_amount"] == 120.5


def test_orders_awaiting_restock_with_their_items(crm: Crm) -> None:
    waiting, other = new_order(crm), new_order(crm)
    crm.client.update("Order", waiting, {"Status": "Awaiting restock"})
    read = read_op(crm, "crm.orders_awaiting_restock", {}, Ctx())
    found = {o["id"]: o for o in read["orders"]}
    assert other not in found
    assert found[waiting]["account_name"] == "Acme Industrial GmbH"
    assert found[waiting]["items"] == [{"product_code": "BF-100", "quantity": 4},
                                       {"product_code": "BF-110", "quantity": 8}]
