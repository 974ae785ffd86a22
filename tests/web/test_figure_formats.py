"""How a review page shows a figure: money, numbers, shares, dates, lists, yes/no."""

from __future__ import annotations

from typing import Any

import pytest

from engine.figures import Figure
from web.pages.figures import show_figure


@pytest.mark.parametrize(("value", "kind", "currency", "shown"), [
    (48000, "money", "EUR", "€48,000.00"),
    ("40000.00", "money", "EUR", "€40,000.00"),  # the ERP sends money as text
    ("-250.5", "money", "EUR", "-€250.50"),
    (1234.5, "money", "CHF", "1,234.50 CHF"),
    (1234.5, "money", None, "1,234.50"),
    (12, "number", None, "12"),
    (1234567.25, "number", None, "1,234,567.25"),
    (0.255, "percent", None, "25.5 %"),
    (1, "percent", None, "100 %"),
    ("2026-11-30", "date", None, "30 Nov 2026"),
    ("2026-11-30T08:05:00.000Z", "datetime", None, "30 Nov 2026 08:05 UTC"),
    ("2026-11-30T09:05:00+01:00", "datetime", None, "30 Nov 2026 08:05 UTC"),
    (["gold", "silver"], "list", None, "gold, silver"),
    ([{"name": "Cups", "qty": 2}, {"id": 7}], "list", None, "Cups, 7"),
    ([], "list", None, "—"),
    (True, "boolean", None, "Yes"),
    (False, "text", None, "No"),
    (None, "money", "EUR", "—"),
    ("", "text", None, "—"),
    ("Acme", "text", None, "Acme"),
])
def test_each_format_reads_as_people_expect(value: Any, kind: str, currency: str | None,
                                            shown: str) -> None:
    assert show_figure(Figure("x", value, kind, currency)) == shown


@pytest.mark.parametrize(("value", "kind"), [
    ("not a number", "money"), (True, "number"), ("yesterday", "date"),
    ("nan", "percent"), ({"a": 1}, "datetime")])
def test_a_value_not_of_its_declared_kind_is_shown_as_it_is(value: Any, kind: str) -> None:
    """A figure never breaks the page: the reviewer sees the raw value instead."""
    shown = show_figure(Figure("x", value, kind))
    assert shown in (str(value), "Yes", '{"a": 1}')
