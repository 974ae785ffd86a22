"""Finding and writing the Tryton records the ``erp.*`` operations work on.

Parties by CRM account id, products by code, sales by CRM order id, complaints by case id,
and the company's warehouse, currency and refund product, each read once and kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from service_tasks.base import (
    BusinessRuleError,
    ConnectorError,
    InvalidParameters,
)
from service_tasks.tryton.client import Model, TrytonClient
from service_tasks.tryton.records import (
    CUSTOMER_FIELDS,
    PRODUCT_FIELDS,
    SALE_FIELDS,
    Line,
    money,
)

log = logging.getLogger(__name__)


class TrytonRecords:
    """Lookups and writes shared by the operations; one client, not shared between threads."""

    def __init__(self, client: TrytonClient, *, warehouse_code: str = "WH",
                 refund_product_code: str = "REFUND",
                 complaint_type: str = "Refund") -> None:
        self.client = client
        self.warehouse_code = warehouse_code
        self.refund_product_code = refund_product_code
        self.complaint_type = complaint_type
        self._warehouse_id: int | None = None

    def _model(self, name: str) -> Model:
        return self.client.model(name)

    def _party(self, account_id: str) -> dict[str, Any] | None:
        rows = self._model("party.party").search_read([("code", "=", account_id)],
                                                      CUSTOMER_FIELDS, limit=1)
        return rows[0] if rows else None

    def _party_or_fail(self, account_id: str) -> dict[str, Any]:
        row = self._party(account_id)
        if row is None:
            raise BusinessRuleError("unknown_customer",
                                    f"no ERP customer for CRM account {account_id}",
                                    {"crm_account_id": account_id})
        return row

    def _address(self, party_id: int) -> int | None:
        found = self._model("party.address").search([("party", "=", party_id)], limit=1)
        return found[0] if found else None

    def _country(self, code: str) -> int:
        found = self._model("country.country").search([("code", "=", code.upper())], limit=1)
        if not found:
            raise BusinessRuleError("unknown_country",
                                    f"the ERP has no country with the code {code}",
                                    {"country_code": code})
        return found[0]

    def _category(self, name: str) -> int:
        category = self._model("party.category")
        found = category.search([("name", "=", name)], limit=1)
        return found[0] if found else category.create([{"name": name}])[0]

    def _currency(self) -> str | None:
        company = self.client.context.get("company")
        if not company:
            return None
        row = self._model("company.company").read([company], ["currency.code"])[0]
        code = (row.get("currency.") or {}).get("code")
        return str(code) if code else None

    def _warehouse(self) -> int:
        if self._warehouse_id is None:
            found = self._model("stock.location").search(
                [("type", "=", "warehouse"), ("code", "=", self.warehouse_code)], limit=1)
            if not found:
                raise ConnectorError(f"the ERP has no warehouse with the code "
                                     f"{self.warehouse_code}; configure the connector")
            self._warehouse_id = found[0]
        return self._warehouse_id

    def _products(self, lines: Sequence[Line]) -> dict[str, dict[str, Any]]:
        codes = sorted({line.product_code for line in lines})
        rows = self._model("product.product").search_read([("code", "in", codes)],
                                                          PRODUCT_FIELDS)
        products = {r["code"]: r for r in rows}
        missing = [c for c in codes if c not in products]
        if missing:
            raise BusinessRuleError("unknown_product",
                                    f"the ERP has no product {', '.join(missing)}",
                                    {"product_codes": missing})
        unsalable = [c for c in codes if not products[c]["salable"]]
        if unsalable:
            raise BusinessRuleError("product_not_salable",
                                    f"the ERP does not sell {', '.join(unsalable)}",
                                    {"product_codes": unsalable})
        return products

    def _sale_lines(self, lines: Sequence[Line],
                    products: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        result = []
        for line in lines:
            product = products[line.product_code]
            category = (product.get("template.") or {}).get("account_category.") or {}
            price = line.unit_price if line.unit_price is not None \
                else product["list_price_used"] or Decimal(0)
            result.append({"type": "line", "product": product["id"],
                           "description": product["name"], "quantity": line.quantity,
                           "unit": product["sale_uom"], "unit_price": price,
                           "taxes": [["add", category.get("customer_taxes_used") or []]]})
        return result

    def _sale(self, order_id: str) -> dict[str, Any] | None:
        rows = self._model("sale.sale").search_read(
            [("reference", "=", order_id)], SALE_FIELDS, order=[("id", "ASC")])
        active = [r for r in rows if r["state"] != "cancelled"]
        chosen = (active or rows)[:1]
        return chosen[0] if chosen else None

    def _read_sale(self, sale_id: int) -> dict[str, Any]:
        return self._model("sale.sale").read([sale_id], SALE_FIELDS)[0]

    def _replace_lines(self, sale: dict[str, Any], wanted: list[dict[str, Any]]) -> None:
        sales = self._model("sale.sale")
        if sale["state"] == "quotation":
            sales.button("draft", [sale["id"]])
        old = [line["id"] for line in sale.get("lines.") or []]
        sales.write([sale["id"]], {"lines": [["delete", old], ["create", wanted]]})
        sale["state"] = "draft"
        log.info("erp.create_sales_order replaced the lines of unconfirmed sale %s",
                 sale["id"])

    def _refund_target(self, params: Mapping[str, Any],
                       amount: Decimal) -> tuple[int, str | None]:
        """The party to refund and the complaint's origin (the order, when there is one)."""
        if params.get("crm_order_id"):
            order_id = str(params["crm_order_id"])
            sale = self._sale(order_id)
            if sale is None:
                raise BusinessRuleError("unknown_order", f"no ERP order for CRM order "
                                        f"{order_id}", {"crm_order_id": order_id})
            if amount > sale["total_amount"]:
                raise BusinessRuleError(
                    "refund_exceeds_order",
                    f"the refund of {money(amount)} exceeds the total "
                    f"{money(sale['total_amount'])} of ERP order {sale['number']}",
                    {"crm_order_id": order_id})
            party_id = self._model("sale.sale").read([sale["id"]], ["party"])[0]["party"]
            return int(party_id), f"sale.sale,{sale['id']}"
        if params.get("crm_account_id"):
            return int(self._party_or_fail(str(params["crm_account_id"]))["id"]), None
        raise InvalidParameters("missing parameter(s): crm_order_id or crm_account_id",
                                {"missing": ["crm_order_id", "crm_account_id"]})

    def _complaint(self, case_id: str, party_id: int, origin: str | None,
                   reason: str) -> dict[str, Any]:
        """The approved complaint of the case, created and moved along as needed."""
        complaints = self._model("sale.complaint")
        found = complaints.search([("reference", "=", case_id)], limit=1)
        if found:
            complaint_id = found[0]
        else:
            types = self._model("sale.complaint.type").search(
                [("name", "=", self.complaint_type)], limit=1)
            if not types:
                raise ConnectorError(f"the ERP has no complaint type {self.complaint_type}")
            values: dict[str, Any] = {"customer": party_id, "type": types[0],
                                      "reference": case_id, "description": reason}
            if origin:
                values["origin"] = origin
            complaint_id = complaints.create([values])[0]
        for state, button in (("draft", "wait"), ("waiting", "approve"),
                              ("approved", "process")):
            if complaints.read([complaint_id], ["state"])[0]["state"] == state:
                complaints.button(button, [complaint_id])
        row = complaints.read([complaint_id], ["number", "state"])[0]
        if row["state"] != "done":
            raise BusinessRuleError("refund_rejected",
                                    f"ERP complaint {row['number']} for case {case_id} is "
                                    f"{row['state']}", {"case_id": case_id})
        return row

    def _refund_sale(self, party_id: int, complaint: Mapping[str, Any], amount: Decimal,
                     reason: str) -> dict[str, Any]:
        products = self._products([Line(self.refund_product_code, 1, None)])
        line = self._sale_lines([Line(self.refund_product_code, -1.0, amount)], products)[0]
        line["description"] = f"Refund: {reason}"
        return self._sale_values(party_id, {
            "origin": f"sale.complaint,{complaint['id']}",
            "description": f"Refund for complaint {complaint['number']}",
            "lines": [["create", [line]]]})

    def _sale_values(self, party_id: int, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` of a new sale completed with party, warehouse and addresses."""
        values = {**values, "party": party_id, "warehouse": self._warehouse()}
        address = self._address(party_id)
        if address is not None:
            values.update(invoice_address=address, shipment_address=address)
        return values
