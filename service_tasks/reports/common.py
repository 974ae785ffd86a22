"""What every report builder shares: amounts, periods, columns, sections and the document."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from service_tasks.base import CallInfo, InvalidParameters

Operation = Callable[[dict[str, Any], CallInfo], dict[str, Any]]
NO_TIER = "(no tier)"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise InvalidParameters(f"{value!r} is not an amount", {"value": str(value)[:40]}) \
            from None


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def share(part: Decimal, whole: Decimal) -> float | None:
    return round(float(part / whole), 4) if whole else None


def change(now: Decimal, before: Decimal | None) -> float | None:
    return round(float((now - before) / before), 4) if before else None


def column(key: str, label: str, fmt: str = "text") -> dict[str, str]:
    return {"key": key, "label": label, "format": fmt}


def section(key: str, title: str, columns: list[dict[str, str]], rows: list[dict[str, Any]],
             empty_text: str, totals: dict[str, Any] | None = None,
             chart: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"key": key, "title": title, "columns": columns, "rows": rows,
            "totals": totals if rows else None, "chart": chart if rows else None,
            "empty_text": empty_text}


def figure(label: str, value: Any, fmt: str, previous: Any = None) -> dict[str, Any]:
    return {"label": label, "value": value, "previous": previous, "format": fmt}


def records(params: Mapping[str, Any], name: str, key: str) -> list[Mapping[str, Any]]:
    """``params[name][key]`` as a list of objects (a connector's answer, checked)."""
    outer = params.get(name)
    rows = outer.get(key) if isinstance(outer, Mapping) else None
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise InvalidParameters(f"'{name}' must be the answer that carries '{key}' (a list "
                                "of records)", {"parameter": name})
    return rows


def _period(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not {"key", "label", "from", "to"} <= set(value):
        raise InvalidParameters(f"'{name}' must be a period {{key, label, from, to}} (from "
                                "reports.period)", {"parameter": name})
    return {k: value[k] for k in ("key", "label", "from", "to")}


def document(kind: str, title: str, params: Mapping[str, Any], summary: list[Any],
              sections: list[Any], currency: Any = None,
              with_previous: bool = True) -> dict[str, Any]:
    period = _period(params, "period")
    if period is None:
        raise InvalidParameters("'period' is required (from reports.period)",
                                {"parameter": "period"})
    return {"kind": kind, "title": title, "period": period,
            "previous_period": _period(params, "previous_period") if with_previous else None,
            "data_as_of": _now(), "currency": currency or "EUR", "summary": summary,
            "sections": sections}


def crm_accounts(params: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(a.get("id")): a for a in records(params, "crm", "accounts")}


