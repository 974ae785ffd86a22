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


def count_stock(erp: TrytonOperations, day: dt.date, code: str, quantity: float) -> None:
    """A stock count of ``code`` in the warehouse's storage zone on ``day``: Tryton moves
    the difference from what it expected (at that day) in or out, dated that day."""
    [warehouse] = erp._model("stock.location").search_read(
        [("type", "=", "warehouse"), ("code", "=", "WH")], ["storage_location"])
    [product] = erp._model("product.product").search([("code", "=", code)])
    inventory = erp._model("stock.inventory")
    inventory_id = inventory.create([{
        "location": warehouse["storage_location"], "date": day,
        "lines": [["create", [{"product": product, "quantity": quantity}]]]}])[0]
    inventory.button("confirm", [inventory_id])


@pytest.mark.slow
def test_stock_levels_per_location_with_the_erp_order_points_or_the_default(
        erp_client: TrytonClient) -> None:
    result = read(erp_client, "erp.stock_levels", reorder_point=100)
    products = {p["code"]: p for p in result["products"]}
    assert result["warehouse"] == "WH" and result["locations"]
    assert result["stock_date"] == dt.date.today().isoformat()
    barrier = products["BF-300"]  # stocked, never ordered by any test, no order point
    assert (barrier["quantity"], barrier["reorder_point"]) == (80.0, 100)
    assert barrier["by_location"] == {"Storage Zone": 80.0}  # not the input and output zones
    assert barrier["previous_quantity"] is None  # no day before asked for
    stacker = products["BF-210"]  # 2 in stock, the ERP's order point: at least 3
    assert (stacker["quantity"], stacker["reorder_point"]) == (2.0, 3.0)
    assert products["BF-200"]["reorder_point"] == 5.0  # 12 in stock: not below it
    assert products["BF-510"]["quantity"] == 0.0


@pytest.mark.slow
def test_stock_levels_at_the_end_of_a_period_and_of_the_period_before(
        erp: TrytonOperations, erp_client: TrytonClient) -> None:
    # Before the demo's opening stock (2025-01-01) the bins are counted in, then out again:
    # 10 on 2024-03-10, 6 on 2024-04-12, none from 2024-05-05, so today's stock is unchanged.
    now = read(erp_client, "erp.stock_levels")
    count_stock(erp, dt.date(2024, 3, 10), "BF-400", 10)
    count_stock(erp, dt.date(2024, 4, 12), "BF-400", 6)
    count_stock(erp, dt.date(2024, 5, 5), "BF-400", 0)
    march = read(erp_client, "erp.stock_levels", to="2024-03-31", previous_to="2024-02-29")
    april = read(erp_client, "erp.stock_levels", to="2024-04-30", previous_to="2024-03-31")
    bins = {r["stock_date"]: next(p for p in r["products"] if p["code"] == "BF-400")
            for r in (march, april)}
    assert (bins["2024-03-31"]["quantity"], bins["2024-03-31"]["previous_quantity"]) == (
        10.0, 0.0)
    assert (bins["2024-04-30"]["quantity"], bins["2024-04-30"]["previous_quantity"]) == (
        6.0, 10.0)
    assert bins["2024-04-30"]["by_location"] == {"Storage Zone": 6.0}
    assert april["previous_date"] == "2024-03-31"
    june = read(erp_client, "erp.stock_levels", to="2025-06-30")  # after the opening stock
    assert next(p for p in june["products"] if p["code"] == "BF-300")["quantity"] == 80.0
    again = read(erp_client, "erp.stock_levels")
    assert [p["quantity"] for p in again["products"]] == [p["quantity"]
                                                         for p in now["products"]]


@pytest.mark.slow
def test_stock_levels_refuse_a_future_day_and_a_previous_day_not_before(
        erp_client: TrytonClient) -> None:
    later = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    with pytest.raises(InvalidParameters, match="is in the future"):
        read(erp_client, "erp.stock_levels", to=later)
    with pytest.raises(InvalidParameters, match="'previous_to' .* is not before 'to'"):
        read(erp_client, "erp.stock_levels", to="2025-06-30", previous_to="2025-06-30")
    with pytest.raises(InvalidParameters, match="'reorder_point' must be a number"):
        read(erp_client, "erp.stock_levels", reorder_point="twenty")


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
