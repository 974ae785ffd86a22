"""The inventory report: stock per product and location, what is below its reorder point,
and the CRM orders waiting on each product."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service_tasks.base import CallInfo, require
from service_tasks.reports.common import column, document, figure, records, section


def _waiting_by_product(waiting: list[Mapping[str, Any]],
                        restock: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per product: the orders waiting on it (Bridgeflow's stock waits and the CRM's orders
    awaiting restock, each order once) and the quantity they want."""
    orders: dict[str, dict[str, Any]] = {}
    for w in waiting:
        if w.get("waiting_on") == "stock":
            orders[str(w.get("record_id"))] = {"number": w.get("record_number"),
                                               "age": w.get("age_days"),
                                               "items": w.get("products") or []}
    for o in restock:
        orders.setdefault(str(o.get("id")), {"number": o.get("order_number"), "age": None,
                                             "items": o.get("items") or []})
    by_product: dict[str, dict[str, Any]] = {}
    for order_id, o in sorted(orders.items()):
        for item in o["items"]:
            p = by_product.setdefault(str(item.get("product_code")), {
                "orders": 0, "wanted": 0.0, "oldest": None, "numbers": []})
            p["orders"] += 1
            p["wanted"] += float(item.get("quantity") or 0)
            p["numbers"].append(str(o["number"] or order_id))
            if o["age"] is not None:
                p["oldest"] = max(p["oldest"] or 0.0, float(o["age"]))
    return by_product


def _below(products: list[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    """The products whose ``key`` quantity is under their reorder point."""
    return [p for p in products if p.get("reorder_point") is not None
            and p.get(key) is not None and float(p[key]) < float(p["reorder_point"])]


def _total(products: list[Mapping[str, Any]], key: str) -> float | None:
    values = [float(p[key]) for p in products if p.get(key) is not None]
    return sum(values) if values else None


def build_inventory(params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
    """The inventory report document: the stock at the end of the period beside the stock
    at the end of the period before.

    Params: ``period``, optional ``previous_period`` (reports.period's), ``erp``
    (erp.stock_levels read with ``to`` and ``previous_to``), ``crm``
    (crm.orders_awaiting_restock), ``waiting`` (reports.waiting_orders).
    Result: ``{report, empty}``.
    """
    require(params, "erp")
    products = records(params, "erp", "products")
    locations = records(params, "erp", "locations")
    restock = records(params, "crm", "orders") if params.get("crm") else []
    waiting = records(params, "waiting", "instances") if params.get("waiting") else []
    wanted = _waiting_by_product(waiting, restock)
    location_columns = [column(f"loc_{loc['id']}", str(loc.get("name")), "number")
                        for loc in locations]
    stock_rows = []
    for p in products:
        now, before = p.get("quantity"), p.get("previous_quantity")
        stock_rows.append({
            "code": str(p.get("code")), "product": p.get("name"),
            **{f"loc_{loc['id']}": (p.get("by_location") or {}).get(loc.get("name"), 0.0)
               for loc in locations},
            "quantity": now, "previous": before,
            "change": None if before is None else float(now or 0) - float(before),
            "reorder_point": p.get("reorder_point")})
    below = []
    for p in _below(products, "quantity"):
        code = str(p.get("code"))
        below.append({"code": code, "product": p.get("name"), "quantity": p.get("quantity"),
                      "reorder_point": p.get("reorder_point"),
                      "shortfall": float(p["reorder_point"]) - float(p.get("quantity") or 0),
                      "waiting": (wanted.get(code) or {}).get("orders", 0)})
    names = {str(p.get("code")): p.get("name") for p in products}
    waiting_rows = [{"code": code, "product": names.get(code), "orders": w["orders"],
                     "wanted": w["wanted"], "oldest": w["oldest"],
                     "numbers": ", ".join(w["numbers"][:20])}
                    for code, w in sorted(wanted.items())]
    units, units_before = _total(products, "quantity") or 0.0, _total(products,
                                                                       "previous_quantity")
    has_previous = units_before is not None
    summary = [figure("Products", len(products), "integer"),
               figure("Units in stock", units, "number", units_before),
               figure("Below reorder point", len(below), "integer",
                      len(_below(products, "previous_quantity")) if has_previous else None),
               figure("Orders waiting on stock", len({n for w in wanted.values()
                                                      for n in w["numbers"]}), "integer")]
    sections = [
        section("stock", "Stock per product and location at the end of the period",
                [column("code", "Product"), column("product", "Name"), *location_columns,
                 column("quantity", "In stock", "number"),
                 column("previous", "Period before", "number"),
                 column("change", "Change", "number"),
                 column("reorder_point", "Reorder point", "number")],
                stock_rows, "The ERP has no stocked products.",
                {"code": "Total", "quantity": units, "previous": units_before,
                 "change": None if units_before is None else units - units_before}),
        section("below_reorder", "Below the reorder point",
                [column("code", "Product"), column("product", "Name"),
                 column("quantity", "In stock", "number"),
                 column("reorder_point", "Reorder point", "number"),
                 column("shortfall", "Shortfall", "number"),
                 column("waiting", "Orders waiting", "integer")],
                sorted(below, key=lambda r: -r["shortfall"]),
                "No product is below its reorder point.", None,
                {"type": "bar", "label": "code", "values": ["shortfall"], "top": 15}),
        section("waiting_by_product", "CRM orders waiting on each product",
                [column("code", "Product"), column("product", "Name"),
                 column("orders", "Orders", "integer"),
                 column("wanted", "Quantity wanted", "number"),
                 column("oldest", "Oldest wait", "days"), column("numbers", "Orders")],
                waiting_rows, "No order is waiting on stock.")]
    report = document("inventory", "Inventory report", params, summary, sections,
                      with_previous=has_previous)
    report["data_as_of"] = (params.get("erp") or {}).get("as_of") or report["data_as_of"]
    return {"report": report, "empty": not products}
