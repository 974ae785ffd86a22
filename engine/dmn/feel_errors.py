"""FEEL errors that give null: ``1 + "a"``, ``abs("x")``, ``date(null)`` evaluate to null and
are reported, as DMN asks, in the decision result instead of stopping the evaluation.
"""

from __future__ import annotations

import threading

MAX_REPORTED = 20
"""Errors kept per evaluation (a loop could otherwise report one per item)."""

_local = threading.local()


class collecting:  # noqa: N801 - used as a context manager, like contextlib's
    """Collect the errors reported inside the block (an outer collector keeps them all).

    A class rather than a generator: it wraps every decision evaluation, and this is cheaper.
    """

    __slots__ = ("owner",)

    def __init__(self) -> None:
        self.owner = False

    def __enter__(self) -> list[str]:
        outer: list[str] | None = getattr(_local, "errors", None)
        if outer is not None:
            return outer
        errors: list[str] = []
        _local.errors, self.owner = errors, True
        return errors

    def __exit__(self, *exc_info: object) -> None:
        if self.owner:
            _local.errors = None


def report(message: str) -> None:
    """Note that an operation gave null because it was not defined for its operands."""
    errors = getattr(_local, "errors", None)
    if errors is not None and len(errors) < MAX_REPORTED:
        errors.append(message)
