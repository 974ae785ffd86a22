"""Expressions written to hang or exhaust the server: refused with the limit they hit.

Every test here would run for seconds to hours (or exhaust memory) without the limits; each
asserts the refusal and what the analyst reads, never a timing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pytest

from engine.dmn import DecisionEvaluationError
from engine.errors import DefinitionError
from tests.engine.dmn.builders import DMN13, load

EVIL = "(a+)+$"  # exponential for a backtracking engine on "aaaa…!"
DEEP_LOOPS = ("for a in L return for b in L return for c in L return for d in L return "
              "for e in L return for f in L return for g in L return for h in L return 1")


def literal_file(text: str) -> bytes:
    return (
        f'<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">'
        f'<decision id="calc" name="Calc"><literalExpression><text>{escape(text)}</text>'
        "</literalExpression></decision></definitions>"
    ).encode()


def evaluate(text: str, **variables: Any) -> Any:
    return load(literal_file(text)).evaluate("calc", variables).outputs


def refused(text: str, **variables: Any) -> str:
    with pytest.raises(DecisionEvaluationError) as caught:
        evaluate(text, **variables)
    return str(caught.value)


def test_a_constant_catastrophic_regex_is_not_run_at_deploy_and_runs_linearly() -> None:
    text = f'matches("{"a" * 40}!", "{EVIL}")'
    document = load(literal_file(text))  # deploy: parsed only
    assert document.evaluate("calc", {}).outputs is False
    assert evaluate(f'matches(s, "{EVIL}")', s="a" * 5000 + "!") is False


def test_a_catastrophic_regex_split_and_replace_finish() -> None:
    assert evaluate('split(s, "(a|aa)+b")', s="a" * 60 + "!") == ["a" * 60 + "!"]
    assert evaluate('replace(s, "(a|aa)+b", "x")', s="a" * 60 + "!") == "a" * 60 + "!"
    assert evaluate('replace("abc", "(b)", "[$1]")') == "a[b]c"


@pytest.mark.parametrize("pattern", [r"(a+)\1", r"(a)(b)\2"])
def test_backreferences_are_refused_with_the_reason(pattern: str) -> None:
    message = refused(f'matches("aaaa", "{pattern}")')
    assert "refers back to group" in message and "linear time" in message
    assert "decision 'Calc'" in message


@pytest.mark.parametrize("pattern", ["(?=a)a", "(?<!b)a"])
def test_lookaround_is_no_xpath_pattern_so_null(pattern: str) -> None:
    assert evaluate(f'matches("aaaa", "{pattern}")') is None


def test_an_invalid_pattern_is_still_null() -> None:
    assert evaluate('matches("a", "[")') is None


def test_eight_nested_loops_stop_at_the_step_limit() -> None:
    message = refused(DEEP_LOOPS, L=list(range(10)))
    assert "steps" in message and "200,000" in message


def test_a_loop_of_modest_size_still_runs() -> None:
    assert evaluate("sum(flatten(for a in L return for b in L return a * b))",
                    L=list(range(100))) == Decimal(4950 * 4950)


def test_a_huge_power_is_refused_not_computed_and_not_folded_at_deploy() -> None:
    document = load(literal_file("10 ** 999999"))  # deploy does not compute it
    with pytest.raises(DecisionEvaluationError, match="numbers are limited"):
        document.evaluate("calc", {})
    assert "numbers are limited" in refused("x ** 999999", x=10)
    assert "numbers are limited" in refused("number(s)", s="9" * 5000)


def test_a_huge_number_passed_in_is_refused() -> None:
    assert "numbers are limited" in refused("x + 1", x=Decimal("1E+999999"))
    assert "numbers are limited" in refused("x + 1", x=10**2000)


def test_a_number_literal_of_thousands_of_digits_is_refused_at_deploy() -> None:
    with pytest.raises(DefinitionError) as caught:
        load(literal_file("1" + "0" * 5000 + " + 1"))
    assert "limited to 999 digits" in str(caught.value)


def test_a_text_concatenated_past_the_size_limit_is_refused() -> None:
    message = refused("s + s", s="x" * 60_000)
    assert "FEEL texts are limited to 100,000 characters" in message


def test_replace_and_join_are_bounded_before_they_build_the_text() -> None:
    message = refused('replace(s, "", r)', s="a" * 2000, r="b" * 2000)
    assert "limited to 100,000 characters" in message
    message = refused("string join(L, s)", L=["x"] * 1000, s="-" * 1000)
    assert "limited to 100,000 characters" in message


def test_a_for_over_a_huge_range_is_refused_before_the_list_is_built() -> None:
    assert "limited to 100,000 items" in refused("for i in 1..1000000000 return i")
    assert "limited to 100,000 items" in refused("for i in 1..n return i", n=10**12)
    assert evaluate("for i in 3..1 return i") == [Decimal(3), Decimal(2), Decimal(1)]


def test_endless_recursion_through_an_inline_function_stops_at_the_depth_limit() -> None:
    message = refused("{f: function(n) f(n + 1), r: f(1)}.r")
    assert "more than 64 deep" in message
    assert evaluate("{fact: function(n) if n <= 1 then 1 else n * fact(n - 1), "
                    "r: fact(20)}.r") == Decimal(2432902008176640000)


def test_a_wide_recursion_through_inline_functions_stops_at_the_step_limit() -> None:
    text = "{f: function(n) if n = 0 then 0 else f(n - 1) + f(n - 1), r: f(40)}.r"
    assert "steps" in refused(text)


def test_a_text_doubled_by_an_inline_function_is_refused_at_the_size_limit() -> None:
    message = refused('{twice: function(s, n) if n = 0 then s else twice(s + s, n - 1), '
                      'r: twice("ab", 60)}.r')
    assert "FEEL texts are limited to 100,000 characters" in message


def test_a_number_literal_with_a_huge_exponent_is_refused_at_deploy() -> None:
    with pytest.raises(DefinitionError) as caught:
        load(literal_file("1e999999 + 1"))
    assert "out of range" in str(caught.value)
    assert evaluate("1.2E-2 * 1e3") == Decimal(12)
