"""``function(x) external {java: {class: "java.lang.Math", method signature: "cos(double)"}}``.

Bridgeflow runs no Java and loads no class by name. It provides a fixed list of pure static
methods of ``java.lang`` (Math, the number wrappers' ``valueOf``, ``String.valueOf`` and
``String.format`` with ``%s``/``%d``), written in Python, as other DMN engines do. Any other
class or method gives null with an error that lists what is provided.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.dmn.feel_errors import report
from engine.dmn.feel_types import FeelFunction, feel_repr

JavaMethod = Callable[..., Any]


def _number(value: Any) -> float:
    if type(value) is not Decimal:
        raise TypeError("a number is needed")
    return float(value)


def _whole(value: Any, bits: int) -> int:
    if type(value) is not Decimal or value != value.to_integral_value():
        raise TypeError("a whole number is needed")
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise TypeError("out of range")
    return int(value)


def _double(x: float) -> Decimal:
    if not math.isfinite(x):
        raise TypeError("not a FEEL number")
    return Decimal(repr(x))


def _float32(x: float) -> Decimal:
    return Decimal(format(x, ".7g")).normalize()  # what Java's Float.toString keeps


def _from_text(text: Any, kind: Callable[[str], Any]) -> Any:
    if type(text) is not str:
        raise TypeError("a string is needed")
    return kind(text.strip())


def _format(pattern: Any, *args: Any) -> str:
    """``String.format`` with ``%s``, ``%d`` and ``%%`` only."""
    if type(pattern) is not str:
        raise TypeError("a format string is needed")
    values = iter(args[0] if len(args) == 1 and type(args[0]) is list else args)

    def one(m: re.Match[str]) -> str:
        if m[0] == "%%":
            return "%"
        value = next(values)
        return value if type(value) is str else feel_repr(value)

    return re.sub(r"%[sd%]", one, pattern)


def _math1(fn: Callable[[float], float]) -> JavaMethod:
    return lambda x: _double(fn(_number(x)))


def _math_pair(fn: Callable[[Any, Any], Any], kind: str) -> JavaMethod:
    convert: dict[str, Callable[[Any], Any]] = {
        "double": _number, "float": _number,
        "int": lambda v: _whole(v, 32), "long": lambda v: _whole(v, 64),
    }
    back: dict[str, Callable[[Any], Decimal]] = {
        "double": _double, "float": _float32, "int": Decimal, "long": Decimal,
    }
    return lambda a, b: back[kind](fn(convert[kind](a), convert[kind](b)))


_MATH_ONE = {"cos": math.cos, "sin": math.sin, "tan": math.tan, "acos": math.acos,
             "asin": math.asin, "atan": math.atan, "exp": math.exp, "log": math.log,
             "log10": math.log10, "sqrt": math.sqrt, "floor": math.floor, "ceil": math.ceil,
             "toDegrees": math.degrees, "toRadians": math.radians}

METHODS: dict[tuple[str, str], JavaMethod] = {
    **{("java.lang.Math", f"{name}(double)"): _math1(fn) for name, fn in _MATH_ONE.items()},
    **{("java.lang.Math", f"{name}({kind},{kind})"): _math_pair(fn, kind)
       for name, fn in (("max", max), ("min", min)) for kind in ("double", "float", "int", "long")},
    ("java.lang.Math", "pow(double,double)"): _math_pair(math.pow, "double"),
    ("java.lang.Math", "abs(double)"): _math1(abs),
    ("java.lang.Short", "valueOf(short)"): lambda v: Decimal(_whole(v, 16)),
    ("java.lang.Byte", "valueOf(byte)"): lambda v: Decimal(_whole(v, 8)),
    ("java.lang.Integer", "valueOf(int)"): lambda v: Decimal(_whole(v, 32)),
    ("java.lang.Long", "valueOf(long)"): lambda v: Decimal(_whole(v, 64)),
    ("java.lang.Integer", "valueOf(java.lang.String)"):
        lambda s: Decimal(_whole(Decimal(_from_text(s, int)), 32)),
    ("java.lang.Float", "valueOf(java.lang.String)"):
        lambda s: _float32(_from_text(s, float)),
    ("java.lang.Double", "valueOf(java.lang.String)"):
        lambda s: _double(_from_text(s, float)),
    ("java.lang.String", "valueOf(char)"):
        lambda c: c if type(c) is str and len(c) == 1 else _fail("one character is needed"),
    ("java.lang.String", "format(java.lang.String,[Ljava.lang.Object;)"): _format,
}


def _fail(why: str) -> Any:
    raise TypeError(why)


def java_function(params: tuple[str, ...], mapping: Any) -> FeelFunction:
    """The function an ``external {java: …}`` definition names, or one that gives null."""
    java = mapping.get("java") if type(mapping) is dict else None
    owner = java.get("class") if type(java) is dict else None
    signature = java.get("method signature") if type(java) is dict else None
    key = (str(owner), re.sub(r"\s+", "", str(signature)))
    method = METHODS.get(key)
    label = f"{owner}.{signature}"

    def run(args: list[Any]) -> Any:
        if method is None:
            provided = ", ".join(sorted({f"{c}.{s.split('(')[0]}" for c, s in METHODS}))
            report(f"the Java method {label} is not provided (Bridgeflow runs no Java; it "
                   f"provides {provided}): null")
            return None
        try:
            return method(*args)
        except (TypeError, ValueError, OverflowError, InvalidOperation, StopIteration) as exc:
            report(f"{label} cannot take {', '.join(feel_repr(a) for a in args)} ({exc}): null")
            return None

    return FeelFunction(label, params, run)
