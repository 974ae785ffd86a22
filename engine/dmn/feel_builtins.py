"""FEEL's built-in functions: how a call is matched to a built-in's signatures, and the table
of them all. Each family is implemented beside its values: feel_strings, feel_numbers,
feel_lists, feel_temporal_functions, feel_intervals and feel_ranges, feel_contexts."""

from __future__ import annotations

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
from engine.dmn.feel_intervals import RELATIONS, SIGNATURES
from engine.dmn.feel_limits import check_size, spend
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
from engine.dmn.feel_numbers import absolute, math_function, modulo, parity, rounder, to_number
from engine.dmn.feel_ranges import range_from_text
from engine.dmn.feel_regex import RegexSyntaxError
from engine.dmn.feel_strings import (
    is_text,
    matches,
    replace_text,
    split,
    string_join,
    substring,
    to_string,
    two_texts,
)
from engine.dmn.feel_temporal_functions import (
    date,
    date_and_time,
    day_of_week,
    day_of_year,
    duration,
    month_of_year,
    now,
    time,
    today,
    week_of_year,
    years_and_months,
)
from engine.dmn.feel_types import NUMBER_CONTEXT as CTX
from engine.dmn.feel_types import feel_eq, feel_is, feel_not

_FAILURES = (ArithmeticError, ValueError, TypeError, IndexError, KeyError)
_REPORTED = object()  # null, and the reason is reported already


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


def _b(fn: Callable[..., Any], *signatures: str, varargs: bool = False,
       open_arity: bool = False) -> Builtin:
    sigs = tuple(tuple(s.split(",")) if s else () for s in signatures)
    return Builtin(fn, sigs, varargs, open_arity)


_TABLE: dict[str, Builtin] = {
    "not": _b(feel_not, "negand"),
    "string": _b(to_string, "from"),
    "number": _b(to_number, "from", "from,grouping separator",
                 "from,grouping separator,decimal separator"),
    "date": _b(date, "from", "year,month,day"),
    "time": _b(time, "from", "hour,minute,second", "hour,minute,second,offset"),
    "date and time": _b(date_and_time, "from", "date,time"),
    "duration": _b(duration, "from"),
    "years and months duration": _b(years_and_months, "from,to"),
    "decimal": _b(rounder(ROUND_HALF_EVEN), "n,scale"),
    "floor": _b(rounder(ROUND_FLOOR), "n", "n,scale"),
    "ceiling": _b(rounder(ROUND_CEILING), "n", "n,scale"),
    "round up": _b(rounder(ROUND_UP), "n,scale"),
    "round down": _b(rounder(ROUND_DOWN), "n,scale"),
    "round half up": _b(rounder(ROUND_HALF_UP), "n,scale"),
    "round half down": _b(rounder(ROUND_HALF_DOWN), "n,scale"),
    "abs": _b(absolute, "n"),
    "modulo": _b(modulo, "dividend,divisor"),
    "sqrt": _b(math_function(lambda n: n.sqrt(CTX), 0, strict=False), "number"),
    "log": _b(math_function(lambda n: n.ln(CTX), 0, strict=True), "number"),
    "exp": _b(math_function(lambda n: n.exp(CTX), -(10**9), strict=False), "number"),
    "odd": _b(parity(1), "number"),
    "even": _b(parity(0), "number"),
    "substring": _b(substring, "string,start position", "string,start position,length"),
    "string length": _b(lambda s: Decimal(len(s)) if is_text(s) else None, "string"),
    "upper case": _b(lambda s: s.upper() if is_text(s) else None, "string"),
    "lower case": _b(lambda s: s.lower() if is_text(s) else None, "string"),
    "substring before": _b(two_texts(lambda s, m: s.partition(m)[0] if m and m in s else ""),
                           "string,match"),
    "substring after": _b(two_texts(lambda s, m: s if not m else s.partition(m)[2]
                                        if m in s else ""),
                          "string,match"),
    "contains": _b(two_texts(lambda s, m: m in s), "string,match"),
    "starts with": _b(two_texts(lambda s, m: s.startswith(m)), "string,match"),
    "ends with": _b(two_texts(lambda s, m: s.endswith(m)), "string,match"),
    "matches": _b(matches, "input,pattern", "input,pattern,flags"),
    "replace": _b(replace_text, "input,pattern,replacement", "input,pattern,replacement,flags"),
    "split": _b(two_texts(split), "string,delimiter"),
    "string join": _b(string_join, "list", "list,delimiter"),
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

