"""A finance reviewer reads the case's figures at the top of the shipped credit review."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.processes.conftest import shipped_files
from tests.processes.test_credit_approval import ACME

from .conftest import Server, Visit

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CONTRACT = "800000000000009AAA"


def test_finance_reviewer_sees_amount_credit_and_reason_without_opening_all_variables(
        visit: Visit, server: Server) -> None:
    engine = server.engine
    engine.repository.deploy(shipped_files(), deployed_by="browser-test")
    server.systems.erp.credit[ACME] = (Decimal(50000), Decimal(10000))
    server.systems.crm.add_contract(CONTRACT, ACME, 45000, 24)
    started = engine.runtime.send_message(
        "contract_submitted", business_key=CONTRACT,
        variables={"crm_event": {"id": "evt-fig", "type": "contract.submitted",
                                 "record_id": CONTRACT},
                   "record_id": CONTRACT, "crm_record": {"AccountId": ACME}})
    (instance_id,) = started.started
    [task] = server.wait_until(lambda: engine.tasks.open_tasks_of(instance_id),
                               "the credit review task")
    page = visit.page

    visit.goto(f"/inbox/tasks/{task.id}")
    visit.sign_in("fiona")
    expect(page.get_by_role("heading", name="Review the contract's credit")).to_be_visible()
    figures = page.get_by_label("Figures for this review")
    expected = {"Customer": "Acme", "Contract amount": "€45,000.00", "Term (months)": "24",
                "Available credit": "€40,000.00", "Exposure after the contract": "€55,000.00",
                "Rule": "Over the limit, gold",
                "Rule's reason": re.compile(r"^The amount exceeds the available credit")}
    for label, value in expected.items():
        row = figures.locator("div").filter(has=page.locator("dt", has_text=label)).first
        expect(row.locator("dd")).to_have_text(value)
    # the raw variables are still there, folded away
    expect(page.get_by_text("All variables")).to_be_visible()
    expect(page.locator("details pre.json")).not_to_be_visible()
    visit.shot("credit-review-figures")
