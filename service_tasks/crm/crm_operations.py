"""The CRM operations BPMN service tasks call, as ``fn(params, ctx) -> dict``.

Naming: ``fields`` given to an update use the CRM's own field names (``Status``,
``ERP_Order_Number__c``); the records these operations compose and return use plain
snake_case keys (``order_number``, ``erp_order_number``). Date-times come back as ISO 8601
in UTC (``2024-05-01T10:00:00.000Z``), dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..base import BusinessRuleError, CallInfo, InvalidParameters, require
from .client import SalesforceClient
from .report_reads import CrmReportReads
from .soql import datetime_literal, literal, record_id

Operation = Callable[[dict[str, Any], CallInfo], dict[str, Any]]

_FIELD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_ACCOUNT_FIELDS = ("Name", "AccountNumber", "Tier__c", "ERP_Customer_Id__c", "Phone",
                   "BillingStreet", "BillingPostalCode", "BillingCity", "BillingCountry")
_OWNER_FIELDS = ("OwnerId", "Owner.Name", "Owner.Email")
# What a Task may hang on, by id prefix, to find its default owner.
_OWNED_BY_PREFIX = {"001": "Account", "801": "Order", "800": "Contract", "500": "Case"}


def _select(fields: tuple[str, ...], sobject: str, where: str) -> str:
    return f"SELECT {', '.join(fields)} FROM {sobject} WHERE {where}"


def _iso(value: Any) -> str | None:
    """A Salesforce date-time (``…+0000``) as ISO 8601 UTC with ``Z``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value   # not ours to judge: pass the CRM's text on unchanged
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _quantity(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _fields(params: Mapping[str, Any]) -> dict[str, Any]:
    fields = params.get("fields")
    if not isinstance(fields, Mapping) or not fields:
        raise InvalidParameters("fields must be a non-empty mapping of CRM field names to "
                                "values", {"parameter": "fields"})
    bad = [str(k) for k in fields if not isinstance(k, str) or not _FIELD_RE.match(k)]
    if bad:
        raise InvalidParameters(f"not CRM field names: {', '.join(bad)}",
                                {"parameter": "fields", "invalid": bad})
    return dict(fields)


def _owner(record: Mapping[str, Any]) -> dict[str, Any]:
    owner = record.get("Owner") or {}
    return {"id": record.get("OwnerId"), "name": owner.get("Name"),
            "email": owner.get("Email")}


class CrmOperations:
    """The operations over one ``SalesforceClient``; see ``operations()`` for their names."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    # --- helpers --------------------------------------------------------------------------

    def _one(self, sobject: str, fields: tuple[str, ...], wanted_id: str) -> dict[str, Any]:
        found = self.client.query(_select(fields, sobject, f"Id = {literal(wanted_id)}"))
        if not found:
            raise BusinessRuleError("crm_not_found", f"there is no {sobject} {wanted_id} in "
                                    "the CRM", {"object": sobject, "id": wanted_id})
        return found[0]

    def _contact(self, account_id: str | None) -> dict[str, Any] | None:
        if not account_id:
            return None
        found = self.client.query(
            "SELECT Id, FirstName, LastName, Email FROM Contact WHERE AccountId = "
            f"{literal(account_id)} AND Email != null ORDER BY CreatedDate LIMIT 1")
        return found[0] if found else None

    def _account(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """The composed account of a record selected with ``Account.*`` fields."""
        account = record.get("Account")
        if not account:
            return None
        contact = self._contact(record.get("AccountId"))
        return {
            "id": record.get("AccountId"), "name": account.get("Name"),
            "account_number": account.get("AccountNumber"), "tier": account.get("Tier__c"),
            "erp_customer_id": account.get("ERP_Customer_Id__c"),
            "phone": account.get("Phone"),
            "contact_name": _person(contact), "contact_email": (contact or {}).get("Email"),
            "address": {"street": account.get("BillingStreet"),
                        "postal_code": account.get("BillingPostalCode"),
                        "city": account.get("BillingCity"),
                        "country": account.get("BillingCountry")}}

    def _update(self, sobject: str, key: str, params: dict[str, Any]) -> dict[str, Any]:
        (raw_id,) = require(params, key)
        fields = _fields(params)
        self.client.update(sobject, record_id(raw_id, key), fields)
        return {key: raw_id, "updated": sorted(fields)}

    # --- orders ---------------------------------------------------------------------------

    def get_order(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Read an order with its lines, its customer and its owner.

        params: ``order_id`` (CRM Order Id).
        result: ``{order_id, order_number, status, effective_date, total_amount, description,
        erp_order_number, erp_status, owner: {id, name, email}, account: {id, name,
        account_number, tier, erp_customer_id, phone, contact_name, contact_email,
        address: {street, postal_code, city, country}}, items: [{item_id, product_id,
        product_code, product_name, quantity, unit_price, total_price}]}``.
        errors: ``crm_not_found`` when there is no such order.
        """
        order_id = record_id(require(params, "order_id")[0], "order_id")
        order = self._one("Order", ("Id", "OrderNumber", "Status", "EffectiveDate",
                                    "TotalAmount", "Description", "ERP_Order_Number__c",
                                    "ERP_Status__c", "AccountId", *_OWNER_FIELDS,
                                    *(f"Account.{f}" for f in _ACCOUNT_FIELDS)), order_id)
        items = self.client.query(
            "SELECT Id, Product2Id, Product2.ProductCode, Product2.Name, Quantity, UnitPrice, "
            f"TotalPrice FROM OrderItem WHERE OrderId = {literal(order['Id'])} "
            "ORDER BY CreatedDate")
        return {
            "order_id": order["Id"], "order_number": order.get("OrderNumber"),
            "status": order.get("Status"), "effective_date": order.get("EffectiveDate"),
            "total_amount": order.get("TotalAmount"), "description": order.get("Description"),
            "erp_order_number": order.get("ERP_Order_Number__c"),
            "erp_status": order.get("ERP_Status__c"), "owner": _owner(order),
            "account": self._account(order),
            "items": [{"item_id": i["Id"], "product_id": i.get("Product2Id"),
                       "product_code": (i.get("Product2") or {}).get("ProductCode"),
                       "product_name": (i.get("Product2") or {}).get("Name"),
                       "quantity": _quantity(i.get("Quantity")),
                       "unit_price": i.get("UnitPrice"), "total_price": i.get("TotalPrice")}
                      for i in items]}

    def update_order(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Change fields of an order.

        params: ``order_id``; ``fields`` — CRM field names to values, e.g.
        ``{"Status": "Synced to ERP", "ERP_Order_Number__c": "SO-1001"}``.
        result: ``{order_id, updated: [field names]}``.
        errors: ``crm_not_found``; ``crm_rejected`` for a value the CRM refuses.
        """
        return self._update("Order", "order_id", params)

    # --- contracts ------------------------------------------------------------------------

    def get_contract(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Read a contract with its customer and owner.

        params: ``contract_id``.
        result: ``{contract_id, contract_number, status, amount, term_months, start_date,
        approval_decision, approval_reason, owner: {id, name, email}, account: {… as in
        crm.get_order}}``.
        errors: ``crm_not_found``.
        """
        contract_id = record_id(require(params, "contract_id")[0], "contract_id")
        contract = self._one("Contract", (
            "Id", "ContractNumber", "Status", "Amount__c", "ContractTerm", "StartDate",
            "Approval_Decision__c", "Approval_Reason__c", "AccountId", *_OWNER_FIELDS,
            *(f"Account.{f}" for f in _ACCOUNT_FIELDS)), contract_id)
        return {
            "contract_id": contract["Id"], "contract_number": contract.get("ContractNumber"),
            "status": contract.get("Status"), "amount": contract.get("Amount__c"),
            "term_months": contract.get("ContractTerm"),
            "start_date": contract.get("StartDate"),
            "approval_decision": contract.get("Approval_Decision__c"),
            "approval_reason": contract.get("Approval_Reason__c"),
            "owner": _owner(contract), "account": self._account(contract)}

    def update_contract(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Change fields of a contract.

        params: ``contract_id``; ``fields`` — e.g. ``{"Status": "Activated",
        "Approval_Decision__c": "approved", "Approval_Reason__c": "…"}``.
        result: ``{contract_id, updated: [field names]}``.
        """
        return self._update("Contract", "contract_id", params)

    # --- cases ----------------------------------------------------------------------------

    def get_case(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Read a complaint case with its customer, contact and related order.

        params: ``case_id``.
        result: ``{case_id, case_number, subject, description, status, priority, origin,
        category, severity, resolution, refund_amount, created_at, owner: {id, name,
        email}, contact: {id, name, email} | null, contact_email, related_order: {id,
        order_number, erp_order_number} | null, account: {… as in crm.get_order} | null}``.
        ``contact`` is the case's contact, else the account's first contact with an e-mail.
        errors: ``crm_not_found``.
        """
        case_id = record_id(require(params, "case_id")[0], "case_id")
        case = self._one("Case", (
            "Id", "CaseNumber", "Subject", "Description", "Status", "Priority", "Origin",
            "Category__c", "Severity__c", "Resolution__c", "Refund_Amount__c", "CreatedDate",
            "ContactId", "Contact.FirstName", "Contact.LastName", "Contact.Email",
            "Related_Order__c", "Related_Order__r.OrderNumber",
            "Related_Order__r.ERP_Order_Number__c", "AccountId", *_OWNER_FIELDS,
            *(f"Account.{f}" for f in _ACCOUNT_FIELDS)), case_id)
        account = self._account(case)
        contact = None
        if case.get("Contact"):
            contact = {"id": case.get("ContactId"), "name": _person(case["Contact"]),
                       "email": case["Contact"].get("Email")}
        elif account and account["contact_email"]:
            contact = {"id": None, "name": account["contact_name"],
                       "email": account["contact_email"]}
        related = case.get("Related_Order__r")
        return {
            "case_id": case["Id"], "case_number": case.get("CaseNumber"),
            "subject": case.get("Subject"), "description": case.get("Description"),
            "status": case.get("Status"), "priority": case.get("Priority"),
            "origin": case.get("Origin"), "category": case.get("Category__c"),
            "severity": case.get("Severity__c"), "resolution": case.get("Resolution__c"),
            "refund_amount": case.get("Refund_Amount__c"),
            "created_at": _iso(case.get("CreatedDate")), "owner": _owner(case),
            "contact": contact, "contact_email": (contact or {}).get("email"),
            "related_order": None if not related else {
                "id": case.get("Related_Order__c"), "order_number": related.get("OrderNumber"),
                "erp_order_number": related.get("ERP_Order_Number__c")},
            "account": account}

    def update_case(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Change fields of a case.

        params: ``case_id``; ``fields`` — e.g. ``{"Status": "Closed", "Resolution__c": "…",
        "Refund_Amount__c": 120.0}``.
        result: ``{case_id, updated: [field names]}``.
        """
        return self._update("Case", "case_id", params)

    # --- tasks ----------------------------------------------------------------------------

    def create_task(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Create a to-do for a person in the CRM, once per call site (idempotent).

        params: ``what_id`` (the Account, Order, Contract or Case it is about), ``subject``;
        optional ``description``, ``owner_id`` (default: the owner of ``what_id``),
        ``due_date`` (``YYYY-MM-DD``).
        result: ``{task_id, owner_id, created}``; ``created`` is false when a task with this
        call's idempotency key (kept in ``Bridgeflow_Key__c``) already existed, and that
        task is returned.
        """
        what_id, subject = require(params, "what_id", "subject")
        key = ctx.idempotency_key
        fields: dict[str, Any] = {"WhatId": record_id(what_id, "what_id"),
                                  "Subject": str(subject), "Bridgeflow_Key__c": key}
        if params.get("description"):
            fields["Description"] = str(params["description"])
        if params.get("due_date"):
            fields["ActivityDate"] = _date(params["due_date"])
        if params.get("owner_id"):
            fields["OwnerId"] = record_id(params["owner_id"], "owner_id")
        existing = self._task_by_key(key)
        if existing:
            return existing
        fields.setdefault("OwnerId", self._owner_of(what_id))
        try:
            task_id = self.client.create("Task", fields)
        except BusinessRuleError as exc:
            # Another attempt created it between our look-up and our insert.
            again = self._task_by_key(key) if exc.details.get("errorCode") == \
                "DUPLICATE_VALUE" else None
            if again:
                return again
            raise
        return {"task_id": task_id, "owner_id": fields["OwnerId"], "created": True}

    def _task_by_key(self, key: str) -> dict[str, Any] | None:
        found = self.client.query("SELECT Id, OwnerId FROM Task WHERE Bridgeflow_Key__c = "
                                  f"{literal(key)} LIMIT 1")
        if not found:
            return None
        return {"task_id": found[0]["Id"], "owner_id": found[0].get("OwnerId"),
                "created": False}

    def _owner_of(self, what_id: str) -> str:
        sobject = _OWNED_BY_PREFIX.get(what_id[:3])
        if sobject is None:
            raise InvalidParameters(f"what_id {what_id} is not an Account, Order, Contract or "
                                    "Case; pass owner_id", {"parameter": "what_id"})
        owner = self.client.get(sobject, what_id, fields=["OwnerId"]).get("OwnerId")
        if not isinstance(owner, str):
            raise InvalidParameters(f"{sobject} {what_id} has no owner; pass owner_id",
                                    {"parameter": "owner_id"})
        return owner

    # --- reconciliation -------------------------------------------------------------------

    def changes_since(self, params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Accounts and orders changed at or after a moment (for the nightly reconciliation).

        params: ``since`` — ISO 8601 date-time (UTC when it has no zone) or date.
        result: ``{since, accounts: [{id, name, account_number, tier, erp_customer_id,
        phone, owner_id, address: {…}, modified_at}], orders: [{id, order_number,
        account_id, status, effective_date, total_amount, erp_order_number, erp_status,
        modified_at}], latest}``; ``latest`` is the newest ``modified_at`` seen (or null),
        to pass as the next ``since``. Records changed within the same second as ``since``
        may come again.
        """
        since = datetime_literal(require(params, "since")[0])
        where = f"SystemModstamp >= {since} ORDER BY SystemModstamp"
        accounts = [{
            "id": a["Id"], "name": a.get("Name"), "account_number": a.get("AccountNumber"),
            "tier": a.get("Tier__c"), "erp_customer_id": a.get("ERP_Customer_Id__c"),
            "phone": a.get("Phone"), "owner_id": a.get("OwnerId"),
            "address": {"street": a.get("BillingStreet"),
                        "postal_code": a.get("BillingPostalCode"),
                        "city": a.get("BillingCity"), "country": a.get("BillingCountry")},
            "modified_at": _iso(a.get("SystemModstamp"))}
            for a in self.client.query(_select(
                ("Id", *_ACCOUNT_FIELDS, "OwnerId", "SystemModstamp"), "Account", where))]
        orders = [{
            "id": o["Id"], "order_number": o.get("OrderNumber"),
            "account_id": o.get("AccountId"), "status": o.get("Status"),
            "effective_date": o.get("EffectiveDate"), "total_amount": o.get("TotalAmount"),
            "erp_order_number": o.get("ERP_Order_Number__c"),
            "erp_status": o.get("ERP_Status__c"), "modified_at": _iso(o.get("SystemModstamp"))}
            for o in self.client.query(_select(
                ("Id", "OrderNumber", "AccountId", "Status", "EffectiveDate", "TotalAmount",
                 "ERP_Order_Number__c", "ERP_Status__c", "SystemModstamp"), "Order", where))]
        stamps = [r["modified_at"] for r in accounts + orders if r["modified_at"]]
        return {"since": since, "accounts": accounts, "orders": orders,
                "latest": max(stamps) if stamps else None}


def _person(contact: Mapping[str, Any] | None) -> str | None:
    if not contact:
        return None
    name = " ".join(p for p in (contact.get("FirstName"), contact.get("LastName")) if p)
    return name or None


def _date(value: Any) -> str:
    text = str(value)
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError as exc:
        raise InvalidParameters(f"due_date {value!r} is not an ISO 8601 date",
                                {"parameter": "due_date"}) from exc


def operations(client: SalesforceClient) -> dict[str, Operation]:
    """The CRM operations by the names BPMN service tasks use."""
    ops = CrmOperations(client)
    reads = CrmReportReads(client)
    return {
        "crm.get_order": ops.get_order,
        "crm.update_order": ops.update_order,
        "crm.get_contract": ops.get_contract,
        "crm.update_contract": ops.update_contract,
        "crm.get_case": ops.get_case,
        "crm.update_case": ops.update_case,
        "crm.create_task": ops.create_task,
        "crm.changes_since": ops.changes_since,
        "crm.accounts_and_orders": reads.accounts_and_orders,
        "crm.accounts_and_cases": reads.accounts_and_cases,
        "crm.orders_awaiting_restock": reads.orders_awaiting_restock,
    }
