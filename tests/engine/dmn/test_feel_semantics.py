"""FEEL corner cases the DMN TCK checks: null range ends, filters on contexts, list indexes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.engine.dmn.test_feel_errors import result_of
from tests.engine.dmn.test_literal_expressions import literal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # (< 10) has no lower end; (null..10) has an unknown one: not the same range
        ("(< 10) = (null..10)", False),
        ("(>= 10) = [10..null)", False),
        ("(< 10) = (< 10)", True),
        ("5 in (null..10]", None),
        ("5 in (< 10)", True),
        # a context lacking the entry a filter asks for is null there, not an error
        ("[{x: 1}, {x: 2, y: 3}][y > 1]", [{"x": Decimal(2), "y": Decimal(3)}]),
        # inside a filter, an entry named item wins over the implicit item
        ("[{item: 1}, {item: 2}, {item: 3}][item >= 2]", [{"item": Decimal(2)},
                                                          {"item": Decimal(3)}]),
        ("[1, 2, 3][0]", None),
        ("[1, 2, 3][-1]", Decimal(3)),
        ("round up(5.5, 6176)", Decimal("5.5")),  # the largest scale FEEL allows
        ("round up(5.5, 6177)", None),
        ("mode([])", []),
        ("list replace([2, 4], function(item, new) item < new, 3)", [Decimal(3), Decimal(4)]),
        ("all()", None),
        ('number("1,000,000.01", ",", ":")', None),  # ':' is no decimal separator
        ('number("1.000.000,01", ".", ",")', Decimal("1000000.01")),
        ('duration("PT0.S")', dt.timedelta(0)),
        ('time(date("2017-08-10")) = time("00:00:00Z")', True),
        ('{🐎: "bar"}.🐎', "bar"),  # names may use characters beyond U+FFFF
        ('string(@"23:00:50@Etc/GMT")', "23:00:50@Etc/GMT"),  # the T of Etc is no date's T
        # a built-in passed as a value, and a name that shadows it
        ("(function(f, g) f(-5) * g(25))(abs, sqrt)", Decimal(25)),
        ("{abs: 3, r: abs * 2}.r", Decimal(6)),
        ("(function(f) f([1, 2, 3]) + f(4, 5))(sum)", Decimal(15)),
    ],
)
def test_tck_corner_cases(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ("5 in [1..null]", "cannot be compared"),
        ('get value({a: "foo"})', "get value() gave null: its arguments are missing"),
        ('get value(k: "a", m: {a: "foo"})', "not named as it takes"),
        ("list replace([2, 4], function(item) item = 2, 5)", "list replace() gave null"),
        ("list replace([2, 4], function(item, new) item, 5)", "list replace() gave null"),
        ("[1, 2, 3][0]", "FEEL lists start at 1"),
        ("[1, 2, 3][4]", "there is no item 4"),
        ('context put(context: {y: {a: 0}}, key: ["y", "a"], value: 2)', "context put()"),
    ],
)
def test_null_range_ends_and_missing_items_are_reported(text: str, reported: str) -> None:
    result = result_of(text)
    assert result.outputs is None and any(reported in e for e in result.errors), result.errors


def test_inputs_read_many_times_and_partial_results_stay_correct() -> None:
    # the input is converted to FEEL once per evaluation, then read in every iteration
    order = {"lines": [{"qty": 2, "price": 1.5}, {"qty": 3, "price": 2}], "discount": 0.5}
    text = "for l in order.lines return l.qty * l.price * order.discount"
    assert literal(text, order=order) == [Decimal("1.5"), Decimal("3")]
    # partial is the live list of the results so far
    assert literal("for i in 0..4 return if i = 0 then 1 else i * partial[-1]") == [
        Decimal(1), Decimal(1), Decimal(2), Decimal(6), Decimal(24)]
