"""Credit approval end to end: a contract submitted in the CRM is approved, reviewed or rejected.

Started the way users start it (the CRM's ``contract.submitted`` webhook), with the credit
figures of the real ERP, and checked where people look: the contract in the CRM, the
owner's CRM tasks and e-mail, and finance's task in Bridgeflow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.calendar import BusinessCalendar
from tests.e2e.conftest import (
    ACME,
    COBALT,
    EVERGREEN,
    PROCESSES,
    SAM,
    SAM_EMAIL,
    Crm,
    Erp,
    Flow,
    Mailbox,
    wait_until,
)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class _Call:
    instance_id: str = "e2e-credit-approval"
    business_key: str | None = None
    element_id: str = "test"
    attempt: int = 1
    idempotency_key: str = "e2e-credit-approval:test"


def available_credit(erp: Erp, account_id: str) -> Decimal:
    """What the ERP says is left of the customer's credit now (other tests place orders)."""
    credit = erp.ops.get_credit({"crm_account_id": account_id}, _Call())
    available = Decimal(credit["available"])
    assert available > 0, f"the demo customer {account_id} has no credit left: {credit}"
    return available


def decided(flow: Flow, contract_id: str) -> dict[str, Any]:
    [inst] = flow.started("credit_approval", contract_id)
    return flow.wait_for(inst["id"], "completed")


def business_hours(task: Mapping[str, Any], hours: float) -> timedelta:
    """How far ``hours`` of working time (the default calendar) reach from the task's start."""
    created = datetime.fromisoformat(task["created_at"].replace("Z", "+00:00"))
    office = BusinessCalendar.parse("mon-fri", "09:00-17:00", "UTC")
    due = office.add(created.astimezone(UTC).replace(tzinfo=None), hours)
    return due.replace(tzinfo=UTC) - created


def due_in(task: Mapping[str, Any]) -> timedelta:
    created = datetime.fromisoformat(task["created_at"].replace("Z", "+00:00"))
    return datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")) - created


@contextmanager
def short_reviews(flow: Flow) -> Iterator[None]:
    """credit_approval with its 4 business hours shortened to one second, with its form."""
    bpmn = (PROCESSES / "credit_approval.bpmn").read_text()
    form = (PROCESSES / "forms" / "credit_review.json").read_bytes()
    short = bpmn.replace('camunda:dueDate="${business_hours_from_now(4)}"',
                         'camunda:dueDate="PT1S"').replace(
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${business_hours_from_now(4)}'
        '</bpmn:timeDate>',
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S</bpmn:timeDuration>')
    assert short.count("PT1S") == 2
    flow.engine.repository.deploy({"credit_approval.bpmn": short.encode(),
                                   "credit_review.json": form})
    try:
        yield
    finally:
        flow.engine.repository.deploy({"credit_approval.bpmn": bpmn.encode(),
                            "credit_review.json": form})


def test_a_contract_over_the_limit_is_reviewed_by_finance_and_activated(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    over = available_credit(erp, ACME) + 1000
    contract_id = crm.submit_contract(float(over), ACME, term_months=24)
    [inst] = flow.started("credit_approval", contract_id)

    task = flow.wait_for_task(inst["id"], "review_credit")
    assert task["name"] == "Review the contract's credit"
    assert task["candidate_groups"] == ["finance"]
    assert abs(due_in(task) - business_hours(task, 4)) < timedelta(seconds=5)
    variables = flow.instance(inst["id"])["variables"]
    assert Decimal(variables["credit"]["limit"]) == 50000
    assert variables["credit_decision"]["decision"] == "finance_review"
    assert crm.get("Contract", contract_id)["Status"] == "In Approval Process"

    refused = flow.complete_task(task["id"], "fiona", {"finance_decision": "reject"},
                                 expect=422)
    assert "finance_comment: is required" in refused["message"]
    flow.complete_task(task["id"], "fiona", {"finance_decision": "approve",
                                             "finance_comment": "Paid on time for years."})
    flow.wait_for(inst["id"], "completed")

    contract = crm.get("Contract", contract_id)
    assert contract["Status"] == "Activated"
    assert contract["Approval_Decision__c"] == "Approved by finance"
    assert contract["Approval_Reason__c"] == (
        "Finance: Paid on time for years. (Credit rules: The amount exceeds the available "
        "credit; gold customers get a finance review instead of a rejection.)")
    [todo] = crm.tasks(contract_id)
    assert todo["OwnerId"] == SAM
    assert todo["Subject"] == f"Contract {contract['ContractNumber']} approved"
    mail = mailbox.wait_for(SAM_EMAIL, f"Contract {contract['ContractNumber']} approved")
    assert "Paid on time for years." in mail.body


@pytest.mark.parametrize(("account", "amount", "status", "decision", "reason"), [
    (EVERGREEN, 100.0, "Activated", "Approved by the credit rules",
     "The contract uses at most half of the available credit."),
    (COBALT, 50000.0, "Rejected", "Rejected by the credit rules",
     "The amount exceeds the available credit.")])
def test_the_credit_rules_decide_clear_cases_without_a_person(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox, account: str, amount: float,
        status: str, decision: str, reason: str) -> None:
    available = available_credit(erp, account)  # the rules compare with today's figures
    assert (Decimal(amount) <= available / 2) == (status == "Activated")
    contract_id = crm.submit_contract(amount, account)

    inst = decided(flow, contract_id)

    assert flow.tasks(inst["id"], status="completed") == []
    contract = crm.get("Contract", contract_id)
    assert (contract["Status"], contract["Approval_Decision__c"],
            contract["Approval_Reason__c"]) == (status, decision, reason)
    word = "approved" if status == "Activated" else "rejected"
    mailbox.wait_for(SAM_EMAIL, f"Contract {contract['ContractNumber']} {word}")


def test_an_overdue_review_is_escalated_and_finance_can_still_decide(
        crm: Crm, erp: Erp, flow: Flow) -> None:
    with short_reviews(flow):
        contract_id = crm.submit_contract(float(available_credit(erp, ACME) + 500), ACME)
        [inst] = flow.started("credit_approval", contract_id)
        review = flow.wait_for_task(inst["id"], "review_credit")

        chase = flow.wait_for_task(inst["id"], "chase_review")

    assert chase["candidate_groups"] == ["finance-manager"]
    assert [t["id"] for t in flow.tasks(inst["id"])
            if t["element_id"] == "review_credit"] == [review["id"]]
    flow.complete_task(review["id"], "fiona", {"finance_decision": "reject",
                                               "finance_comment": "Too much at once."})
    flow.wait_for(inst["id"], "completed")
    assert crm.get("Contract", contract_id)["Status"] == "Rejected"
    wait_until(lambda: flow.task(chase["id"])["status"] == "cancelled",
               message="the chase task was not withdrawn")
