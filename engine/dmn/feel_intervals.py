"""FEEL's range relations (DMN 1.4 §10.3.4.9): before, after, meets, overlaps, includes…

Each takes two points, a point and a range, or two ranges; an argument that is neither, or
values that cannot be compared, give null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.dmn.feel_types import Range, compare


class _Incomparable(Exception):
    pass


def _cmp(a: Any, b: Any) -> int:
    c = compare(a, b)
    if c is None:
        raise _Incomparable
    return c


def _lt(a: Any, b: Any) -> bool:
    return _cmp(a, b) < 0


def _eq(a: Any, b: Any) -> bool:
    return _cmp(a, b) == 0


def _point(value: Any) -> Range:
    return Range(value, value, True, True)


def _before(a: Range, b: Range) -> bool:
    return _lt(a.end, b.start) or (
        _eq(a.end, b.start) and not (a.end_included and b.start_included))


def _meets(a: Range, b: Range) -> bool:
    return a.end_included and b.start_included and _eq(a.end, b.start)


def _overlaps(a: Range, b: Range) -> bool:
    return (_lt(b.start, a.end) or (_eq(a.end, b.start) and a.end_included
                                    and b.start_included)) and (
        _lt(a.start, b.end) or (_eq(a.start, b.end) and a.start_included and b.end_included))


def _overlaps_before(a: Range, b: Range) -> bool:
    return ((_lt(a.start, b.start) or (_eq(a.start, b.start) and a.start_included
                                       and not b.start_included))
            and (_lt(b.start, a.end) or (_eq(a.end, b.start) and a.end_included
                                         and b.start_included))
            and (_lt(a.end, b.end) or (_eq(a.end, b.end)
                                       and (not a.end_included or b.end_included))))


def _finishes(a: Range, b: Range) -> bool:
    return (a.end_included == b.end_included and _eq(a.end, b.end)
            and (_lt(b.start, a.start) or (_eq(a.start, b.start)
                                           and (not a.start_included or b.start_included))))


def _includes(a: Range, b: Range) -> bool:
    return ((_lt(a.start, b.start) or (_eq(a.start, b.start)
                                       and (a.start_included or not b.start_included)))
            and (_lt(b.end, a.end) or (_eq(a.end, b.end)
                                       and (a.end_included or not b.end_included))))


def _starts(a: Range, b: Range) -> bool:
    return (a.start_included == b.start_included and _eq(a.start, b.start)
            and (_lt(a.end, b.end) or (_eq(a.end, b.end)
                                       and (not a.end_included or b.end_included))))


def _coincides(a: Range, b: Range) -> bool:
    return (_eq(a.start, b.start) and _eq(a.end, b.end)
            and a.start_included == b.start_included and a.end_included == b.end_included)


def _relation(test: Callable[[Range, Range], bool], swap: bool = False) -> Callable[..., Any]:
    def relate(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        ra = a if type(a) is Range else _point(a)
        rb = b if type(b) is Range else _point(b)
        if None in (ra.start, ra.end, rb.start, rb.end):
            return None
        try:
            return test(rb, ra) if swap else test(ra, rb)
        except _Incomparable:
            return None

    return relate


SIGNATURES = ("point1,point2", "point,range", "range,point", "range1,range2")
RELATIONS: dict[str, Callable[..., Any]] = {
    "before": _relation(_before), "after": _relation(_before, swap=True),
    "meets": _relation(_meets), "met by": _relation(_meets, swap=True),
    "overlaps": _relation(_overlaps), "overlaps before": _relation(_overlaps_before),
    "overlaps after": _relation(_overlaps_before, swap=True),
    "finishes": _relation(_finishes), "finished by": _relation(_finishes, swap=True),
    "includes": _relation(_includes), "during": _relation(_includes, swap=True),
    "starts": _relation(_starts), "started by": _relation(_starts, swap=True),
    "coincides": _relation(_coincides),
}  # fmt: skip
