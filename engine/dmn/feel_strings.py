"""FEEL's string built-ins (DMN 1.5, 10.3.4.3) and string(): null-safe, bounded in size."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.dmn.feel_far_dates import DAY_TYPES
from engine.dmn.feel_limits import check_length, compile_regex
from engine.dmn.feel_nanos import NanoTime
from engine.dmn.feel_temporal import iso_text
from engine.dmn.feel_types import YearMonthDuration, feel_repr, format_duration
from engine.dmn.feel_types import integer_value as _int

_DOLLAR_GROUP = re.compile(r"\$(\d)")


def is_text(*values: Any) -> bool:
    return all(type(v) is str for v in values)


def to_string(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is str:
        return value
    if type(value) in DAY_TYPES or type(value) in (dt.time, NanoTime):
        return iso_text(value)
    if type(value) in (dt.timedelta, YearMonthDuration):
        return format_duration(value)
    return feel_repr(value)


def substring(s: Any, start: Any, length: Any = None) -> Any:
    first = _int(start)
    if not is_text(s) or first is None or first == 0:
        return None
    begin = first - 1 if first > 0 else len(s) + first
    if length is None:
        return s[max(begin, 0):]
    count = int(length) if type(length) is Decimal else None  # a length of 3.8: 3
    return None if count is None or count < 0 else s[max(begin, 0):max(begin, 0) + count]


def two_texts(fn: Callable[[str, str], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: fn(a, b) if is_text(a, b) else None


def matches(s: Any, pattern: Any, flags: Any = None) -> Any:
    if not is_text(s, pattern):
        return None
    return compile_regex(pattern, flags).search(s) is not None


def replace_text(s: Any, pattern: Any, repl: Any, flags: Any = None) -> Any:
    if not is_text(s, pattern, repl):
        return None
    regex = compile_regex(pattern, flags)
    if repl:  # bound the result before it is built: each match adds the replacement
        per_match = len(repl) + (len(s) if "$" in repl else 0)
        check_length(len(s) + len(regex.findall(s)) * per_match)
    return regex.sub(lambda m: _DOLLAR_GROUP.sub(lambda g: m.group(int(g[1])) or "", repl), s)


def split(s: str, delimiter: str) -> list[str]:
    return list(compile_regex(delimiter, None).split(s))


def string_join(items: Any, sep: Any = "") -> Any:
    if type(items) is not list or not is_text(sep or ""):
        return None
    if not all(i is None or type(i) is str for i in items):
        return None
    check_length(sum(len(i or "") + len(sep or "") for i in items))
    return (sep or "").join(i for i in items if i is not None)
