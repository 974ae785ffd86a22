"""A business report as the console shows it: every value already formatted for the reader
(the same formats as the PDF), the first rows of each section, and its chart's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .formats import Chart, change, chart_of, format_change, format_value, period_text

ROWS_SHOWN = 500


@dataclass(frozen=True)
class Card:
    """One headline figure, this period against the previous one."""

    label: str
    value: str
    previous: str
    change: str
    direction: str  # "up", "down" or "" (nothing to compare, or no change)


@dataclass(frozen=True)
class SectionView:
    """One section: its header, its first rows as text, its totals, its chart."""

    key: str
    title: str
    header: list[str]
    numeric: list[bool]  # which columns line up on the right
    rows: list[list[str]]
    total_rows: int
    totals: list[str] | None
    chart: Chart | None
    empty_text: str


@dataclass(frozen=True)
class ReportView:
    """A business report ready to show: title, periods, the time of the data, cards, sections."""

    kind: str
    title: str
    period: str
    previous_period: str
    data_as_of: str
    currency: str
    cards: list[Card]
    sections: list[SectionView]


def _card(figure: dict[str, Any], currency: str) -> Card:
    relative = change(figure["value"], figure["previous"])
    direction = "" if not relative else ("up" if relative > 0 else "down")
    return Card(figure["label"], format_value(figure["value"], figure["format"], currency),
                format_value(figure["previous"], figure["format"], currency),
                format_change(figure["value"], figure["previous"]), direction)


def _section(section: dict[str, Any], currency: str, shown: int) -> SectionView:
    columns = section["columns"]
    totals = section["totals"]
    return SectionView(
        section["key"], section["title"], [c["label"] for c in columns],
        [c["format"] not in ("text", "date", "datetime") for c in columns],
        [[format_value(r.get(c["key"]), c["format"], currency) for c in columns]
         for r in section["rows"][:shown]],
        len(section["rows"]),
        None if not totals else [format_value(totals.get(c["key"]), c["format"], currency)
                                 if c["key"] in totals else "" for c in columns],
        chart_of(section, currency), section["empty_text"])


def view_of(doc: dict[str, Any], shown: int = ROWS_SHOWN) -> ReportView:
    """The view of a validated document, with at most ``shown`` rows per section."""
    currency = doc["currency"]
    return ReportView(doc["kind"], doc["title"], period_text(doc["period"]),
                      period_text(doc["previous_period"]),
                      format_value(doc["data_as_of"], "datetime"), currency,
                      [_card(f, currency) for f in doc["summary"]],
                      [_section(s, currency, shown) for s in doc["sections"]])
