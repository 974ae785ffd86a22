"""The ``erp.*`` operations on Tryton: customers, stock, sales orders, credit, refunds, changes.

How CRM records map onto Tryton:

- a CRM account is the party whose ``code`` is the CRM Account Id (given when the party
  is created; Tryton numbers a party itself only when no code is given);
- a CRM order is the sale whose ``reference`` is the CRM order id;
- a CRM case's refund is the sale complaint whose ``reference`` is the case id, settled by
  a sale of -1 × the refund product at the refunded amount (its origin is the complaint),
  which Tryton turns into a credit note.

Results are JSON-able: money is a string with two decimals (``"840.00"``, exact), quantities
are numbers, times are ISO 8601 in UTC. The Tryton user must see warnings (the admin, or a
user in the groups "Credit Limit" and "Sale Stock Quantity"): for other users Tryton turns
the credit and stock checks into plain errors (``erp_user_error``, same text).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from service_tasks.base import (
    BusinessRuleError,
    CallInfo,
    ConnectorError,
    InvalidParameters,
    require,
)
from service_tasks.tryton.client import TrytonClient
from service_tasks.tryton.lookups import TrytonRecords
from service_tasks.tryton.records import (
    CUSTOMER_FIELDS,
    SALE_FIELDS,
    customer_result,
    decimal_param,
    iso,
    money,
    order_lines,
    sale_line_key,
    utc_param,
    wanted_key,
)
from service_tasks.tryton.report_reads import TrytonReportReads

log = logging.getLogger(__name__)

ErpOperation = Callable[[Mapping[str, Any], CallInfo], dict[str, Any]]


class TrytonOperations(TrytonRecords):
    """The ERP side of Bridgeflow's processes, one method per ``erp.*`` operation."""

    # -- customers ----------------------------------------------------------------------

    def find_customer(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Find the ERP customer of a CRM account.

        Params: ``crm_account_id``.
        Result: ``{found, customer}``; ``customer`` is ``{id, code, crm_account_id, name,
        email, phone, tier, street, postal_code, city, country_code, changed_at}`` (``code``
        is the party code, which is the CRM account id) or ``None``.
        """
        (account_id,) = require(params, "crm_account_id")
        row = self._party(str(account_id))
        return {"found": row is not None, "customer": customer_result(row) if row else None}

    def ensure_customer(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Find the ERP customer of a CRM account, creating it if it is missing.

        Params: ``crm_account_id``, ``name``; optional ``email``, ``phone``, ``street``,
        ``postal_code``, ``city``, ``country_code`` (ISO, e.g. ``DE``) and ``tier``
        (a party category such as ``gold``). An existing customer is returned unchanged.
        Result: ``{found: true, created, customer}`` (``customer`` as in find_customer).
        Errors: ``unknown_country`` when the country is not in the ERP.
        """
        account_id, name = (str(v) for v in require(params, "crm_account_id", "name"))
        row = self._party(account_id)
        if row is not None:
            return {"found": True, "created": False, "customer": customer_result(row)}
        values: dict[str, Any] = {"code": account_id, "name": name}
        address: dict[str, Any] = {k: str(params[k]) for k in ("street", "postal_code",
                                                               "city") if params.get(k)}
        if params.get("country_code"):
            address["country"] = self._country(str(params["country_code"]))
        if address:
            values["addresses"] = [["create", [address]]]
        mechanisms = [{"type": kind, "value": str(params[kind])}
                      for kind in ("email", "phone") if params.get(kind)]
        if mechanisms:
            values["contact_mechanisms"] = [["create", mechanisms]]
        if params.get("tier"):
            values["categories"] = [["add", [self._category(str(params["tier"]))]]]
        party_id = self._model("party.party").create([values])[0]
        log.info("erp.ensure_customer created party %s for CRM account %s", party_id,
                 account_id, extra={"instance_id": ctx.instance_id})
        created = self._party(account_id)
        if created is None:
            raise ConnectorError("the new ERP customer cannot be read back",
                                 {"crm_account_id": account_id})
        return {"found": True, "created": True, "customer": customer_result(created)}

    def get_credit(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """The customer's credit limit, current exposure and what is left.

        Params: ``crm_account_id``.
        Result: ``{crm_account_id, limit, exposure, available, currency}``; exposure is
        confirmed sales not yet invoiced plus receivables; ``limit`` and ``available`` are
        ``None`` when the customer has no limit; ``available`` may be negative.
        Errors: ``unknown_customer``.
        """
        account_id = str(require(params, "crm_account_id")[0])
        party = self._party_or_fail(account_id)
        row = self._model("party.party").read([party["id"]],
                                               ["credit_limit_amount", "credit_amount"])[0]
        limit, exposure = row["credit_limit_amount"], row["credit_amount"] or Decimal(0)
        return {"crm_account_id": account_id, "limit": money(limit),
                "exposure": money(exposure),
                "available": money(limit - exposure) if limit is not None else None,
                "currency": self._currency()}

    # -- stock and orders ---------------------------------------------------------------

    def check_stock(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Whether the warehouse can serve every line, by forecast quantity.

        Params: ``lines``: ``[{product_code, quantity}]``.
        Result: ``{ok, lines: [{product_code, wanted, available, ok}]}``; ``available`` is
        the forecast quantity at the warehouse (``None`` for services, which are always
        ok); a product on several lines must cover their sum.
        Errors: ``unknown_product`` naming the codes the ERP does not know.
        """
        lines = order_lines(params)
        products = self._products(lines)
        goods = [p["id"] for p in products.values() if p["type"] == "goods"]
        stock = {r["id"]: float(r["forecast_quantity"]) for r in self._model(
            "product.product").read(goods, ["forecast_quantity"],
                                    context={"locations": [self._warehouse()]})}
        wanted: dict[str, float] = defaultdict(float)
        result = []
        for line in lines:
            wanted[line.product_code] += line.quantity
            available = stock.get(products[line.product_code]["id"])
            result.append({"product_code": line.product_code, "wanted": line.quantity,
                           "available": available,
                           "ok": available is None or wanted[line.product_code] <= available})
        return {"ok": all(r["ok"] for r in result), "lines": result}

    def create_sales_order(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Create and confirm the ERP sales order of a CRM order, once.

        Params: ``crm_order_id``, ``crm_account_id``, ``lines``: ``[{product_code,
        quantity, unit_price?}]`` (list price when no price is given); optional
        ``description``, ``comment``.
        The CRM order id is the sale's reference: an order that exists already is returned
        (``created: false``) and nothing is created; one left in draft or quotation by an
        earlier attempt gets the requested lines and is confirmed.
        Result: ``{order_number, sale_id, state, shipment_state, total, created}``.
        Errors: ``unknown_customer``, ``unknown_product``, ``insufficient_stock`` (at
        quote), ``credit_limit_exceeded`` (at confirm), ``order_conflict`` (the reference
        belongs to another customer's order); the sale then stays unconfirmed and a later
        call continues it. A cancelled order is reported as it is.
        """
        order_id, account_id = (str(v) for v in require(params, "crm_order_id",
                                                         "crm_account_id"))
        lines = order_lines(params)
        wanted = self._sale_lines(lines, self._products(lines))
        sales = self._model("sale.sale")
        sale = self._sale(order_id)
        created = sale is None
        if sale is None:
            values = {"reference": order_id, "lines": [["create", wanted]],
                      **{k: str(params[k]) for k in ("description", "comment")
                         if params.get(k)}}
            sale_id = sales.create([self._sale_values(
                self._party_or_fail(account_id)["id"], values)])[0]
            log.info("erp.create_sales_order created sale %s for CRM order %s", sale_id,
                     order_id, extra={"instance_id": ctx.instance_id})
            sale = self._read_sale(sale_id)
        elif (sale.get("party.") or {}).get("code") != account_id:
            raise BusinessRuleError(
                "order_conflict",
                f"ERP order {sale['number'] or sale['id']} has the reference {order_id} "
                f"but belongs to another customer", {"crm_order_id": order_id})
        elif sale["state"] in ("draft", "quotation") and sale_line_key(sale) != wanted_key(
                lines, wanted):
            self._replace_lines(sale, wanted)
        if sale["state"] == "draft":
            sales.button("quote", [sale["id"]])
        if sale["state"] in ("draft", "quotation"):
            sales.button("confirm", [sale["id"]])
            sale = self._read_sale(sale["id"])
        return {"order_number": sale["number"], "sale_id": sale["id"],
                "state": sale["state"], "shipment_state": sale["shipment_state"],
                "total": money(sale["total_amount"]), "created": created}

    def find_order(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """The ERP sales order of a CRM order.

        Params: ``crm_order_id``.
        Result: ``{found, sale_id, order_number, crm_account_id, state, shipment_state,
        invoice_state, sale_date, lines: [{product_code, description, quantity,
        unit_price, amount}], untaxed, total, currency}``; all ``None`` / ``[]`` but
        ``found`` when there is no such order.
        """
        (order_id,) = require(params, "crm_order_id")
        sale = self._sale(str(order_id))
        if sale is None:
            return {"found": False, "sale_id": None, "order_number": None,
                    "crm_account_id": None, "state": None, "shipment_state": None,
                    "invoice_state": None, "sale_date": None, "lines": [],
                    "untaxed": None, "total": None, "currency": None}
        return {"found": True, "sale_id": sale["id"], "order_number": sale["number"],
                "crm_account_id": (sale.get("party.") or {}).get("code"),
                "state": sale["state"], "shipment_state": sale["shipment_state"],
                "invoice_state": sale["invoice_state"],
                "sale_date": sale["sale_date"].isoformat() if sale["sale_date"] else None,
                "lines": [{"product_code": (line.get("product.") or {}).get("code"),
                           "description": line["description"],
                           "quantity": line["quantity"],
                           "unit_price": money(line["unit_price"]),
                           "amount": money(line["amount"])}
                          for line in sale.get("lines.") or [] if line["type"] == "line"],
                "untaxed": money(sale["untaxed_amount"]),
                "total": money(sale["total_amount"]),
                "currency": (sale.get("currency.") or {}).get("code")}

    # -- refunds and changes ------------------------------------------------------------

    def create_refund(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Refund an amount to a customer for a CRM case, once per case.

        Params: ``case_id``, ``amount`` (> 0), ``reason``, and ``crm_order_id`` (the
        refunded order) or ``crm_account_id``.
        Records a sale complaint (reference = case id, approved) and a confirmed refund
        sale of -amount, which becomes a credit note. A second call for the same case
        returns the same refund with ``created: false``.
        Result: ``{refund_number, complaint_number, amount, state, created}``.
        Errors: ``unknown_order``, ``unknown_customer``, ``refund_exceeds_order``,
        ``refund_rejected`` (the complaint was rejected or cancelled in the ERP),
        ``erp_warning`` with warning ``…complaint_similar`` (another complaint exists on
        that order: a person decides in Tryton).
        """
        case_id, amount_param, reason = require(params, "case_id", "amount", "reason")
        amount = decimal_param(amount_param, "amount")
        if amount <= 0:
            raise InvalidParameters("amount must be greater than zero", {"amount": str(amount)})
        party_id, origin = self._refund_target(params, amount)
        complaint = self._complaint(str(case_id), party_id, origin, str(reason))
        sales = self._model("sale.sale")
        found = sales.search([("origin", "=", f"sale.complaint,{complaint['id']}")], limit=1)
        created = not found
        if found:
            sale_id = found[0]
        else:
            sale_id = sales.create([self._refund_sale(party_id, complaint, amount,
                                                      str(reason))])[0]
            log.info("erp.create_refund created refund sale %s for case %s", sale_id,
                     case_id, extra={"instance_id": ctx.instance_id})
        state = sales.read([sale_id], ["state"])[0]["state"]
        if state == "draft":
            sales.button("quote", [sale_id])
        if state in ("draft", "quotation"):
            sales.button("confirm", [sale_id])
        sale = sales.read([sale_id], ["number", "state", "total_amount"])[0]
        return {"refund_number": sale["number"], "complaint_number": complaint["number"],
                "amount": money(-sale["total_amount"]), "state": sale["state"],
                "created": created}

    def changes_since(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Customers and CRM orders created or changed in the ERP since a time.

        Params: ``since`` (ISO 8601; without a zone it is taken as UTC).
        Result: ``{since, customers: [customer as in find_customer], orders: [{sale_id,
        order_number, crm_order_id, crm_account_id, state, shipment_state, total,
        changed_at}]}``; orders are the sales with a reference (not refunds).
        """
        (since_param,) = require(params, "since")
        since = utc_param(since_param)
        changed = ["OR", ("write_date", ">=", since), ("create_date", ">=", since)]
        companies = {r["party"] for r in self._model("company.company").search_read(
            [], ["party"])}
        parties = self._model("party.party").search_read(
            [changed, ("id", "not in", sorted(companies))], CUSTOMER_FIELDS,
            order=[("id", "ASC")])
        orders = self._model("sale.sale").search_read(
            [changed, ("reference", "!=", None)], SALE_FIELDS, order=[("id", "ASC")])
        return {"since": iso(since), "customers": [customer_result(p) for p in parties],
                "orders": [{"sale_id": s["id"], "order_number": s["number"],
                            "crm_order_id": s["reference"],
                            "crm_account_id": (s.get("party.") or {}).get("code"),
                            "state": s["state"], "shipment_state": s["shipment_state"],
                            "total": money(s["total_amount"]),
                            "changed_at": iso(s["write_date"] or s["create_date"])}
                           for s in orders]}

def operations(client: TrytonClient, *, warehouse_code: str = "WH") -> dict[str, ErpOperation]:
    """The ``erp.*`` operation names and their callables, for the engine's registry."""
    ops = TrytonOperations(client, warehouse_code=warehouse_code)
    reads = TrytonReportReads(client, warehouse_code=warehouse_code)
    return {
        "erp.find_customer": ops.find_customer,
        "erp.ensure_customer": ops.ensure_customer,
        "erp.check_stock": ops.check_stock,
        "erp.create_sales_order": ops.create_sales_order,
        "erp.get_credit": ops.get_credit,
        "erp.find_order": ops.find_order,
        "erp.create_refund": ops.create_refund,
        "erp.changes_since": ops.changes_since,
        "erp.sales_in_period": reads.sales_in_period,
        "erp.stock_levels": reads.stock_levels,
        "erp.customer_accounts": reads.customer_accounts,
    }
