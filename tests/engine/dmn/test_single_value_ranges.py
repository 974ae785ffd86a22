"""FEEL cases the DMN TCK checks: a test for one value as a range, and built-ins called
with a named argument left out or a one-item list for a text, context keys like foo+bar."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.dmn.test_literal_expressions import literal


@pytest.mark.parametrize(("text", "expected"), [
    ("(=10) = [10..10]", False),  # a test for one value is not a closed range
    ("(=10) = (=10)", True),
    ("(!=10) = (!=10)", True),
    ("(!=10) = (=10)", False),
    ("10 in (!=10)", False),
    ("5 in (!=10)", True),
    ("true in (!=true)", False),
    ("[1,2,3] in (!=[1,2,3])", False),
    ("10 in (=10)", True),
])
def test_a_range_for_one_value_compares_as_the_test_it_stands_for(text: str,
                                                                   expected: Any) -> None:
    assert literal(text) is expected


@pytest.mark.parametrize("text", ['is(value1: @"2021-02-13")', 'is(value2: @"2021-02-13")'])
def test_a_named_argument_left_out_is_null(text: str) -> None:
    # DMN: a parameter not named in the invocation is null, and a date is not null
    assert literal(text) is False


@pytest.mark.parametrize(("text", "expected"), [
    ('upper case(["bob"])', "BOB"),  # a one-item list of a text, where a text is taken
    ('upper case(["bob", "ann"])', None),
    ('contains(["foobar"], "oba")', True),
])
def test_a_one_item_list_given_for_a_text_is_its_item(text: str, expected: Any) -> None:
    assert literal(text) == expected


def test_a_context_key_may_hold_name_symbols() -> None:
    assert literal('{foo+bar: "foo", a.b-c: 1}') == {"foo+bar": "foo", "a.b-c": 1}
    assert literal("{a: 2, b: a + 1}.b") == 3  # with spaces, + is still an addition
