"""Reconciliation end to end: differences seeded in the ERP and the CRM, found and handled.

What one side decides by itself is repaired (an ERP order number missing on a CRM order),
what needs a person becomes a task for sales operations (a price that differs, a phone
number changed in the CRM after the ERP took it), and the report lists everything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ACME, SAM, Crm, Erp, Flow, Mailbox, wait_until

pytestmark = pytest.mark.slow

SALES_OPS = "sales-ops@bridgeflow.example"


def differences_of(report: dict[str, Any], record_id: str) -> dict[str, dict[str, Any]]:
    return {d["field"]: d for d in report["differences"] if d["id"] == record_id}


def test_safe_differences_are_repaired_and_conflicts_go_to_sales_operations(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()

    # A synced order whose ERP order number someone blanked in the CRM.
    blanked = crm.create_order([("BF-110", 2)])
    [inst] = flow.started("order_sync", blanked)
    flow.wait_for(inst["id"], "completed")
    [blanked_sale] = erp.sales(blanked)
    crm.update("Order", blanked, ERP_Order_Number__c=None, ERP_Status__c=None)

    # An order keyed into the ERP by hand at another price before the CRM activated it.
    repriced = crm.create_order([("BF-120", 3)], activate=False)  # 3 × 38.50 in the CRM
    keyed = erp.ops.create_sales_order({
        "crm_order_id": repriced, "crm_account_id": ACME,
        "lines": [{"product_code": "BF-120", "quantity": 3, "unit_price": "35.00"}]},
        erp.call)
    crm.activate_order(repriced)
    [inst] = flow.started("order_sync", repriced)
    flow.wait_for(inst["id"], "completed")  # it is in the ERP already: nothing more to do

    # A customer whose phone number changed in the CRM after the ERP took it over.
    account = crm.client.create("Account", {
        "Name": "Gale Logistics Ltd", "OwnerId": SAM, "Phone": "+44 161 000 0000",
        "BillingStreet": "1 Quay St", "BillingPostalCode": "M3 3JE",
        "BillingCity": "Manchester", "BillingCountry": "GB"})
    crm.client.create("Contact", {"AccountId": account, "LastName": "Gale",
                                  "Email": "buying@gale.example"})
    gale_order = crm.create_order([("BF-310", 5)], account=account)
    [inst] = flow.started("order_sync", gale_order)
    flow.wait_for(inst["id"], "completed")
    assert erp.customer(account)["phone"] == "+44 161 000 0000"  # type: ignore[index]
    crm.update("Account", account, Phone="+44 161 999 9999")

    started = flow.call("POST", "/process-instances", expect=201, json={
        "process_key": "reconciliation", "variables": {"since": since}})
    run = flow.wait_for(started["id"], "waiting", at="resolve_conflicts", timeout=30)
    report = run["variables"]["report"]

    # Repaired: the ERP decides the number and status a CRM order shows.
    fixed = differences_of(report, blanked)
    assert {f: (d["crm"], d["erp"], d["action"]) for f, d in fixed.items()} == {
        "ERP_Order_Number__c": (None, blanked_sale["number"], "repair"),
        "ERP_Status__c": (None, fixed["ERP_Status__c"]["erp"], "repair")}
    crm_order = crm.get("Order", blanked)
    assert crm_order["ERP_Order_Number__c"] == blanked_sale["number"]
    assert crm_order["ERP_Status__c"] in ("Confirmed", "Processing")
    crm_order = crm.get("Order", repriced)
    assert (crm_order["ERP_Order_Number__c"], crm_order["Status"]) == (
        keyed["order_number"], "Synced to ERP")

    # Conflicts, with both values side by side and who decides.
    repriced_diffs = differences_of(report, repriced)
    assert repriced_diffs["amount"] | {"label": None} == {
        "record": "order", "id": repriced, "label": None, "field": "amount",
        "crm": "115.50", "erp": "105.00", "authority": "crm", "action": "conflict"}
    assert (repriced_diffs["lines"]["crm"], repriced_diffs["lines"]["erp"]) == (
        ["BF-120 × 3 at 38.50"], ["BF-120 × 3 at 35.00"])
    assert repriced_diffs["ERP_Order_Number__c"]["action"] == "repair"
    phone = differences_of(report, account)["phone"]
    assert (phone["crm"], phone["erp"], phone["action"]) == (
        "+44 161 999 9999", "+44 161 000 0000", "conflict")
    assert repriced_diffs["Status"]["crm"] == "Activated"
    # Only these: the other tests' records (also compared, if they changed meanwhile) aside.
    ours = [d["action"] for d in report["differences"] if d["id"] in (blanked, repriced,
                                                                       account)]
    assert (ours.count("repair"), ours.count("conflict")) == (5, 3)

    [task] = flow.tasks(started["id"])
    assert task["candidate_groups"] == ["sales-ops"]
    assert task["form"]["properties"]["resolution"]["enum"] == ["corrected", "accepted"]

    mail = mailbox.wait_for(SALES_OPS, "Reconciliation: ")
    assert mail.subject == (f"Reconciliation: {report['counts']['differences']} difference(s), "
                            f"{report['counts']['safe']} repaired, "
                            f"{report['counts']['conflicts']} to resolve")
    assert "amount: CRM 115.50, ERP 105.00 (the CRM decides)" in mail.body
    assert "phone: CRM +44 161 999 9999, ERP +44 161 000 0000 (the CRM decides)" in mail.body
    repaired_part = mail.body.split("Repaired automatically:")[1].split("Conflicts")[0]
    assert f"ERP_Order_Number__c: CRM (none), ERP {blanked_sale['number']}" in repaired_part

    # The run's report is kept: the same findings, by the run's id, in JSON and as CSV.
    stored = flow.call("GET", f"/reports/reconciliation/{started['id']}")
    assert stored["report"]["title"] == mail.subject
    assert stored["counts"]["differences"] == report["counts"]["differences"]
    assert stored["counts"]["conflicts"] == report["counts"]["conflicts"]
    table = flow.session.get(f"{flow.bridgeflow.url}/api/v1/reports/reconciliation/"
                             f"{started['id']}?format=csv", timeout=30)
    assert table.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert ",amount,115.50,105.00,crm,conflict,handed to people\r\n" in table.text

    flow.complete_task(task["id"], "olga", {"resolution": "accepted",
                                           "comment": "hand-made discount"})
    done = flow.wait_for(started["id"], "completed")
    assert done["variables"]["resolution"] == "accepted"


def test_the_nightly_run_compares_everything_and_reports_it(flow: Flow,
                                                            mailbox: Mailbox) -> None:
    flow.fire_start_timer("reconciliation_nightly")
    [nightly] = wait_until(lambda: flow.instances("reconciliation_nightly"), timeout=15,
                           message="the nightly timer started nothing")
    # the call activity runs the reconciliation as an instance of its own, linked both ways
    [called] = wait_until(lambda: flow.instance(nightly["id"])["called_instances"],
                          timeout=30, message="the nightly run called no reconciliation")
    assert called["process_key"] == "reconciliation" and called["element_id"] == "reconcile"
    run = flow.wait_for(called["id"], "waiting", "completed", timeout=60)
    assert run["parent_instance_id"] == nightly["id"]
    assert "read_changes" in flow.elements_done(called["id"])
    mail = mailbox.wait_for(SALES_OPS, "Reconciliation:")
    assert "changes since the beginning" in mail.body
    assert run["variables"]["report"]["since"] is None
    kept = flow.call("GET", f"/reports/reconciliation/{nightly['id']}")  # by the nightly run
    assert kept["report"]["instance_id"] == called["id"] and kept["since"] is None
    assert kept["report"]["title"] == mail.subject
