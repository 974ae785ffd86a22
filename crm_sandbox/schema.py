"""The CRM's data model: its objects, their fields, and Salesforce-style record ids."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Field types that hold text; the rest are numbers, booleans, dates and date-times.
TEXT_TYPES = frozenset({"id", "reference", "string", "textarea", "email", "phone", "picklist",
                        "autonumber"})
NUMBER_TYPES = frozenset({"double", "currency", "int"})
SYSTEM_FIELDS = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp")


@dataclass(frozen=True)
class Field:
    """One field of an object, with what Salesforce's describe call would say of it."""

    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    picklist: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    external_id: bool = False
    unique: bool = False
    createable: bool = True
    updateable: bool = True
    length: int = 255
    on_delete: str = "restrict"   # for references: restrict | cascade | clear

    @property
    def relationship(self) -> str | None:
        """The name SOQL uses to reach the parent: AccountId → Account, X__c → X__r."""
        if self.type != "reference":
            return None
        if self.name.endswith("__c"):
            return self.name[:-3] + "__r"
        return self.name[:-2] if self.name.endswith("Id") else None

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES


class SObject:
    """An object type (Account, Order…): its id prefix and its fields, looked up by any case."""

    def __init__(self, name: str, prefix: str, fields: Iterable[Field],
                 number_field: str | None = None, number_start: int = 1) -> None:
        system = (Field("Id", "id", createable=False, updateable=False),
                  Field("CreatedDate", "datetime", createable=False, updateable=False),
                  Field("LastModifiedDate", "datetime", createable=False, updateable=False),
                  Field("SystemModstamp", "datetime", createable=False, updateable=False))
        self.name = name
        self.prefix = prefix
        self.fields: tuple[Field, ...] = system + tuple(fields)
        self.number_field = number_field
        self.number_start = number_start
        self._by_lower = {f.name.lower(): f for f in self.fields}
        self._by_relationship = {f.relationship.lower(): f for f in self.fields
                                 if f.relationship}

    def field(self, name: str) -> Field | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        """The reference field behind relationship ``name`` (``Account`` → ``AccountId``)."""
        return self._by_relationship.get(name.lower())

    def references(self) -> list[Field]:
        return [f for f in self.fields if f.type == "reference"]

    def __repr__(self) -> str:
        return f"SObject({self.name!r})"


def _ref(name: str, *targets: str, required: bool = False, on_delete: str = "restrict",
         updateable: bool = True) -> Field:
    return Field(name, "reference", required=required, targets=targets, on_delete=on_delete,
                 updateable=updateable)


def _pick(name: str, values: tuple[str, ...], default: str | None = None,
          required: bool = False) -> Field:
    return Field(name, "picklist", required=required, default=default, picklist=values)


def _owner() -> Field:
    # Filled with the acting user when left out, as Salesforce does.
    return _ref("OwnerId", "User", required=True)


def _readonly(name: str, type_: str) -> Field:
    return Field(name, type_, createable=False, updateable=False)


ORDER_STATUSES = ("Draft", "Activated", "Awaiting restock", "Synced to ERP", "Cancelled")
CONTRACT_STATUSES = ("Draft", "In Approval Process", "Activated", "Rejected")
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_PRIORITIES = ("High", "Medium", "Low")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_CATEGORIES = ("Delivery", "Quality", "Billing", "Service", "Other")
CASE_SEVERITIES = ("Low", "Medium", "High", "Critical")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else",
                 "Deferred")
TASK_PRIORITIES = ("High", "Normal", "Low")
TIERS = ("gold", "silver", "bronze")
# Salesforce's standard sales process, least to most advanced; the last two close the deal.
OPPORTUNITY_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                      "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
                      "Negotiation/Review", "Closed Won", "Closed Lost")

OBJECTS: tuple[SObject, ...] = (
    SObject("User", "005", [
        Field("Name", required=True), Field("Email", "email", required=True),
        Field("Username", required=True, unique=True),
        Field("IsActive", "boolean", default=True)]),
    SObject("Account", "001", [
        Field("Name", required=True), Field("AccountNumber", length=40),
        Field("Phone", "phone", length=40), Field("BillingStreet", "textarea"),
        Field("BillingPostalCode", length=20), Field("BillingCity", length=40),
        Field("BillingCountry", length=80), _owner(), _pick("Tier__c", TIERS),
        Field("ERP_Customer_Id__c", external_id=True)]),
    SObject("Contact", "003", [
        _ref("AccountId", "Account"), Field("FirstName", length=40),
        Field("LastName", required=True, length=80), Field("Email", "email"),
        Field("Phone", "phone", length=40)]),
    SObject("Product2", "01t", [
        Field("Name", required=True), Field("ProductCode", external_id=True),
        Field("IsActive", "boolean", default=False), Field("List_Price__c", "currency")]),
    SObject("Order", "801", [
        _ref("AccountId", "Account", required=True), _owner(),
        _pick("Status", ORDER_STATUSES, "Draft", required=True),
        Field("EffectiveDate", "date", required=True),
        _readonly("TotalAmount", "currency"), Field("Description", "textarea", length=32000),
        _readonly("OrderNumber", "autonumber"),
        Field("ERP_Order_Number__c", external_id=True, length=80),
        Field("ERP_Status__c", length=80)], number_field="OrderNumber", number_start=100),
    SObject("Opportunity", "006", [
        Field("Name", required=True, length=120),
        _ref("AccountId", "Account", on_delete="cascade"), _owner(),
        _pick("StageName", OPPORTUNITY_STAGES, required=True), Field("Amount", "currency"),
        Field("CloseDate", "date", required=True), Field("Probability", "double"),
        _readonly("IsClosed", "boolean"), _readonly("IsWon", "boolean")]),
    SObject("OrderItem", "802", [
        _ref("OrderId", "Order", required=True, on_delete="cascade", updateable=False),
        _ref("Product2Id", "Product2", required=True, updateable=False),
        Field("Quantity", "double", required=True), Field("UnitPrice", "currency", required=True),
        _readonly("TotalPrice", "currency")]),
    SObject("Contract", "800", [
        _ref("AccountId", "Account", required=True), _owner(),
        _pick("Status", CONTRACT_STATUSES, "Draft", required=True),
        Field("ContractTerm", "int"), Field("StartDate", "date"),
        Field("Amount__c", "currency"), Field("Approval_Decision__c", length=80),
        Field("Approval_Reason__c", "textarea", length=32000),
        _readonly("ContractNumber", "autonumber")], number_field="ContractNumber",
        number_start=100),
    SObject("Case", "500", [
        _ref("AccountId", "Account"), _ref("ContactId", "Contact"), _owner(),
        Field("Subject"), Field("Description", "textarea", length=32000),
        _pick("Status", CASE_STATUSES, "New", required=True),
        _pick("Priority", CASE_PRIORITIES, "Medium"), _pick("Origin", CASE_ORIGINS, "Web"),
        _pick("Category__c", CASE_CATEGORIES), _pick("Severity__c", CASE_SEVERITIES),
        _ref("Related_Order__c", "Order", on_delete="clear"),
        Field("Resolution__c", "textarea", length=32000), Field("Refund_Amount__c", "currency"),
        _readonly("CaseNumber", "autonumber")], number_field="CaseNumber", number_start=1000),
    SObject("Task", "00T", [
        _ref("WhatId", "Account", "Order", "Contract", "Case", on_delete="cascade"), _owner(),
        Field("Subject"), Field("Description", "textarea", length=32000),
        _pick("Status", TASK_STATUSES, "Not Started", required=True),
        _pick("Priority", TASK_PRIORITIES, "Normal", required=True),
        Field("ActivityDate", "date"),
        Field("Bridgeflow_Key__c", external_id=True, unique=True)]),
)

_BY_LOWER = {o.name.lower(): o for o in OBJECTS}
_BY_PREFIX = {o.prefix: o for o in OBJECTS}


def sobject(name: str) -> SObject | None:
    """The object called ``name`` (any case), or None."""
    return _BY_LOWER.get(name.lower())


# --- record ids -------------------------------------------------------------------------

ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15: str) -> str:
    """The 18-character form of a 15-character id: three checksum characters for its case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start:start + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX_CHARS[bits]
    return id15 + suffix


def normalize_id(value: str) -> str | None:
    """``value`` as an 18-character id, or None when it is not shaped like one."""
    if not ID_RE.match(value):
        return None
    if len(value) == 15:
        return id18(value)
    return value if id18(value[:15]) == value else None


def object_of_id(record_id: str) -> SObject | None:
    return _BY_PREFIX.get(record_id[:3])


def make_id(prefix: str, pod: str, sequence: int) -> str:
    """A new id: 3-character prefix, 2-character pod of this database, 10-digit sequence."""
    return id18(f"{prefix}{pod}{sequence:010d}")


def named(name: str) -> SObject:
    """The object called exactly ``name``; for code that names objects it knows exist."""
    return _BY_LOWER[name.lower()]
