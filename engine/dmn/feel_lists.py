"""FEEL list functions (sum, min, max, count helpers, sublist, distinct values...), null-safe."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from engine.dmn.feel_limits import spend
from engine.dmn.feel_types import NUMBER_CONTEXT as CTX
from engine.dmn.feel_types import FeelFunction, compare, feel_eq
from engine.dmn.feel_types import all_numbers as _num
from engine.dmn.feel_types import integer_value as _int


def total(items: list[Any]) -> Any:
    """FEEL sum(): null for an empty list or one that holds anything but numbers."""
    if not items or not _num(*items):
        return None
    result = Decimal(0)
    for x in items:
        result = CTX.add(result, x)
    return result


def extreme(sign: int) -> Callable[[list[Any]], Any]:
    def pick(items: list[Any]) -> Any:
        if not items:
            return None
        best = items[0]
        for x in items[1:]:
            c = compare(x, best)
            if c is None:
                return None
            if c == sign:
                best = x
        return best

    return pick


def mean(items: list[Any]) -> Any:
    summed = total(items)
    return None if summed is None else CTX.divide(summed, Decimal(len(items)))


def median(items: list[Any]) -> Any:
    if not items or not _num(*items):
        return None
    s = sorted(items)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else CTX.divide(CTX.add(s[mid - 1], s[mid]), Decimal(2))


def all_true(items: list[Any]) -> Any:
    if any(x is False for x in items):
        return False
    return True if all(x is True for x in items) else None


def any_true(items: list[Any]) -> Any:
    if any(x is True for x in items):
        return True
    return False if all(x is False for x in items) else None


def list_contains(items: Any, value: Any) -> Any:
    if type(items) is not list:
        return None
    return any(feel_eq(x, value) is True for x in items)


def sublist(items: Any, start: Any, length: Any = None) -> Any:
    if type(items) is not list:
        return None
    first = _int(start)
    if first is None or first == 0 or abs(first) > len(items):
        return None
    begin = first - 1 if first > 0 else len(items) + first
    count = len(items) - begin if length is None else _int(length)
    return None if count is None else items[begin:begin + count]


def _index(items: Any, position: Any) -> int | None:
    p = int(position) if type(position) is Decimal else None  # position 2.5 is 2
    if type(items) is not list or p is None or p == 0 or abs(p) > len(items):
        return None
    return p - 1 if p > 0 else len(items) + p


def insert_before(items: Any, position: Any, item: Any) -> Any:
    i = _index(items, position)
    return None if i is None else items[:i] + [item] + items[i:]


def remove(items: Any, position: Any) -> Any:
    i = _index(items, position)
    return None if i is None else items[:i] + items[i + 1:]


def distinct(items: Any) -> Any:
    if type(items) is not list:
        return None
    out: list[Any] = []
    for x in items:
        if not any(feel_eq(x, y) is True for y in out):
            out.append(x)
    return out


def flatten(items: Any) -> Any:
    if type(items) is not list:
        return None
    out: list[Any] = []
    for x in items:
        out.extend(flatten(x) if type(x) is list else [x])
    return out


def concatenate(*lists: Any) -> Any:
    if not all(type(x) is list for x in lists):
        return None
    return [item for x in lists for item in x]


def product(items: list[Any]) -> Any:
    if not items or not _num(*items):
        return None
    result = Decimal(1)
    for x in items:
        result = CTX.multiply(result, x)
    return result


def mode(items: list[Any]) -> Any:
    """The most frequent numbers, in ascending order (all of them on a tie)."""
    if type(items) is not list:
        return None
    if not items:
        return []
    if not _num(*items):
        return None
    counts: dict[Decimal, int] = {}
    for x in items:
        counts[x] = counts.get(x, 0) + 1
    top = max(counts.values())
    return sorted(x for x, n in counts.items() if n == top)


def stddev(items: list[Any]) -> Any:
    """The sample standard deviation; null for fewer than two numbers."""
    if len(items) < 2 or not _num(*items):
        return None
    average = CTX.divide(total(items), Decimal(len(items)))
    squares = Decimal(0)
    for x in items:
        squares = CTX.add(squares, CTX.power(CTX.subtract(x, average), 2))
    return CTX.divide(squares, Decimal(len(items) - 1)).sqrt(CTX)


def sort(items: Any, precedes: Any = None) -> Any:
    """Sort ascending, or by a FEEL function ``precedes(a, b)`` that says a comes first."""
    if type(items) is not list:
        return None
    if precedes is None:
        for x in items[1:]:
            if compare(x, items[0]) is None:
                return None
        return sorted(items, key=cmp_to_key(lambda a, b: compare(a, b) or 0))
    if not isinstance(precedes, FeelFunction):
        return None

    def order(a: Any, b: Any) -> int:
        spend()
        if precedes.call([a, b]) is True:
            return -1
        return 1 if precedes.call([b, a]) is True else 0

    return sorted(items, key=cmp_to_key(order))


def list_replace(items: Any, position: Any, new_item: Any) -> Any:
    """Replace the item at a position, or every item for which ``match(item, new)`` is true."""
    if type(items) is not list:
        return None
    if isinstance(position, FeelFunction):
        if len(position.params) != 2:
            return None  # the match takes the item and the new item
        out = []
        for x in items:
            spend()
            matched = position.call([x, new_item])
            if type(matched) is not bool:
                return None  # a match that is not true or false
            out.append(new_item if matched else x)
        return out
    i = _index(items, position)
    return None if i is None else items[:i] + [new_item] + items[i + 1:]
