"""Complaint handling end to end: a case opened in the CRM is routed, resolved, refunded, closed.

Started the way users start it (the CRM's ``case.created`` webhook) and checked in both
systems: the CRM case (status, priority, resolution, refund), the ERP complaint and credit
note, the department's and finance's tasks in Bridgeflow, and the customer's e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import ACME, BOREALIS, COBALT, Crm, Erp, Flow, Mailbox

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class _Call:
    instance_id: str = "e2e-complaint-handling"
    business_key: str | None = None
    element_id: str = "test"
    attempt: int = 1
    idempotency_key: str = "e2e-complaint-handling:test"


def contact(crm: Crm, account_id: str) -> dict[str, Any]:
    """The account's demo contact (who gets the e-mail)."""
    [row] = crm.query("SELECT Id, FirstName, LastName, Email FROM Contact "
                      f"WHERE AccountId = '{account_id}' ORDER BY CreatedDate LIMIT 1")
    return row


def due_in(task: dict[str, Any]) -> timedelta:
    created = datetime.fromisoformat(task["created_at"].replace("Z", "+00:00"))
    return datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")) - created


def credit_note(erp: Erp, case_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ERP refund sale of a case (through its complaint) and the invoices it made."""
    [complaint] = erp.client.model("sale.complaint").search_read(
        [("reference", "=", case_id)], ["id", "state", "origin"])
    [sale] = erp.client.model("sale.sale").search_read(
        [("origin", "=", f"sale.complaint,{complaint['id']}")],
        ["number", "state", "total_amount", "invoices"])
    invoices = erp.client.model("account.invoice").read(sale["invoices"],
                                                       ["type", "total_amount", "state"])
    return {**sale, "complaint": complaint}, invoices


def test_a_complaint_is_routed_resolved_with_a_refund_and_closed(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    person = contact(crm, COBALT)
    case_id = crm.open_case("Two column guards arrived dented", COBALT,
                            Category__c="Quality", Severity__c="High", ContactId=person["Id"],
                            Description="The packaging was torn.")
    [inst] = flow.started("complaint_handling", case_id)

    task = flow.wait_for_task(inst["id"], "resolve_complaint")
    assert task["name"] == "Resolve the complaint"
    assert abs(due_in(task) - timedelta(hours=8)) < timedelta(seconds=5)  # high, bronze
    assert flow.instance(inst["id"])["variables"]["routing"] == {
        "department": "support", "priority": "High", "response_deadline": "PT8H"}
    case = crm.get("Case", case_id)
    assert (case["Status"], case["Priority"]) == ("Working", "High")

    flow.complete_task(task["id"], "sue", {
        "resolution": "We are sorry: we refund the two dented guards.", "refund": True,
        "refund_amount": 84})
    flow.wait_for(inst["id"], "completed")

    case = crm.get("Case", case_id)
    assert case["Status"] == "Closed"
    assert case["Resolution__c"] == "We are sorry: we refund the two dented guards."
    assert case["Refund_Amount__c"] == 84
    sale, invoices = credit_note(erp, case_id)
    assert sale["complaint"]["state"] == "done"
    assert sale["state"] in ("confirmed", "processing", "done")
    assert Decimal(str(sale["total_amount"])) == -84
    assert [(i["type"], Decimal(str(i["total_amount"]))) for i in invoices] == [
        ("out", Decimal(-84))], "the ERP made a credit note for the refund"
    mail = mailbox.wait_for(person["Email"], f"Your complaint {case['CaseNumber']}")
    assert f"Dear {person['FirstName']} {person['LastName']}" in mail.body
    assert "we refund the two dented guards" in mail.body
    assert f"We have refunded 84.00 (credit note {sale['number']})." in mail.body


def test_a_refund_above_the_threshold_is_paid_once_finance_approves(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    # a silver customer: refunds above 500 need finance
    case_id = crm.open_case("The order came a week late", BOREALIS,
                            Category__c="Billing", Severity__c="Low")
    [inst] = flow.started("complaint_handling", case_id)
    task = flow.wait_for_task(inst["id"], "resolve_complaint")
    assert abs(due_in(task) - timedelta(hours=24)) < timedelta(seconds=5)

    flow.complete_task(task["id"], "fiona", {"resolution": "We refund the delivery costs.",
                                             "refund": True, "refund_amount": 650})
    approval = flow.wait_for_task(inst["id"], "approve_refund")

    assert approval["candidate_groups"] == ["finance"]
    assert erp.client.model("sale.complaint").search([("reference", "=", case_id)]) == []
    refused = flow.complete_task(approval["id"], "fiona", {"refund_decision": "reject"},
                                 expect=422)
    assert "refund_comment: is required" in refused["message"]
    flow.complete_task(approval["id"], "fiona", {"refund_decision": "approve"})
    flow.wait_for(inst["id"], "completed")

    sale, _invoices = credit_note(erp, case_id)
    assert Decimal(str(sale["total_amount"])) == -650
    case = crm.get("Case", case_id)
    assert (case["Status"], case["Refund_Amount__c"]) == ("Closed", 650)
    mailbox.wait_for(contact(crm, BOREALIS)["Email"], f"Your complaint {case['CaseNumber']}")


def test_a_complaint_about_an_erp_order_is_refunded_against_that_order(
        crm: Crm, erp: Erp, flow: Flow) -> None:
    # the CRM order stays a draft (no order sync); the ERP has its sale under its id
    order_id = crm.create_order([("BF-310", 2.0, 42.0)], account=ACME, activate=False)
    erp.ops.create_sales_order({"crm_order_id": order_id, "crm_account_id": ACME,
                                "lines": [{"product_code": "BF-310", "quantity": 2,
                                           "unit_price": "42.00"}]}, _Call())
    case_id = crm.open_case("One guard is missing", ACME, Category__c="Delivery",
                            Severity__c="Medium", Related_Order__c=order_id)
    [inst] = flow.started("complaint_handling", case_id)
    task = flow.wait_for_task(inst["id"], "resolve_complaint")

    variables = flow.instance(inst["id"])["variables"]
    assert variables["routing"] == {"department": "logistics", "priority": "High",
                                    "response_deadline": "PT8H"}  # medium, gold
    assert variables["order"]["found"] is True
    assert variables["order"]["state"] in ("confirmed", "processing")
    assert [line["product_code"] for line in variables["order"]["lines"]] == ["BF-310"]

    # leo of logistics resolves it: sue of support is no candidate for a logistics task
    flow.complete_task(task["id"], "leo", {"resolution": "We refund the missing guard.",
                                           "refund": True, "refund_amount": 42})
    flow.wait_for(inst["id"], "completed")

    sale, _invoices = credit_note(erp, case_id)
    assert sale["complaint"]["origin"] == f"sale.sale,{erp.order(order_id)['sale_id']}"
    assert Decimal(str(sale["total_amount"])) == -42
    assert crm.get("Case", case_id)["Status"] == "Closed"
