"""FEEL errors that give null: ``1 + "a"``, ``abs("x")``, ``date(null)`` evaluate to null and
are reported, as DMN asks, in the decision result instead of stopping the evaluation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_REPORTED = 20
"""Errors kept per evaluation (a loop could otherwise report one per item)."""

_local = threading.local()


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the errors reported inside the block (an outer collector keeps them all)."""
    outer = getattr(_local, "errors", None)
    if outer is not None:
        yield outer
        return
    errors: list[str] = []
    _local.errors = errors
    try:
        yield errors
    finally:
        _local.errors = None


def report(message: str) -> None:
    """Note that an operation gave null because it was not defined for its operands."""
    errors = getattr(_local, "errors", None)
    if errors is not None and len(errors) < MAX_REPORTED:
        errors.append(message)
