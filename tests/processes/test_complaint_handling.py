"""The complaint handling process: routed, resolved, refunded (with or without finance), closed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine import Engine, HumanTask
from engine.errors import InvalidInputError
from service_tasks.base import BusinessRuleError

from .conftest import Driver, shipped_files
from .fakes import Systems

ACME, BOREALIS, COBALT = "001000000000001AAA", "001000000000002AAA", "001000000000003AAA"
CASE, ORDER = "500000000000001AAA", "801000000000001AAA"


def open_case(driver: Driver, systems: Systems, account_id: str | None = COBALT, *,
              category: str | None = "Quality", severity: str | None = "Medium",
              order_id: str | None = None,
              contact_email: str | None = "bea@cobalt.example") -> str:
    """A complaint case created in the CRM, as its webhook starts the process."""
    systems.crm.add_case(CASE, account_id, category=category, severity=severity,
                         order_id=order_id, contact_email=contact_email)
    return driver.start("case_created", CASE, {"AccountId": account_id, "Category__c": category,
                                               "Severity__c": severity, "Status": "New"})


def resolve(driver: Driver, instance_id: str, **variables: Any) -> None:
    task = driver.open_tasks(instance_id)["resolve_complaint"]
    driver.complete(task, member_of(task), **variables)


def member_of(task: HumanTask) -> str:
    """A demo user of the department the case went to (only they may resolve it)."""
    return {"support": "sue", "logistics": "leo", "sales": "sam",
            "finance": "fiona"}[task.candidate_groups[0]]


def written(systems: Systems) -> dict[str, Any]:
    return systems.crm.fields.get(CASE, {})


def test_a_complaint_is_routed_with_its_priority_and_deadline(
        driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems, BOREALIS, category="Quality", severity="Medium")

    assert written(systems) == {"Status": "Working", "Priority": "Medium"}
    (task,) = driver.open_tasks(instance_id).values()
    assert task.element_id == "resolve_complaint"
    assert task.name == "Resolve the complaint"
    assert task.due_at is not None
    assert abs(task.due_at - (task.created_at + timedelta(hours=12))) < timedelta(seconds=5)
    assert task.form is not None
    assert set(task.form["properties"]) == {"resolution", "refund", "refund_amount"}
    assert systems.erp.called("erp.find_order") == [], "no order is named on the case"


def test_the_complaint_goes_to_the_routed_departments_group(
        driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems, ACME, category="Delivery", severity="High")

    assert driver.open_tasks(instance_id)["resolve_complaint"].candidate_groups == ["logistics"]


def test_resolved_without_a_refund(driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems)

    resolve(driver, instance_id, resolution="We are sending two new cups.", refund=False)

    assert driver.instance(instance_id).status == "completed"
    assert written(systems) == {"Status": "Closed", "Priority": "Medium",
                                "Resolution__c": "We are sending two new cups.",
                                "Refund_Amount__c": 0}
    assert systems.erp.refunds == {}
    (mail,) = systems.mail.sent
    assert mail["to"] == "bea@cobalt.example"
    assert mail["subject"] == "Your complaint 1000 is resolved"
    assert "Dear Bea Buyer" in mail["body"]
    assert "We are sending two new cups." in mail["body"]
    assert "refunded" not in mail["body"]


def test_the_form_asks_for_a_resolution_and_an_amount_with_a_refund(
        driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems)
    task = driver.open_tasks(instance_id)["resolve_complaint"]

    refusals = [({"refund": False}, {"resolution": "is required"}),
                ({"resolution": "", "refund": False}, {"resolution": "is empty"}),
                ({"resolution": "Sorry.", "refund": True}, {"refund_amount": "is required"}),
                ({"resolution": "Sorry.", "refund": True, "refund_amount": 0},
                 {"refund_amount": "0 is less than the minimum of 0.01"})]
    for variables, problems in refusals:
        with pytest.raises(InvalidInputError) as caught:
            driver.engine.tasks.complete(task.id, "sue", variables)
        fields = caught.value.details["fields"]
        assert set(fields) == set(problems)
        assert all(fields[f] == m for f, m in problems.items() if m == "is required")
    assert driver.engine.tasks.task(task.id).status == "ready"


def test_a_small_refund_is_paid_without_finance(driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems, COBALT)

    resolve(driver, instance_id, resolution="Sorry: we refund the broken cups.", refund=True,
            refund_amount=80)

    assert driver.instance(instance_id).status == "completed"
    assert systems.erp.refunds[CASE]["amount"] == "80.00"
    assert systems.erp.refunds[CASE]["against"] == COBALT, "no order: refunded to the customer"
    assert written(systems)["Status"] == "Closed"
    assert written(systems)["Refund_Amount__c"] == 80
    body = systems.mail.sent[0]["body"]
    assert "We have refunded 80.00 (credit note SO900)." in body


def test_a_large_refund_waits_for_finance_and_is_paid_once_approved(
        driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems, COBALT)

    resolve(driver, instance_id, resolution="We refund the whole order.", refund=True,
            refund_amount=450)

    (approval,) = driver.open_tasks(instance_id).values()
    assert approval.element_id == "approve_refund"
    assert approval.candidate_groups == ["finance"]
    assert driver.instance(instance_id).variables["refund_check"]["reason"] == (
        "Refunds above 100 need finance approval for customers below silver tier.")
    assert systems.erp.refunds == {}, "nothing is paid before finance approves"
    assert written(systems)["Status"] == "Working"

    driver.complete(approval, "fiona", refund_decision="approve")

    assert driver.instance(instance_id).status == "completed"
    assert systems.erp.refunds[CASE]["amount"] == "450.00"
    assert written(systems)["Status"] == "Closed"
    assert written(systems)["Refund_Amount__c"] == 450


def test_the_department_and_finance_see_the_case_figures_on_their_tasks(
        driver: Driver, systems: Systems, engine: Engine) -> None:
    """The shipped forms' figures: the case for the department, the refund for finance."""
    instance_id = open_case(driver, systems, COBALT, severity="High")
    resolution = driver.open_tasks(instance_id)["resolve_complaint"]
    variables = driver.instance(instance_id).variables
    shown = {f.label: f.value for f in engine.tasks.figures(resolution, variables)}
    assert shown["Customer"] == "Cobalt" and shown["Tier"] == "bronze"
    assert shown["Subject"] == "The parcel arrived damaged"
    assert (shown["Category"], shown["Severity"]) == ("Quality", "High")
    assert shown["Opened"] == "2025-01-01T09:00:00.000Z"
    assert shown["Refund refused because"] is None  # nothing refused yet

    resolve(driver, instance_id, resolution="We refund the whole order.", refund=True,
            refund_amount=450)

    approval = driver.open_tasks(instance_id)["approve_refund"]
    variables = driver.instance(instance_id).variables
    figures = {f.label: f for f in engine.tasks.figures(approval, variables)}
    assert figures["Proposed refund"].value == 450
    assert figures["Proposed refund"].format == "money"
    assert figures["Proposed resolution"].value == "We refund the whole order."
    assert figures["Why finance must approve"].value == (
        "Refunds above 100 need finance approval for customers below silver tier.")


def test_a_refund_finance_refuses_goes_back_to_the_department(
        driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems, BOREALIS)
    resolve(driver, instance_id, resolution="Full refund.", refund=True, refund_amount=900)
    approval = driver.open_tasks(instance_id)["approve_refund"]
    driver.engine.tasks.claim(approval.id, "fiona")
    with pytest.raises(InvalidInputError) as caught:
        driver.engine.tasks.complete(approval.id, "fiona", {"refund_decision": "reject"})
    assert caught.value.details["fields"] == {"refund_comment": "is required"}

    driver.complete(approval, "fiona", refund_decision="reject",
                    refund_comment="Only two of ten cups were broken.")

    again = driver.open_tasks(instance_id)
    assert set(again) == {"resolve_complaint"}
    assert driver.instance(instance_id).variables["refund_comment"] == (
        "Only two of ten cups were broken.")
    assert systems.erp.refunds == {}

    resolve(driver, instance_id, resolution="We refund the two broken cups.", refund=True,
            refund_amount=24)

    assert driver.instance(instance_id).status == "completed"
    assert systems.erp.refunds[CASE]["amount"] == "24.00"
    assert written(systems)["Refund_Amount__c"] == 24
    assert "We refund the two broken cups." in systems.mail.sent[0]["body"]


def test_the_refund_is_made_once_when_the_erp_answer_is_lost(
        driver: Driver, systems: Systems) -> None:
    systems.erp.lose_refund_answers = 1  # made, but the answer times out: the call is retried
    instance_id = open_case(driver, systems, COBALT)

    resolve(driver, instance_id, resolution="Refunded.", refund=True, refund_amount=60)
    driver.run(until=lambda: driver.instance(instance_id).status == "completed")

    calls = systems.erp.called("erp.create_refund")
    assert len(calls) == 2
    assert {c.params["case_id"] for c in calls} == {CASE}
    assert [c.ctx.attempt for c in calls] == [1, 2]
    assert list(systems.erp.refunds) == [CASE]
    assert written(systems)["Refund_Amount__c"] == 60
    assert len(systems.mail.sent) == 1


def test_a_refund_the_erp_refuses_goes_back_to_the_department(
        driver: Driver, systems: Systems) -> None:
    systems.erp.add_order(ORDER, ACME, "120.00")
    instance_id = open_case(driver, systems, ACME, category="Delivery", order_id=ORDER)
    assert systems.erp.called("erp.find_order")[0].params == {"crm_order_id": ORDER}
    assert driver.instance(instance_id).variables["order"]["shipment_state"] == "sent"
    systems.erp.refund_error = BusinessRuleError(
        "refund_exceeds_order", "the refund of 500.00 exceeds the total 120.00 of ERP order "
        "SO0001")

    resolve(driver, instance_id, resolution="Refund.", refund=True, refund_amount=500)

    assert set(driver.open_tasks(instance_id)) == {"resolve_complaint"}
    variables = driver.instance(instance_id).variables
    assert variables["error_code"] == "refund_exceeds_order"
    assert "exceeds the total 120.00" in variables["error_message"]
    assert driver.engine.management.incidents_of(instance_id) == []

    systems.erp.refund_error = None
    resolve(driver, instance_id, resolution="Refund of the order.", refund=True,
            refund_amount=120)

    assert driver.instance(instance_id).status == "completed"
    assert systems.erp.refunds[CASE]["against"] == ORDER, "refunded against the ERP order"
    assert systems.erp.called("erp.create_refund")[-1].params["crm_order_id"] == ORDER


def test_an_order_the_erp_does_not_have_is_refunded_to_the_customer(
        driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems, COBALT, order_id=ORDER)
    assert driver.instance(instance_id).variables["order"]["found"] is False

    resolve(driver, instance_id, resolution="Refund.", refund=True, refund_amount=20)

    assert systems.erp.refunds[CASE]["against"] == COBALT


def test_a_customer_without_an_email_address_is_not_mailed(
        driver: Driver, systems: Systems) -> None:
    instance_id = open_case(driver, systems, None, category=None, severity=None,
                            contact_email=None)
    assert written(systems) == {"Status": "Working", "Priority": "Low"}

    resolve(driver, instance_id, resolution="Nothing to refund.", refund=False)

    assert driver.instance(instance_id).status == "completed"
    assert written(systems)["Status"] == "Closed"
    assert systems.mail.sent == []


def test_a_complaint_past_its_deadline_is_escalated_and_stays_with_the_department(
        engine: Engine, driver: Driver, systems: Systems) -> None:
    short = "<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">"
    engine.repository.deploy(shipped_files({"complaint_handling.bpmn": {
        short + "${routing['response_deadline']}": short + "PT0.3S"}}))
    instance_id = open_case(driver, systems, ACME, category="Quality", severity="Critical")
    task = driver.open_tasks(instance_id)["resolve_complaint"]
    assert written(systems)["Priority"] == "High"

    driver.run(until=lambda: written(systems).get("Status") == "Escalated", timeout=5)
    driver.run()

    assert written(systems) == {"Status": "Escalated", "Priority": "High"}
    (todo,) = systems.crm.tasks_on(CASE)
    assert todo["subject"] == "Complaint 1000 is overdue"
    assert todo["owner_id"] == "005000000000003AAA", "the case's owner is asked"
    assert todo["description"] == ("The support team has not resolved it within its response "
                                   "deadline (PT4H). Subject: The parcel arrived damaged")
    assert driver.open_tasks(instance_id)["resolve_complaint"].id == task.id

    resolve(driver, instance_id, resolution="Replaced.", refund=False)

    assert driver.instance(instance_id).status == "completed"
    assert written(systems)["Status"] == "Closed"
