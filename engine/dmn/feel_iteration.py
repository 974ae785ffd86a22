"""FEEL's iteration: ``for … return``, ``some``/``every … satisfies``, over lists or ``a..b``.

Each iteration costs one step of the evaluation budget (``feel_limits``), so a loop over a
huge range or nested loops stop at the limit instead of running on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.dmn.feel_errors import report
from engine.dmn.feel_limits import check_length, converted_values, spend
from engine.dmn.feel_types import feel_type_name, integer_value

Env = dict[str, Any]
Evaluator = Callable[[Env], Any]
_NO_VALUE = object()


def int_range(start: Evaluator, end: Evaluator) -> Evaluator:
    """``a..b`` in a ``for``: the whole numbers from a to b, counting down when b < a."""

    def numbers(env: Env) -> list[Any] | None:
        low, high = start(env), end(env)
        if type(low) is dt.date and type(high) is dt.date:  # day by day
            days = (high - low).days
            check_length(abs(days) + 1, "list")
            step = 1 if days >= 0 else -1
            return [low + dt.timedelta(days=i) for i in range(0, days + step, step)]
        first, last = integer_value(low), integer_value(high)
        if first is None or last is None:
            report("a for loop's range a..b needs whole numbers or dates: null")
            return None
        check_length(abs(last - first) + 1, "list")
        step = 1 if last >= first else -1
        return [Decimal(i) for i in range(first, last + step, step)]

    return numbers


def three_valued_any(values: list[Any]) -> bool | None:
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def three_valued_all(values: list[Any]) -> bool | None:
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def loop(kind: str, iters: list[tuple[str, Evaluator]], body: Evaluator) -> Evaluator:
    """Compile a loop over one or more iterators (the later ones vary fastest)."""

    def run(env: Env) -> Any:
        local = dict(env)
        results: list[Any] = []
        if kind == "for":
            local["partial"] = results
            converted = converted_values()
            if converted is not None:  # FEEL values already; read live as the loop goes on
                converted[id(results)] = results
        stop = _walk(kind, iters, 0, body, local, results)
        if stop is not _NO_VALUE:
            return stop
        if kind == "for":
            return results
        return three_valued_any(results) if kind == "some" else three_valued_all(results)

    return run


def _walk(kind: str, iters: list[tuple[str, Evaluator]], depth: int, body: Evaluator,
          local: Env, results: list[Any]) -> Any:
    """Run the iterators from ``depth`` on; a value other than _NO_VALUE ends the loop."""
    var, source = iters[depth]
    items = source(local)
    if type(items) is not list:
        report(f"a loop cannot iterate over a {feel_type_name(items)}: null")
        return None
    last = depth == len(iters) - 1
    for item in items:
        spend()
        local[var] = item
        if not last:
            stop = _walk(kind, iters, depth + 1, body, local, results)
            if stop is not _NO_VALUE:
                return stop
            continue
        result = body(local)
        if (kind == "some" and result is True) or (kind == "every" and result is False):
            return result
        results.append(result)
        check_length(len(results), "list")
    return _NO_VALUE
