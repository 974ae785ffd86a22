"""Size limits and the builtins a script sees: nothing here is reachable by name from a script.

Covered amplifiers (one step that builds a result much larger than its inputs): ``*`` (repeating
str/bytes/list/tuple, counting nested contents so ``[[0]*n]*n`` is caught; int products), ``**``
and ``<<`` on ints, ``+`` of two sequences, ``%`` formatting (widths, precisions, ``*`` widths,
huge arguments), the same operators as augmented assignments (``x += x`` in a loop), f-string
fields (format-spec widths, text of huge containers), ``str(container)``, ``int(text, base)``,
Decimal-to-int conversions (``int``, ``round``, ``math.floor/ceil/trunc``, ``%d``,
``as_integer_ratio``), ``range()`` length, ``sum()`` of sequences, ``round(n, -10**9)``, and the
methods ``join``, ``ljust``, ``rjust``, ``center``, ``zfill``, ``expandtabs``, ``replace``,
``translate``, ``to_bytes``, ``strftime`` and ``extend``. Ints are capped at ``MAX_INT_BITS``.
Values handed back to the engine (an expression's result, new variables) are capped too.

Not covered: a loop that keeps many distinct large values (memory grows with each iteration
until the time limit stops it), and CPU spent inside one C call on bounded inputs (comparing
lists that share references). Run scripts in a worker with a hard memory limit for those.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sized
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any


class Abort(BaseException):
    """A sandbox limit was hit.

    A ``BaseException`` so ``except Exception`` in a script cannot swallow it; bare ``except:``
    and ``return`` in ``finally`` are refused statically for the same reason.
    """

    def __init__(self, reason: str, limit: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit  # "time limit", "size limit"…: which limit, for the caller


_TEXT = (str, bytes, bytearray)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_WEIGHED = (*_TEXT, *_CONTAINERS)
_SEQUENCES = (*_TEXT, list, tuple)
_METHOD_OWNERS = (*_TEXT, list, int, date, Decimal)
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")

#: Ints are capped lower than other values: each operation on a huge int is one uninterruptible
#: C call (dividing two 1,000,000-bit ints takes ~0.4 s), and Python cannot even print an int
#: of more than 4,300 digits (~14,000 bits) by default.
MAX_INT_BITS = 100_000

#: Methods routed through ``Limits.method`` because they can inflate their receiver.
AMPLIFYING_METHODS = frozenset({
    "join", "ljust", "rjust", "center", "zfill", "expandtabs", "replace", "translate",
    "to_bytes", "strftime", "extend", "as_integer_ratio",
})

MATH_NAMES = (
    "ceil", "floor", "trunc", "sqrt", "isqrt", "exp", "log", "log2", "log10", "pow", "fabs",
    "fmod", "modf", "copysign", "hypot", "gcd", "isclose", "isfinite", "isinf", "isnan", "fsum",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "degrees", "radians",
    "pi", "e", "tau", "inf", "nan",
)


def math_namespace(limits: Limits) -> SimpleNamespace:
    """Return the ``math`` scripts see: numeric functions and constants, no module object."""
    names = {name: getattr(math, name) for name in MATH_NAMES}
    for name in ("ceil", "floor", "trunc"):  # Decimal to int: slow for a huge exponent
        names[name] = _guard_decimal_to_int(limits, name, names[name])
    return SimpleNamespace(**names)


def _guard_decimal_to_int(
    limits: Limits, name: str, function: Callable[[Any], int]
) -> Callable[[Any], int]:
    def to_int(value: Any) -> int:
        limits.refuse_huge_decimal(value, f"math.{name}() of this Decimal")
        return function(value)

    return to_int


def weight(obj: object, budget: int) -> int:
    """Count elements and characters reachable from ``obj``, as a serializer would write them.

    Shared references count every time, so ``[big] * 1000`` weighs 1000 bigs. Stops as soon as
    the count passes ``budget`` (so it also ends on cyclic structures).
    """
    total = 0
    todo = [obj]
    while todo:
        item = todo.pop()
        if isinstance(item, _TEXT):
            total += len(item)
        elif isinstance(item, _CONTAINERS):
            total += len(item)
            if total > budget:
                return total
            children = item.items() if isinstance(item, dict) else item
            todo.extend(child for child in children if isinstance(child, _WEIGHED))
        if total > budget:
            return total
    return total


class Limits:
    """The size checks behind the rewritten operators, methods and builtins."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.max_int_bits = min(max_size, MAX_INT_BITS)
        self._methods: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]]
        self._methods = {
            "join": self._join, "extend": self._extend, "replace": self._replace,
            "ljust": self._pad, "rjust": self._pad, "center": self._pad, "zfill": self._pad,
            "expandtabs": self._expandtabs, "translate": self._translate,
            "to_bytes": self._to_bytes, "strftime": self._strftime,
            "as_integer_ratio": self._as_integer_ratio,
        }
        self._binary: dict[str, Callable[[Any, Any], Any]] = {
            "*": self.mul, "**": self.pow, "<<": self.lshift, "+": self.add, "%": self.mod,
        }

    def refuse_over(self, size: float, what: str, unit: str) -> None:
        limit = self.max_int_bits if unit == "bits" else self.max_size
        if size > limit:
            raise Abort(f"{what} would make {size:,.0f} {unit}; scripts may make at most "
                        f"{limit:,} (the size limit)", "size limit")

    def refuse_huge_decimal(self, value: object, what: str) -> None:
        """Refuse turning a Decimal like ``Decimal('1e999999')`` into an int (minutes of CPU)."""
        if isinstance(value, Decimal) and value.is_finite():
            self.refuse_over(value.adjusted() * math.log2(10), what, "bits")

    def refuse_huge_int_source(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Refuse ``int(...)`` of values that make an int beyond the int limit."""
        value = args[0]
        if isinstance(value, _TEXT):  # base 2..36 strings: Python limits only base 10
            base = args[1] if len(args) > 1 else kwargs.get("base", 10)
            bits_per_char = math.log2(base) if isinstance(base, int) and base >= 2 else 6
            self.refuse_over(len(value) * bits_per_char, "converting this text to an int", "bits")
        elif isinstance(value, int):  # int.from_bytes() of a subclass passes its result here
            self.refuse_over(value.bit_length(), "this int", "bits")
        else:
            self.refuse_huge_decimal(value, "converting this Decimal to an int")

    def refuse_heavy(self, value: object, what: str) -> None:
        if isinstance(value, _CONTAINERS):
            self.refuse_over(weight(value, self.max_size), what, "elements and characters")

    # Operators -----------------------------------------------------------------------------

    def mul(self, a: Any, b: Any) -> Any:
        if type(a) is float or type(b) is float:
            return a * b
        if isinstance(a, int) and isinstance(b, int):
            self.refuse_over(a.bit_length() + b.bit_length(), "multiplying these ints", "bits")
        elif isinstance(b, int) and isinstance(a, _SEQUENCES):
            self._repeat(a, b)
        elif isinstance(a, int) and isinstance(b, _SEQUENCES):
            self._repeat(b, a)
        return a * b

    def _repeat(self, seq: Any, times: int) -> None:
        if times <= 1:
            return
        if isinstance(seq, _TEXT):
            size = len(seq)
        else:
            size = weight(seq, self.max_size // times + 1)
        self.refuse_over(size * times, f"repeating a {type(seq).__name__} {times:,} times",
                         "elements" if isinstance(seq, list | tuple) else "characters")

    def pow(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            self.refuse_over(b * math.log2(abs(a)), f"raising an int to the power {b:,}", "bits")
        return a**b

    def lshift(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and a and b > 0:
            self.refuse_over(a.bit_length() + b, f"shifting an int left by {b:,}", "bits")
        return a << b

    def add(self, a: Any, b: Any) -> Any:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            unit = "elements" if isinstance(a, list | tuple) else "characters"
            self.refuse_over(len(a) + len(b), f"joining two {type(a).__name__}s", unit)
        return a + b

    def mod(self, a: Any, b: Any) -> Any:
        if isinstance(a, _TEXT):
            self._check_printf(a.decode("latin-1") if isinstance(a, bytes | bytearray) else a)
            self.refuse_heavy(b, "formatting these values with %")
            values = b.values() if isinstance(b, dict) else b if isinstance(b, tuple) else (b,)
            for value in values:
                self.refuse_huge_decimal(value, "formatting this Decimal as an int")
        return a % b

    def _check_printf(self, template: str) -> None:
        for field in _PRINTF_FIELD.finditer(template):
            for number in field.groups():
                if number == "*":
                    raise Abort("'*' field widths in %-formatting are not allowed in scripts; "
                                "write the width into the format")
                if number is not None:
                    self.refuse_over(int(number), "this %-format width or precision", "characters")

    def check_format_spec(self, spec: str) -> None:
        for number in _DIGITS.findall(spec):
            self.refuse_over(int(number), f"format spec {spec[:20]!r}", "characters")

    def in_place(self, op: str, a: Any, b: Any) -> Any:
        """``a op= b`` with the same checks as ``a op b``; lists are still changed in place."""
        if isinstance(a, list):
            if op == "+":
                items: Any = b if isinstance(b, Sized) else list(b)
                self.refuse_over(len(a) + len(items), "extending a list", "elements")
                a += items
                return a
            if op == "*" and isinstance(b, int):
                self._repeat(a, b)
                a *= b
                return a
        return self._binary[op](a, b)

    def in_place_item(self, container: Any, key: Any, op: str, b: Any) -> None:
        container[key] = self.in_place(op, container[key], b)

    # Methods -------------------------------------------------------------------------------

    def method(self, obj: Any, name: str) -> Any:
        """Return ``obj.name``, wrapped in a size check when ``name`` can inflate ``obj``."""
        value = getattr(obj, name)
        check = self._methods[name]
        if isinstance(obj, type) and issubclass(obj, _METHOD_OWNERS):

            def unbound(target: Any, *args: Any, **kwargs: Any) -> Any:
                return value(target, *check(target, args, kwargs), **kwargs)

            return unbound
        if not isinstance(obj, _METHOD_OWNERS):
            return value

        def bound(*args: Any, **kwargs: Any) -> Any:
            return value(*check(obj, args, kwargs), **kwargs)

        return bound

    def _join(self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Any, ...]:
        if not isinstance(target, _TEXT) or len(args) != 1:
            return args
        items = list(args[0])
        size = len(target) * max(len(items) - 1, 0)
        size += sum(len(item) for item in items if isinstance(item, _TEXT))
        self.refuse_over(size, "joining these strings", "characters")
        return (items,)

    def _extend(self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Any, ...]:
        if not isinstance(target, list) or len(args) != 1:
            return args
        items = args[0] if isinstance(args[0], Sized) else list(args[0])
        self.refuse_over(len(target) + len(items), "extending this list", "elements")
        return (items,)

    def _replace(self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Any, ...]:
        if not isinstance(target, _TEXT) or len(args) < 2:
            return args
        old, new, count = args[0], args[1], (args[2] if len(args) > 2 else -1)
        if not (isinstance(old, _TEXT) and isinstance(new, _TEXT) and isinstance(count, int)):
            return args
        text: Any = target  # str with str, bytes with bytes: count() raises on a mix
        hits = text.count(old) if old else len(text) + 1
        hits = min(hits, count) if count >= 0 else hits
        growth = hits * max(len(new) - len(old), 0)
        self.refuse_over(len(target) + growth, "this replace()", "characters")
        return args

    def _pad(self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Any, ...]:
        if isinstance(target, _TEXT) and args and isinstance(args[0], int):
            self.refuse_over(args[0], "padding a string", "characters")
        return args

    def _expandtabs(
        self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]
    ) -> tuple[Any, ...]:
        size = args[0] if args else kw.get("tabsize", 8)
        if isinstance(target, _TEXT) and isinstance(size, int):
            tab: Any = "\t" if isinstance(target, str) else b"\t"
            tabs = target.count(tab)
            self.refuse_over(len(target) + tabs * size, "expanding tabs", "characters")
        return args

    def _translate(
        self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]
    ) -> tuple[Any, ...]:
        if isinstance(target, str) and args:
            table = args[0]
            values: Iterable[Any] = table.values() if isinstance(table, dict) else table
            if isinstance(table, dict | list | tuple):
                longest = max((len(v) for v in values if isinstance(v, str)), default=1)
                self.refuse_over(len(target) * longest, "this translate()", "characters")
        return args

    def _to_bytes(self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Any, ...]:
        length = args[0] if args else kw.get("length", 1)
        if isinstance(target, int) and isinstance(length, int):
            self.refuse_over(length, "to_bytes()", "bytes")
        return args

    def _as_integer_ratio(
        self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]
    ) -> tuple[Any, ...]:
        self.refuse_huge_decimal(target, "as_integer_ratio() of this Decimal")
        return args

    def _strftime(self, target: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Any, ...]:
        spec = args[0] if args else kw.get("format")
        if isinstance(spec, str):
            self.check_format_spec(spec)
        return args

    # Builtins ------------------------------------------------------------------------------

    def format_value(self, value: Any, conversion: int, spec: str) -> str:
        """One ``{value!conversion:spec}`` field of an f-string."""
        self.refuse_heavy(value, "turning this value into text")
        if conversion == ord("s"):
            value = str(value)
        elif conversion == ord("r"):
            value = repr(value)
        elif conversion == ord("a"):
            value = ascii(value)
        if spec:
            self.check_format_spec(spec)
        return format(value, spec)

    def range(self, *args: int) -> range:
        numbers = range(*args)
        try:
            length: float = len(numbers)
        except OverflowError:
            length = math.inf
        self.refuse_over(length, "this range()", "numbers")
        return numbers

    def sum(self, iterable: Iterable[Any], /, start: Any = 0) -> Any:
        if isinstance(start, int | float | Decimal):
            return sum(iterable, start)
        total = start
        for item in iterable:
            total = self.add(total, item)
        return total

    def round(self, number: Any, ndigits: int | None = None) -> Any:
        if ndigits is None:
            self.refuse_huge_decimal(number, "rounding this Decimal to an int")
            return round(number)
        if isinstance(ndigits, int):
            self.refuse_over(abs(ndigits) * math.log2(10), "rounding to this many digits", "bits")
        return round(number, ndigits)

    def make_types(self) -> tuple[type[str], type[int]]:
        """Return ``str`` and ``int`` for scripts, which refuse to build huge values.

        Subclasses rather than functions, so ``str.lower`` and ``int.from_bytes`` still work;
        calling them returns a plain ``str`` or ``int``. ``isinstance`` maps them back.
        """
        limits = self

        class GuardedStr(str):
            __slots__ = ()

            def __new__(cls, *args: Any, **kwargs: Any) -> str:  # type: ignore[misc]
                if args:
                    limits.refuse_heavy(args[0], "turning this value into text")
                return str(*args, **kwargs)

        class GuardedInt(int):
            __slots__ = ()

            def __new__(cls, *args: Any, **kwargs: Any) -> int:  # type: ignore[misc]
                if args:
                    limits.refuse_huge_int_source(args, kwargs)
                return int(*args, **kwargs)

        GuardedStr.__name__ = GuardedStr.__qualname__ = "str"
        GuardedInt.__name__ = GuardedInt.__qualname__ = "int"
        return GuardedStr, GuardedInt
