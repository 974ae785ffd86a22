"""The CRM reads of the report processes, against the real sandbox CRM."""

from __future__ import annotations

import json
from typing import Any

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
