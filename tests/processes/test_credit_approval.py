"""The credit approval process: a submitted contract is approved, reviewed or rejected."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine import Engine
from engine.calendar import BusinessCalendar
from engine.errors import InvalidInputError
from engine.models import utcnow

from .conftest import Driver, shipped_files
from .fakes import Systems

ACME, FJORD, NEWCOMER = "001000000000001AAA", "001000000000006AAA", "001000000000009AAA"
CONTRACT = "800000000000001AAA"

# The review's 4 business hours shortened to a moment, whatever the time of day.
SHORT_REVIEW = {
    'camunda:dueDate="${business_hours_from_now(4)}"': 'camunda:dueDate="PT0.3S"',
    '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${business_hours_from_now(4)}'
    '</bpmn:timeDate>':
    '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT0.3S</bpmn:timeDuration>'}


def submit(driver: Driver, systems: Systems, account_id: str, amount: float | None,
           term_months: int | None = 12) -> str:
    """A contract submitted for approval in the CRM, as its webhook starts the process."""
    systems.erp.credit.setdefault(ACME, (Decimal(50000), Decimal(10000)))
    systems.erp.credit.setdefault(FJORD, (Decimal(2000), Decimal(500)))
    systems.crm.add_contract(CONTRACT, account_id, amount, term_months)
    return driver.start("contract_submitted", CONTRACT,
                        {"AccountId": account_id, "Status": "In Approval Process",
                         "Amount__c": amount, "ContractTerm": term_months})


def written(systems: Systems) -> dict[str, Any]:
    return systems.crm.fields.get(CONTRACT, {})


def test_a_contract_within_the_credit_is_activated_without_a_person(
        driver: Driver, systems: Systems) -> None:
    instance_id = submit(driver, systems, ACME, 12000)

    assert driver.instance(instance_id).status == "completed"
    assert driver.open_tasks(instance_id) == {}
    assert systems.erp.called("erp.get_credit")[0].params == {"crm_account_id": ACME}
    assert written(systems) == {
        "Status": "Activated", "Approval_Decision__c": "Approved by the credit rules",
        "Approval_Reason__c": "The contract uses at most half of the available credit."}
    (task,) = systems.crm.tasks_on(CONTRACT)
    assert task["subject"] == "Contract 00000100 approved"
    assert task["owner_id"] == "005000000000001AAA"
    (mail,) = systems.mail.sent
    assert mail["to"] == "sam@example.com"
    assert mail["subject"] == "Contract 00000100 approved"
    assert "contract 00000100 for Acme is done: Approved by the credit rules." in mail["body"]
    assert "at most half of the available credit" in mail["body"]


def test_the_review_shows_finance_the_contract_the_credit_and_the_rule(
        driver: Driver, systems: Systems, engine: Engine) -> None:
    """The shipped form's figures: what finance needs to decide, worked out for this case."""
    instance_id = submit(driver, systems, ACME, 45000, term_months=24)
    (review,) = driver.open_tasks(instance_id).values()

    figures = engine.tasks.figures(review, driver.instance(instance_id).variables)

    shown = {f.label: (f.value, f.format, f.currency) for f in figures}
    assert shown == {
        "Customer": ("Acme", "text", None),
        "Tier": ("gold", "text", None),
        "Contract amount": (45000, "money", "EUR"),
        "Term (months)": (24, "number", None),
        "Credit limit": ("50000.00", "money", "EUR"),
        "Available credit": ("40000.00", "money", "EUR"),
        "Exposure after the contract": (55000.0, "money", "EUR"),  # 10,000 owed + 45,000
        "Rule": ("Over the limit, gold", "text", None),
        "Rule's reason": (driver.instance(instance_id).variables["credit_decision"]["reason"],
                          "text", None)}
    assert all(f.problem is None for f in figures)


def test_a_contract_far_over_the_limit_is_rejected_without_a_person(
        driver: Driver, systems: Systems) -> None:
    instance_id = submit(driver, systems, FJORD, 5000)

    assert driver.instance(instance_id).status == "completed"
    assert written(systems) == {
        "Status": "Rejected", "Approval_Decision__c": "Rejected by the credit rules",
        "Approval_Reason__c": "The amount exceeds the available credit."}
    assert systems.crm.tasks_on(CONTRACT)[0]["subject"] == "Contract 00000100 rejected"
    assert systems.mail.sent[0]["subject"] == "Contract 00000100 rejected"


def test_finance_reviews_a_gold_contract_over_the_limit_and_approves_it(
        driver: Driver, systems: Systems) -> None:
    instance_id = submit(driver, systems, ACME, 45000)

    (review,) = driver.open_tasks(instance_id).values()
    assert review.element_id == "review_credit"
    assert review.name == "Review the contract's credit"
    assert review.candidate_groups == ["finance"]
    assert review.due_at is not None
    # 4 business hours by the default calendar (Mon-Fri 09:00-17:00 UTC)
    office = BusinessCalendar.parse("mon-fri", "09:00-17:00", "UTC")
    assert abs(review.due_at - office.add(review.created_at, 4)) < timedelta(seconds=5)
    assert review.form is not None
    assert review.form["properties"]["finance_decision"]["enum"] == ["approve", "reject"]
    variables = driver.instance(instance_id).variables
    assert variables["credit"]["available"] == "40000.00"
    assert variables["credit_decision"]["reason"].startswith(
        "The amount exceeds the available credit; gold customers get a finance review")
    assert written(systems) == {}, "nothing is written to the CRM before finance decides"

    driver.complete(review, "fiona", finance_decision="approve",
                    finance_comment="  Long-standing customer, pays on time. ")

    assert driver.instance(instance_id).status == "completed"
    assert written(systems)["Status"] == "Activated"
    assert written(systems)["Approval_Decision__c"] == "Approved by finance"
    assert written(systems)["Approval_Reason__c"] == (
        "Finance: Long-standing customer, pays on time. (Credit rules: The amount exceeds the "
        "available credit; gold customers get a finance review instead of a rejection.)")
    assert systems.mail.sent[0]["subject"] == "Contract 00000100 approved"


def test_finance_may_approve_without_a_comment(driver: Driver, systems: Systems) -> None:
    instance_id = submit(driver, systems, ACME, 45000)
    (review,) = driver.open_tasks(instance_id).values()

    driver.complete(review, "fiona", finance_decision="approve")

    assert written(systems)["Status"] == "Activated"
    assert written(systems)["Approval_Reason__c"].startswith("(Credit rules: The amount exceeds")


def test_finance_must_say_why_it_rejects(driver: Driver, systems: Systems) -> None:
    instance_id = submit(driver, systems, ACME, 45000)
    (review,) = driver.open_tasks(instance_id).values()
    driver.engine.tasks.claim(review.id, "fiona")

    refusals = [({"finance_decision": "reject"}, {"finance_comment": "is required"}),
                ({"finance_decision": "reject", "finance_comment": ""},
                 {"finance_comment": "is empty"}),
                ({"finance_comment": "fine"}, {"finance_decision": "is required"})]
    for variables, problems in refusals:
        with pytest.raises(InvalidInputError) as caught:
            driver.engine.tasks.complete(review.id, "fiona", variables)
        fields = caught.value.details["fields"]
        assert set(fields) == set(problems)
        assert all(fields[f] == m for f, m in problems.items() if m == "is required")
    assert driver.engine.tasks.task(review.id).status == "claimed"
    assert written(systems) == {}

    driver.complete(review, "fiona", finance_decision="reject",
                    finance_comment="Two invoices are 90 days overdue.")

    assert driver.instance(instance_id).status == "completed"
    assert written(systems)["Status"] == "Rejected"
    assert written(systems)["Approval_Decision__c"] == "Rejected by finance"
    assert written(systems)["Approval_Reason__c"].startswith(
        "Finance: Two invoices are 90 days overdue. (Credit rules:")
    assert "is done: Rejected by finance." in systems.mail.sent[0]["body"]


def test_a_customer_the_erp_does_not_know_goes_to_finance(
        driver: Driver, systems: Systems) -> None:
    instance_id = submit(driver, systems, NEWCOMER, 3000)

    (review,) = driver.open_tasks(instance_id).values()
    assert review.element_id == "review_credit"
    variables = driver.instance(instance_id).variables
    assert variables["credit"]["available"] is None
    assert variables["credit_decision"]["reason"] == (
        "The ERP has no credit limit for the customer (or does not know the customer).")
    assert driver.engine.management.incidents_of(instance_id) == []


def test_an_overdue_review_is_escalated_to_the_finance_managers_and_stays_open(
        engine: Engine, driver: Driver, systems: Systems) -> None:
    # the same process with its 4 business hours shortened to a moment
    engine.repository.deploy(shipped_files({"credit_approval.bpmn": SHORT_REVIEW}))
    instance_id = submit(driver, systems, ACME, 45000)
    before = driver.open_tasks(instance_id)
    assert set(before) == {"review_credit"}
    assert before["review_credit"].due_at is not None
    assert before["review_credit"].due_at <= utcnow() + timedelta(seconds=1)

    driver.run(until=lambda: "chase_review" in driver.open_tasks(instance_id), timeout=5)

    tasks = driver.open_tasks(instance_id)
    assert set(tasks) == {"review_credit", "chase_review"}
    assert tasks["review_credit"].id == before["review_credit"].id, "the review stays open"
    assert tasks["chase_review"].candidate_groups == ["finance-manager"]
    assert tasks["chase_review"].name == "Chase the overdue credit review"
    assert written(systems) == {}

    driver.complete(tasks["review_credit"], "fiona", finance_decision="approve")

    assert driver.instance(instance_id).status == "completed"
    assert written(systems)["Status"] == "Activated"
    assert driver.open_tasks(instance_id) == {}, "the chase task is withdrawn"
    assert driver.engine.tasks.task(tasks["chase_review"].id).status == "cancelled"
