"""Report documents for the rendering tests: a sales report whose figures are known."""

from __future__ import annotations

import copy
from typing import Any

CUSTOMERS = ["Acme", "Ünïcode GmbH", "Βήτα Α.Ε.", "=cmd|' /C calc'!A0", "@SUM(1+1)"]


def sales_document(rows: int = 5) -> dict[str, Any]:
    """A November 2026 sales report: ``rows`` customers, a tier pie and an empty section."""
    by_customer = [{"customer": CUSTOMERS[i] if i < len(CUSTOMERS) else f"Customer {i:05d}",
                    "orders": i + 1, "revenue": 1000.5 + i * 250, "previous_revenue": 900 + i,
                    "change": round((1000.5 + i * 250) / (900 + i) - 1, 4),
                    "first_order": f"2026-11-{1 + i % 28:02d}",
                    "updated": "2026-11-30T17:45:00Z"} for i in range(rows)]
    revenue = sum(r["revenue"] for r in by_customer)
    return {
        "kind": "sales", "title": "Sales report",
        "period": {"key": "2026-11", "label": "November 2026", "from": "2026-11-01",
                   "to": "2026-11-30"},
        "previous_period": {"key": "2026-10", "label": "October 2026", "from": "2026-10-01",
                            "to": "2026-10-31"},
        "data_as_of": "2026-12-01T02:00:05Z", "currency": "EUR",
        "summary": [{"label": "Revenue", "value": 12345.6, "previous": 11000.0,
                     "format": "money"},
                    {"label": "Orders", "value": 42, "previous": 40, "format": "integer"},
                    {"label": "Waiting on stock", "value": None, "previous": 3,
                     "format": "integer"}],
        "sections": [
            {"key": "by_customer", "title": "Revenue by customer",
             "columns": [{"key": "customer", "label": "Customer", "format": "text"},
                         {"key": "orders", "label": "Orders", "format": "integer"},
                         {"key": "revenue", "label": "Revenue", "format": "money"},
                         {"key": "previous_revenue", "label": "Previous period",
                          "format": "money"},
                         {"key": "change", "label": "Change", "format": "percent"},
                         {"key": "first_order", "label": "First order", "format": "date"},
                         {"key": "updated", "label": "Updated", "format": "datetime"}],
             "rows": by_customer,
             "totals": {"customer": "Total", "orders": sum(r["orders"] for r in by_customer),
                        "revenue": revenue},
             "chart": {"type": "bar", "label": "customer",
                       "values": ["revenue", "previous_revenue"], "top": 10},
             "empty_text": "No confirmed sales in this period."},
            {"key": "by_tier", "title": "Revenue by account tier",
             "columns": [{"key": "tier", "label": "Tier", "format": "text"},
                         {"key": "revenue", "label": "Revenue", "format": "money"},
                         {"key": "age", "label": "Average age", "format": "days"}],
             "rows": [{"tier": "Gold", "revenue": 7000, "age": 2.5},
                      {"tier": "Silver", "revenue": 3000.25, "age": None}],
             "totals": None, "chart": {"type": "pie", "label": "tier", "values": ["revenue"]},
             "empty_text": "No tiers."},
            {"key": "waiting", "title": "Orders waiting on stock or credit",
             "columns": [{"key": "order", "label": "Order", "format": "text"},
                         {"key": "since", "label": "Waiting since", "format": "date"}],
             "rows": [], "totals": None, "chart": None,
             "empty_text": "No orders waiting in this period."}]}


def changed(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the value at a dotted path (``sections.0.rows.1.x``) set;
    the value ``...`` removes the key."""
    result = copy.deepcopy(document)
    *parents, last = path.split(".")
    target: Any = result
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is ...:
        del target[int(last) if isinstance(target, list) else last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return result
