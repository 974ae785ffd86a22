"""Literal-expression decisions: FEEL arithmetic, logic with null, strings and built-ins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pytest

from tests.engine.dmn.builders import DMN13, load


def literal(text: str, **variables: Any) -> Any:
    xml = (
        f'<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">'
        f'<decision id="calc" name="Calc"><literalExpression><text>{escape(text)}</text>'
        "</literalExpression></decision></definitions>"
    ).encode()
    return load(xml).evaluate("calc", variables).outputs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("-2 ** 2", Decimal(4)),  # FEEL negation binds tighter than **
        ("2 ** -1", Decimal("0.5")),
        ("1 / 3", Decimal("0.3333333333333333333333333333333333")),
        ("0.1 + 0.2", Decimal("0.3")),
        ("10 / 0", None),
        ("10 + null", None),
        ('"a" + 1', None),
    ],
)
def test_arithmetic_is_decimal_with_34_digits(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("a", "b", "conjunction", "disjunction"),
    [
        (True, True, True, True),
        (True, False, False, True),
        (False, None, False, None),
        (True, None, None, True),
        (None, None, None, None),
        (None, False, False, None),
    ],
)
def test_and_or_follow_ternary_logic(a: Any, b: Any, conjunction: Any, disjunction: Any) -> None:
    assert literal("A and B", A=a, B=b) is conjunction
    assert literal("A or B", A=a, B=b) is disjunction


def test_not_and_comparisons_of_mismatched_types_give_null() -> None:
    assert literal("not(A)", A=None) is None
    assert literal("not(A)", A=False) is True
    assert literal('1 < "2"') is None
    assert literal('1 = "1"') is None
    assert literal("null = null") is True
    assert literal("1 = null") is False


def test_if_then_else_takes_else_on_null() -> None:
    assert literal('if x > 10 then "big" else "small"', x=11) == "big"
    assert literal('if x > 10 then "big" else "small"', x=None) == "small"


def test_names_with_spaces_and_paths() -> None:
    assert literal('"Hello " + Full Name', **{"Full Name": "Ada"}) == "Hello Ada"
    assert literal("Loan.amount * Loan.rate", Loan={"amount": 1000, "rate": 0.05}) == Decimal(50)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('string length("héllo")', Decimal(5)),
        ('substring("foobar", 3)', "obar"),
        ('substring("foobar", -2, 1)', "a"),
        ('upper case("abc") + lower case("DEF")', "ABCdef"),
        ('contains("foobar", "oba")', True),
        ('starts with("foobar", "foo") and ends with("foobar", "bar")', True),
        ('substring before("a-b", "-") + substring after("a-b", "-")', "ab"),
        ("string(1.50)", "1.5"),
        ('number("1,234.5", ",", ".")', Decimal("1234.5")),
        ("abs(-3) + floor(1.7) + ceiling(1.2)", Decimal(6)),
        ("decimal(2.345, 2)", Decimal("2.34")),
        ("round half up(2.345, 2)", Decimal("2.35")),
        ("modulo(-7, 3)", Decimal(2)),
        ("sqrt(16)", Decimal(4)),
        ("sum([1, 2, 3]) + count([1, 2]) + min(4, 5) + max([1, 9])", Decimal(21)),
        ("mean([1, 2, 3, 4])", Decimal("2.5")),
        ("all([true, null])", None),
        ("any([false, true])", True),
        ("list contains([1, 2], 2)", True),
        ("distinct values([1, 1, 2])", [Decimal(1), Decimal(2)]),
        ('string join(["a", "b"], ", ")', "a, b"),
        ("[1, 2, 3][item > 1]", [Decimal(2), Decimal(3)]),
        ("[1, 2, 3][-1]", Decimal(3)),
        ("for x in [1, 2] return x * 10", [Decimal(10), Decimal(20)]),
        ("some x in [1, 5] satisfies x > 4", True),
        ("every x in [1, 5] satisfies x > 4", False),
        ("5 between 1 and 10", True),
        ("5 in [1..4]", False),
        ("{a: 1, b: a + 1}.b", Decimal(2)),
    ],
)
def test_builtins_and_collections(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('date("2024-01-31") + duration("P1D")', dt.date(2024, 2, 1)),
        ('date("2024-01-31") + duration("P1M")', dt.date(2024, 2, 29)),
        ('date("2024-03-01") - date("2024-02-01")', dt.timedelta(days=29)),
        ('date and time("2024-01-31T10:00:00") + duration("PT2H30M")',
         dt.datetime(2024, 1, 31, 12, 30)),
        ('time("23:00:00") + duration("PT2H")', dt.time(1, 0)),
        ('years and months duration(date("2020-05-10"), date("2024-05-09"))',
         literal('duration("P3Y11M")')),
        ('duration("P1D") * 2 = duration("P2D")', True),
        ('date("2024-01-31").month', Decimal(1)),
        ('date("2024-02-30")', None),
        ('duration("P1Y2D")', None),  # FEEL durations do not mix months and days
    ],
)
def test_dates_and_durations(text: str, expected: Any) -> None:
    assert literal(text) == expected
