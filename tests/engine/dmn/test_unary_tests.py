"""Input cells (FEEL unary tests), one form at a time, at their boundary values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.engine.dmn.builders import cell_matches


@pytest.mark.parametrize("cell", ["-", ""])
def test_dash_and_empty_match_anything_including_null(cell: str) -> None:
    assert cell_matches(cell, 5)
    assert cell_matches(cell, "text")
    assert cell_matches(cell, None)


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ("5", 5, True),
        ("5", 5.0, True),
        ("5", Decimal("5.00"), True),
        ("5", 6, False),
        ("-2.5", -2.5, True),
        ('"gold"', "gold", True),
        ('"gold"', "Gold", False),
        ("true", True, True),
        ("true", False, False),
        ("false", False, True),
        ("null", None, True),
        ("null", 0, False),
        ('"5"', 5, False),  # a string never equals a number
    ],
)
def test_literals_match_by_feel_equality(cell: str, value: object, expected: bool) -> None:
    assert cell_matches(cell, value) is expected


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ("< 10", 9, True), ("< 10", 10, False),
        ("<= 10", 10, True), ("<= 10", 11, False),
        ("> 10", 11, True), ("> 10", 10, False),
        (">= 10", 10, True), (">= 10", 9.99, False),
        ("= 10", 10, True), ("= 10", 11, False),
        ("!= 10", 11, True), ("!= 10", 10, False),
        ('< "m"', "apple", True), ('< "m"', "zebra", False),
    ],
)  # fmt: skip
def test_comparisons_at_their_boundaries(cell: str, value: object, expected: bool) -> None:
    assert cell_matches(cell, value) is expected


@pytest.mark.parametrize(
    ("cell", "low_matches", "high_matches"),
    [
        ("[1..10]", True, True),
        ("]1..10[", False, False),
        ("(1..10)", False, False),
        ("[1..10)", True, False),
        ("[1..10[", True, False),
        ("]1..10]", False, True),
        ("(1..10]", False, True),
    ],
)
def test_range_ends_open_and_closed(cell: str, low_matches: bool, high_matches: bool) -> None:
    assert cell_matches(cell, 1) is low_matches
    assert cell_matches(cell, 10) is high_matches
    assert cell_matches(cell, 5)
    assert not cell_matches(cell, 0)
    assert not cell_matches(cell, 11)


def test_lists_of_tests_match_any_member() -> None:
    assert cell_matches('"gold","silver"', "silver")
    assert cell_matches('"gold", "silver"', "gold")
    assert not cell_matches('"gold","silver"', "bronze")
    assert cell_matches("1,2,3", 3)
    assert not cell_matches("1,2,3", 4)
    assert cell_matches("< 0, > 100", 101)
    assert not cell_matches("< 0, > 100", 50)
    assert cell_matches("[1..5], [10..20]", 15)


def test_not_negates_the_tests() -> None:
    assert not cell_matches('not("gold")', "gold")
    assert cell_matches('not("gold")', "silver")
    assert cell_matches('not("gold", "silver")', "bronze")
    assert not cell_matches('not("gold", "silver")', "silver")
    assert cell_matches("not([1..10])", 11)
    assert not cell_matches("not([1..10])", 10)
    assert cell_matches("not(null)", 3)
    assert not cell_matches("not(null)", None)


def test_null_input_matches_no_comparison_even_negated() -> None:
    assert not cell_matches("< 10", None)
    assert not cell_matches("[1..10]", None)
    assert not cell_matches('"gold"', None)
    # null = "gold" is false, so not("gold") matches a missing value, as in FEEL
    assert cell_matches('not("gold")', None)
    # a number compared with a string is null, and not(null) is null: no match
    assert not cell_matches("not(< 5)", "text")


def test_dates_times_and_date_times_compare() -> None:
    day = dt.date(2024, 1, 31)
    assert cell_matches('date("2024-01-31")', day)
    assert cell_matches('> date("2024-01-01")', day)
    assert not cell_matches('< date("2024-01-31")', day)
    assert cell_matches('[date("2024-01-01")..date("2024-01-31")]', day)
    assert not cell_matches('[date("2024-01-01")..date("2024-01-31")[', day)
    assert cell_matches('>= date and time("2024-01-31T09:00:00")', dt.datetime(2024, 1, 31, 10))
    assert cell_matches('< time("12:00:00")', dt.time(11, 59, 59))
    assert not cell_matches('date("2024-01-31")', dt.datetime(2024, 1, 31))  # other type


def test_date_typed_input_accepts_iso_text_from_task_data() -> None:
    assert cell_matches('> date("2024-01-01")', "2024-02-01", type_ref="date")


def test_durations_compare() -> None:
    assert cell_matches('duration("P1D")', dt.timedelta(days=1))
    assert cell_matches('> duration("PT12H")', dt.timedelta(days=1))
    assert cell_matches('<= duration("P1Y2M")', "P1Y", type_ref="yearMonthDuration")
    assert not cell_matches('> duration("P1Y2M")', "P1Y", type_ref="yearMonthDuration")


def test_question_mark_expressions() -> None:
    assert cell_matches("? > 5", 6)
    assert not cell_matches("? > 5", 5)
    assert cell_matches("? > 5 and ? < 10", 7)
    assert not cell_matches("? > 5 and ? < 10", 10)
    assert cell_matches('? in ["a", "b"]', "b")
    assert cell_matches('? in ("a", "b")', "a")
    assert not cell_matches('? in ["a", "b"]', "c")
    assert cell_matches("string length(?) = 3", "abc")


def test_expressions_over_other_inputs() -> None:
    from tests.engine.dmn.builders import run, table_xml

    xml = table_xml(
        [(["-", "> Applicant Age * 2"], ['"high"']), (["-", "-"], ['"low"'])],
        inputs=[("Applicant Age", "number"), ("Score", "number")],
        hit_policy="FIRST",
    )
    assert run(xml, {"Applicant Age": 20, "Score": 41}).outputs == "high"
    assert run(xml, {"Applicant Age": 20, "Score": 40}).outputs == "low"
