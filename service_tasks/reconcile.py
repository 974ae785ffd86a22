"""Reconciliation of the ERP and the CRM: read both sides, compare them, repair what is safe.

Which side is authoritative for a field is what the field mappings say, by their direction:

- ``crm_order_to_erp`` writes the customer (name, e-mail, phone, address, tier) and the order
  lines from the CRM into the ERP: the CRM decides those. A customer missing in the ERP is
  created from the CRM (safe: nothing is overwritten); a customer, lines or an amount that
  differ in an ERP that has already booked them is a conflict for a person.
- ``erp_order_status_to_crm`` writes the ERP order number and state onto the CRM order: the
  ERP decides those, and a CRM order that shows something else is simply written again.

``compare`` and ``render`` are pure; ``Reconciler`` reads and repairs through the ERP and
CRM operations. Records and results are JSON-able (money as text with two decimals).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from service_tasks.base import BusinessRuleError, CallInfo, InvalidParameters, require
from service_tasks.crm.crm_operations import CrmOperations
from service_tasks.crm.soql import literal
from service_tasks.mapping import Mapping as FieldMapping
from service_tasks.mapping import MappingSet
from service_tasks.tryton.erp_operations import TrytonOperations

log = logging.getLogger(__name__)

Operation = Callable[[dict[str, Any], CallInfo], dict[str, Any]]

TO_ERP, TO_CRM = "crm_order_to_erp", "erp_order_status_to_crm"
CUSTOMER_FIELDS = ("name", "email", "phone", "street", "postal_code", "city", "country_code")
# CRM orders that the ERP must know; drafts are not sent and cancelled ones are gone.
PLACED = ("Activated", "Awaiting restock", "Synced to ERP")
# ERP sales whose number and state the CRM shows; drafts and quotations are not booked yet.
BOOKED = ("confirmed", "processing", "done", "cancelled")
FULL_READ_SINCE = "2000-01-01T00:00:00Z"


# --- comparing (pure) ----------------------------------------------------------------------

def compare(snapshot: Mapping[str, Any], to_erp: FieldMapping,
            to_crm: FieldMapping) -> dict[str, Any]:
    """Every difference in ``snapshot`` (see ``Reconciler.read``), safe fixes and conflicts."""
    differences: list[dict[str, Any]] = []
    fixes: list[dict[str, Any]] = []
    placed = {o["crm"]["account"]["id"] for o in snapshot.get("orders", [])
              if o.get("crm") and o["crm"].get("account") and o["crm"]["status"] in PLACED}
    for pair in snapshot.get("customers", []):
        _compare_customer(pair, pair["crm_account_id"] in placed, to_erp, differences, fixes)
    for pair in snapshot.get("orders", []):
        _compare_order(pair, to_erp, to_crm, differences, fixes)
    conflicts = [d for d in differences if d["action"] == "conflict"]
    return {"since": snapshot.get("since"), "differences": differences, "safe_fixes": fixes,
            "conflicts": conflicts,
            "counts": {"differences": len(differences), "safe": len(differences)
                       - len(conflicts), "conflicts": len(conflicts)}}


def _difference(record: str, key: str, label: str, field: str, crm: Any, erp: Any,
                authority: str | None, action: str) -> dict[str, Any]:
    return {"record": record, "id": key, "label": label, "field": field, "crm": crm,
            "erp": erp, "authority": authority, "action": action}


def _customer_params(account: Mapping[str, Any],
                     to_erp: FieldMapping) -> tuple[dict[str, Any] | None, str | None]:
    """The ERP customer the CRM account maps to (as erp.ensure_customer takes it)."""
    order = {"order_id": "-", "items": [], "account": account}
    try:
        mapped = to_erp.apply(order)
    except BusinessRuleError as exc:
        return None, exc.message
    return {k: mapped[k] for k in ("crm_account_id", "tier", *CUSTOMER_FIELDS)
            if mapped.get(k) is not None}, None


def _compare_customer(pair: Mapping[str, Any], has_orders: bool, to_erp: FieldMapping,
                      out: list[dict[str, Any]], fixes: list[dict[str, Any]]) -> None:
    key, crm, erp = pair["crm_account_id"], pair.get("crm"), pair.get("erp")
    label = f"Customer {(crm or erp or {}).get('name') or key}"
    if crm is None:
        if erp is not None:
            out.append(_difference("customer", key, label, "exists", None, "yes", None,
                                   "conflict"))
        return
    wanted, problem = _customer_params(crm, to_erp)
    if wanted is None:
        if has_orders or erp is not None:
            out.append(_difference("customer", key, label, "CRM data", problem, None, "crm",
                                   "conflict"))
        return
    if erp is None:
        if has_orders:  # the ERP must know whoever has orders; creating overwrites nothing
            out.append(_difference("customer", key, label, "exists", "yes", None, "crm",
                                   "repair"))
            fixes.append({"kind": "create_erp_customer", "label": label, "params": wanted})
        return
    for field in CUSTOMER_FIELDS:
        if _text(wanted.get(field)) != _text(erp.get(field)):
            out.append(_difference("customer", key, label, field, wanted.get(field),
                                   erp.get(field), "crm", "conflict"))


def _compare_order(pair: Mapping[str, Any], to_erp: FieldMapping, to_crm: FieldMapping,
                   out: list[dict[str, Any]], fixes: list[dict[str, Any]]) -> None:
    key, crm, erp = pair["crm_order_id"], pair.get("crm"), pair.get("erp") or {}
    number = erp.get("order_number")
    label = f"CRM order {(crm or {}).get('order_number') or key}" + (
        f" / ERP order {number}" if number else "")
    if crm is None:
        if erp.get("found"):
            out.append(_difference("order", key, label, "exists", None, "yes", None,
                                   "conflict"))
        return
    if not erp.get("found"):
        if crm["status"] in PLACED and crm["status"] != "Awaiting restock":
            out.append(_difference("order", key, label, "exists", "yes", None, "crm",
                                   "conflict"))
        return
    if erp.get("state") in BOOKED:
        wanted = to_crm.apply({"number": number, "state": erp["state"]})
        shown = {"ERP_Order_Number__c": crm.get("erp_order_number"),
                 "ERP_Status__c": crm.get("erp_status"), "Status": crm.get("status")}
        changed = [f for f in wanted if _text(wanted[f]) != _text(shown.get(f))]
        for field in changed:
            out.append(_difference("order", key, label, field, shown.get(field), wanted[field],
                                   "erp", "repair"))
        if changed:
            fixes.append({"kind": "update_crm_order", "label": label, "order_id": key,
                          "fields": dict(wanted)})
    try:
        lines = to_erp.apply({"order_id": key, "account": crm.get("account") or {},
                              "items": crm.get("items") or []}).get("lines", [])
    except BusinessRuleError as exc:
        out.append(_difference("order", key, label, "CRM data", exc.message, None, "crm",
                               "conflict"))
        return
    crm_lines, erp_lines = _lines(lines), _lines(erp.get("lines") or [])
    if crm_lines != erp_lines:
        out.append(_difference("order", key, label, "lines", crm_lines, erp_lines, "crm",
                               "conflict"))
    crm_amount, erp_amount = _money(crm.get("total_amount")), _money(erp.get("untaxed"))
    if crm_amount != erp_amount:
        out.append(_difference("order", key, label, "amount", crm_amount, erp_amount, "crm",
                               "conflict"))


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _money(value: Any) -> str | None:
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.01'))}" if value is not None else None
    except InvalidOperation:
        return str(value)


def _lines(lines: Iterable[Mapping[str, Any]]) -> list[str]:
    """Order lines as comparable text: ``BF-100 × 2 at 420.00``, sorted."""
    return sorted(f"{line.get('product_code')} × {Decimal(str(line.get('quantity'))).normalize():f}"
                  f" at {_money(line.get('unit_price'))}" for line in lines)


# --- the report (pure) ---------------------------------------------------------------------

def render(report: Mapping[str, Any], repaired: list[dict[str, Any]],
           failed: list[dict[str, Any]]) -> tuple[str, str]:
    """The subject and text of a run's report, for people."""
    conflicts = list(report["conflicts"])
    fixed = {r["label"] for r in repaired}
    done = [d for d in report["differences"] if d["action"] == "repair" and d["label"] in fixed]
    subject = (f"Reconciliation: {len(report['differences'])} difference(s), "
               f"{len(done)} repaired, {len(conflicts) + len(failed)} to resolve")
    since = report.get("since") or "the beginning"
    parts = [f"The ERP and the CRM were compared for changes since {since}.", ""]
    sections = (("Repaired automatically", done), ("Repairs that failed", failed),
                ("Conflicts for a person (both values side by side)", conflicts))
    for title, items in sections:
        if items:
            parts += [f"{title}:", *(f"- {_line(d)}" for d in items), ""]
    if not report["differences"]:
        parts.append("No differences.")
    return subject, "\n".join(parts).rstrip() + "\n"


def _line(item: Mapping[str, Any]) -> str:
    if "field" not in item:
        return f"{item['label']}: {item.get('error')}"
    decides = {"crm": "the CRM decides", "erp": "the ERP decides"}.get(item["authority"] or "",
                                                                      "nobody decides")
    return (f"{item['label']}, {item['field']}: CRM {_shown(item['crm'])}, "
            f"ERP {_shown(item['erp'])} ({decides})")


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return "(none)"
    return "; ".join(value) if isinstance(value, list) else str(value)


# --- reading and repairing -----------------------------------------------------------------

_ACCOUNT_SELECT = ("SELECT Id, Name, Tier__c, Phone, BillingStreet, BillingPostalCode, "
                   "BillingCity, BillingCountry FROM Account WHERE Id IN ")


class Reconciler:
    """The ``reconcile.*`` operations that talk to both systems."""

    def __init__(self, erp: TrytonOperations, crm: CrmOperations, mappings: MappingSet) -> None:
        self.erp = erp
        self.crm = crm
        self.mappings = mappings

    def read(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Customers and orders changed on either side since a time, with both sides' view.

        Params: ``since`` (ISO 8601; null or empty: everything).
        Result: ``{since, customers: [{crm_account_id, crm, erp}], orders: [{crm_order_id,
        crm (as crm.get_order, or null), erp (as erp.find_order)}]}``; the CRM account is
        shaped as in crm.get_order, the ERP customer as in erp.find_customer.
        """
        since = str(params.get("since") or FULL_READ_SINCE)
        crm_changes = self.crm.changes_since({"since": since}, ctx)
        erp_changes = self.erp.changes_since({"since": since}, ctx)
        order_ids = list(dict.fromkeys([o["id"] for o in crm_changes["orders"]]
                                       + [o["crm_order_id"] for o in erp_changes["orders"]]))
        orders = [{"crm_order_id": oid, "crm": self._crm_order(oid, ctx),
                   "erp": self.erp.find_order({"crm_order_id": oid}, ctx)} for oid in order_ids]
        account_ids = list(dict.fromkeys(
            [a["id"] for a in crm_changes["accounts"]]
            + [c["crm_account_id"] for c in erp_changes["customers"] if c["crm_account_id"]]
            + [o["crm"]["account"]["id"] for o in orders if o["crm"] and o["crm"]["account"]]))
        accounts = self._crm_accounts(account_ids)
        customers = [{"crm_account_id": aid, "crm": accounts.get(aid),
                      "erp": self.erp.find_customer({"crm_account_id": aid}, ctx)["customer"]}
                     for aid in account_ids if _crm_id(aid, "001")]
        return {"since": params.get("since") or None, "customers": customers, "orders": orders}

    def _crm_order(self, order_id: str, ctx: CallInfo) -> dict[str, Any] | None:
        if not _crm_id(order_id, "801"):
            return None
        try:
            return self.crm.get_order({"order_id": order_id}, ctx)
        except BusinessRuleError as exc:
            if exc.code == "crm_not_found":
                return None
            raise

    def _crm_accounts(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        wanted = [i for i in ids if _crm_id(i, "001")]
        if not wanted:
            return {}
        where = "(" + ", ".join(literal(i) for i in wanted) + ")"
        rows = self.crm.client.query(_ACCOUNT_SELECT + where)
        contacts: dict[str, str] = {}
        for c in self.crm.client.query("SELECT AccountId, Email FROM Contact WHERE AccountId IN "
                                       f"{where} AND Email != null ORDER BY CreatedDate"):
            contacts.setdefault(c["AccountId"], c["Email"])
        return {r["Id"]: {"id": r["Id"], "name": r.get("Name"), "tier": r.get("Tier__c"),
                          "phone": r.get("Phone"), "contact_email": contacts.get(r["Id"]),
                          "address": {"street": r.get("BillingStreet"),
                                      "postal_code": r.get("BillingPostalCode"),
                                      "city": r.get("BillingCity"),
                                      "country": r.get("BillingCountry")}} for r in rows}

    def compare(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Params: ``snapshot`` (from reconcile.read). Result: as ``compare`` returns it."""
        (snapshot,) = require(params, "snapshot")
        if not isinstance(snapshot, dict):
            raise InvalidParameters("snapshot must be the result of reconcile.read",
                                    {"parameter": "snapshot"})
        return compare(snapshot, self.mappings.get(TO_ERP), self.mappings.get(TO_CRM))

    def repair(self, params: Mapping[str, Any], ctx: CallInfo) -> dict[str, Any]:
        """Apply a report's safe fixes; a fix the system refuses becomes one to resolve.

        Params: ``report`` (from reconcile.compare).
        Result: ``{repaired, failed: [{label, error}], to_resolve, subject, text}``;
        ``to_resolve`` counts the conflicts and the failed fixes. Transient failures are
        raised (the engine retries; every fix may be applied again without harm).
        """
        (report,) = require(params, "report")
        repaired: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for fix in report.get("safe_fixes", []):
            try:
                self._apply(fix, ctx)
            except BusinessRuleError as exc:
                log.warning("reconciliation could not repair %s: %s", fix["label"], exc.code,
                            extra={"instance_id": ctx.instance_id})
                failed.append({"label": fix["label"], "error": exc.message})
            else:
                repaired.append(fix)
        subject, text = render(report, repaired, failed)
        return {"repaired": repaired, "failed": failed,
                "to_resolve": len(report.get("conflicts", [])) + len(failed),
                "subject": subject, "text": text}

    def _apply(self, fix: Mapping[str, Any], ctx: CallInfo) -> None:
        if fix["kind"] == "update_crm_order":
            self.crm.update_order({"order_id": fix["order_id"], "fields": fix["fields"]}, ctx)
        elif fix["kind"] == "create_erp_customer":
            self.erp.ensure_customer(fix["params"], ctx)
        else:
            raise InvalidParameters(f"unknown kind of fix {fix['kind']!r}", {"fix": fix["kind"]})


def _crm_id(value: Any, prefix: str) -> bool:
    """Whether ``value`` looks like a CRM record id of the object with that key prefix."""
    return isinstance(value, str) and len(value) in (15, 18) and value.startswith(prefix)


def operations(reconciler: Reconciler) -> dict[str, Operation]:
    """``reconcile.read``, ``reconcile.compare`` and ``reconcile.repair``."""
    return {"reconcile.read": reconciler.read, "reconcile.compare": reconciler.compare,
            "reconcile.repair": reconciler.repair}
