"""FEEL's built-in functions (the core the DMN TCK and everyday tables use), null-safe."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from typing import Any

from engine.dmn.feel_contexts import (
    context,
    context_merge,
    context_put,
    get_entries,
    get_value,
)
from engine.dmn.feel_errors import report
from engine.dmn.feel_far_dates import DAY_TYPES, FarDate, FarDateTime, combine, make_date
from engine.dmn.feel_intervals import RELATIONS, SIGNATURES
from engine.dmn.feel_limits import (
    check_length,
    check_number,
    check_size,
    compile_regex,
    spend,
)
from engine.dmn.feel_lists import (
    all_true,
    any_true,
    concatenate,
    distinct,
    extreme,
    flatten,
    insert_before,
    list_contains,
    list_replace,
    mean,
    median,
    mode,
    product,
    remove,
    sort,
    stddev,
    sublist,
    total,
)
from engine.dmn.feel_ranges import range_from_text
from engine.dmn.feel_regex import RegexSyntaxError
from engine.dmn.feel_temporal import (
    day_of_week,
    day_of_year,
    iso_text,
    month_of_year,
    now,
    parse_date,
    parse_date_time,
    parse_duration,
    parse_time,
    today,
    week_of_year,
)
from engine.dmn.feel_types import (
    NUMBER_CONTEXT as CTX,
)
from engine.dmn.feel_types import (
    YearMonthDuration,
    feel_eq,
    feel_is,
    feel_not,
    feel_repr,
    format_duration,
)
from engine.dmn.feel_types import all_numbers as _num
from engine.dmn.feel_types import integer_value as _int

_FAILURES = (ArithmeticError, ValueError, TypeError, IndexError, KeyError)
_REPORTED = object()  # null, and the reason is reported already
_DOLLAR_GROUP = re.compile(r"\$(\d)")


_WRONG_ARGUMENTS = object()


@dataclass(frozen=True, slots=True)
class Builtin:
    fn: Callable[..., Any]
    signatures: tuple[tuple[str, ...], ...]
    varargs: bool = False  # f(list) or f(a, b, c...): both forms allowed
    open_arity: bool = False  # extra arguments after the signature are passed through
    name: str = ""

    def invoke(self, args: list[Any], named: dict[str, Any] | None = None) -> Any:
        result = self._invoke(args, named)
        if result is _REPORTED:
            return None
        if result is _WRONG_ARGUMENTS:
            report(f"{self.name}() gave null: its arguments are missing, too many or not named "
                   "as it takes")
            return None
        if result is None and self.name not in _NULL_IS_AN_ANSWER:
            if any(arg is None for arg in args):  # null in, null out: a missing value
                report(f"{self.name}() gave null: it was given null")
            else:
                report(f"{self.name}() gave null: its arguments are missing, too many or not "
                       "of the types it takes")
        return result

    def _invoke(self, args: list[Any], named: dict[str, Any] | None) -> Any:
        if named is not None:
            ordered = self._order(named)
            if ordered is None:
                return _WRONG_ARGUMENTS
            args = ordered
        elif self.varargs:
            if not args:
                return _WRONG_ARGUMENTS  # all(), min(): at least a list or one value
            if len(args) == 1 and type(args[0]) is list:
                args = args[0]
            return self._run([args])
        elif not any(
            len(sig) == len(args) or (self.open_arity and len(args) >= len(sig))
            for sig in self.signatures
        ):
            return _WRONG_ARGUMENTS
        return self._run(args)

    def _order(self, named: dict[str, Any]) -> list[Any] | None:
        if type(named.get("key")) is list and any("keys" in sig for sig in self.signatures):
            return None  # context put(key: […]): a path of keys is passed as keys
        for sig in self.signatures:
            if set(named) <= set(sig) and all(p in named for p in sig[: len(named)]) and any(
                    len(other) == len(named) for other in self.signatures):  # f(a:, b:)
                return [named[p] for p in sig[: len(named)]]
        for sig in self.signatures:  # DMN: a parameter not named is null
            if set(named) <= set(sig):
                return [named.get(p) for p in sig]
        return None

    def _wrap_lists(self, args: list[Any]) -> list[Any]:
        """A single value passed where a list is taken stands for a one-item list, and a
        one-item list of a text passed where a text is taken for its item (DMN 1.5)."""
        for sig in self.signatures:
            if len(sig) == len(args):
                return [[a] if p in _LIST_PARAMETERS and a is not None and type(a) is not list
                        else a[0] if p in _TEXT_PARAMETERS and type(a) is list and len(a) == 1
                        and type(a[0]) is str
                        else a for p, a in zip(sig, args, strict=True)]
        return args

    def _run(self, args: list[Any]) -> Any:
        args = self._wrap_lists(args)
        spend(1 + sum(len(a) for a in args if type(a) is list))
        try:
            return check_size(self.fn(*args))
        except RegexSyntaxError as exc:
            report(f"{self.name}() gave null: {exc}")
            return _REPORTED
        except _FAILURES:
            return None


_LIST_PARAMETERS = frozenset({"list", "contexts"})
_TEXT_PARAMETERS = frozenset({"string", "match", "input", "pattern", "replacement", "flags",
                              "delimiter"})


def _str(*values: Any) -> bool:
    return all(type(v) is str for v in values)


# -- conversion ---------------------------------------------------------------------------
def _string(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is str:
        return value
    if type(value) in DAY_TYPES or type(value) is dt.time:
        return iso_text(value)
    if type(value) in (dt.timedelta, YearMonthDuration):
        return format_duration(value)
    return feel_repr(value)


_GROUPING = (None, " ", ",", ".")
_DECIMAL_SEPARATORS = (None, ",", ".")


def _number(text: Any, grouping: Any = None, decimal_sep: Any = None) -> Any:
    if not _str(text) or grouping not in _GROUPING or decimal_sep not in _DECIMAL_SEPARATORS:
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


def _date(*args: Any) -> Any:
    if len(args) == 3:
        y, m, d = (_int(a) for a in args)
        if y is None or m is None or d is None:
            return None
        return make_date(y, m, d)
    value = args[0]
    if type(value) is str:
        return parse_date(value)
    if type(value) in DAY_TYPES:
        return make_date(value.year, value.month, value.day)
    return None


def _time(*args: Any) -> Any:
    if len(args) >= 3:
        h, m = _int(args[0]), _int(args[1])
        if h is None or m is None or type(args[2]) is not Decimal:
            return None
        micro = int((args[2] % 1) * 1000000)
        tz = None
        if len(args) == 4 and args[3] is not None:
            if type(args[3]) is not dt.timedelta:
                return None
            tz = dt.timezone(args[3])
        return dt.time(h, m, int(args[2]), micro, tzinfo=tz)
    value = args[0]
    if type(value) is str:
        return parse_time(value)
    if type(value) in (dt.datetime, FarDateTime):
        return value.timetz()
    if type(value) in (dt.date, FarDate):
        return dt.time(0, 0, tzinfo=dt.UTC)  # a date is its midnight UTC
    return value if type(value) is dt.time else None


def _date_and_time(*args: Any) -> Any:
    if len(args) == 2:
        day, clock = args
        if type(day) not in DAY_TYPES or type(clock) is not dt.time:
            return None
        return combine(day, clock)
    value = args[0]
    return parse_date_time(value) if type(value) is str else None


def _duration(value: Any) -> Any:
    return parse_duration(value) if type(value) is str else None


def _years_and_months(start: Any, end: Any) -> Any:
    if type(start) not in DAY_TYPES or type(end) not in DAY_TYPES:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return YearMonthDuration(months)


# -- numbers ------------------------------------------------------------------------------
def _rounder(mode: str) -> Callable[..., Any]:
    def round_to(n: Any, scale: Any = Decimal(0)) -> Any:
        places = int(scale) if type(scale) is Decimal else None  # 2.5 places: 2
        if not _num(n) or places is None or not -6111 <= places <= 6176:
            return None
        if -int(n.as_tuple().exponent) <= places:  # already that precise (scale may be 6176)
            return n
        return n.quantize(Decimal(1).scaleb(-places), rounding=mode, context=CTX)

    return round_to


def _abs(n: Any) -> Any:
    if type(n) in (Decimal, dt.timedelta):
        return abs(n)
    if type(n) is YearMonthDuration:
        return YearMonthDuration(abs(n.months))
    return None


def _modulo(a: Any, b: Any) -> Any:
    if not _num(a, b) or b == 0:
        return None
    return CTX.subtract(a, CTX.multiply(b, CTX.divide(a, b).to_integral_value(ROUND_FLOOR)))


def _math(fn: Callable[[Decimal], Decimal], lowest: int, strict: bool) -> Callable[[Any], Any]:
    def apply(n: Any) -> Any:
        if not _num(n) or n < lowest or (strict and n == lowest):
            return None
        return fn(n)

    return apply


def _parity(remainder: int) -> Callable[[Any], Any]:
    def check(n: Any) -> Any:
        whole = _int(n)
        return None if whole is None else whole % 2 == remainder

    return check


# -- strings ------------------------------------------------------------------------------
def _substring(s: Any, start: Any, length: Any = None) -> Any:
    first = _int(start)
    if not _str(s) or first is None or first == 0:
        return None
    begin = first - 1 if first > 0 else len(s) + first
    if length is None:
        return s[max(begin, 0):]
    count = int(length) if type(length) is Decimal else None  # a length of 3.8: 3
    return None if count is None or count < 0 else s[max(begin, 0):max(begin, 0) + count]


def _two_strings(fn: Callable[[str, str], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: fn(a, b) if _str(a, b) else None


def _matches(s: Any, pattern: Any, flags: Any = None) -> Any:
    if not _str(s, pattern):
        return None
    return compile_regex(pattern, flags).search(s) is not None


def _replace(s: Any, pattern: Any, repl: Any, flags: Any = None) -> Any:
    if not _str(s, pattern, repl):
        return None
    regex = compile_regex(pattern, flags)
    if repl:  # bound the result before it is built: each match adds the replacement
        per_match = len(repl) + (len(s) if "$" in repl else 0)
        check_length(len(s) + len(regex.findall(s)) * per_match)
    return regex.sub(lambda m: _DOLLAR_GROUP.sub(lambda g: m.group(int(g[1])) or "", repl), s)


def _split(s: str, delimiter: str) -> list[str]:
    return list(compile_regex(delimiter, None).split(s))


def _string_join(items: Any, sep: Any = "") -> Any:
    if type(items) is not list or not _str(sep or ""):
        return None
    if not all(i is None or type(i) is str for i in items):
        return None
    check_length(sum(len(i or "") + len(sep or "") for i in items))
    return (sep or "").join(i for i in items if i is not None)


def _b(fn: Callable[..., Any], *signatures: str, varargs: bool = False,
       open_arity: bool = False) -> Builtin:
    sigs = tuple(tuple(s.split(",")) if s else () for s in signatures)
    return Builtin(fn, sigs, varargs, open_arity)


_TABLE: dict[str, Builtin] = {
    "not": _b(feel_not, "negand"),
    "string": _b(_string, "from"),
    "number": _b(_number, "from", "from,grouping separator",
                 "from,grouping separator,decimal separator"),
    "date": _b(_date, "from", "year,month,day"),
    "time": _b(_time, "from", "hour,minute,second", "hour,minute,second,offset"),
    "date and time": _b(_date_and_time, "from", "date,time"),
    "duration": _b(_duration, "from"),
    "years and months duration": _b(_years_and_months, "from,to"),
    "decimal": _b(_rounder(ROUND_HALF_EVEN), "n,scale"),
    "floor": _b(_rounder(ROUND_FLOOR), "n", "n,scale"),
    "ceiling": _b(_rounder(ROUND_CEILING), "n", "n,scale"),
    "round up": _b(_rounder(ROUND_UP), "n,scale"),
    "round down": _b(_rounder(ROUND_DOWN), "n,scale"),
    "round half up": _b(_rounder(ROUND_HALF_UP), "n,scale"),
    "round half down": _b(_rounder(ROUND_HALF_DOWN), "n,scale"),
    "abs": _b(_abs, "n"),
    "modulo": _b(_modulo, "dividend,divisor"),
    "sqrt": _b(_math(lambda n: n.sqrt(CTX), 0, strict=False), "number"),
    "log": _b(_math(lambda n: n.ln(CTX), 0, strict=True), "number"),
    "exp": _b(_math(lambda n: n.exp(CTX), -(10**9), strict=False), "number"),
    "odd": _b(_parity(1), "number"),
    "even": _b(_parity(0), "number"),
    "substring": _b(_substring, "string,start position", "string,start position,length"),
    "string length": _b(lambda s: Decimal(len(s)) if _str(s) else None, "string"),
    "upper case": _b(lambda s: s.upper() if _str(s) else None, "string"),
    "lower case": _b(lambda s: s.lower() if _str(s) else None, "string"),
    "substring before": _b(_two_strings(lambda s, m: s.partition(m)[0] if m and m in s else ""),
                           "string,match"),
    "substring after": _b(_two_strings(lambda s, m: s if not m else s.partition(m)[2]
                                        if m in s else ""),
                          "string,match"),
    "contains": _b(_two_strings(lambda s, m: m in s), "string,match"),
    "starts with": _b(_two_strings(lambda s, m: s.startswith(m)), "string,match"),
    "ends with": _b(_two_strings(lambda s, m: s.endswith(m)), "string,match"),
    "matches": _b(_matches, "input,pattern", "input,pattern,flags"),
    "replace": _b(_replace, "input,pattern,replacement", "input,pattern,replacement,flags"),
    "split": _b(_two_strings(_split), "string,delimiter"),
    "string join": _b(_string_join, "list", "list,delimiter"),
    "list contains": _b(list_contains, "list,element"),
    "count": _b(lambda items: Decimal(len(items)), "list", varargs=True),
    "min": _b(extreme(-1), "list", varargs=True),
    "max": _b(extreme(1), "list", varargs=True),
    "sum": _b(total, "list", varargs=True),
    "mean": _b(mean, "list", varargs=True),
    "median": _b(median, "list", varargs=True),
    "product": _b(product, "list", varargs=True),
    "all": _b(all_true, "list", varargs=True),
    "any": _b(any_true, "list", varargs=True),
    "sublist": _b(sublist, "list,start position", "list,start position,length"),
    "append": _b(lambda items, *new: items + list(new) if type(items) is list else None,
                 "list,item", open_arity=True),
    "concatenate": _b(concatenate, "list", open_arity=True),
    "insert before": _b(insert_before, "list,position,newItem"),
    "remove": _b(remove, "list,position"),
    "reverse": _b(lambda items: items[::-1] if type(items) is list else None, "list"),
    "index of": _b(lambda items, m: [Decimal(i + 1) for i, x in enumerate(items)
                                     if feel_eq(x, m) is True], "list,match"),
    "union": _b(lambda *lists: distinct(concatenate(*lists)), "list", open_arity=True),
    "distinct values": _b(distinct, "list"),
    "flatten": _b(flatten, "list"),
    "mode": _b(mode, "list", varargs=True),
    "stddev": _b(stddev, "list", varargs=True),
    "sort": _b(sort, "list", "list,precedes"),
    "list replace": _b(list_replace, "list,position,newItem", "list,match,newItem"),
    "get value": _b(get_value, "m,key"),
    "get entries": _b(get_entries, "m"),
    "context": _b(context, "entries"),
    "context put": _b(context_put, "context,key,value", "context,keys,value"),
    "context merge": _b(context_merge, "contexts"),
    "day of year": _b(day_of_year, "date"),
    "day of week": _b(day_of_week, "date"),
    "week of year": _b(week_of_year, "date"),
    "month of year": _b(month_of_year, "date"),
    "today": _b(today, ""),
    "now": _b(now, ""),
    "range": _b(range_from_text, "from"),
    "is": _b(feel_is, "value1,value2"),
}
_TABLE.update({name: _b(fn, *SIGNATURES) for name, fn in RELATIONS.items()})
BUILTINS: dict[str, Builtin] = {name: replace(b, name=name) for name, b in _TABLE.items()}
# built-ins whose null is an ordinary answer (a key that is not there), not an error
_NULL_IS_AN_ANSWER = frozenset({"get value"})  # get value reports wrong arguments itself
PYTHON_FUNCTIONS = {
    "len": "string length(x) or count(list)",
    "str": "string(x)",
    "int": "floor(x) or decimal(x, 0)",
    "float": "number(x)",
    "round": "decimal(x, 2) or round half up(x, 2)",
    "lower": "lower case(x)",
    "upper": "upper case(x)",
    "isinstance": "a comparison such as x != null",
}

