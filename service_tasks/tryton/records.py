"""Between process variables and Tryton records: parameter parsing and JSON-able results.

Money leaves as a string with two decimals (exact), quantities as numbers, times as ISO 8601
in UTC; Tryton's own datetimes are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from service_tasks.base import InvalidParameters, require

#: What is read of a party, a sale and a product (dotted names read related records).
CUSTOMER_FIELDS = ("code", "name", "email", "phone", "categories.name", "addresses.street",
                   "addresses.postal_code", "addresses.city", "addresses.country.code",
                   "create_date", "write_date")
SALE_FIELDS = ("number", "reference", "state", "shipment_state", "invoice_state",
               "total_amount", "untaxed_amount", "currency.code", "party.code", "sale_date",
               "lines.type", "lines.product.code", "lines.description", "lines.quantity",
               "lines.unit_price", "lines.amount", "create_date", "write_date")
PRODUCT_FIELDS = ("code", "name", "type", "salable", "sale_uom", "list_price_used",
                  "template.account_category.customer_taxes_used")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    """One requested order line."""

    product_code: str
    quantity: float
    unit_price: Decimal | None


def order_lines(params: Mapping[str, Any]) -> list[Line]:
    """The ``lines`` parameter as ``Line`` values; ``InvalidParameters`` names a bad line."""
    (lines,) = require(params, "lines")
    if not isinstance(lines, list) or not lines:
        raise InvalidParameters("lines must be a non-empty list", {"lines": type(lines).__name__})
    result = []
    for number, line in enumerate(lines, 1):
        if not isinstance(line, Mapping) or not line.get("product_code"):
            raise InvalidParameters(f"line {number} has no product_code", {"line": number})
        quantity = _quantity(line.get("quantity"))
        if quantity is None:
            raise InvalidParameters(f"line {number} needs a quantity greater than zero",
                                    {"line": number})
        price = line.get("unit_price")
        result.append(Line(str(line["product_code"]), quantity,
                           None if price in (None, "") else decimal_param(price, "unit_price")))
    return result


def _quantity(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        quantity = float(value)
    except ValueError:
        return None
    return quantity if math.isfinite(quantity) and quantity > 0 else None


def decimal_param(value: Any, name: str) -> Decimal:
    """``value`` as an exact Decimal (``InvalidParameters`` when it is not a number)."""
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        result = Decimal("NaN")
    if isinstance(value, bool) or not result.is_finite():
        raise InvalidParameters(f"{name} must be a number, not {value!r}", {name: str(value)})
    return result


def sale_line_key(sale: Mapping[str, Any]) -> list[tuple[str, float, Decimal]]:
    """What makes two orders the same: product, quantity and price of each line."""
    return sorted(((line.get("product.") or {}).get("code") or "", float(line["quantity"]),
                   Decimal(line["unit_price"]))
                  for line in sale.get("lines.") or [] if line["type"] == "line")


def wanted_key(lines: Sequence[Line],
               wanted: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, Decimal]]:
    """``sale_line_key`` of the requested lines (``wanted`` has their resolved prices)."""
    return sorted((line.product_code, line.quantity, Decimal(values["unit_price"]))
                  for line, values in zip(lines, wanted, strict=True))


def money(value: Decimal | None) -> str | None:
    """``Decimal("840")`` → ``"840.00"``."""
    return None if value is None else str(Decimal(value).quantize(CENT))


def utc_param(value: Any) -> dt.datetime:
    """A naive UTC datetime (Tryton's form) from an ISO 8601 string."""
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidParameters(f"since must be an ISO 8601 date-time, not {value!r}",
                                {"since": str(value)}) from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def iso(value: dt.datetime | None) -> str | None:
    """A naive UTC datetime from Tryton as ISO 8601 with its zone."""
    return None if value is None else value.replace(tzinfo=dt.UTC).isoformat()


def customer_result(row: Mapping[str, Any]) -> dict[str, Any]:
    """A party read with ``CUSTOMER_FIELDS`` as the operations return it."""
    addresses = row.get("addresses.") or [{}]
    address = addresses[0]
    categories = row.get("categories.") or []
    return {"id": row["id"], "code": row["code"], "crm_account_id": row["code"],
            "name": row["name"],
            "email": row.get("email") or None, "phone": row.get("phone") or None,
            "tier": categories[0]["name"] if categories else None,
            "street": address.get("street") or None,
            "postal_code": address.get("postal_code") or None,
            "city": address.get("city") or None,
            "country_code": (address.get("country.") or {}).get("code"),
            "changed_at": iso(row.get("write_date") or row.get("create_date"))}
