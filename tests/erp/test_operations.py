"""The erp.* operations against a real Tryton 8.2 serving the demo data.

One server serves the whole session; tests keep apart by their own order, case and account
ids, and by the products they use: BF-110/120 (orders), BF-200 (credit), BF-210 (over the
limit), BF-300 (stock, never ordered), BF-310 (refunds), BF-400 (find), BF-500 (changes),
BF-510 (no stock at all).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from service_tasks.base import (
    AuthenticationError,
    BusinessRuleError,
    InvalidParameters,
    TransientError,
)
from service_tasks.tryton.client import TrytonClient
from service_tasks.tryton.erp_operations import TrytonOperations, operations
from service_tasks.tryton.server import TrytonServer

from .conftest import Call, FakeTryton

ACME = "001000000000001AAA"
BOREALIS = "001000000000002AAA"
COBALT = "001000000000003AAA"
DELTA = "001000000000004AAA"
EVERGREEN = "001000000000005AAA"
FJORD = "001000000000006AAA"


def order(order_id: str, account_id: str, *lines: tuple[str, float] | tuple[str, float, str],
          ) -> dict[str, Any]:
    return {"crm_order_id": order_id, "crm_account_id": account_id,
            "lines": [dict(zip(("product_code", "quantity", "unit_price"), line,
                               strict=False)) for line in lines]}


# --- parameters: refused before anything is sent -----------------------------------------

@pytest.mark.parametrize(("name", "params", "says"), [
    ("erp.create_sales_order", {"crm_order_id": "O", "crm_account_id": ACME}, "lines"),
    ("erp.create_sales_order", order("O", ACME, ("BF-100", 0)), "line 1"),
    ("erp.check_stock", {"lines": [{"quantity": 1}]}, "product_code"),
    ("erp.check_stock", {"lines": [{"product_code": "BF-100", "quantity": "lots"}]},
     "line 1"),
    ("erp.find_customer", {}, "crm_account_id"),
    ("erp.create_refund", {"case_id": "C", "amount": "-5", "reason": "x",
                           "crm_account_id": ACME}, "greater than zero"),
    ("erp.create_refund", {"case_id": "C", "amount": "5", "reason": "x"}, "crm_order_id"),
    ("erp.create_refund", {"case_id": "C", "amount": "five", "reason": "x",
                           "crm_account_id": ACME}, "amount"),
    ("erp.changes_since", {"since": "yesterday"}, "ISO 8601"),
    ("erp.stock_levels", {"to": "2999-01-31"}, "'to' .2999-01-31. is in the future"),
    ("erp.stock_levels", {"to": "end of June"}, "'to' must be a date"),
    ("erp.stock_levels", {"to": "2025-06-30", "previous_to": "2025-07-31"},
     "'previous_to' .2025-07-31. is not before 'to'"),
    ("erp.stock_levels", {"reorder_point": True}, "'reorder_point' must be a number"),
])
def test_bad_parameters_are_refused_before_calling_tryton(name: str, params: dict[str, Any],
                                                          says: str, call: Call) -> None:
    fake = FakeTryton()
    ops = operations(TrytonClient(fake, "http://erp", "demo", "admin", "pw"))

    with pytest.raises(InvalidParameters, match=says):
        ops[name](params, call)

    assert fake.sent == []


def test_every_operation_is_registered_with_a_docstring() -> None:
    ops = operations(TrytonClient(FakeTryton(), "http://erp", "demo", "admin", "pw"))

    assert sorted(ops) == ["erp.changes_since", "erp.check_stock", "erp.create_refund",
                           "erp.create_sales_order", "erp.customer_accounts",
                           "erp.ensure_customer", "erp.find_customer", "erp.find_order",
                           "erp.get_credit", "erp.sales_in_period", "erp.stock_levels"]
    assert all("Result:" in (fn.__doc__ or "") for fn in ops.values())


# --- customers ---------------------------------------------------------------------------

def test_a_demo_customer_is_found_by_its_crm_account_id(erp: TrytonOperations,
                                                         call: Call) -> None:
    result = erp.find_customer({"crm_account_id": ACME}, call)

    assert result["found"] is True
    customer = result["customer"]
    assert (customer["name"], customer["tier"], customer["city"], customer["country_code"],
            customer["email"]) == ("Acme Industrial GmbH", "gold", "Berlin", "DE",
                                   "orders@acme.example")


def test_an_unknown_account_is_not_found(erp: TrytonOperations, call: Call) -> None:
    assert erp.find_customer({"crm_account_id": "001NOPE"}, call) == {"found": False,
                                                                      "customer": None}


def test_ensure_customer_creates_once_then_finds(erp: TrytonOperations, call: Call) -> None:
    params = {"crm_account_id": "001IT0000000001AAA", "name": "Gamma Logistics Oy",
              "email": "osto@gamma.example", "phone": "+358 9 000 000",
              "street": "Mannerheimintie 1", "postal_code": "00100", "city": "Helsinki",
              "country_code": "FI", "tier": "silver"}

    first = erp.ensure_customer(params, call)
    again = erp.ensure_customer(params, call)
    found = erp.find_customer({"crm_account_id": "001IT0000000001AAA"}, call)

    assert first["created"] is True and again["created"] is False
    assert first["customer"]["id"] == again["customer"]["id"] == found["customer"]["id"]
    assert {k: found["customer"][k] for k in ("name", "email", "phone", "street", "city",
                                              "postal_code", "country_code", "tier")} == {
        "name": "Gamma Logistics Oy", "email": "osto@gamma.example",
        "phone": "+358 9 000 000", "street": "Mannerheimintie 1", "city": "Helsinki",
        "postal_code": "00100", "country_code": "FI", "tier": "silver"}


def test_a_customer_in_an_unknown_country_is_refused(erp: TrytonOperations,
                                                     call: Call) -> None:
    with pytest.raises(BusinessRuleError) as caught:
        erp.ensure_customer({"crm_account_id": "001IT0000000002AAA", "name": "Zeta",
                             "country_code": "ZZ"}, call)

    assert caught.value.code == "unknown_country"
    assert erp.find_customer({"crm_account_id": "001IT0000000002AAA"}, call)["found"] is False


# --- stock -------------------------------------------------------------------------------

def test_check_stock_reports_the_forecast_per_line(erp: TrytonOperations, call: Call) -> None:
    result = erp.check_stock({"lines": [{"product_code": "BF-300", "quantity": 5}]}, call)

    assert result == {"ok": True, "lines": [{"product_code": "BF-300", "wanted": 5.0,
                                             "available": 80.0, "ok": True}]}


def test_check_stock_says_no_for_a_product_out_of_stock(erp: TrytonOperations,
                                                        call: Call) -> None:
    result = erp.check_stock({"lines": [{"product_code": "BF-300", "quantity": 1},
                                        {"product_code": "BF-510", "quantity": 1}]}, call)

    assert result["ok"] is False
    assert [(line["product_code"], line["available"], line["ok"])
            for line in result["lines"]] == [("BF-300", 80.0, True), ("BF-510", 0.0, False)]


def test_check_stock_adds_up_a_product_on_several_lines(erp: TrytonOperations,
                                                        call: Call) -> None:
    result = erp.check_stock({"lines": [{"product_code": "BF-300", "quantity": 50},
                                        {"product_code": "BF-300", "quantity": 50}]}, call)

    assert [line["ok"] for line in result["lines"]] == [True, False]
    assert result["ok"] is False


def test_an_unknown_product_is_named(erp: TrytonOperations, call: Call) -> None:
    with pytest.raises(BusinessRuleError) as caught:
        erp.check_stock({"lines": [{"product_code": "BF-999", "quantity": 1}]}, call)

    assert caught.value.code == "unknown_product"
    assert "BF-999" in caught.value.message


# --- sales orders ------------------------------------------------------------------------

def test_a_sales_order_is_created_confirmed_and_never_duplicated(
        erp: TrytonOperations, erp_client: TrytonClient, call: Call) -> None:
    params = order("IT-ORDER-1", BOREALIS, ("BF-110", 10), ("BF-120", 4, "35.00"))

    first = erp.create_sales_order(params, call)
    again = erp.create_sales_order(params, call)

    assert first["created"] is True and again["created"] is False
    assert first["order_number"] and again["order_number"] == first["order_number"]
    assert first["state"] in ("confirmed", "processing")
    assert first["total"] == "790.00"  # 10 × 65.00 list price + 4 × 35.00
    sales = erp_client.model("sale.sale").search_count([("reference", "=", "IT-ORDER-1")])
    assert sales == 1
    stock = erp.check_stock({"lines": [{"product_code": "BF-110", "quantity": 1}]}, call)
    assert stock["lines"][0]["available"] == 290.0  # the order holds 10 of 300


def test_an_order_without_stock_stops_at_the_quote_and_is_continued_later(
        erp: TrytonOperations, erp_client: TrytonClient, call: Call) -> None:
    with pytest.raises(BusinessRuleError) as caught:
        erp.create_sales_order(order("IT-ORDER-2", ACME, ("BF-510", 1)), call)
    assert caught.value.code == "insufficient_stock"
    assert "BF-510" in caught.value.message
    assert erp.find_order({"crm_order_id": "IT-ORDER-2"}, call)["state"] == "draft"

    # The CRM order changes while it waits for stock: the same ERP sale is confirmed.
    result = erp.create_sales_order(order("IT-ORDER-2", ACME, ("BF-120", 1)), call)

    assert result["created"] is False and result["state"] in ("confirmed", "processing")
    assert erp.find_order({"crm_order_id": "IT-ORDER-2"}, call)["lines"][0][
        "product_code"] == "BF-120"
    assert erp_client.model("sale.sale").search_count([("reference", "=", "IT-ORDER-2")]) == 1


def test_an_order_for_an_unknown_customer_is_refused(erp: TrytonOperations,
                                                     call: Call) -> None:
    with pytest.raises(BusinessRuleError) as caught:
        erp.create_sales_order(order("IT-ORDER-3", "001NOPE", ("BF-120", 1)), call)

    assert caught.value.code == "unknown_customer"


def test_a_reference_taken_by_another_customer_is_a_conflict(erp: TrytonOperations,
                                                             call: Call) -> None:
    erp.create_sales_order(order("IT-ORDER-4", ACME, ("BF-120", 1)), call)

    with pytest.raises(BusinessRuleError) as caught:
        erp.create_sales_order(order("IT-ORDER-4", BOREALIS, ("BF-120", 1)), call)

    assert caught.value.code == "order_conflict"


def test_find_order_reads_lines_and_totals(erp: TrytonOperations, call: Call) -> None:
    created = erp.create_sales_order(order("IT-FIND-1", EVERGREEN, ("BF-400", 3)), call)

    found = erp.find_order({"crm_order_id": "IT-FIND-1"}, call)

    assert found["found"] is True
    assert found["order_number"] == created["order_number"]
    assert found["crm_account_id"] == EVERGREEN
    assert found["state"] in ("confirmed", "processing")
    assert found["shipment_state"] == "waiting"
    assert found["lines"] == [{"product_code": "BF-400", "description":
                               "Storage bin small (pack of 20)", "quantity": 3.0,
                               "unit_price": "55.00", "amount": "165.00"}]
    assert (found["total"], found["currency"]) == ("165.00", "EUR")


def test_find_order_of_an_unknown_id(erp: TrytonOperations, call: Call) -> None:
    found = erp.find_order({"crm_order_id": "IT-NEVER"}, call)

    assert found["found"] is False and found["order_number"] is None and found["lines"] == []


# --- credit ------------------------------------------------------------------------------

def test_credit_exposure_grows_with_a_confirmed_order(erp: TrytonOperations,
                                                      call: Call) -> None:
    before = erp.get_credit({"crm_account_id": DELTA}, call)
    erp.create_sales_order(order("IT-CREDIT-1", DELTA, ("BF-200", 2)), call)
    after = erp.get_credit({"crm_account_id": DELTA}, call)

    assert before == {"crm_account_id": DELTA, "limit": "15000.00", "exposure": "0.00",
                      "available": "15000.00", "currency": "EUR"}
    assert (after["exposure"], after["available"]) == ("1780.00", "13220.00")


def test_an_order_over_the_credit_limit_is_not_confirmed(erp: TrytonOperations,
                                                         call: Call) -> None:
    with pytest.raises(BusinessRuleError) as caught:
        erp.create_sales_order(order("IT-CREDIT-2", FJORD, ("BF-210", 1)), call)

    assert caught.value.code == "credit_limit_exceeded"
    assert "Fjord Marine AS" in caught.value.message
    assert "credit limit" in caught.value.message
    assert erp.find_order({"crm_order_id": "IT-CREDIT-2"}, call)["state"] == "quotation"
    assert erp.get_credit({"crm_account_id": FJORD}, call)["exposure"] == "0.00"


# --- refunds -----------------------------------------------------------------------------

def test_a_refund_is_made_once_per_case(erp: TrytonOperations, erp_client: TrytonClient,
                                        call: Call) -> None:
    erp.create_sales_order(order("IT-REFUND-1", ACME, ("BF-310", 5)), call)
    params = {"case_id": "IT-CASE-1", "crm_order_id": "IT-REFUND-1", "amount": "60",
              "reason": "Two guards arrived dented"}

    first = erp.create_refund(params, call)
    again = erp.create_refund(params, call)

    assert first["created"] is True and again["created"] is False
    assert first["refund_number"] and again["refund_number"] == first["refund_number"]
    assert first["amount"] == "60.00"
    assert first["state"] in ("confirmed", "processing")
    complaints = erp_client.model("sale.complaint").search_read(
        [("reference", "=", "IT-CASE-1")], ["state", "origin"])
    assert [(c["state"], c["origin"].split(",")[0]) for c in complaints] == [
        ("done", "sale.sale")]
    refund = erp_client.model("sale.sale").search_read(
        [("number", "=", first["refund_number"])], ["total_amount"])
    assert [str(r["total_amount"]) for r in refund] == ["-60.00"]


def test_a_refund_for_a_customer_without_an_order(erp: TrytonOperations, call: Call) -> None:
    result = erp.create_refund({"case_id": "IT-CASE-2", "crm_account_id": COBALT,
                                "amount": 20.5, "reason": "Goodwill"}, call)

    assert result["created"] is True and result["amount"] == "20.50"


def test_a_refund_larger_than_the_order_is_refused(erp: TrytonOperations,
                                                   call: Call) -> None:
    erp.create_sales_order(order("IT-REFUND-2", ACME, ("BF-310", 1)), call)

    with pytest.raises(BusinessRuleError) as caught:
        erp.create_refund({"case_id": "IT-CASE-3", "crm_order_id": "IT-REFUND-2",
                           "amount": "1000", "reason": "x"}, call)

    assert caught.value.code == "refund_exceeds_order"


# --- changes -----------------------------------------------------------------------------

def test_changes_since_lists_what_was_created_after(erp: TrytonOperations,
                                                    call: Call) -> None:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    erp.ensure_customer({"crm_account_id": "001IT0000000003AAA", "name": "Eta Tools"}, call)
    erp.create_sales_order(order("IT-CHANGE-1", COBALT, ("BF-500", 1)), call)

    changes = erp.changes_since({"since": since}, call)

    accounts = [c["crm_account_id"] for c in changes["customers"]]
    orders = [o["crm_order_id"] for o in changes["orders"]]
    assert "001IT0000000003AAA" in accounts and ACME not in accounts
    assert "IT-CHANGE-1" in orders and "IT-ORDER-1" not in orders
    assert all(o["changed_at"] >= since[:19] for o in changes["orders"])


# --- sessions and faults -----------------------------------------------------------------

def test_a_lost_session_is_replaced_transparently(erp_client: TrytonClient) -> None:
    erp_client.login()
    erp_client.call("common.db.logout")  # Tryton forgets the session

    assert erp_client.model("party.party").search_count([("code", "=", ACME)]) == 1


def test_unknown_credentials_are_an_authentication_error(erp_server: TrytonServer) -> None:
    # A user that does not exist: failed logins of a real user slow its next logins down.
    with requests.Session() as session:
        client = TrytonClient(session, erp_server.url, erp_server.database, "nobody", "x")
        with pytest.raises(AuthenticationError):
            client.model("party.party").search([])


def test_a_stopped_tryton_is_transient_and_the_call_works_once_it_is_back(
        erp_server: TrytonServer, erp: TrytonOperations, call: Call) -> None:
    params = {"crm_account_id": BOREALIS}
    erp_server.stop()
    try:
        with pytest.raises(TransientError):
            erp.find_customer(params, call)
    finally:
        erp_server.start()

    assert erp.find_customer(params, call)["customer"]["name"] == "Borealis Retail Ltd"
