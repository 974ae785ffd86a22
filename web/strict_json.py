"""Read request JSON as the standard defines it: no NaN or Infinity, and bounded nesting."""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64  # deeper documents are refused before anything walks them recursively


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's provider, but ``loads`` refuses what JSON does not allow or we cannot store."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, parse_constant=_refuse_constant, **kwargs)
        except RecursionError:
            raise ValueError(f"the JSON nests lists and objects more than {MAX_DEPTH} "
                             "levels deep") from None
        check_depth(value)
        return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (JSON has no NaN or Infinity); send a "
                     "number, a string or null")


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ValueError when lists and objects nest deeper than ``limit`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (item.values() if isinstance(item, dict) else item
                    if isinstance(item, list) else ())
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    raise ValueError(f"the JSON nests lists and objects more than {limit} "
                                     "levels deep")
                stack.append((child, depth + 1))
