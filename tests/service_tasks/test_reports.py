"""The report builders: connector answers with known totals in, a valid report document out."""

from __future__ import annotations

from typing import Any

import pytest

from engine.report_render import render_files, validate
from service_tasks.base import InvalidParameters
from service_tasks.reports import build_customer, build_inventory, build_sales

from .test_notify import Ctx

NOV = {"key": "2026-11", "label": "November 2026", "from": "2026-11-01", "to": "2026-11-30"}
OCT = {"key": "2026-10", "label": "October 2026", "from": "2026-10-01", "to": "2026-10-31"}
ACME, BOREALIS = "001000000000001AAA", "001000000000002AAA"
ACCOUNTS = [{"id": ACME, "name": "Acme Industrial GmbH", "tier": "gold", "owner": "Sam Seller"},
            {"id": BOREALIS, "name": "Borealis Retail Ltd", "tier": "silver",
             "owner": "Sam Seller"}]


def sale(code: str, revenue: str, *lines: tuple[str, float, str], order: str | None = None,
         refund: bool = False) -> dict[str, Any]:
    return {"customer_code": code, "customer_name": code, "revenue": revenue, "refund": refund,
            "crm_order_id": order, "customer_tier": None,
            "lines": [{"product_code": c, "product_name": f"Product {c}", "quantity": q,
                       "amount": a} for c, q, a in lines]}


def section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in doc["sections"] if s["key"] == key)


def sales_params() -> dict[str, Any]:
    return {
        "period": NOV, "previous_period": OCT,
        "erp": {"currency": "EUR", "orders": [
            sale(ACME, "1000.10", ("BF-100", 2, "840.00"), ("BF-110", 2, "160.10"),
                 order="801A"),
            sale(ACME, "500.00", ("BF-110", 5, "500.00")),
            sale(BOREALIS, "250.00", ("BF-120", 5, "250.00"), order="801B"),
            sale(BOREALIS, "-40.00", ("REFUND", -1, "-40.00"), refund=True)]},
        "erp_previous": {"currency": "EUR", "orders": [sale(ACME, "1200.00",
                                                            ("BF-100", 3, "1200.00"))]},
        "crm": {"accounts": ACCOUNTS, "orders": [{"id": "801A", "status": "Synced to ERP"},
                                                 {"id": "801B", "status": "Activated"}],
                "opportunities": [
                    {"account_id": ACME, "open": 2, "stage": "Proposal/Price Quote",
                     "pipeline": 54500.0, "won": 1},
                    {"account_id": BOREALIS, "open": 1, "stage": "Negotiation/Review",
                     "pipeline": 12400.4, "won": 0},
                    {"account_id": "001000000000005AAA", "open": 1, "stage": "Prospecting",
                     "pipeline": 100.0, "won": 2}]},
        "waiting": {"instances": [
            {"waiting_on": "stock", "record_number": "00000104", "account_name": "Acme",
             "owner": "Sam Seller", "amount": 2180.0, "started_at": "2026-11-28T10:00:00Z",
             "age_days": 5.5, "record_id": "801C", "products": []},
            {"waiting_on": "credit", "record_number": "00000100", "account_name": "Borealis",
             "owner": "Sam Seller", "amount": 9000.0, "started_at": "2026-11-30T10:00:00Z",
             "age_days": 3.0, "record_id": "800A", "products": []}]}}


def test_sales_report_adds_up_by_customer_product_tier_and_order_status() -> None:
    built = build_sales(sales_params(), Ctx())
    doc = validate(built["report"])
    assert not built["empty"] and doc["title"] == "Sales report"
    summary = {f["label"]: (f["value"], f["previous"]) for f in doc["summary"]}
    assert summary["Revenue"] == (1750.1, 1200.0)  # the refund is not a sale
    assert summary["Orders"] == (3, 1)
    assert summary["Average order"] == (583.37, 1200.0)
    assert summary["Orders waiting on stock"][0] == 1
    assert summary["Contracts waiting on credit"][0] == 1
    customers = section(doc, "by_customer")
    assert [(r["customer"], r["orders"], r["revenue"], r["tier"], r["owner"])
            for r in customers["rows"]] == [
        ("Acme Industrial GmbH", 2, 1500.1, "gold", "Sam Seller"),
        ("Borealis Retail Ltd", 1, 250.0, "silver", "Sam Seller")]
    assert customers["totals"]["revenue"] == 1750.1
    products = {r["code"]: (r["quantity"], r["revenue"])
                for r in section(doc, "by_product")["rows"]}
    assert products == {"BF-100": (2, 840.0), "BF-110": (7, 660.1), "BF-120": (5, 250.0)}
    tiers = {r["tier"]: (r["revenue"], r["previous"], r["change"])
             for r in section(doc, "by_tier")["rows"]}
    assert tiers == {"gold": (1500.1, 1200.0, 0.2501), "silver": (250.0, 0.0, None)}
    statuses = {r["status"]: r["orders"] for r in section(doc, "by_order_status")["rows"]}
    assert statuses == {"Synced to ERP": 1, "entered in the ERP": 1, "Activated": 1}
    assert [r["waiting_on"] for r in section(doc, "waiting")["rows"]] == ["stock", "credit"]


def test_sales_report_shows_each_customers_opportunity_stage_pipeline_and_won() -> None:
    params = sales_params()
    params["erp"]["orders"].append(sale("001000000000009AAA", "10.00", ("BF-100", 1, "10.00")))
    doc = validate(build_sales(params, Ctx())["report"])
    customers = section(doc, "by_customer")
    assert [c["label"] for c in customers["columns"]][-3:] == ["Stage", "Pipeline", "Won in period"]
    assert {r["customer"]: (r["stage"], r["pipeline"], r["won"]) for r in customers["rows"]} == {
        "Acme Industrial GmbH": ("Proposal/Price Quote", 54500.0, 1),
        "Borealis Retail Ltd": ("Negotiation/Review", 12400.4, 0),
        "001000000000009AAA": (None, 0.0, 0)}   # an account without opportunities
    assert (customers["totals"]["pipeline"], customers["totals"]["won"]) == (66900.4, 1)
    tiers = {r["tier"]: (r["stage"], r["pipeline"], r["won"])
             for r in section(doc, "by_tier")["rows"]}
    assert tiers["gold"] == ("Proposal/Price Quote", 54500.0, 1)
    assert tiers["silver"] == ("Negotiation/Review", 12400.4, 0)
    summary = {f["label"]: f["value"] for f in doc["summary"]}
    # every account's, also those that bought nothing in the period (Evergreen here)
    assert summary["Open pipeline, every account"] == 67000.4
    assert summary["Opportunities won, every account (period)"] == 3


def test_a_crm_answer_from_before_opportunities_were_read_shows_none() -> None:
    params = sales_params()
    del params["crm"]["opportunities"]
    doc = validate(build_sales(params, Ctx())["report"])
    assert {r["stage"] for r in section(doc, "by_customer")["rows"]} == {None}
    assert {f["label"]: f["value"] for f in doc["summary"]}["Open pipeline, every account"] \
        == 0.0


@pytest.mark.parametrize(("deal", "named"), [
    ({"account_id": ACME, "stage": 3, "pipeline": 1}, "stage 3 is not a stage name"),
    ({"account_id": ACME, "stage": "Prospecting", "won": -1}, "won -1 is not a count"),
    ({"account_id": ACME, "stage": "Prospecting", "pipeline": "a lot"}, "'a lot' is not an"),
])
def test_bad_opportunity_figures_are_refused_naming_them(deal: dict[str, Any],
                                                         named: str) -> None:
    params = sales_params()
    params["crm"]["opportunities"] = [deal]
    with pytest.raises(InvalidParameters, match=named):
        build_sales(params, Ctx())


def test_a_period_without_sales_is_an_honest_empty_report() -> None:
    params = {**sales_params(), "erp": {"currency": "EUR", "orders": []}, "waiting": None}
    built = build_sales(params, Ctx())
    doc = validate(built["report"])
    assert built["empty"]
    assert {f["label"]: f["value"] for f in doc["summary"]}["Revenue"] == 0.0
    assert section(doc, "by_customer")["rows"] == []
    assert section(doc, "by_customer")["empty_text"] == "No confirmed sales in this period."
    names = [f.name for f in render_files(doc)]
    assert "sales-2026-11.pdf" in names and "sales-2026-11.xlsx" in names


def test_a_connector_answer_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(InvalidParameters, match="'erp' must be the answer that carries"):
        build_sales({**sales_params(), "erp": {"rows": []}}, Ctx())
    with pytest.raises(InvalidParameters, match="'period' must be a period"):
        build_sales({**sales_params(), "period": "2026-11"}, Ctx())


def test_inventory_report_flags_products_below_reorder_point_with_waiting_orders() -> None:
    params = {
        "period": NOV, "previous_period": OCT,
        "erp": {"as_of": "2026-12-01T06:00:00Z", "stock_date": "2026-11-30",
                "previous_date": "2026-10-31",
                "locations": [{"id": 3, "name": "Storage"}, {"id": 7, "name": "Overflow"}],
                "products": [
                    {"code": "BF-100", "name": "Racking", "quantity": 40.0,
                     "previous_quantity": 55.0, "by_location": {"Storage": 30.0,
                                                                "Overflow": 10.0},
                     "reorder_point": 50},
                    {"code": "BF-300", "name": "Barrier", "quantity": 80.0,
                     "previous_quantity": 45.0, "by_location": {"Storage": 80.0},
                     "reorder_point": 50}]},
        "crm": {"orders": [{"id": "801X", "order_number": "00000110",
                            "items": [{"product_code": "BF-100", "quantity": 4}]},
                           {"id": "801C", "order_number": "00000104",
                            "items": [{"product_code": "BF-100", "quantity": 9}]}]},
        "waiting": {"instances": [{"waiting_on": "stock", "record_id": "801C",
                                   "record_number": "00000104", "age_days": 2.5,
                                   "products": [{"product_code": "BF-100",
                                                 "quantity": 9}]}]}}
    doc = validate(build_inventory(params, Ctx())["report"])
    assert doc["previous_period"]["key"] == "2026-10"
    assert doc["data_as_of"] == "2026-12-01T06:00:00Z"
    summary = {f["label"]: (f["value"], f["previous"]) for f in doc["summary"]}
    assert summary["Units in stock"] == (120.0, 100.0)
    assert summary["Below reorder point"] == (1, 1)  # BF-100 now, BF-300 at October's end
    stock = section(doc, "stock")
    assert stock["rows"][0] == {"code": "BF-100", "product": "Racking", "loc_3": 30.0,
                                "loc_7": 10.0, "quantity": 40.0, "previous": 55.0,
                                "change": -15.0, "reorder_point": 50}
    assert [c["label"] for c in stock["columns"]][-4:] == [
        "In stock", "Period before", "Change", "Reorder point"]
    assert (stock["totals"]["quantity"], stock["totals"]["previous"],
            stock["totals"]["change"]) == (120.0, 100.0, 20.0)
    below = section(doc, "below_reorder")["rows"]
    assert below == [{"code": "BF-100", "product": "Racking", "quantity": 40.0,
                      "reorder_point": 50, "shortfall": 10.0, "waiting": 2}]
    waiting = section(doc, "waiting_by_product")["rows"]
    assert waiting == [{"code": "BF-100", "product": "Racking", "orders": 2, "wanted": 13.0,
                        "oldest": 2.5, "numbers": "00000104, 00000110"}]
    render_files(doc)


def test_inventory_report_without_the_period_before_leaves_the_comparison_empty() -> None:
    params = {"period": NOV, "erp": {"locations": [], "products": [
        {"code": "BF-100", "name": "Racking", "quantity": 4.0, "previous_quantity": None,
         "by_location": {}, "reorder_point": 5}]}}
    doc = validate(build_inventory(params, Ctx())["report"])
    summary = {f["label"]: (f["value"], f["previous"]) for f in doc["summary"]}
    assert doc["previous_period"] is None
    assert summary["Units in stock"] == (4.0, None)
    assert summary["Below reorder point"] == (1, None)
    assert section(doc, "stock")["rows"][0]["change"] is None
    assert {f.name.rsplit(".", 1)[-1] for f in render_files(doc)} >= {"xlsx", "pdf", "csv"}


def test_customer_report_puts_erp_and_crm_side_by_side() -> None:
    params = {
        "period": NOV, "previous_period": OCT,
        "erp": {"currency": "EUR", "customers": [
            {"code": ACME, "name": "Acme", "credit_limit": "50000.00", "exposure": "12500.00",
             "orders": 3, "revenue": "4200.00", "refunds": "40.00"},
            {"code": "ERP-ONLY", "name": "Walk-in", "credit_limit": None, "exposure": "0.00",
             "orders": 0, "revenue": "0.00", "refunds": "0.00"}]},
        "crm": {"accounts": ACCOUNTS, "cases": [
            {"id": "500A", "case_number": "1001", "account_id": ACME, "status": "New",
             "open": True, "created_at": "2026-11-20T09:00:00Z", "age_days": 12.0,
             "refund_amount": None, "modified_at": "2026-11-20T09:00:00Z"},
            {"id": "500B", "case_number": "1002", "account_id": ACME, "status": "Closed",
             "open": False, "created_at": "2026-11-02T09:00:00Z", "age_days": 30.0,
             "refund_amount": 40.0, "modified_at": "2026-11-03T09:00:00Z"},
            {"id": "500C", "case_number": "0990", "account_id": ACME, "status": "Closed",
             "open": False, "created_at": "2026-09-02T09:00:00Z", "age_days": 90.0,
             "refund_amount": 99.0, "modified_at": "2026-09-03T09:00:00Z"}]}}
    doc = validate(build_customer(params, Ctx())["report"])
    rows = {r["customer"]: r for r in section(doc, "accounts")["rows"]}
    acme = rows["Acme Industrial GmbH"]
    assert (acme["orders"], acme["open_cases"], acme["oldest_case"]) == (3, 1, 12.0)
    assert (acme["crm_refunds"], acme["erp_refunds"]) == (40.0, 40.0)
    assert rows["Walk-in"]["in_crm"] == "no"
    credit = {r["customer"]: r for r in section(doc, "credit")["rows"]}
    assert credit["Acme Industrial GmbH"] == {
        "customer": "Acme Industrial GmbH", "owner": "Sam Seller", "credit_limit": 50000.0,
        "exposure": 12500.0, "credit_use": 0.25}
    assert credit["Walk-in"]["credit_use"] is None
    assert [r["case"] for r in section(doc, "open_cases")["rows"]] == ["1001"]
