"""The ERP reads behind the sales, inventory and customer reports, paged.

Each read is a handful of ``search_read`` calls, ``PAGE`` records at a time, whatever the
number of records: related records (a sale's lines, a party's categories) come with their
parent through dotted field names, never one call per record.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from service_tasks.base import CallInfo, InvalidParameters, require
from service_tasks.tryton.lookups import TrytonRecords
from service_tasks.tryton.records import money

PAGE = 500
#: The sale states that count as sold: quoted and draft sales are not revenue yet.
SOLD_STATES = ("confirmed", "processing", "done")
_SALE_FIELDS = ("number", "reference", "state", "sale_date", "untaxed_amount", "party.code",
                "party.name", "party.categories.name", "origin", "lines.type",
                "lines.product.code", "lines.product.name", "lines.quantity", "lines.amount")


def _day(params: Mapping[str, Any], name: str) -> dt.date:
    (value,) = require(params, name)
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidParameters(f"'{name}' must be a date like 2026-11-30, not {value!r}",
                                {"parameter": name}) from None


def _period(params: Mapping[str, Any]) -> tuple[dt.date, dt.date]:
    first, last = _day(params, "from"), _day(params, "to")
    if first > last:
        raise InvalidParameters(f"'from' ({first}) is after 'to' ({last})", {"parameter": "from"})
    return first, last


def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


class TrytonReportReads(TrytonRecords):
    """``erp.sales_in_period``, ``erp.stock_levels`` and ``erp.customer_accounts``."""

    def _pages(self, model: str, domain: Sequence[Any], fields: Sequence[str],
               context: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            rows = self._model(model).search_read(domain, fields, offset=offset, limit=PAGE,
                                                  order=[("id", "ASC")], context=context)
            yield from rows
            if len(rows) < PAGE:
                return
            offset += PAGE

    def _sales(self, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
        domain = [("sale_date", ">=", first), ("sale_date", "<=", last),
                  ("state", "in", list(SOLD_STATES))]
        result = []
        for s in self._pages("sale.sale", domain, _SALE_FIELDS):
            party = s.get("party.") or {}
            lines = [ln for ln in s.get("lines.") or [] if ln.get("type") == "line"]
            result.append({
                "sale_id": s["id"], "number": s["number"], "crm_order_id": s["reference"],
                "date": s["sale_date"].isoformat() if s.get("sale_date") else None,
                "state": s["state"], "customer_code": party.get("code"),
                "customer_name": party.get("name"),
                "customer_tier": next((c["name"] for c in party.get("categories.") or []),
                                      None),
                "refund": str(s.get("origin") or "").startswith("sale.complaint,"),
                "revenue": money(s["untaxed_amount"]),
                "lines": [{"product_code": (ln.get("product.") or {}).get("code"),
                           "product_name": (ln.get("product.") or {}).get("name"),
                           "quantity": _number(ln.get("quantity")),
                           "amount": money(ln.get("amount"))} for ln in lines]})
        return result

    def sales_in_period(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """The sales confirmed, processing or done with a sale date in the period.

        Params: ``from``, ``to`` (dates, both included).
        Result: ``{from, to, currency, orders: [{sale_id, number, crm_order_id, date, state,
        customer_code, customer_name, customer_tier, refund, revenue, lines: [{product_code,
        product_name, quantity, amount}]}]}``; ``revenue`` is the untaxed amount; a refund
        (a complaint's credit sale) has a negative one.
        """
        first, last = _period(params)
        return {"from": first.isoformat(), "to": last.isoformat(),
                "currency": self._currency(), "orders": self._sales(first, last)}

    def _order_points(self, warehouse: int) -> dict[int, float]:
        """The minimal quantities of the warehouse's purchase order points (``stock_supply``),
        when that module is activated."""
        installed = self._model("ir.module").search_count([("name", "=", "stock_supply"),
                                                           ("state", "=", "activated")])
        if not installed:
            return {}
        return {int(r["product"]): _number(r.get("min_quantity"))
                for r in self._pages("stock.order_point", [("type", "=", "purchase"),
                                                           ("location", "=", warehouse)],
                                     ["product", "min_quantity"])}

    def _quantities(self, location: int, day: dt.date) -> dict[int, dict[str, Any]]:
        """Every active goods product's quantity in ``location`` at the end of ``day``."""
        goods = [("type", "=", "goods"), ("active", "=", True)]
        return {r["id"]: r for r in self._pages(
            "product.product", goods, ["code", "name", "quantity"],
            {"locations": [location], "stock_date_end": day})}

    def stock_levels(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Stock of every goods product per location of the warehouse's storage zone, at the
        end of a day and at the end of an earlier one.

        Params: optional ``to`` (the day whose closing stock is read; default today; not in
        the future), optional ``previous_to`` (an earlier day, for comparison), optional
        ``reorder_point`` (a quantity for products without a purchase order point in the
        ERP; none: such a product is never below its reorder point).
        Result: ``{as_of, stock_date, previous_date, warehouse, locations: [{id, name}],
        products: [{code, name, quantity, previous_quantity, by_location: {location name:
        quantity}, reorder_point}]}``; ``quantity`` is the warehouse's at the end of
        ``stock_date``, ``previous_quantity`` at the end of ``previous_date`` (``None``
        without one).
        """
        default = params.get("reorder_point")
        if default is not None and (isinstance(default, bool)
                                    or not isinstance(default, int | float)):
            raise InvalidParameters("'reorder_point' must be a number", {"parameter":
                                                                          "reorder_point"})
        today = dt.date.today()
        day = _day(params, "to") if params.get("to") is not None else today
        if day > today:
            raise InvalidParameters(f"'to' ({day}) is in the future: stock can only be read "
                                    "up to today", {"parameter": "to"})
        before = (_day(params, "previous_to") if params.get("previous_to") is not None
                  else None)
        if before is not None and before >= day:
            raise InvalidParameters(f"'previous_to' ({before}) is not before 'to' ({day})",
                                    {"parameter": "previous_to"})
        warehouse = self._warehouse()
        # the storage zone and its sub-locations: the input and output zones are transit
        storage = self._model("stock.location").read([warehouse], ["storage_location"])[0]
        locations = self._model("stock.location").search_read(
            [("parent", "child_of", [storage["storage_location"]]), ("type", "=", "storage")],
            ["name"], order=[("name", "ASC")])
        products = self._quantities(warehouse, day)
        previous = self._quantities(warehouse, before) if before is not None else {}
        by_location: dict[int, dict[str, float]] = defaultdict(dict)
        for loc in locations:
            for pid, r in self._quantities(loc["id"], day).items():
                by_location[pid][loc["name"]] = _number(r["quantity"])
        points = self._order_points(warehouse)
        return {"as_of": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                "stock_date": day.isoformat(),
                "previous_date": before.isoformat() if before is not None else None,
                "warehouse": self.warehouse_code,
                "locations": [{"id": loc["id"], "name": loc["name"]} for loc in locations],
                "products": [{"code": p["code"], "name": p["name"],
                              "quantity": _number(p["quantity"]),
                              "previous_quantity": (_number(previous[pid]["quantity"])
                                                    if pid in previous else None),
                              "by_location": by_location.get(pid, {}),
                              "reorder_point": points.get(pid, default)}
                             for pid, p in sorted(products.items(),
                                                  key=lambda kv: str(kv[1]["code"]))]}

    def customer_accounts(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Every customer's credit limit and use, and its orders and refunds in the period.

        Params: ``from``, ``to`` (dates, both included).
        Result: ``{from, to, currency, customers: [{code, name, credit_limit, exposure,
        orders, revenue, refunds}]}``; ``exposure`` is what the credit approval reads
        (confirmed sales not yet invoiced plus receivables); ``credit_limit`` is ``None``
        for a customer without a limit.
        """
        first, last = _period(params)
        companies = {r["party"] for r in self._model("company.company").search_read(
            [], ["party"])}
        orders: Counter[str] = Counter()
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        refunds: dict[str, Decimal] = defaultdict(Decimal)
        for sale in self._sales(first, last):
            code = str(sale["customer_code"])
            if sale["refund"]:
                refunds[code] -= Decimal(sale["revenue"])
            else:
                orders[code] += 1
                revenue[code] += Decimal(sale["revenue"])
        customers = [{"code": p["code"], "name": p["name"],
                      "credit_limit": money(p["credit_limit_amount"]),
                      "exposure": money(p["credit_amount"] or Decimal(0)),
                      "orders": orders[str(p["code"])],
                      "revenue": money(revenue[str(p["code"])]),
                      "refunds": money(refunds[str(p["code"])])}
                     for p in self._pages("party.party", [("id", "not in", sorted(companies))],
                                          ["code", "name", "credit_limit_amount",
                                           "credit_amount"])]
        return {"from": first.isoformat(), "to": last.isoformat(),
                "currency": self._currency(), "customers": customers}
