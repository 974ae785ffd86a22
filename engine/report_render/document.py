"""The report document a business report process hands to ``reports.store``, checked.

The document comes from process variables, so it is untrusted: every value is checked
against its column's format, every size against a limit, and every problem is named by its
path (``sections[2].rows[14].revenue: not a number``). ``validate`` answers a normalised
copy (defaults filled in, whole numbers as ``int``) that the renderers can rely on.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from ..errors import EngineError

KINDS = ("sales", "inventory", "customer")
FORMATS = ("text", "integer", "number", "money", "percent", "date", "datetime", "days")
NUMERIC = frozenset({"integer", "number", "money", "percent", "days"})
CHART_TYPES = ("bar", "line", "pie")

MAX_SECTIONS = 50
MAX_ROWS = 200_000
MAX_COLUMNS = 100
MAX_SUMMARY = 50
MAX_TEXT = 2_000
MAX_TITLE = 200
MAX_CHART_TOP = 50
MAX_CHART_VALUES = 6
MAX_PROBLEMS = 20

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_COLUMN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReportDocumentError(EngineError):
    """A report document that cannot be rendered; ``details['problems']`` names each path."""

    code = "invalid_report"
    retryable = False


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(f"{path}: {message}")

    def full(self) -> bool:
        return len(self.items) >= MAX_PROBLEMS


def validate(document: Any) -> dict[str, Any]:
    """The document, checked and normalised; ``ReportDocumentError`` names what is wrong."""
    problems = _Problems()
    result = _document(document, problems)
    if problems.items:
        shown = "; ".join(problems.items[:5])
        more = len(problems.items) - 5
        raise ReportDocumentError(
            f"the report document is not valid: {shown}" + (f" (and {more} more)" if more > 0
                                                              else ""),
            {"problems": problems.items})
    assert result is not None
    return result


def _document(doc: Any, p: _Problems) -> dict[str, Any] | None:
    if not isinstance(doc, dict):
        p.add("report", "not an object (a report document is a mapping)")
        return None
    _unknown(doc, {"kind", "title", "period", "previous_period", "data_as_of", "currency",
                   "summary", "sections"}, "report", p)
    kind = doc.get("kind")
    if kind not in KINDS:
        p.add("kind", f"unknown kind {kind!r}; use {', '.join(KINDS)}")
    currency = doc.get("currency", "EUR")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        p.add("currency", f"{currency!r} is not a three-letter currency code such as EUR")
    as_of = doc.get("data_as_of")
    if _datetime(as_of) is None:
        p.add("data_as_of", "not an ISO date-time such as 2026-12-01T02:00:05Z")
    previous = doc.get("previous_period")
    summary = doc.get("summary", [])
    sections = doc.get("sections")
    if not isinstance(summary, list):
        p.add("summary", "not a list")
        summary = []
    elif len(summary) > MAX_SUMMARY:
        p.add("summary", f"{len(summary)} figures; at most {MAX_SUMMARY}")
        summary = []
    if not isinstance(sections, list):
        p.add("sections", "missing or not a list")
        sections = []
    elif len(sections) > MAX_SECTIONS:
        p.add("sections", f"{len(sections)} sections; at most {MAX_SECTIONS}")
        sections = []
    total_rows = sum(len(s["rows"]) for s in sections
                     if isinstance(s, dict) and isinstance(s.get("rows"), list))
    if total_rows > MAX_ROWS:
        p.add("sections", f"{total_rows} rows in all; at most {MAX_ROWS:,} are rendered")
        sections = []
    checked = [_section(s, f"sections[{i}]", p) for i, s in enumerate(sections)]
    keys = [s["key"] for s in checked if s is not None]
    for key in {k for k in keys if keys.count(k) > 1}:
        p.add("sections", f"two sections have the key {key!r}")
    return {"kind": kind, "title": _text(doc.get("title"), "title", p, MAX_TITLE, True),
            "period": _period(doc.get("period"), "period", p),
            "previous_period": None if previous is None
            else _period(previous, "previous_period", p),
            "data_as_of": as_of, "currency": currency,
            "summary": [_figure(f, f"summary[{i}]", p) for i, f in enumerate(summary)],
            "sections": checked}


def _unknown(obj: dict[str, Any], known: set[str], path: str, p: _Problems) -> None:
    for key in obj:
        if key not in known:
            p.add(f"{path}.{key}" if path != "report" else str(key),
                  f"unknown key; expected {', '.join(sorted(known))}")


def _text(value: Any, path: str, p: _Problems, limit: int = MAX_TEXT,
          required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        p.add(path, "missing or not text" if required else "not text")
        return ""
    if len(value) > limit:
        p.add(path, f"{len(value)} characters; at most {limit}")
    elif _CONTROL.search(value):
        p.add(path, "contains control characters")
    return value


def _period(value: Any, path: str, p: _Problems) -> dict[str, Any]:
    if not isinstance(value, dict):
        p.add(path, "missing or not an object with key, label, from and to")
        return {"key": "", "label": "", "from": None, "to": None}
    _unknown(value, {"key", "label", "from", "to"}, path, p)
    key = value.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        p.add(f"{path}.key", "missing, or not letters, digits, '-' and '_' (like 2026-11)")
    start, end = _date(value.get("from")), _date(value.get("to"))
    if start is None:
        p.add(f"{path}.from", "not an ISO date such as 2026-11-01")
    if end is None:
        p.add(f"{path}.to", "not an ISO date such as 2026-11-30")
    if start is not None and end is not None and start > end:
        p.add(f"{path}.from", f"{start} is after 'to' ({end})")
    return {"key": key, "label": _text(value.get("label"), f"{path}.label", p, MAX_TITLE, True),
            "from": value.get("from"), "to": value.get("to")}


def _figure(value: Any, path: str, p: _Problems) -> dict[str, Any]:
    if not isinstance(value, dict):
        p.add(path, "not an object with label, value, previous and format")
        return {"label": "", "value": None, "previous": None, "format": "text"}
    _unknown(value, {"label", "value", "previous", "format"}, path, p)
    fmt = value.get("format", "number")
    if fmt not in FORMATS:
        p.add(f"{path}.format", f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
        fmt = "text"
    return {"label": _text(value.get("label"), f"{path}.label", p, MAX_TITLE, True),
            "value": cell(value.get("value"), fmt, f"{path}.value", p),
            "previous": cell(value.get("previous"), fmt, f"{path}.previous", p),
            "format": fmt}


def _section(value: Any, path: str, p: _Problems) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        p.add(path, "not an object")
        return None
    _unknown(value, {"key", "title", "columns", "rows", "totals", "chart", "empty_text"},
             path, p)
    key = value.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        p.add(f"{path}.key", "missing, or not letters, digits, '-' and '_' (at most 64)")
    columns = _columns(value.get("columns"), f"{path}.columns", p)
    formats = {c["key"]: c["format"] for c in columns}
    rows = value.get("rows")
    if not isinstance(rows, list):
        p.add(f"{path}.rows", "missing or not a list")
        rows = []
    checked_rows = []
    for i, row in enumerate(rows):
        if p.full():
            break
        checked_rows.append(_row(row, formats, f"{path}.rows[{i}]", p))
    totals = value.get("totals")
    return {"key": key,
            "title": _text(value.get("title"), f"{path}.title", p, MAX_TITLE, True),
            "columns": columns, "rows": checked_rows,
            "totals": None if totals is None else _row(totals, formats, f"{path}.totals", p),
            "chart": _chart(value.get("chart"), formats, f"{path}.chart", p),
            "empty_text": _text(value.get("empty_text"), f"{path}.empty_text", p, MAX_TITLE)
            or "No data in this period."}


def _columns(value: Any, path: str, p: _Problems) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        p.add(path, "missing or not a non-empty list")
        return []
    if len(value) > MAX_COLUMNS:
        p.add(path, f"{len(value)} columns; at most {MAX_COLUMNS}")
        return []
    columns: list[dict[str, str]] = []
    for i, column in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(column, dict):
            p.add(where, "not an object with key, label and format")
            continue
        _unknown(column, {"key", "label", "format"}, where, p)
        key, fmt = column.get("key"), column.get("format", "text")
        if not isinstance(key, str) or not _COLUMN_KEY.match(key):
            p.add(f"{where}.key", "missing, or not a name of letters, digits and '_'")
            continue
        if any(c["key"] == key for c in columns):
            p.add(f"{where}.key", f"a second column named {key!r}")
            continue
        if fmt not in FORMATS:
            p.add(f"{where}.format", f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
            continue
        columns.append({"key": key, "format": fmt,
                        "label": _text(column.get("label"), f"{where}.label", p, MAX_TITLE,
                                       True)})
    return columns


def _row(value: Any, formats: dict[str, str], path: str, p: _Problems) -> dict[str, Any]:
    if not isinstance(value, dict):
        p.add(path, "not an object of column keys and values")
        return {}
    row = {}
    for key, cell_value in value.items():
        fmt = formats.get(key)
        if fmt is None:
            p.add(f"{path}.{key}", "not a column of this section")
            continue
        row[key] = cell(cell_value, fmt, f"{path}.{key}", p)
    return row


def _chart(value: Any, formats: dict[str, str], path: str,
           p: _Problems) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        p.add(path, "not an object with type, label and values")
        return None
    _unknown(value, {"type", "label", "values", "top"}, path, p)
    kind, label, values = value.get("type"), value.get("label"), value.get("values")
    top = value.get("top", 10)
    if kind not in CHART_TYPES:
        p.add(f"{path}.type", f"unknown chart type {kind!r}; use {', '.join(CHART_TYPES)}")
    if label not in formats:
        p.add(f"{path}.label", f"{label!r} is not a column of this section")
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values or len(values) > MAX_CHART_VALUES:
        p.add(f"{path}.values", f"not a list of 1 to {MAX_CHART_VALUES} column keys")
        values = []
    for i, key in enumerate(values):
        if key not in formats:
            p.add(f"{path}.values[{i}]", f"{key!r} is not a column of this section")
        elif formats[key] not in NUMERIC:
            p.add(f"{path}.values[{i}]", f"column {key!r} is {formats[key]}, not numeric")
    if kind == "pie" and len(values) > 1:
        p.add(f"{path}.values", "a pie chart shows one column of values")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_CHART_TOP:
        p.add(f"{path}.top", f"not a whole number from 1 to {MAX_CHART_TOP}")
    return {"type": kind, "label": label, "values": values, "top": top}


def cell(value: Any, fmt: str, path: str, p: _Problems) -> Any:
    """One value of ``fmt`` checked (``None`` is an empty cell)."""
    if value is None:
        return None
    if fmt == "text":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            p.add(path, "not text")
            return None
        return _text(str(value), path, p)
    if fmt in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            p.add(path, "not a number")
            return None
        if fmt == "integer":
            if isinstance(value, float) and not value.is_integer():
                p.add(path, "not a whole number")
                return None
            return int(value)
        return value
    if fmt == "date" and _date(value) is None:
        p.add(path, "not an ISO date such as 2026-11-30")
        return None
    if fmt == "datetime" and _datetime(value) is None:
        p.add(path, "not an ISO date-time such as 2026-11-30T14:00:00Z")
        return None
    return value


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
