"""The sales report: orders and revenue by customer, product and account tier, beside the
CRM's opportunities (most advanced open stage, open pipeline, won in the period)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from service_tasks.base import CallInfo, InvalidParameters, require
from service_tasks.crm.report_reads import most_advanced
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


def _count(deal: Mapping[str, Any]) -> int:
    won = deal.get("won") or 0
    if isinstance(won, bool) or not isinstance(won, int) or won < 0:
        raise InvalidParameters(f"'crm' opportunities: won {won!r} is not a count",
                                {"parameter": "crm"})
    return won


def _deals(params: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The CRM's opportunities per account id (an answer from before they were read: none)."""
    if (params.get("crm") or {}).get("opportunities") is None:
        return {}
    deals = {str(d.get("account_id")): d for d in records(params, "crm", "opportunities")}
    for d in deals.values():
        if not isinstance(d.get("stage"), str | None):
            raise InvalidParameters(f"'crm' opportunities: stage {d.get('stage')!r} is not a "
                                    "stage name", {"parameter": "crm"})
        _count(d)
    return deals


# --- sales -------------------------------------------------------------------------------

class _Sales:
    """The non-refund sales of one period, added up by customer, product, tier and stage."""

    def __init__(self, orders: Iterable[Mapping[str, Any]],
                 accounts: Mapping[str, Mapping[str, Any]],
                 deals: Mapping[str, Mapping[str, Any]]) -> None:
        self.orders = [o for o in orders if not o.get("refund")]
        self.revenue = sum((amount(o.get("revenue")) for o in self.orders), Decimal(0))
        self.customers: dict[str, dict[str, Any]] = {}
        self.tiers: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"customers": set(), "orders": 0, "revenue": Decimal(0), "stage": None,
                     "pipeline": Decimal(0), "won": 0})
        for o in self.orders:
            code = str(o.get("customer_code"))
            account = accounts.get(code) or {}
            deal = deals.get(code) or {}
            c = self.customers.get(code)
            if c is None:
                c = self.customers[code] = {
                    "customer": account.get("name") or o.get("customer_name") or code,
                    "owner": account.get("owner"),
                    "tier": account.get("tier") or o.get("customer_tier") or NO_TIER,
                    "orders": 0, "revenue": Decimal(0), "stage": deal.get("stage"),
                    "pipeline": amount(deal.get("pipeline")), "won": _count(deal)}
                tier = self.tiers[c["tier"]]
                tier["stage"] = most_advanced((tier["stage"], c["stage"]))
                tier["pipeline"] += c["pipeline"]
                tier["won"] += c["won"]
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
    accounts, deals = crm_accounts(params), _deals(params)
    now = _Sales(records(params, "erp", "orders"), accounts, deals)
    before = _Sales(records(params, "erp_previous", "orders"), accounts, deals) \
        if params.get("erp_previous") is not None else None
    statuses = {str(o.get("id")): o.get("status") for o in records(params, "crm", "orders")}
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
                                                   for w in waiting), "integer"),
        figure("Open pipeline, every account", money(sum(
            (amount(d.get("pipeline")) for d in deals.values()), Decimal(0))), "money"),
        figure("Opportunities won, every account (period)", sum(_count(d) for d in deals.values()),
               "integer")]
    customers = sorted(({**c, "revenue": money(c["revenue"]), "pipeline": money(c["pipeline"]),
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
                      "change": change(t["revenue"], previous), "stage": t["stage"],
                      "pipeline": money(t["pipeline"]), "won": t["won"]})
    by_status: dict[str, dict[str, Any]] = {}
    for o in now.orders:
        status = statuses.get(str(o.get("crm_order_id"))) or (
            "not in the CRM" if o.get("crm_order_id") else "entered in the ERP")
        s = by_status.setdefault(status, {"status": status, "orders": 0,
                                          "revenue": Decimal(0)})
        s["orders"] += 1
        s["revenue"] += amount(o.get("revenue"))
    pipeline = sum((t["pipeline"] for t in now.tiers.values()), Decimal(0))
    won = sum(t["won"] for t in now.tiers.values())
    money_total = {"orders": n, "revenue": money(now.revenue)}
    deal_total = {"pipeline": money(pipeline), "won": won}
    deal_columns = [column("stage", "Stage"), column("pipeline", "Pipeline", "money"),
                    column("won", "Won in period", "integer")]
    sections = [
        section("by_customer", "Revenue by customer",
                 [column("customer", "Customer"), column("owner", "Account owner"),
                  column("tier", "Tier"), column("orders", "Orders", "integer"),
                  column("revenue", "Revenue", "money"), column("share", "Share", "percent"),
                  *deal_columns],
                 customers, "No confirmed sales in this period.",
                 {"customer": "Total", **money_total, "share": 1.0 if n else None,
                  **deal_total},
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
                  column("change", "Change", "percent"), *deal_columns],
                 tiers, "No sales to any tier in this period.",
                 {"tier": "Total", **money_total, **deal_total,
                  "previous": before and money(before.revenue),
                  "change": change(now.revenue, before.revenue if before else None)},
                 {"type": "pie", "label": "tier", "values": ["revenue"], "top": 10}),
        section("by_order_status", "Orders by CRM order status",
                 [column("status", "CRM order status"), column("orders", "Orders", "integer"),
                  column("revenue", "Revenue", "money")],
                 [{**s, "revenue": money(s["revenue"])} for s in by_status.values()],
                 "No orders in this period.", {"status": "Total", **money_total}),
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
