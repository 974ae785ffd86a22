"""The sales report: orders and revenue by customer, product, account tier and CRM stage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from service_tasks.base import CallInfo, require
from service_tasks.reports.common import (
    NO_TIER,
    amount,
    change,
    column,
    crm_accounts,
    document,
    figure,
    money,
    records,
    section,
    share,
)

# --- sales -------------------------------------------------------------------------------

class _Sales:
    """The non-refund sales of one period, added up by customer, product, tier and stage."""

    def __init__(self, orders: Iterable[Mapping[str, Any]],
                 accounts: Mapping[str, Mapping[str, Any]]) -> None:
        self.orders = [o for o in orders if not o.get("refund")]
        self.revenue = sum((amount(o.get("revenue")) for o in self.orders), Decimal(0))
        self.customers: dict[str, dict[str, Any]] = {}
        self.tiers: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"customers": set(), "orders": 0, "revenue": Decimal(0)})
        for o in self.orders:
            code = str(o.get("customer_code"))
            account = accounts.get(code) or {}
            c = self.customers.setdefault(code, {
                "customer": account.get("name") or o.get("customer_name") or code,
                "owner": account.get("owner"),
                "tier": account.get("tier") or o.get("customer_tier") or NO_TIER,
                "orders": 0, "revenue": Decimal(0)})
            c["orders"] += 1
            c["revenue"] += amount(o.get("revenue"))
            tier = self.tiers[c["tier"]]
            tier["customers"].add(code)
            tier["orders"] += 1
            tier["revenue"] += amount(o.get("revenue"))

    def by_product(self) -> list[dict[str, Any]]:
        products: dict[str, dict[str, Any]] = {}
        for o in self.orders:
            for line in o.get("lines") or []:
                code = str(line.get("product_code"))
                p = products.setdefault(code, {"code": code, "product": line.get("product_name"),
                                               "quantity": 0.0, "revenue": Decimal(0)})
                p["quantity"] += float(line.get("quantity") or 0)
                p["revenue"] += amount(line.get("amount"))
        return sorted(({**p, "revenue": money(p["revenue"])} for p in products.values()),
                      key=lambda p: (-p["revenue"], p["code"]))


def build_sales(params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
    """The sales report document.

    Params: ``period``, ``previous_period`` (reports.period's), ``erp`` and ``erp_previous``
    (erp.sales_in_period of each), ``crm`` (crm.accounts_and_orders), ``waiting``
    (reports.waiting_orders). Result: ``{report, empty}``.
    """
    require(params, "erp", "crm")
    accounts = crm_accounts(params)
    now = _Sales(records(params, "erp", "orders"), accounts)
    before = _Sales(records(params, "erp_previous", "orders"), accounts) \
        if params.get("erp_previous") is not None else None
    stages = {str(o.get("id")): o.get("status") for o in records(params, "crm", "orders")}
    waiting = records(params, "waiting", "instances") if params.get("waiting") else []
    n = len(now.orders)
    summary = [
        figure("Revenue", money(now.revenue), "money", before and money(before.revenue)),
        figure("Orders", n, "integer", before and len(before.orders)),
        figure("Average order", money(now.revenue / n) if n else None, "money",
                money(before.revenue / len(before.orders)) if before and before.orders
                else None),
        figure("Customers buying", len(now.customers), "integer",
                before and len(before.customers)),
        figure("Orders waiting on stock", sum(w.get("waiting_on") == "stock"
                                               for w in waiting), "integer"),
        figure("Contracts waiting on credit", sum(w.get("waiting_on") == "credit"
                                                   for w in waiting), "integer")]
    customers = sorted(({**c, "revenue": money(c["revenue"]),
                         "share": share(c["revenue"], now.revenue)}
                        for c in now.customers.values()),
                       key=lambda c: (-c["revenue"], c["customer"]))
    tiers = []
    for name, t in sorted(now.tiers.items()):
        previous = before.tiers[name]["revenue"] if before and name in before.tiers \
            else (Decimal(0) if before else None)
        tiers.append({"tier": name, "customers": len(t["customers"]), "orders": t["orders"],
                      "revenue": money(t["revenue"]),
                      "previous": None if previous is None else money(previous),
                      "change": change(t["revenue"], previous)})
    by_stage: dict[str, dict[str, Any]] = {}
    for o in now.orders:
        stage = stages.get(str(o.get("crm_order_id"))) or (
            "not in the CRM" if o.get("crm_order_id") else "entered in the ERP")
        s = by_stage.setdefault(stage, {"stage": stage, "orders": 0, "revenue": Decimal(0)})
        s["orders"] += 1
        s["revenue"] += amount(o.get("revenue"))
    money_total = {"orders": n, "revenue": money(now.revenue)}
    sections = [
        section("by_customer", "Revenue by customer",
                 [column("customer", "Customer"), column("owner", "Account owner"),
                  column("tier", "Tier"), column("orders", "Orders", "integer"),
                  column("revenue", "Revenue", "money"), column("share", "Share", "percent")],
                 customers, "No confirmed sales in this period.",
                 {"customer": "Total", **money_total, "share": 1.0 if n else None},
                 {"type": "bar", "label": "customer", "values": ["revenue"], "top": 10}),
        section("by_product", "Revenue by product",
                 [column("code", "Product"), column("product", "Name"),
                  column("quantity", "Quantity", "number"), column("revenue", "Revenue", "money")],
                 now.by_product(), "No products sold in this period.",
                 {"code": "Total", "revenue": money(now.revenue)},
                 {"type": "bar", "label": "code", "values": ["revenue"], "top": 10}),
        section("by_tier", "Revenue by account tier",
                 [column("tier", "Tier"), column("customers", "Customers", "integer"),
                  column("orders", "Orders", "integer"), column("revenue", "Revenue", "money"),
                  column("previous", "Previous period", "money"),
                  column("change", "Change", "percent")],
                 tiers, "No sales to any tier in this period.",
                 {"tier": "Total", **money_total,
                  "previous": before and money(before.revenue),
                  "change": change(now.revenue, before.revenue if before else None)},
                 {"type": "pie", "label": "tier", "values": ["revenue"], "top": 10}),
        section("by_stage", "Orders by CRM stage",
                 [column("stage", "CRM stage"), column("orders", "Orders", "integer"),
                  column("revenue", "Revenue", "money")],
                 [{**s, "revenue": money(s["revenue"])} for s in by_stage.values()],
                 "No orders in this period.", {"stage": "Total", **money_total}),
        _waiting_section(waiting)]
    currency = (params.get("erp") or {}).get("currency")
    return {"report": document("sales", "Sales report", params, summary, sections, currency),
            "empty": not now.orders}


def _waiting_section(waiting: list[Mapping[str, Any]]) -> dict[str, Any]:
    rows = [{"record": w.get("record_number") or w.get("record_id"),
             "customer": w.get("account_name"), "owner": w.get("owner"),
             "waiting_on": w.get("waiting_on"),
             "amount": float(w["amount"]) if isinstance(w.get("amount"), int | float) else None,
             "since": w.get("started_at"), "age": w.get("age_days")} for w in waiting]
    return section(
        "waiting", "Orders and contracts still waiting in Bridgeflow",
        [column("record", "Order or contract"), column("customer", "Customer"),
         column("owner", "Owner"), column("waiting_on", "Waiting on"),
         column("amount", "Amount", "money"), column("since", "Since", "datetime"),
         column("age", "Age", "days")], rows, "Nothing is waiting on stock or credit.")
