"""Fake CRM, ERP and mail operations for the shipped processes: they keep records like the real
systems do (same result shapes as the real operations' docstrings) and remember every call.

They raise the connectors' own errors (``service_tasks.base``), which the engine reads as
it reads the real connectors', so a process meets the same BPMN errors, retries and
incidents here as in production.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.registry import CallContext, OperationRegistry, RetryPolicy
from service_tasks.base import BusinessRuleError, InvalidParameters, TransientError, require

SAM = {"id": "005000000000001AAA", "name": "Sam Seller", "email": "sam@example.com"}
SUE = {"id": "005000000000003AAA", "name": "Sue Support", "email": "sue@example.com"}
ACCOUNTS = {
    "001000000000001AAA": ("Acme", "gold"),
    "001000000000002AAA": ("Borealis", "silver"),
    "001000000000003AAA": ("Cobalt", "bronze"),
    "001000000000004AAA": ("Delta", "silver"),
    "001000000000005AAA": ("Evergreen", "gold"),
    "001000000000006AAA": ("Fjord", "bronze"),
    "001000000000009AAA": ("Newcomer", None),
}


def account(account_id: str) -> dict[str, Any]:
    """The account block the CRM operations compose into contracts, orders and cases."""
    name, tier = ACCOUNTS[account_id]
    return {"id": account_id, "name": name, "account_number": None, "tier": tier,
            "erp_customer_id": None, "phone": None, "contact_name": f"{name} Buyer",
            "contact_email": f"buyer@{name.lower()}.example",
            "address": {"street": None, "postal_code": None, "city": None, "country": None}}


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    ctx: CallContext


@dataclass
class FakeCrm:
    """Contracts, cases and to-dos, by id; field writes use the CRM's field names."""

    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # record id → written
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key → task
    calls: list[Call] = field(default_factory=list)

    def add_contract(self, contract_id: str, account_id: str, amount: float | None,
                     term_months: int | None = 12) -> dict[str, Any]:
        number = f"{100 + len(self.contracts):08d}"
        self.contracts[contract_id] = {
            "contract_id": contract_id, "contract_number": number,
            "status": "In Approval Process", "amount": amount, "term_months": term_months,
            "start_date": "2025-01-01", "approval_decision": None, "approval_reason": None,
            "owner": dict(SAM), "account": account(account_id)}
        return self.contracts[contract_id]

    def add_case(self, case_id: str, account_id: str | None, *, category: str | None,
                 severity: str | None, order_id: str | None = None,
                 contact_email: str | None = "buyer@example.org") -> dict[str, Any]:
        contact = None if contact_email is None else {
            "id": "003000000000001AAA", "name": "Bea Buyer", "email": contact_email}
        self.cases[case_id] = {
            "case_id": case_id, "case_number": str(1000 + len(self.cases)),
            "subject": "The parcel arrived damaged", "description": "Two cups broken.",
            "status": "New", "priority": "Medium", "origin": "Web", "category": category,
            "severity": severity, "resolution": None, "refund_amount": None,
            "created_at": "2025-01-01T09:00:00.000Z", "owner": dict(SUE), "contact": contact,
            "contact_email": contact_email,
            "related_order": None if order_id is None else {
                "id": order_id, "order_number": "00000100", "erp_order_number": None},
            "account": None if account_id is None else account(account_id)}
        return self.cases[case_id]

    def _call(self, operation: str, params: dict[str, Any], ctx: CallContext) -> None:
        self.calls.append(Call(operation, copy.deepcopy(params), ctx))

    def called(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    def get_contract(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._call("crm.get_contract", params, ctx)
        (contract_id,) = require(params, "contract_id")
        if contract_id not in self.contracts:
            raise BusinessRuleError("crm_not_found", f"there is no Contract {contract_id}")
        return copy.deepcopy(self.contracts[contract_id])

    def get_case(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._call("crm.get_case", params, ctx)
        (case_id,) = require(params, "case_id")
        if case_id not in self.cases:
            raise BusinessRuleError("crm_not_found", f"there is no Case {case_id}")
        return copy.deepcopy(self.cases[case_id])

    def _update(self, operation: str, key: str, params: dict[str, Any],
                ctx: CallContext) -> dict[str, Any]:
        self._call(operation, params, ctx)
        (record_id,) = require(params, key)
        if not isinstance(params.get("fields"), dict) or not params["fields"]:
            raise InvalidParameters("fields must be a non-empty mapping")
        self.fields.setdefault(record_id, {}).update(params["fields"])
        return {key: record_id, "updated": sorted(params["fields"])}

    def update_contract(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._update("crm.update_contract", "contract_id", params, ctx)

    def update_case(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._update("crm.update_case", "case_id", params, ctx)

    def create_task(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._call("crm.create_task", params, ctx)
        what_id, subject = require(params, "what_id", "subject")
        key = ctx.idempotency_key
        if key not in self.tasks:
            record = self.contracts.get(what_id) or self.cases.get(what_id) or {}
            owner = params.get("owner_id") or (record.get("owner") or {}).get("id")
            self.tasks[key] = {"task_id": f"00T{len(self.tasks):015d}", "what_id": what_id,
                               "subject": subject, "description": params.get("description"),
                               "owner_id": owner}
        task = self.tasks[key]
        return {"task_id": task["task_id"], "owner_id": task["owner_id"], "created": True}

    def tasks_on(self, record_id: str) -> list[dict[str, Any]]:
        return [t for t in self.tasks.values() if t["what_id"] == record_id]


@dataclass
class FakeErp:
    """Credit by customer, orders by CRM order id, refunds by case id (as Tryton keeps them)."""

    credit: dict[str, tuple[Decimal | None, Decimal]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    refund_error: BusinessRuleError | None = None
    # the next refund is made, then the answer is lost (a time-out after the ERP committed)
    lose_refund_answers: int = 0

    def called(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    def get_credit(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.calls.append(Call("erp.get_credit", copy.deepcopy(params), ctx))
        (account_id,) = require(params, "crm_account_id")
        if account_id not in self.credit:
            raise BusinessRuleError("unknown_customer",
                                    f"no ERP customer for CRM account {account_id}")
        limit, exposure = self.credit[account_id]
        return {"crm_account_id": account_id, "limit": money(limit), "exposure": money(exposure),
                "available": money(limit - exposure) if limit is not None else None,
                "currency": "EUR"}

    def find_order(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.calls.append(Call("erp.find_order", copy.deepcopy(params), ctx))
        (order_id,) = require(params, "crm_order_id")
        if order_id not in self.orders:
            return {"found": False, "sale_id": None, "order_number": None,
                    "crm_account_id": None, "state": None, "shipment_state": None,
                    "invoice_state": None, "sale_date": None, "lines": [], "untaxed": None,
                    "total": None, "currency": None}
        return {"found": True, **copy.deepcopy(self.orders[order_id])}

    def add_order(self, order_id: str, account_id: str, total: str) -> None:
        self.orders[order_id] = {
            "sale_id": len(self.orders) + 1, "order_number": f"SO{len(self.orders) + 1:04d}",
            "crm_account_id": account_id, "state": "processing", "shipment_state": "sent",
            "invoice_state": "paid", "sale_date": "2025-01-02",
            "lines": [{"product_code": "CUP", "description": "Cup", "quantity": 10,
                       "unit_price": "12.00", "amount": total}],
            "untaxed": total, "total": total, "currency": "EUR"}

    def create_refund(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.calls.append(Call("erp.create_refund", copy.deepcopy(params), ctx))
        case_id, amount, _reason = require(params, "case_id", "amount", "reason")
        if self.refund_error is not None:
            raise self.refund_error
        if not params.get("crm_order_id") and not params.get("crm_account_id"):
            raise InvalidParameters("missing parameter(s): crm_order_id or crm_account_id")
        created = case_id not in self.refunds
        if created:
            self.refunds[case_id] = {
                "refund_number": f"SO{900 + len(self.refunds)}",
                "complaint_number": f"C{len(self.refunds) + 1}",
                "amount": money(Decimal(str(amount))), "state": "confirmed",
                "against": params.get("crm_order_id") or params.get("crm_account_id")}
        if self.lose_refund_answers:
            self.lose_refund_answers -= 1
            raise TransientError("the ERP did not answer in time (read timed out)")
        refund = self.refunds[case_id]
        return {k: refund[k] for k in ("refund_number", "complaint_number", "amount", "state")} \
            | {"created": created}


@dataclass
class FakeMail:
    sent: list[dict[str, Any]] = field(default_factory=list)

    def email(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        to, subject, body = require(params, "to", "subject", "body")
        self.sent.append({"to": to, "subject": subject, "body": body,
                          "key": ctx.idempotency_key})
        return {"message_id": f"<bf.{len(self.sent)}@example.org>", "recipients": [to]}


@dataclass
class Systems:
    crm: FakeCrm = field(default_factory=FakeCrm)
    erp: FakeErp = field(default_factory=FakeErp)
    mail: FakeMail = field(default_factory=FakeMail)

    def registry(self) -> OperationRegistry:
        """The operations the shipped processes call, registered as the app registers them."""
        fast = RetryPolicy(attempts=3, backoff_seconds=0.05, factor=1.0)
        registry = OperationRegistry()
        operations = {
            "crm.get_contract": self.crm.get_contract,
            "crm.update_contract": self.crm.update_contract,
            "crm.get_case": self.crm.get_case,
            "crm.update_case": self.crm.update_case,
            "crm.create_task": self.crm.create_task,
            "erp.get_credit": self.erp.get_credit,
            "erp.find_order": self.erp.find_order,
            "erp.create_refund": self.erp.create_refund,
            "notify.email": self.mail.email,
        }
        for name, fn in operations.items():
            registry.register(name, fn, retry=fast)
        return registry
