"""The CRM operations against the real sandbox CRM, served over HTTP on a free port."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from service_tasks.base import (
    AuthenticationError,
    BusinessRuleError,
    InvalidParameters,
    TransientError,
)
from service_tasks.crm import ApiUsage, SalesforceClient, operations
from tests.crm_sandbox.helpers import free_port

from .conftest import Crm, Ctx, fault

ACME = "001000000000001AAA"
BOREALIS = "001000000000002AAA"
RACKING = "01t000000000001AAA"
BEAMS = "01t000000000002AAA"
SAM = "005000000000001AAA"
FIONA = "005000000000002AAA"


def new_order(crm: Crm, account: str = ACME, activate: bool = True) -> str:
    client = crm.client
    order_id = client.create("Order", {"AccountId": account, "EffectiveDate": "2025-03-01",
                                       "Description": "Spring refit"})
    client.create("OrderItem", {"OrderId": order_id, "Product2Id": RACKING, "Quantity": 4,
                                "UnitPrice": 420.0})
    client.create("OrderItem", {"OrderId": order_id, "Product2Id": BEAMS, "Quantity": 8,
                                "UnitPrice": 62.5})
    if activate:
        client.update("Order", order_id, {"Status": "Activated"})
    return order_id


def test_get_order_gives_lines_customer_and_owner(crm: Crm) -> None:
    order_id = new_order(crm)
    order = crm.ops.get_order({"order_id": order_id}, Ctx())
    assert json.loads(json.dumps(order)) == order          # fit for process variables
    assert order["order_id"] == order_id
    assert (order["order_number"], order["status"], order["effective_date"]) == (
        "00000100", "Activated", "2025-03-01")
    assert order["total_amount"] == 2180.0
    assert order["items"] == [
        {"item_id": order["items"][0]["item_id"], "product_id": RACKING, "product_code":
         "BF-100", "product_name": "Pallet racking bay", "quantity": 4, "unit_price": 420.0,
         "total_price": 1680.0},
        {"item_id": order["items"][1]["item_id"], "product_id": BEAMS, "product_code":
         "BF-110", "product_name": "Shelf beam pair", "quantity": 8, "unit_price": 62.5,
         "total_price": 500.0}]
    assert order["account"] == {
        "id": ACME, "name": "Acme Industrial GmbH", "account_number": None, "tier": "gold",
        "erp_customer_id": None, "phone": "+49 30 1234567", "contact_name": "Anna Becker",
        "contact_email": "orders@acme.example",
        "address": {"street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin",
                    "country": "DE"}}
    assert order["owner"] == {"id": SAM, "name": "Sam Seller",
                              "email": "sam.seller@example.com"}


def test_a_missing_order_is_crm_not_found(crm: Crm) -> None:
    with pytest.raises(BusinessRuleError) as caught:
        crm.ops.get_order({"order_id": "801000000000999AAA"}, Ctx())
    assert caught.value.code == "crm_not_found"


def test_update_order_writes_the_erp_fields_back(crm: Crm) -> None:
    order_id = new_order(crm)
    result = crm.ops.update_order({"order_id": order_id, "fields": {
        "Status": "Synced to ERP", "ERP_Order_Number__c": "SO-1001",
        "ERP_Status__c": "confirmed"}}, Ctx())
    assert result == {"order_id": order_id,
                      "updated": ["ERP_Order_Number__c", "ERP_Status__c", "Status"]}
    order = crm.ops.get_order({"order_id": order_id}, Ctx())
    assert (order["status"], order["erp_order_number"], order["erp_status"]) == (
        "Synced to ERP", "SO-1001", "confirmed")


def test_a_value_the_crm_refuses_is_crm_rejected(crm: Crm) -> None:
    order_id = new_order(crm)
    with pytest.raises(BusinessRuleError) as caught:
        crm.ops.update_order({"order_id": order_id, "fields": {"Status": "Shipped"}}, Ctx())
    assert caught.value.code == "crm_rejected"
    assert caught.value.details["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert caught.value.details["fields"] == ["Status"]


def test_contracts_are_read_and_decided(crm: Crm) -> None:
    contract_id = crm.client.create("Contract", {
        "AccountId": BOREALIS, "Amount__c": 48000, "ContractTerm": 24,
        "StartDate": "2025-04-01", "Status": "In Approval Process"})
    contract = crm.ops.get_contract({"contract_id": contract_id}, Ctx())
    assert (contract["amount"], contract["term_months"], contract["status"]) == (
        48000.0, 24, "In Approval Process")
    assert contract["account"]["name"] == "Borealis Retail Ltd"
    assert contract["account"]["tier"] == "silver"
    assert contract["account"]["contact_email"] == "buying@borealis.example"
    crm.ops.update_contract({"contract_id": contract_id, "fields": {
        "Status": "Activated", "Approval_Decision__c": "approved",
        "Approval_Reason__c": "within the credit limit"}}, Ctx())
    decided = crm.ops.get_contract({"contract_id": contract_id}, Ctx())
    assert (decided["status"], decided["approval_decision"], decided["approval_reason"]) == (
        "Activated", "approved", "within the credit limit")


def test_cases_come_with_contact_and_related_order(crm: Crm) -> None:
    order_id = new_order(crm)
    crm.client.update("Order", order_id, {"ERP_Order_Number__c": "SO-7"})
    case_id = crm.client.create("Case", {
        "AccountId": ACME, "Subject": "Beams bent", "Category__c": "Quality",
        "Severity__c": "High", "Related_Order__c": order_id})
    case = crm.ops.get_case({"case_id": case_id}, Ctx())
    assert (case["subject"], case["category"], case["severity"], case["status"]) == (
        "Beams bent", "Quality", "High", "New")
    assert case["contact"] == {"id": None, "name": "Anna Becker",
                               "email": "orders@acme.example"}
    assert case["contact_email"] == "orders@acme.example"
    assert case["related_order"] == {"id": order_id, "order_number": "00000100",
                                     "erp_order_number": "SO-7"}
    assert case["created_at"] == "2025-03-01T09:00:00.000Z"
    crm.ops.update_case({"case_id": case_id, "fields": {
        "Status": "Closed", "Resolution__c": "Replacement sent", "Refund_Amount__c": 120}},
        Ctx())
    closed = crm.ops.get_case({"case_id": case_id}, Ctx())
    assert (closed["status"], closed["resolution"], closed["refund_amount"]) == (
        "Closed", "Replacement sent", 120.0)


def test_create_task_twice_from_the_same_step_gives_one_task(crm: Crm) -> None:
    order_id = new_order(crm)
    params = {"what_id": order_id, "subject": "Order synced: tell the customer",
              "due_date": "2025-03-04"}
    first = crm.ops.create_task(params, Ctx())
    again = crm.ops.create_task(params, Ctx(attempt=2))
    assert first["created"] is True and again["created"] is False
    assert again["task_id"] == first["task_id"]
    assert first["owner_id"] == SAM                      # the order's owner by default
    tasks = crm.client.query("SELECT Id, Subject, ActivityDate, WhatId, Bridgeflow_Key__c "
                             "FROM Task")
    assert len(tasks) == 1
    assert tasks[0]["ActivityDate"] == "2025-03-04"
    assert tasks[0]["Bridgeflow_Key__c"] == "inst-1:notify_owner"

    other = crm.ops.create_task({**params, "owner_id": FIONA},
                                Ctx(instance_id="inst-2"))
    assert other["created"] is True and other["owner_id"] == FIONA
    assert len(crm.client.query("SELECT Id FROM Task")) == 2


def test_create_task_needs_an_owner_it_can_find(crm: Crm) -> None:
    with pytest.raises(InvalidParameters):
        crm.ops.create_task({"what_id": "01t000000000001AAA", "subject": "x"}, Ctx())
    with pytest.raises(InvalidParameters):
        crm.ops.create_task({"what_id": ACME}, Ctx())


def test_changes_since_lists_what_changed(crm: Crm) -> None:
    crm.clock.advance(3600)
    since = "2025-03-01T10:00:00+00:00"
    crm.client.update("Account", BOREALIS, {"Phone": "+44 20 0000 0001"})
    order_id = new_order(crm, account=BOREALIS)
    changes = crm.ops.changes_since({"since": since}, Ctx())
    assert [a["id"] for a in changes["accounts"]] == [BOREALIS]
    assert changes["accounts"][0]["phone"] == "+44 20 0000 0001"
    assert [(o["id"], o["status"], o["total_amount"]) for o in changes["orders"]] == [
        (order_id, "Activated", 2180.0)]
    assert changes["latest"] == "2025-03-01T10:00:00.000Z"
    assert changes["since"] == "2025-03-01T10:00:00Z"
    nothing = crm.ops.changes_since({"since": "2025-03-01T10:00:01Z"}, Ctx())
    assert nothing["accounts"] == [] and nothing["orders"] == [] and nothing["latest"] is None
    with pytest.raises(InvalidParameters):
        crm.ops.changes_since({"since": "yesterday"}, Ctx())


def test_an_expired_token_is_renewed_without_the_process_noticing(crm: Crm) -> None:
    order_id = new_order(crm)
    assert len(crm.token_requests) == 1
    crm.clock.advance(61)                                 # the 60 s token has expired
    order = crm.ops.get_order({"order_id": order_id}, Ctx())
    assert order["order_id"] == order_id
    assert len(crm.token_requests) == 2


def test_a_crm_failure_is_transient_and_the_next_try_works(crm: Crm) -> None:
    order_id = new_order(crm)
    fault(crm, 503)
    with pytest.raises(TransientError):
        crm.ops.get_order({"order_id": order_id}, Ctx())
    assert crm.ops.get_order({"order_id": order_id}, Ctx())["order_id"] == order_id


def test_a_crm_that_is_down_is_transient(crm: Crm) -> None:
    client = SalesforceClient(crm.session, f"http://127.0.0.1:{free_port()}", "bridgeflow",
                              "demo-secret", timeout=2)
    with pytest.raises(TransientError):
        client.query("SELECT Id FROM Account")


def test_wrong_credentials_are_an_authentication_error(crm: Crm) -> None:
    client = SalesforceClient(crm.session, crm.url, "bridgeflow", "wrong", timeout=5)
    with pytest.raises(AuthenticationError) as caught:
        client.get("Account", ACME)
    assert caught.value.details["error"] == "invalid_client"


def test_paging_and_usage_against_the_sandbox(make_crm: Callable[..., Crm]) -> None:
    crm = make_crm(QUERY_BATCH_SIZE=5, API_DAILY_LIMIT=6)
    products = crm.client.query("SELECT ProductCode FROM Product2 ORDER BY ProductCode")
    assert [p["ProductCode"] for p in products][:3] == ["BF-100", "BF-110", "BF-120"]
    assert len(products) == 12
    assert crm.client.usage == ApiUsage(3, 6)              # three pages, three calls
    assert len(list(crm.client.query_iter("SELECT Id FROM Account"))) == 6
    assert crm.client.usage == ApiUsage(5, 6)
    crm.client.get("Account", ACME)
    with pytest.raises(TransientError) as caught:
        crm.client.get("Account", ACME)
    assert caught.value.details["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert crm.client.usage.remaining == 0


def test_every_operation_is_registered_with_a_docstring(crm: Crm) -> None:
    ops = operations(crm.client)
    assert sorted(ops) == ["crm.accounts_and_cases", "crm.accounts_and_orders",
                           "crm.changes_since", "crm.create_task", "crm.get_case",
                           "crm.get_contract", "crm.get_order", "crm.orders_awaiting_restock",
                           "crm.update_case", "crm.update_contract", "crm.update_order"]
    for fn in ops.values():
        assert fn.__doc__ and "params:" in fn.__doc__ and "result:" in fn.__doc__


@pytest.mark.parametrize(("name", "params"), [
    ("crm.get_order", {}), ("crm.get_order", {"order_id": "x'; DROP"}),
    ("crm.update_order", {"order_id": "801000000000001AAA"}),
    ("crm.update_order", {"order_id": "801000000000001AAA", "fields": {"Bad Name": 1}}),
    ("crm.update_case", {"case_id": "500000000000001AAA", "fields": []}),
    ("crm.create_task", {"what_id": ACME, "subject": "s", "due_date": "soon"}),
])
def test_unusable_parameters_are_refused(crm: Crm, name: str, params: dict[str, object]
                                         ) -> None:
    with pytest.raises(InvalidParameters):
        operations(crm.client)[name](dict(params), Ctx())
