"""What particular objects do beyond field checks: order totals, activation, opportunity
states derived from the stage, and webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import SalesforceError
from .schema import SObject, named

if TYPE_CHECKING:
    from .records import Records

ORDER = named("Order")
ORDER_ITEM = named("OrderItem")


def _became(old: dict[str, Any] | None, new: dict[str, Any], field: str, value: str) -> bool:
    return new.get(field) == value and (old is None or old.get(field) != value)


def _integrity(message: str, fields: list[str]) -> SalesforceError:
    return SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields)


def before_save(records: Records, obj: SObject, old: dict[str, Any] | None,
                new: dict[str, Any]) -> None:
    """Check and complete ``new`` before it is written (``old`` is None on insert)."""
    if obj.name == "OrderItem":
        order = records.require(ORDER, new["OrderId"])
        if order["Status"] != "Draft":
            raise _integrity("You can't add or change products on an order that isn't in "
                             "Draft status.", ["OrderId"])
        if new["Quantity"] <= 0:
            raise SalesforceError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                  "Quantity: must be greater than zero", ["Quantity"])
        if new["UnitPrice"] < 0:
            raise SalesforceError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                  "UnitPrice: must not be negative", ["UnitPrice"])
        new["TotalPrice"] = round(new["Quantity"] * new["UnitPrice"], 2)
    elif obj.name == "Opportunity":
        # Derived from the stage, as Salesforce does; never sent by a client.
        new["IsClosed"] = new["StageName"] in ("Closed Won", "Closed Lost")
        new["IsWon"] = new["StageName"] == "Closed Won"
    elif obj.name == "Order":
        if old is None:
            new["TotalAmount"] = 0.0
        if _became(old, new, "Status", "Activated") and (
                old is None or not _items(records, str(new["Id"]))):
            raise _integrity("You can't activate an order that has no products.", ["Status"])


def after_save(records: Records, obj: SObject, old: dict[str, Any] | None,
               new: dict[str, Any]) -> None:
    """Roll totals up and write the webhook events a change raises."""
    if obj.name == "OrderItem":
        _roll_up(records, str(new["OrderId"]))
    elif obj.name == "Order" and _became(old, new, "Status", "Activated"):
        records.emit("order.activated", obj, new)
    elif obj.name == "Contract" and _became(old, new, "Status", "In Approval Process"):
        records.emit("contract.submitted", obj, new)
    elif obj.name == "Case" and old is None:
        records.emit("case.created", obj, new)


def before_delete(records: Records, obj: SObject, record: dict[str, Any]) -> None:
    if obj.name == "Order" and record["Status"] != "Draft":
        raise SalesforceError(400, "DELETE_FAILED",
                              "You can't delete an order that isn't in Draft status.")
    if obj.name == "OrderItem":
        order = records.require(ORDER, record["OrderId"])
        if order["Status"] != "Draft":
            raise _integrity("You can't remove products from an order that isn't in Draft "
                             "status.", ["OrderId"])


def after_delete(records: Records, obj: SObject, record: dict[str, Any]) -> None:
    if obj.name == "OrderItem":
        _roll_up(records, str(record["OrderId"]))


def _items(records: Records, order_id: str) -> list[dict[str, Any]]:
    return records.find(ORDER_ITEM, "OrderId", order_id)


def _roll_up(records: Records, order_id: str) -> None:
    order = records.require(ORDER, order_id)
    order["TotalAmount"] = round(sum(i["TotalPrice"] or 0.0
                                     for i in _items(records, order_id)), 2)
    records.write_fields(ORDER, order, {"TotalAmount"})
