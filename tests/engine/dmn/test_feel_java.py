"""``function(…) external {java: …}``: a fixed list of pure java.lang methods, nothing else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.engine.dmn.test_feel_errors import result_of


def java(cls: str, signature: str, call: str) -> str:
    params = "a, b" if "," in signature else "a"
    return (f'{{f: function({params}) external {{java: {{class: "{cls}", '
            f'method signature: "{signature}"}}}}, r: {call}}}.r')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (java("java.lang.Math", "max(int, int)", "f(123, 456)"), Decimal(456)),
        (java("java.lang.Math", "max(double,double)", "f(123.45, 456.78)"), Decimal("456.78")),
        (java("java.lang.Integer", "valueOf(java.lang.String)", 'f("123")'), Decimal(123)),
        (java("java.lang.String", "format(java.lang.String, [Ljava.lang.Object;)",
              'f("foo %s", "bar")'), "foo bar"),
    ],
)
def test_provided_java_methods_compute(text: str, expected: Any) -> None:
    result = result_of(text)
    assert result.outputs == expected and result.errors == []


def test_java_cos_is_a_double() -> None:
    value = result_of(java("java.lang.Math", "cos(double)", "f(123)")).outputs
    assert abs(value - Decimal("-0.8879689066918555")) < Decimal("1e-15")


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        (java("java.lang.Runtime", "exec(java.lang.String)", 'f("rm -rf /")'),
         "java.lang.Runtime.exec(java.lang.String) is not provided (Bridgeflow runs no Java"),
        (java("java.lang.Math", "max(int, int)", "f(1.5, 2)"), "cannot take 1.5, 2"),
        (java("java.lang.String", "valueOf(char)", 'f("abc")'), "one character"),
    ],
)
def test_other_classes_and_bad_arguments_give_null_and_say_why(text: str, reported: str) -> None:
    result = result_of(text)
    assert result.outputs is None and any(reported in e for e in result.errors), result.errors
