"""How a report's values read: one place for the PDF, the console page and the e-mail.

Money reads ``€12,345.60`` for the currencies with a well-known symbol (EUR, USD, GBP, JPY,
CHF reads ``CHF 12,345.60``) and ``12,345.60 SEK`` for the others; percentages ``25.0 %``;
date-times in UTC, ``2026-12-01 02:00 UTC``; an empty value ``—``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
EMPTY = "—"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_date(value: str) -> date:
    """An ISO date string as a date."""
    return date.fromisoformat(value)


def as_utc(value: str) -> datetime:
    """An ISO date-time string as a naive UTC datetime (what spreadsheets store)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def money(value: float, currency: str) -> str:
    """``€12,345.60``, ``-€5.00``, ``12,345.60 SEK``."""
    sign = "-" if value < 0 else ""
    amount = f"{abs(value):,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def format_value(value: Any, fmt: str, currency: str = "EUR") -> str:
    """A validated value as a person reads it."""
    if value is None or value == "":
        return EMPTY if value is None else ""
    if fmt == "money":
        return money(value, currency)
    if fmt == "integer":
        return f"{value:,}"
    if fmt == "number":
        return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) \
            else f"{value:,}"
    if fmt == "percent":
        return f"{value * 100:,.1f} %"
    if fmt == "days":
        return f"{value:,.1f} days" if isinstance(value, float) else f"{value:,} days"
    if fmt == "date":
        return str(value)
    if fmt == "datetime":
        return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def change(value: Any, previous: Any) -> float | None:
    """The relative change from ``previous`` to ``value`` (0.25 = up 25 %), if it has one."""
    numeric = (int, float)
    if isinstance(value, bool) or isinstance(previous, bool) \
            or not isinstance(value, numeric) or not isinstance(previous, numeric) \
            or previous == 0:
        return None
    return (value - previous) / abs(previous)


def format_change(value: Any, previous: Any) -> str:
    """``+12.2 %``, ``-3.0 %``, or empty when there is nothing to compare."""
    relative = change(value, previous)
    return "" if relative is None else f"{relative * 100:+,.1f} %"


def period_text(period: dict[str, Any] | None) -> str:
    """``November 2026 (2026-11-01 – 2026-11-30)``."""
    if not period:
        return EMPTY
    return f"{period['label']} ({period['from']} – {period['to']})"


def defused(text: str) -> str:
    """A text cell for CSV: one that a spreadsheet would read as a formula gets a ``'``."""
    return "'" + text if text.startswith(FORMULA_START) else text


@dataclass(frozen=True)
class Chart:
    """What a chart shows: a label per point and one series of numbers per value column."""

    type: str
    title: str
    labels: list[str]
    series: list[tuple[str, list[float]]]
    value_format: str
    texts: list[list[str]]  # each series' values as the reader reads them


def chart_of(section: dict[str, Any], currency: str = "EUR") -> Chart | None:
    """The chart of a validated section: its ``top`` rows (by the first value, for bars and
    pies; in order, for lines); None when the section has no chart or no rows."""
    spec = section.get("chart")
    if spec is None or not section["rows"]:
        return None
    columns = {c["key"]: c for c in section["columns"]}
    rows = section["rows"]
    first = spec["values"][0]
    if spec["type"] != "line":
        rows = sorted(rows, key=lambda r: -(r.get(first) or 0))
    rows = rows[:spec["top"]]
    label_format = columns[spec["label"]]["format"]
    labels = [format_value(r.get(spec["label"]), label_format)[:24] for r in rows]
    series = [(columns[v]["label"], [float(r.get(v) or 0) for r in rows]) for v in spec["values"]]
    if spec["type"] == "pie":
        keep = [i for i, v in enumerate(series[0][1]) if v > 0]
        labels = [labels[i] for i in keep]
        series = [(series[0][0], [series[0][1][i] for i in keep])]
        if not keep:
            return None
    title = section["title"] if len(rows) == len(section["rows"]) \
        else f"{section['title']} (top {len(rows)})"
    fmt = columns[first]["format"]
    texts = [[format_value(v, fmt, currency) for v in values] for _name, values in series]
    return Chart(spec["type"], title, labels, series, fmt, texts)
