"""The ERP reads of the report processes against a real Tryton 8.2 with the demo data.

Each test seeds its own customer (a new CRM account id) and sales dated in a past month,
so its totals are known whatever other tests of the session add.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from service_tasks.base import InvalidParameters
from service_tasks.tryton.client import TrytonClient
from service_tasks.tryton.erp_operations import TrytonOperations, operations
from service_tasks.tryton.records import Line

from .conftest import Call


def new_customer(erp: TrytonOperations, tier: str = "gold", limit: str | None = None) -> str:
    account = f"001R{uuid.uuid4().hex[:14].upper()}"
    erp.ensure_customer({"crm_account_id": account, "name": f"Report test {account[-6:]}",
                         "tier": tier, "street": "Hauptstraße 9", "postal_code": "10115",
                         "city": "Berlin", "country_code": "DE"}, Call())
    if limit is not None:
        party = erp._party(account)
        assert party is not None
        erp._model("party.party").write([party["id"]], {"credit_limit_amount": Decimal(limit)})
    return account


def seed_sale(erp: TrytonOperations, account: str, day: dt.date,
              *lines: tuple[str, float, str], confirm: bool = True) -> int:
    """A sale dated ``day`` (Tryton keeps a sale date given before the quote)."""
    wanted = [Line(code, qty, Decimal(price)) for code, qty, price in lines]
    party = erp._party(account)
    assert party is not None
    sale_id = erp._model("sale.sale").create([erp._sale_values(party["id"], {
        "reference": f"801R{uuid.uuid4().hex[:14].upper()}", "sale_date": day,
        "lines": [["create", erp._sale_lines(wanted, erp._products(wanted))]]})])[0]
    if confirm:
        erp._model("sale.sale").button("quote", [sale_id])
        erp._model("sale.sale").button("confirm", [sale_id])
    return sale_id


def read(client: TrytonClient, name: str, **params: Any) -> dict[str, Any]:
    return operations(client)[name](params, Call())


@pytest.mark.slow
def test_sales_in_period_gives_confirmed_sales_with_lines(erp: TrytonOperations,
                                                          erp_client: TrytonClient) -> None:
    account = new_customer(erp, "silver")
    seed_sale(erp, account, dt.date(2025, 2, 3), ("BF-120", 10, "38.50"), ("BF-110", 2, "65"))
    seed_sale(erp, account, dt.date(2025, 2, 28), ("BF-120", 4, "40"))
    seed_sale(erp, account, dt.date(2025, 3, 1), ("BF-120", 1, "38.50"))  # next month
    seed_sale(erp, account, dt.date(2025, 2, 10), ("BF-120", 7, "38.50"), confirm=False)
    result = read(erp_client, "erp.sales_in_period", **{"from": "2025-02-01", "to": "2025-02-28"})
    mine = [o for o in result["orders"] if o["customer_code"] == account]
    assert result["currency"] == "EUR"
    assert sorted(o["revenue"] for o in mine) == ["160.00", "515.00"]
    assert {o["date"] for o in mine} == {"2025-02-03", "2025-02-28"}
    assert {(o["state"], o["customer_tier"]) for o in mine} == {("processing", "silver")}
    first = next(o for o in mine if o["revenue"] == "515.00")
    assert first["lines"] == [
        {"product_code": "BF-120", "product_name": "Wire mesh deck", "quantity": 10.0,
         "amount": "385.00"},
        {"product_code": "BF-110", "product_name": "Shelf beam pair", "quantity": 2.0,
         "amount": "130.00"}]


@pytest.mark.slow
def test_a_period_the_wrong_way_round_is_refused(erp_client: TrytonClient) -> None:
    with pytest.raises(InvalidParameters, match="'from' .* is after 'to'"):
        read(erp_client, "erp.sales_in_period", **{"from": "2025-03-01", "to": "2025-02-01"})
    with pytest.raises(InvalidParameters, match="must be a date"):
        read(erp_client, "erp.customer_accounts", **{"from": "last month", "to": "2025-02-01"})


@pytest.mark.slow
def test_stock_levels_per_location_with_a_default_reorder_point(
        erp_client: TrytonClient) -> None:
    result = read(erp_client, "erp.stock_levels", reorder_point=100)
    products = {p["code"]: p for p in result["products"]}
    assert result["warehouse"] == "WH" and result["locations"]
    barrier = products["BF-300"]  # stocked, never ordered by any test
    assert (barrier["quantity"], barrier["reorder_point"]) == (80.0, 100)
    assert barrier["by_location"] == {"Storage Zone": 80.0}  # not the input and output zones
    assert products["BF-510"]["quantity"] == 0.0


@pytest.mark.slow
def test_customer_accounts_give_credit_use_orders_and_revenue(
        erp: TrytonOperations, erp_client: TrytonClient) -> None:
    account = new_customer(erp, "bronze", limit="5000")
    seed_sale(erp, account, dt.date(2025, 1, 15), ("BF-120", 20, "38.50"))
    seed_sale(erp, account, dt.date(2025, 1, 20), ("BF-110", 10, "65"))
    seed_sale(erp, account, dt.date(2024, 12, 20), ("BF-110", 1, "65"))
    result = read(erp_client, "erp.customer_accounts", **{"from": "2025-01-01",
                                                          "to": "2025-01-31"})
    mine = next(c for c in result["customers"] if c["code"] == account)
    assert mine["orders"] == 2 and mine["revenue"] == "1420.00"
    assert mine["credit_limit"] == "5000.00"
    assert mine["exposure"] == "1485.00"  # every confirmed, uninvoiced sale counts
    assert mine["refunds"] == "0.00"
