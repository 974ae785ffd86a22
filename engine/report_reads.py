"""What the report processes read from the engine itself: ``reports.period`` (the period a
run covers) and ``reports.waiting_orders`` (orders and contracts still waiting in Bridgeflow)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from . import periods
from .db import Database
from .errors import EngineError
from .models import Instance, utcnow
from .registry import CallContext
from .vocabulary import InstanceStatus

WAITING_ROWS = 5000
"""At most this many waiting instances are read into one report."""
_STOCK_WAITS = {"wait_for_restock"}


class ReportReadError(EngineError):
    """A report process asked for what cannot be read: retrying cannot help."""

    retryable = False


def period(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    """``reports.period``: params ``period`` (a key, or empty: the last complete period of
    ``default_kind``, ``week`` unless given); result ``{period, previous_period}``."""
    today = utcnow().date()
    key = params.get("period")
    try:
        if key in (None, ""):
            chosen = periods.last_complete(str(params.get("default_kind") or "week"), today)
        else:
            chosen = periods.complete(key, today)
    except ValueError:
        kinds = ", ".join(k.value for k in periods.PeriodKind)
        raise ReportReadError(f"'default_kind' {params.get('default_kind')!r} is not a kind "
                              f"of period; use {kinds}") from None
    except periods.PeriodError as exc:
        raise ReportReadError(exc.message, exc.details) from None
    return {"period": chosen.as_dict(), "previous_period": chosen.previous().as_dict()}


def _age_days(since: datetime, now: datetime) -> float:
    return round((now - since).total_seconds() / 86400, 2)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _waiting_row(inst: Instance, now: datetime) -> dict[str, Any]:
    data = inst.variables or {}
    record = data.get("order") or data.get("contract") or {}
    record = record if isinstance(record, dict) else {}
    account = _dict(record.get("account"))
    owner = _dict(record.get("owner"))
    items = record.get("items")
    items = items if isinstance(items, list) else []
    at = list(inst.active_elements or [])
    on = "stock" if _STOCK_WAITS & set(at) else "credit" \
        if inst.process_key == "credit_approval" else "review"
    return {
        "instance_id": inst.id, "process_key": inst.process_key,
        "business_key": inst.business_key, "waiting_on": on, "waiting_at": at,
        "record_id": record.get("order_id") or record.get("contract_id") or inst.business_key,
        "record_number": record.get("order_number") or record.get("contract_number"),
        "account_id": account.get("id"), "account_name": account.get("name"),
        "owner": owner.get("name"),
        "amount": record.get("total_amount", record.get("amount")),
        "products": [{"product_code": i.get("product_code"), "quantity": i.get("quantity")}
                     for i in items if isinstance(i, dict)],
        "started_at": inst.created_at.isoformat() + "Z",
        "age_days": _age_days(inst.created_at, now)}


def waiting_operation(db: Database) -> Callable[..., dict[str, Any]]:
    """``reports.waiting_orders``: params ``processes`` (default order_sync and
    credit_approval); result ``{as_of, instances: [{instance_id, process_key, waiting_on
    (stock, credit or review), record_id, account_id, account_name, owner, amount,
    products, started_at, age_days}]}``, oldest first."""
    def waiting(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        keys = params.get("processes") or ["order_sync", "credit_approval"]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ReportReadError("'processes' must be a list of process keys")
        now = utcnow()
        with db.read() as s:
            rows = list(s.scalars(select(Instance).options(defer(Instance.state)).where(
                Instance.process_key.in_(keys), Instance.status == InstanceStatus.WAITING,
                Instance.parent_instance_id.is_(None))
                .order_by(Instance.created_at, Instance.id).limit(WAITING_ROWS)))
            found = [_waiting_row(r, now) for r in rows]
        return {"as_of": now.isoformat() + "Z", "instances": found}
    return waiting
