"""FEEL dates with years outside 1..9999 (FEEL allows ±999,999,999) behave like any other date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.dmn.feel_types import YearMonthDuration
from tests.engine.dmn.test_literal_expressions import literal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('string(date("999999999-12-31"))', "999999999-12-31"),
        ("string(date(-999999999, 12, 31))", "-999999999-12-31"),
        ('string(date and time("-99999-12-31T11:22:33"))', "-99999-12-31T11:22:33"),
        # year 0 exists in ISO 8601; the day before 0001-01-01 is 0000-12-31
        ('string(@"0001-01-01" - @"P1D")', "0000-12-31"),
        ('string(@"9999-12-31" + @"P1D")', "10000-01-01"),
        ('string(@"-2021-01-01T10:10:10+11:00" + @"P1M")', "-2021-02-01T10:10:10+11:00"),
        ('string(@"-2021-01-01T10:10:10@Australia/Melbourne" - @"PT1H")',
         "-2021-01-01T09:10:10@Australia/Melbourne"),
        ('string(@"2021-01-01T24:00:00" + @"PT1S")', "2021-01-02T00:00:01"),
    ],
)
def test_far_years_print_and_compute(text: str, expected: str) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("-0001-01-01") < date("0001-01-01")', True),
        ('date("10000-01-01") > date("9999-12-31")', True),
        ('date("10000-01-01") = date("9999-12-31") + duration("P1D")', True),
        ('date("10000-01-01") - date("9999-12-31")', dt.timedelta(days=1)),
        ('date("-2017-12-31").year', Decimal(-2017)),
        # the calendar repeats every 400 years: 1983-12-31 was a Saturday too
        ('day of week(date("-2017-12-31"))', "Saturday"),
        ('years and months duration(date("-2016-01-30"), date("-2017-02-28"))',
         YearMonthDuration(-11)),
        ('date("-2017-12-31") instance of date', True),
    ],
)
def test_far_years_compare_and_have_properties(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'date("01211-12-31")',  # five digits with a leading zero are not an ISO year
        'date("1000000000-01-01")',  # past FEEL's 999,999,999
        "date(999999999, 12, 31) + duration(\"P1D\")",
        'date("-0001-02-30")',
    ],
)
def test_impossible_far_dates_are_null(text: str) -> None:
    assert literal(text) is None
