"""FEEL's ``range("[1..10)")``: a range read from text whose ends are literals."""

from __future__ import annotations

import re
from typing import Any

from engine.dmn.feel_limits import check_size
from engine.dmn.feel_types import Range, compare

_SHAPE = re.compile(r"\s*([\[\](])(.*)([\[\])])\s*", re.DOTALL)


def range_from_text(text: Any) -> Any:
    """The range ``text`` writes, or None when it is not one (ends must be literals)."""
    if type(text) is not str:
        return None
    check_size(text)
    m = _SHAPE.fullmatch(text)
    if not m:
        return None
    ends = _split_ends(m[2])
    if ends is None:
        return None
    start, end = (_endpoint(e) for e in ends)
    if start is _BAD or end is _BAD or start is None or end is None:
        return None
    order = compare(start, end)
    if order is None or order > 0:
        return None  # ends of different types, or a descending range
    return Range(start, end, m[1] == "[", m[3] == "]")


_BAD = object()


def _split_ends(inner: str) -> tuple[str, str] | None:
    """Split at the ``..`` that is not inside a string."""
    quoted = False
    for i, c in enumerate(inner):
        if c == '"' and (i == 0 or inner[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and inner.startswith("..", i):
            return inner[:i].strip(), inner[i + 2 :].strip()
    return None


def _endpoint(text: str) -> Any:
    if not text:
        return None
    # imported here: the parser needs the built-ins, of which range() is one
    from engine.dmn.feel_eval import Const, ExprCompiler
    from engine.dmn.feel_lexer import FeelSyntaxError
    from engine.dmn.feel_parser import parse_expression

    try:
        compiled = ExprCompiler().compile(parse_expression(text))
    except FeelSyntaxError:
        return _BAD
    if not isinstance(compiled, Const) or compiled.value is None:
        return _BAD
    return compiled.value
