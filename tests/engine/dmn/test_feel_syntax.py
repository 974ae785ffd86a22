"""FEEL syntax beyond the basics: @-literals, instance of, inline functions, loops, comments."""

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
        ('@"2019-03-31"', dt.date(2019, 3, 31)),
        ('@"10:30:11+11:00"', dt.time(10, 30, 11, tzinfo=dt.timezone(dt.timedelta(hours=11)))),
        ('@"2018-12-08T10:30:11"', dt.datetime(2018, 12, 8, 10, 30, 11)),
        ('@"P10D"', dt.timedelta(days=10)),
        ('@"-P1Y2M"', YearMonthDuration(-14)),
        ('@"2019-03-31" + @"P1D"', dt.date(2019, 4, 1)),
    ],
)
def test_at_literals_are_dates_times_and_durations(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 instance of number", True),
        ('"1" instance of number', False),
        ("null instance of Any", False),
        ('@"2018-12-08T10:30:11" instance of date and time', True),
        ('@"P1Y" instance of years and months duration', True),
        ('@"P1Y" instance of days and time duration', False),
        ("[1, 2] instance of list<number>", True),
        ('[1, "2"] instance of list<number>', False),
        ('{a: "x", b: 1} instance of context<a: string>', True),
        ('{a: "x"} instance of context<a: string, b: number>', False),
        ('(function(a: string) "x") instance of function<string>->Any', True),
        ('(function(a: string, b: number) "x") instance of function<string>->string', False),
    ],
)
def test_instance_of_checks_feel_types(text: str, expected: bool) -> None:
    assert literal(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(function(a, b) a - b)(5, 2)", Decimal(3)),
        ("(function(a, b) a - b)(b: 5, a: 2)", Decimal(-3)),
        ("{add: function(a, b) a + b, r: add(1, 2)}.r", Decimal(3)),
        ('(function(s: string) s)(1)', None),  # wrong argument type: null
        ("{k: 10, f: function(x) x + k, r: f(1)}.r", Decimal(11)),
    ],
)
def test_inline_functions_close_over_their_scope(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("for x in [1, 2], y in [10, 20] return x + y", [11, 21, 12, 22]),
        ("for i in 1..3 return i * i", [1, 4, 9]),
        ("for i in 0..3 return if i = 0 then 1 else i * partial[-1]", [1, 1, 2, 6]),
        ("some x in [1, 2], y in [3, 4] satisfies x + y = 6", True),
        ("every x in [1, 2], y in [3, 4] satisfies x < y", True),
    ],
)
def test_loops_take_several_iterators_and_ranges(text: str, expected: Any) -> None:
    result = literal(text)
    assert result == ([Decimal(v) for v in expected] if isinstance(expected, list) else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e3", Decimal(1000)),
        ("1.2E-2", Decimal("0.012")),
        ("1 + // one more\n 2", Decimal(3)),
        ("/* a comment */ 4 /* and\n another */", Decimal(4)),
        ('"// not a comment"', "// not a comment"),
    ],
)
def test_exponents_and_comments(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sort([3, 1, 2])", [Decimal(1), Decimal(2), Decimal(3)]),
        ("sort([3, 1, 2], function(x, y) x > y)", [Decimal(3), Decimal(2), Decimal(1)]),
        ("mode(6, 3, 9, 6, 6)", [Decimal(6)]),
        ("stddev(2, 4, 7, 5)", Decimal("2.081665999466132735282297706979931")),
        ("stddev([1])", None),
        ("list replace([1, 2, 3], -1, 4)", [Decimal(1), Decimal(2), Decimal(4)]),
        ('context put({a: 1}, "b", 2)', {"a": Decimal(1), "b": Decimal(2)}),
        ("context merge([{a: 1}, {a: 2, b: 3}])", {"a": Decimal(2), "b": Decimal(3)}),
        ('context([{key: "a", value: 1}, {key: "a", value: 2}])', None),
        ('day of year(@"2019-12-31")', Decimal(365)),
        ('week of year(@"2021-01-03")', Decimal(53)),
        ('month of year(@"2019-09-17")', "September"),
        ('2 in range("[1..3)")', True),
        ('range("[1..x")', None),
        ('is(@"10:00:00+01:00", @"10:00:00+01:00")', True),
        ('is(1, "1")', False),
        ("today() = date(now())", True),
    ],
)
def test_builtins_for_lists_contexts_dates_and_ranges(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('string(@"10:30:11@Australia/Melbourne")', "10:30:11@Australia/Melbourne"),
        ('string(@"2021-01-02T10:10:10@Europe/Paris" + @"P1M")',
         "2021-02-02T10:10:10@Europe/Paris"),
        ('@"2021-01-02T10:10:10@Europe/Paris" - @"2021-01-01"',
         dt.timedelta(hours=33, seconds=610)),
        # a date is its midnight UTC, which has no distance to a local date-time (TCK 0100)
        ('@"2021-01-02" - @"2021-01-01T12:00:00"', None),
        ('@"2021-01-02" - @"2021-01-01T12:00:00Z"', dt.timedelta(hours=12)),
        ('@"P1Y7M" * -3.03', YearMonthDuration(-57)),  # months are truncated
    ],
)
def test_zones_and_mixed_date_arithmetic(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('replace("banana", "a", "[$0]")', "b[a]n[a]n[a]"),
        ('string length("\\U01F40E")', Decimal(1)),
        ('string length("\\ud83d\\udc0e\\uD83D\\uDE00")', Decimal(2)),
        ('substring before("abc", "")', ""),
        ('substring after("abc", "")', "abc"),
        ('substring("foobar", 3, 3.8)', "oba"),
        ("decimal(1/3, 2.5)", Decimal("0.33")),
        ('for d in @"1980-01-02"..@"1980-01-01" return d',
         [dt.date(1980, 1, 2), dt.date(1980, 1, 1)]),
    ],
)
def test_string_and_range_corner_cases(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("before(1, [1..10])", False),
        ("before([1..10), 10)", True),
        ("after([11..20], 10)", True),
        ("meets([1..5], [5..10])", True),
        ("overlaps([1..5], [3..8])", True),
        ("overlaps before([1..5], [3..8])", True),
        ("includes([1..10], [3..8])", True),
        ("during(5, [1..10])", True),
        ("starts([1..5], [1..10])", True),
        ("finished by([1..10], 10)", True),
        ("coincides([1..5], [1..5))", False),
        ('before(1, "a")', None),
        ('string join("a", "X")', "a"),  # a single value stands for a one-item list
        ('range("[3..1]")', None),
        ('context(entries: [{key: "a", value: 1, ignored: "x"}])', {"a": Decimal(1)}),
    ],
)
def test_range_relations_and_singleton_lists(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{lib: {add: function(a, b) a + b}, r: lib.add(1, 2)}.r", Decimal(3)),
        ("{lib: {sub: function(a, b) a - b}, r: lib.sub(b: 1, a: 5)}.r", Decimal(4)),
        ("(< 10).end", Decimal(10)),
        ("(>= 5).start included", True),
        ("5 in (<= 5)", True),
    ],
)
def test_functions_in_contexts_and_unary_ranges(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true in [false, 2, 3]", False),
        ("[1, 2, 3] in [[1, 2, 3, 4], [1, 2, 3]]", True),
        ("true in (= true)", True),
    ],
)
def test_in_with_lists_of_mixed_types_and_lists_of_lists(text: str, expected: Any) -> None:
    assert literal(text) is expected
