"""Reconciliation: comparing both systems' records with the shipped mappings, and repairing."""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

from service_tasks.base import BusinessRuleError, TransientError
from service_tasks.mapping import MappingSet
from service_tasks.reconcile import FULL_READ_SINCE, Reconciler, compare, render

SHIPPED = MappingSet(Path(__file__).resolve().parents[2] / "processes" / "mappings")
TO_ERP, TO_CRM = SHIPPED.get("crm_order_to_erp"), SHIPPED.get("erp_order_status_to_crm")
ORDER_ID, ACCOUNT_ID = "801000000000001AAA", "001000000000001AAA"


class Call:
    instance_id, business_key, element_id, attempt = "inst-1", None, "repair", 1
    idempotency_key = "inst-1:repair"


def account(**changes: Any) -> dict[str, Any]:
    """A CRM account as crm.get_order composes it."""
    base = {"id": ACCOUNT_ID, "name": "Acme Industrial GmbH", "tier": "gold",
            "phone": "+49 30 1234567", "contact_email": "orders@acme.example",
            "address": {"street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin",
                        "country": "Germany"}}
    return {**base, **changes}


def crm_order(**changes: Any) -> dict[str, Any]:
    """A CRM order as crm.get_order returns it, synced to ERP order SO0042."""
    base = {"order_id": ORDER_ID, "order_number": "00000100", "status": "Synced to ERP",
            "total_amount": 880.0, "erp_order_number": "SO0042", "erp_status": "Confirmed",
            "account": account(),
            "items": [{"product_code": "BF-100", "quantity": 2, "unit_price": 420.0},
                      {"product_code": "BF-310", "quantity": 1, "unit_price": 40.0}]}
    return {**base, **changes}


def erp_order(**changes: Any) -> dict[str, Any]:
    """The matching ERP sale as erp.find_order returns it."""
    base = {"found": True, "order_number": "SO0042", "crm_account_id": ACCOUNT_ID,
            "state": "confirmed", "untaxed": "880.00", "total": "880.00",
            "lines": [{"product_code": "BF-310", "quantity": 1.0, "unit_price": "40.00"},
                      {"product_code": "BF-100", "quantity": 2.0, "unit_price": "420.00"}]}
    return {**base, **changes}


def erp_customer(**changes: Any) -> dict[str, Any]:
    base = {"crm_account_id": ACCOUNT_ID, "name": "Acme Industrial GmbH",
            "email": "orders@acme.example", "phone": "+49 30 1234567", "tier": "gold",
            "street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin",
            "country_code": "DE"}
    return {**base, **changes}


def snapshot(crm: dict[str, Any] | None = None, erp: dict[str, Any] | None = None,
             customer: dict[str, Any] | None | str = "same",
             crm_account: dict[str, Any] | None | str = "same") -> dict[str, Any]:
    crm = crm_order() if crm is None else crm
    return {"since": "2026-03-01T00:00:00Z",
            "orders": [{"crm_order_id": ORDER_ID, "crm": crm,
                        "erp": erp_order() if erp is None else erp}],
            "customers": [{"crm_account_id": ACCOUNT_ID,
                           "crm": account() if crm_account == "same" else crm_account,
                           "erp": erp_customer() if customer == "same" else customer}]}


def run(snap: dict[str, Any]) -> dict[str, Any]:
    return compare(snap, TO_ERP, TO_CRM)


def fields(report: dict[str, Any]) -> dict[str, tuple[Any, Any, str | None, str]]:
    return {d["field"]: (d["crm"], d["erp"], d["authority"], d["action"])
            for d in report["differences"]}


# -- compare --------------------------------------------------------------------------------

def test_records_that_agree_have_no_differences() -> None:
    report = run(snapshot())
    assert report["differences"] == [] and report["safe_fixes"] == []
    assert report["counts"] == {"differences": 0, "safe": 0, "conflicts": 0}


def test_an_erp_order_number_missing_on_the_crm_order_is_written_back() -> None:
    report = run(snapshot(crm=crm_order(erp_order_number=None, erp_status=None,
                                        status="Activated")))
    assert fields(report) == {
        "ERP_Order_Number__c": (None, "SO0042", "erp", "repair"),
        "ERP_Status__c": (None, "Confirmed", "erp", "repair"),
        "Status": ("Activated", "Synced to ERP", "erp", "repair")}
    assert report["safe_fixes"] == [{
        "kind": "update_crm_order", "label": "CRM order 00000100 / ERP order SO0042",
        "order_id": ORDER_ID, "fields": {"ERP_Order_Number__c": "SO0042",
                                         "ERP_Status__c": "Confirmed",
                                         "Status": "Synced to ERP"}}]
    assert report["conflicts"] == []


def test_an_erp_order_not_yet_confirmed_is_not_written_to_the_crm() -> None:
    report = run(snapshot(crm=crm_order(erp_order_number=None, status="Activated"),
                          erp=erp_order(state="quotation")))
    assert report["differences"] == []


def test_other_lines_and_amounts_are_conflicts_with_both_values() -> None:
    report = run(snapshot(erp=erp_order(untaxed="840.00", lines=[
        {"product_code": "BF-100", "quantity": 2.0, "unit_price": "400.00"},
        {"product_code": "BF-310", "quantity": 1.0, "unit_price": "40.00"}])))
    assert fields(report) == {
        "lines": (["BF-100 × 2 at 420.00", "BF-310 × 1 at 40.00"],
                  ["BF-100 × 2 at 400.00", "BF-310 × 1 at 40.00"], "crm", "conflict"),
        "amount": ("880.00", "840.00", "crm", "conflict")}
    assert report["safe_fixes"] == [] and len(report["conflicts"]) == 2


def test_a_customer_missing_in_the_erp_is_created_from_the_crm() -> None:
    report = run(snapshot(customer=None))
    assert fields(report) == {"exists": ("yes", None, "crm", "repair")}
    assert report["safe_fixes"] == [{
        "kind": "create_erp_customer", "label": "Customer Acme Industrial GmbH",
        "params": {"crm_account_id": ACCOUNT_ID, "tier": "gold", **{
            k: v for k, v in erp_customer().items() if k not in ("crm_account_id", "tier")}}}]


def test_a_customer_without_placed_orders_need_not_be_in_the_erp() -> None:
    snap = snapshot(customer=None)
    snap["orders"] = []
    assert run(snap)["differences"] == []


def test_customer_details_that_differ_are_conflicts_the_crm_decides() -> None:
    report = run(snapshot(customer=erp_customer(phone="+49 30 7654321", city="Potsdam")))
    assert fields(report) == {"phone": ("+49 30 1234567", "+49 30 7654321", "crm", "conflict"),
                              "city": ("Berlin", "Potsdam", "crm", "conflict")}


def test_spacing_alone_is_no_difference() -> None:
    assert run(snapshot(customer=erp_customer(name="Acme  Industrial GmbH ")))[
        "differences"] == []


def test_customer_data_the_mapping_refuses_is_a_conflict_naming_the_problem() -> None:
    report = run(snapshot(crm_account=account(address={"country": "Narnia"})))
    [difference] = report["differences"]
    assert (difference["field"], difference["action"]) == ("CRM data", "conflict")
    assert "account.address.country = 'Narnia': is not in table 'country'" in \
        difference["crm"]


@pytest.mark.parametrize("status,expected", [
    ("Activated", {"exists": ("yes", None, "crm", "conflict")}),
    ("Synced to ERP", {"exists": ("yes", None, "crm", "conflict")}),
    ("Awaiting restock", {}), ("Draft", {}), ("Cancelled", {})])
def test_a_placed_crm_order_missing_in_the_erp_is_a_conflict(status: str,
                                                           expected: dict[str, Any]) -> None:
    report = run(snapshot(crm=crm_order(status=status, erp_order_number=None),
                          erp={"found": False, "lines": []}))
    assert fields(report) == expected


def test_an_erp_order_whose_crm_order_is_gone_is_a_conflict() -> None:
    report = run(snapshot(crm=None, erp=erp_order()) | {"orders": [
        {"crm_order_id": ORDER_ID, "crm": None, "erp": erp_order()}]})
    assert fields(report) == {"exists": (None, "yes", None, "conflict")}


# -- the report -----------------------------------------------------------------------------

def test_the_report_lists_what_was_repaired_failed_and_is_left() -> None:
    snap = snapshot(crm=crm_order(erp_order_number=None, erp_status=None),
                    customer=erp_customer(phone="+49 30 7654321"))
    report = run(snap)
    subject, text = render(report, report["safe_fixes"], [])
    assert subject == "Reconciliation: 3 difference(s), 2 repaired, 1 to resolve"
    assert text.splitlines() == [
        "The ERP and the CRM were compared for changes since 2026-03-01T00:00:00Z.", "",
        "Repaired automatically:",
        "- CRM order 00000100 / ERP order SO0042, ERP_Order_Number__c: CRM (none), "
        "ERP SO0042 (the ERP decides)",
        "- CRM order 00000100 / ERP order SO0042, ERP_Status__c: CRM (none), "
        "ERP Confirmed (the ERP decides)", "",
        "Conflicts for a person (both values side by side):",
        "- Customer Acme Industrial GmbH, phone: CRM +49 30 1234567, ERP +49 30 7654321 "
        "(the CRM decides)"]
    failed = [{"label": "CRM order 00000100 / ERP order SO0042", "error": "locked"}]
    subject, text = render(report, [], failed)
    assert subject == "Reconciliation: 3 difference(s), 0 repaired, 2 to resolve"
    assert "Repairs that failed:\n- CRM order 00000100 / ERP order SO0042: locked" in text


def test_a_run_without_differences_says_so() -> None:
    subject, text = render(run(snapshot()) | {"since": None}, [], [])
    assert subject == "Reconciliation: 0 difference(s), 0 repaired, 0 to resolve"
    assert text == ("The ERP and the CRM were compared for changes since the beginning.\n\n"
                    "No differences.\n")


# -- reading and repairing, with both systems faked -----------------------------------------

class FakeCrm:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.fail: Exception | None = None
        self.client = self
        self.orders = {ORDER_ID: crm_order()}

    def changes_since(self, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        self.since = params["since"]
        return {"accounts": [], "orders": [{"id": ORDER_ID}]}

    def get_order(self, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if params["order_id"] not in self.orders:
            raise BusinessRuleError("crm_not_found", "no such order")
        return deepcopy(self.orders[params["order_id"]])

    def update_order(self, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if self.fail:
            raise self.fail
        self.updates.append(params)
        return {"order_id": params["order_id"], "updated": sorted(params["fields"])}

    def query(self, soql: str) -> list[dict[str, Any]]:
        if "FROM Contact" in soql:
            return [{"AccountId": ACCOUNT_ID, "Email": "orders@acme.example"}]
        return [{"Id": ACCOUNT_ID, "Name": "Acme Industrial GmbH", "Tier__c": "gold",
                 "Phone": "+49 30 1234567", "BillingStreet": "Hauptstraße 1",
                 "BillingPostalCode": "10115", "BillingCity": "Berlin",
                 "BillingCountry": "DE"}]


class FakeErp:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def changes_since(self, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"customers": [], "orders": [{"crm_order_id": ORDER_ID},
                                            {"crm_order_id": "801000000000009AAA"}]}

    def find_order(self, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return erp_order() if params["crm_order_id"] == ORDER_ID else erp_order(
            order_number="SO0099")

    def find_customer(self, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"found": True, "customer": erp_customer()}

    def ensure_customer(self, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        self.created.append(params)
        return {"found": True, "created": True, "customer": erp_customer()}


@pytest.fixture
def systems() -> tuple[FakeErp, FakeCrm, Reconciler]:
    erp, crm = FakeErp(), FakeCrm()
    return erp, crm, Reconciler(erp, crm, SHIPPED)  # type: ignore[arg-type]


def test_read_pairs_what_changed_on_either_side(
        systems: tuple[FakeErp, FakeCrm, Reconciler]) -> None:
    erp, crm, reconciler = systems
    snap = reconciler.read({"since": None}, Call())
    assert crm.since == FULL_READ_SINCE and snap["since"] is None
    assert [(o["crm_order_id"], o["crm"] is not None) for o in snap["orders"]] == [
        (ORDER_ID, True), ("801000000000009AAA", False)]
    [customer] = snap["customers"]
    assert customer["crm"]["contact_email"] == "orders@acme.example"
    report = reconciler.compare({"snapshot": snap}, Call())
    # the ERP order of a CRM order that does not exist is the only difference
    assert [(d["id"], d["field"]) for d in report["differences"]] == [
        ("801000000000009AAA", "exists")]


def test_repair_applies_the_safe_fixes_and_reports(
        systems: tuple[FakeErp, FakeCrm, Reconciler]) -> None:
    erp, crm, reconciler = systems
    report = run(snapshot(crm=crm_order(erp_order_number=None), customer=None))
    outcome = reconciler.repair({"report": report}, Call())
    assert crm.updates == [{"order_id": ORDER_ID, "fields": {
        "ERP_Order_Number__c": "SO0042", "ERP_Status__c": "Confirmed",
        "Status": "Synced to ERP"}}]
    assert [c["crm_account_id"] for c in erp.created] == [ACCOUNT_ID]
    assert (len(outcome["repaired"]), outcome["failed"], outcome["to_resolve"]) == (2, [], 0)
    assert outcome["subject"] == "Reconciliation: 2 difference(s), 2 repaired, 0 to resolve"


def test_a_refused_repair_is_left_to_resolve_and_a_transient_failure_is_retried(
        systems: tuple[FakeErp, FakeCrm, Reconciler]) -> None:
    erp, crm, reconciler = systems
    report = run(snapshot(crm=crm_order(erp_order_number=None)))
    crm.fail = BusinessRuleError("crm_rejected", "the order is locked")
    outcome = reconciler.repair({"report": report}, Call())
    assert outcome["failed"] == [{"label": "CRM order 00000100 / ERP order SO0042",
                                  "error": "the order is locked"}]
    assert outcome["to_resolve"] == 1
    crm.fail = TransientError("the CRM did not answer")
    with pytest.raises(TransientError):
        reconciler.repair({"report": report}, Call())
