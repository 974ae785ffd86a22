"""The customer report: per account, the CRM's open cases and refunds beside the ERP's
orders, refunds and credit use against the limit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from service_tasks.base import CallInfo, require
from service_tasks.reports.common import (
    amount,
    column,
    crm_accounts,
    document,
    figure,
    money,
    records,
    section,
    share,
)


def _in_period(moment: Any, period: Mapping[str, Any]) -> bool:
    day = str(moment or "")[:10]
    return bool(day) and str(period["from"]) <= day <= str(period["to"])


def build_customer(params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
    """The customer report document.

    Params: ``period`` (reports.period's), ``erp`` (erp.customer_accounts), ``crm``
    (crm.accounts_and_cases). CRM refunds count when their case changed in the period.
    Result: ``{report, empty}``.
    """
    require(params, "erp", "crm", "period")
    period = params["period"]
    accounts = crm_accounts(params)
    cases = records(params, "crm", "cases")
    open_cases: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    crm_refunds: dict[str, Decimal] = defaultdict(Decimal)
    for c in cases:
        if c.get("open"):
            open_cases[str(c.get("account_id"))].append(c)
        if c.get("refund_amount") and isinstance(period, Mapping) \
                and _in_period(c.get("modified_at"), period):
            crm_refunds[str(c.get("account_id"))] += amount(c.get("refund_amount"))
    rows: list[dict[str, Any]] = []
    orders = 0
    totals = {"revenue": Decimal(0), "erp_refunds": Decimal(0), "limit": Decimal(0),
              "exposure": Decimal(0)}
    for c in records(params, "erp", "customers"):
        code = str(c.get("code"))
        account = accounts.get(code) or {}
        mine = open_cases.get(code, [])
        limit = None if c.get("credit_limit") is None else amount(c["credit_limit"])
        exposure = amount(c.get("exposure"))
        rows.append({
            "customer": account.get("name") or c.get("name"), "owner": account.get("owner"),
            "tier": account.get("tier"), "orders": int(c.get("orders") or 0),
            "revenue": money(amount(c.get("revenue"))), "open_cases": len(mine),
            "oldest_case": max((float(x.get("age_days") or 0) for x in mine), default=None),
            "crm_refunds": money(crm_refunds.get(code, Decimal(0))),
            "erp_refunds": money(amount(c.get("refunds"))),
            "credit_limit": None if limit is None else money(limit),
            "exposure": money(exposure),
            "credit_use": share(exposure, limit) if limit else None,
            "in_crm": "yes" if account else "no"})
        orders += int(c.get("orders") or 0)
        for key, value in (("revenue", c.get("revenue")), ("erp_refunds", c.get("refunds")),
                           ("exposure", c.get("exposure")), ("limit", limit)):
            totals[key] += amount(value)
    rows.sort(key=lambda r: (-float(r["revenue"]), str(r["customer"])))
    case_rows = sorted(({"case": x.get("case_number"),
                         "customer": (accounts.get(str(x.get("account_id"))) or {}).get("name"),
                         "status": x.get("status"), "opened": x.get("created_at"),
                         "age": x.get("age_days")}
                        for xs in open_cases.values() for x in xs),
                       key=lambda r: -(r["age"] or 0))
    refunds_crm = sum(crm_refunds.values(), Decimal(0))
    summary = [figure("Customers", len(rows), "integer"),
               figure("Orders", orders, "integer"),
               figure("Open cases", len(case_rows), "integer"),
               figure("Refunds (CRM)", money(refunds_crm), "money"),
               figure("Refunds (ERP)", money(totals["erp_refunds"]), "money"),
               figure("Credit used", share(totals["exposure"], totals["limit"]), "percent")]
    activity = ("customer", "tier", "orders", "revenue", "open_cases", "oldest_case",
                "crm_refunds", "erp_refunds", "in_crm")
    credit = ("customer", "owner", "credit_limit", "exposure", "credit_use")
    sections = [
        section("accounts", "Accounts: ERP and CRM side by side",
                [column("customer", "Customer"), column("tier", "Tier"),
                 column("orders", "Orders", "integer"), column("revenue", "Revenue", "money"),
                 column("open_cases", "Open cases", "integer"),
                 column("oldest_case", "Oldest case", "days"),
                 column("crm_refunds", "Refunds CRM", "money"),
                 column("erp_refunds", "Refunds ERP", "money"), column("in_crm", "In CRM")],
                [{k: r[k] for k in activity} for r in rows], "The ERP has no customers.",
                {"customer": "Total", "orders": orders,
                 "revenue": money(totals["revenue"]), "open_cases": len(case_rows),
                 "crm_refunds": money(refunds_crm),
                 "erp_refunds": money(totals["erp_refunds"])}),
        section("credit", "Credit used against the limit",
                [column("customer", "Customer"), column("owner", "Account owner"),
                 column("credit_limit", "Credit limit", "money"),
                 column("exposure", "Credit used", "money"),
                 column("credit_use", "Use of limit", "percent")],
                sorted(({k: r[k] for k in credit} for r in rows),
                       key=lambda r: -(r["credit_use"] or 0)),
                "The ERP has no customers.",
                {"customer": "Total", "credit_limit": money(totals["limit"]),
                 "exposure": money(totals["exposure"]),
                 "credit_use": share(totals["exposure"], totals["limit"])},
                {"type": "bar", "label": "customer", "values": ["exposure", "credit_limit"],
                 "top": 10}),
        section("open_cases", "Open CRM cases",
                [column("case", "Case"), column("customer", "Customer"),
                 column("status", "Status"), column("opened", "Opened", "datetime"),
                 column("age", "Age", "days")],
                case_rows, "No case is open.")]
    currency = (params.get("erp") or {}).get("currency")
    return {"report": document("customer", "Customer report", params, summary, sections,
                               currency),
            "empty": not any(r["orders"] or r["open_cases"] for r in rows)}
