"""FEEL's numeric built-ins (DMN 1.5, 10.3.4.5) and number(): decimals of 34 digits."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from engine.dmn.feel_limits import check_number
from engine.dmn.feel_strings import is_text
from engine.dmn.feel_types import NUMBER_CONTEXT as CTX
from engine.dmn.feel_types import YearMonthDuration
from engine.dmn.feel_types import all_numbers as _num
from engine.dmn.feel_types import integer_value as _int

_GROUPING = (None, " ", ",", ".")
_DECIMAL_SEPARATORS = (None, ",", ".")


def to_number(text: Any, grouping: Any = None, decimal_sep: Any = None) -> Any:
    if not is_text(text) or grouping not in _GROUPING or decimal_sep not in _DECIMAL_SEPARATORS:
        return None
    if grouping is not None and grouping == decimal_sep:
        return None
    if grouping is not None:
        text = text.replace(grouping, "")
    if decimal_sep is not None:
        text = text.replace(decimal_sep, ".")
    if not re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", text):
        return None
    return check_number(Decimal(text))


def rounder(mode: str) -> Callable[..., Any]:
    def round_to(n: Any, scale: Any = Decimal(0)) -> Any:
        places = int(scale) if type(scale) is Decimal else None  # 2.5 places: 2
        if not _num(n) or places is None or not -6111 <= places <= 6176:
            return None
        if -int(n.as_tuple().exponent) <= places:  # already that precise (scale may be 6176)
            return n
        return n.quantize(Decimal(1).scaleb(-places), rounding=mode, context=CTX)

    return round_to


def absolute(n: Any) -> Any:
    """abs(): of a number or of either kind of duration."""
    if type(n) in (Decimal, dt.timedelta):
        return abs(n)
    if type(n) is YearMonthDuration:
        return YearMonthDuration(abs(n.months))
    return None


def modulo(a: Any, b: Any) -> Any:
    if not _num(a, b) or b == 0:
        return None
    return CTX.subtract(a, CTX.multiply(b, CTX.divide(a, b).to_integral_value(ROUND_FLOOR)))


def math_function(fn: Callable[[Decimal], Decimal], lowest: int,
                  strict: bool) -> Callable[[Any], Any]:
    def apply(n: Any) -> Any:
        if not _num(n) or n < lowest or (strict and n == lowest):
            return None
        return fn(n)

    return apply


def parity(remainder: int) -> Callable[[Any], Any]:
    def check(n: Any) -> Any:
        whole = _int(n)
        return None if whole is None else whole % 2 == remainder

    return check
