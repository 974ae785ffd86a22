"""Bounds on one FEEL evaluation — steps, sizes, numbers, regular expressions — so that no
expression an analyst writes can hold a web or worker process for long or exhaust its memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any

import re2

from engine.dmn.feel_regex import BackreferenceError, check_flags, translate

MAX_STEPS = 200_000
"""Loop iterations, filter items, function calls and list items a built-in walks, per evaluation."""
MAX_SIZE = 100_000
"""Characters of a text and items of a list that an evaluation may build."""
MAX_DEPTH = 64
"""Calls of FEEL functions defined inline that may be under way at once (recursion depth)."""
MAX_EXPONENT = 999
"""A FEEL number must lie strictly between -1E+1000 and 1E+1000 (and 0 or beyond ±1E-999)."""

_local = threading.local()


class FeelLimitError(Exception):
    """An evaluation went past one of the limits above: it is stopped, never finished."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class evaluation_budget:  # noqa: N801 - used as a context manager, like contextlib's
    """Give the evaluations inside the block ``steps`` steps in all (an outer budget wins).

    A class rather than a generator: it wraps every decision evaluation, and this is cheaper.
    """

    __slots__ = ("steps", "owner")

    def __init__(self, steps: int = MAX_STEPS) -> None:
        self.steps, self.owner = steps, False

    def __enter__(self) -> None:
        if getattr(_local, "left", None) is None:
            _local.left, self.owner = self.steps, True
            _local.converted = {}

    def __exit__(self, *exc_info: object) -> None:
        if self.owner:
            _local.left = _local.converted = None


def converted_values() -> dict[int, Any] | None:
    """The lists and contexts already in FEEL form in the running evaluation, by id (they are
    kept alive there, so an id is not reused); None outside an evaluation."""
    converted: dict[int, Any] | None = getattr(_local, "converted", None)
    return converted


def spend(steps: int = 1) -> None:
    """Count ``steps`` against the running evaluation's budget; stop it when none are left."""
    left = getattr(_local, "left", None)
    if left is None:
        return
    left -= steps
    _local.left = left
    if left < 0:
        raise FeelLimitError("steps", f"the expression took more than {MAX_STEPS:,} steps "
                             "(loop iterations, function calls, list items); FEEL evaluation "
                             "is limited to that many: simplify the expression or its loops")


@contextmanager
def call_depth() -> Iterator[None]:
    """Count one more FEEL function call in progress; stop past ``MAX_DEPTH`` of them."""
    depth = getattr(_local, "depth", 0) + 1
    if depth > MAX_DEPTH:
        raise FeelLimitError("depth", f"functions called each other more than {MAX_DEPTH} "
                             "deep; FEEL recursion is limited to that depth")
    _local.depth = depth
    try:
        yield
    finally:
        _local.depth = depth - 1


def check_size(value: Any) -> Any:
    """Return ``value``, or stop when it is a text or list longer than ``MAX_SIZE``."""
    if type(value) is str:
        check_length(len(value), "text")
    elif type(value) is list:
        check_length(len(value), "list")
    return value


def check_length(length: int, kind: str = "text") -> None:
    """Stop before a text or list of ``length`` characters or items is built past the limit."""
    if length > MAX_SIZE:
        unit = "characters" if kind == "text" else "items"
        raise FeelLimitError("size", f"the expression would build a {kind} of {length:,} "
                             f"{unit}; FEEL {kind}s are limited to {MAX_SIZE:,} {unit}")


def check_number(value: Decimal) -> Decimal:
    """Return ``value``, or refuse a number outside FEEL's bounded range (never compute it)."""
    if value.is_finite() and value and abs(value.adjusted()) > MAX_EXPONENT:
        raise FeelLimitError("number", _number_message())
    if not value.is_finite():
        raise FeelLimitError("number", f"{value} is not a FEEL number")
    return value


def number_overflow() -> FeelLimitError:
    return FeelLimitError("number", _number_message())


def _number_message() -> str:
    return (f"a number beyond 1E+{MAX_EXPONENT + 1} or closer to 0 than 1E-{MAX_EXPONENT} "
            "came up; FEEL numbers are limited to that range and are not computed past it")


def compile_regex(pattern: str, flags: Any) -> Any:
    """Compile an XPath regular expression (``feel_regex``) for RE2, a linear-time engine.

    A pattern or flags XPath refuses is a ``ValueError`` (FEEL null, with the error); a
    backreference (``\\1``), valid XPath that RE2 cannot run in bounded time, is refused with
    a ``FeelLimitError`` that says so.
    """
    check_size(pattern)
    return _compiled(pattern, check_flags(flags))


@lru_cache(maxsize=256)
def _compiled(pattern: str, flags: str) -> Any:
    try:
        translated = translate(pattern, flags)
    except BackreferenceError as exc:
        raise FeelLimitError("regex", f"the pattern {pattern[:80]!r} refers back to group "
                             f"{exc.args[0]}; Bridgeflow runs regular expressions in linear "
                             "time, which backreferences (\\1) do not allow: match the "
                             "group's text again instead") from None
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(translated, options)
    except re2.error as exc:  # a translation RE2 still refuses: a count too large
        raise ValueError(f"the pattern {pattern[:80]!r} cannot be run: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)
