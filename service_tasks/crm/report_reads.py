"""The CRM reads behind the sales, inventory and customer reports: whole lists, paged.

Each operation is a few SOQL queries whatever the number of records (the client follows
``nextRecordsUrl``); record ids given to it are checked and sent in chunks of ``IN (…)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from ..base import CallInfo, InvalidParameters
from .client import SalesforceClient
from .soql import literal, record_id

CHUNK = 200
"""Record ids per ``IN (…)`` list: a query string stays well under the URL limit."""
MAX_IDS = 50_000
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
          "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
          "Negotiation/Review")
"""Salesforce's standard open stages, least to most advanced (another org's own stages rank
below them, so a known stage is always the one shown)."""


def _iso(value: Any) -> str | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC) \
        .isoformat().replace("+00:00", "Z")


def _ids(params: dict[str, Any], name: str) -> list[str]:
    raw = params.get(name) or []
    if not isinstance(raw, list) or len(raw) > MAX_IDS:
        raise InvalidParameters(f"'{name}' must be a list of at most {MAX_IDS} record ids",
                                {"parameter": name})
    return sorted({record_id(v, name) for v in raw if v})


def _date(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise InvalidParameters(f"'{name}' must be a date (YYYY-MM-DD), not {str(value)[:40]!r}",
                            {"parameter": name})


def _won(params: dict[str, Any]) -> str:
    """The SOQL condition for opportunities won in ``won_from``..``won_to`` ("" without)."""
    if params.get("won_from") is None and params.get("won_to") is None:
        return ""
    start, end = _date(params, "won_from"), _date(params, "won_to")
    if start > end:
        raise InvalidParameters(f"'won_from' {start} is after 'won_to' {end}",
                                {"parameter": "won_from"})
    return f" OR (IsWon = true AND CloseDate >= {start} AND CloseDate <= {end})"


def _chunks(ids: Sequence[str]) -> Iterator[str]:
    for start in range(0, len(ids), CHUNK):
        yield ", ".join(literal(i) for i in ids[start:start + CHUNK])


class CrmReportReads:
    """``crm.accounts_and_orders``, ``crm.accounts_and_cases``, ``crm.orders_awaiting_restock``."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    def _accounts(self) -> list[dict[str, Any]]:
        return [{"id": a["Id"], "name": a.get("Name"), "tier": a.get("Tier__c"),
                 "owner": (a.get("Owner") or {}).get("Name"),
                 "owner_email": (a.get("Owner") or {}).get("Email"),
                 "erp_customer_id": a.get("ERP_Customer_Id__c")}
                for a in self.client.query_iter(
                    "SELECT Id, Name, Tier__c, ERP_Customer_Id__c, Owner.Name, Owner.Email "
                    "FROM Account ORDER BY Name")]

    def accounts_and_orders(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Every account (owner, tier), the CRM orders named (their status), and each
        account's opportunities.

        params: ``order_ids`` — CRM Order Ids (the ERP sales' references), may be empty;
        ``won_from``/``won_to`` — the dates (both or neither) whose won opportunities count.
        result: ``{accounts: [{id, name, tier, owner, owner_email, erp_customer_id}],
        orders: [{id, order_number, status, account_id, total_amount}],
        opportunities: [{account_id, open, stage, pipeline, won}]}``: ``stage`` is the most
        advanced stage of the open ones (None without any), ``pipeline`` their total amount.
        """
        orders, won, ids = [], _won(params), _ids(params, "order_ids")
        for chunk in _chunks(ids):
            orders += [{"id": o["Id"], "order_number": o.get("OrderNumber"),
                        "status": o.get("Status"), "account_id": o.get("AccountId"),
                        "total_amount": o.get("TotalAmount")}
                       for o in self.client.query_iter(
                           "SELECT Id, OrderNumber, Status, AccountId, TotalAmount FROM Order "
                           f"WHERE Id IN ({chunk})")]
        return {"accounts": self._accounts(), "orders": orders,
                "opportunities": self._opportunities(won)}

    def _opportunities(self, won: str) -> list[dict[str, Any]]:
        """Per account: its open opportunities' most advanced stage, their amount, and the
        opportunities won that the ``won`` condition (from ``_won``) selects."""
        accounts: dict[str, dict[str, Any]] = {}
        for o in self.client.query_iter(
                "SELECT AccountId, StageName, Amount, IsClosed, IsWon FROM Opportunity "
                f"WHERE AccountId != null AND (IsClosed = false{won}) ORDER BY AccountId"):
            a = accounts.setdefault(o["AccountId"], {"account_id": o["AccountId"], "open": 0,
                                                     "stage": None, "pipeline": 0.0, "won": 0})
            if o.get("IsClosed"):
                a["won"] += 1
                continue
            a["open"] += 1
            a["pipeline"] = round(a["pipeline"] + float(o.get("Amount") or 0), 2)
            a["stage"] = most_advanced((a["stage"], o.get("StageName")))
        return list(accounts.values())

    def accounts_and_cases(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Every account and every case: open ones (with their age) and refunded ones.

        params: none.
        result: ``{as_of, accounts: [...as in accounts_and_orders], cases: [{id,
        case_number, account_id, status, open, created_at, age_days, refund_amount,
        modified_at}]}``; ``age_days`` counts from creation to now.
        """
        now = datetime.now(UTC)
        cases = []
        for c in self.client.query_iter(
                "SELECT Id, CaseNumber, AccountId, Status, CreatedDate, Refund_Amount__c, "
                "SystemModstamp FROM Case WHERE Status != 'Closed' OR Refund_Amount__c != null "
                "ORDER BY CreatedDate"):
            created = _iso(c.get("CreatedDate"))
            age = (now - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds() \
                if created else 0.0
            cases.append({"id": c["Id"], "case_number": c.get("CaseNumber"),
                          "account_id": c.get("AccountId"), "status": c.get("Status"),
                          "open": c.get("Status") != "Closed", "created_at": created,
                          "age_days": round(age / 86400, 2),
                          "refund_amount": c.get("Refund_Amount__c"),
                          "modified_at": _iso(c.get("SystemModstamp"))})
        return {"as_of": now.isoformat().replace("+00:00", "Z"), "accounts": self._accounts(),
                "cases": cases}

    def orders_awaiting_restock(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """The CRM orders in status "Awaiting restock", with what they order.

        params: none.
        result: ``{orders: [{id, order_number, account_id, account_name, effective_date,
        items: [{product_code, quantity}]}]}``.
        """
        items: dict[str, list[dict[str, Any]]] = {}
        orders: dict[str, dict[str, Any]] = {}
        for i in self.client.query_iter(
                "SELECT OrderId, Order.OrderNumber, Order.AccountId, Order.Account.Name, "
                "Order.EffectiveDate, Product2.ProductCode, Quantity FROM OrderItem "
                "WHERE Order.Status = 'Awaiting restock' ORDER BY OrderId"):
            order = i.get("Order") or {}
            orders.setdefault(i["OrderId"], {
                "id": i["OrderId"], "order_number": order.get("OrderNumber"),
                "account_id": order.get("AccountId"),
                "account_name": (order.get("Account") or {}).get("Name"),
                "effective_date": order.get("EffectiveDate")})
            items.setdefault(i["OrderId"], []).append(
                {"product_code": (i.get("Product2") or {}).get("ProductCode"),
                 "quantity": i.get("Quantity")})
        return {"orders": [{**o, "items": items[k]} for k, o in orders.items()]}


def most_advanced(stages: Iterable[str | None]) -> str | None:
    """The most advanced of ``stages`` in Salesforce's order (None when there is none)."""
    known = [s for s in stages if s]
    return max(known, key=lambda s: STAGES.index(s) if s in STAGES else -1, default=None)
