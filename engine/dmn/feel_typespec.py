"""FEEL types as written after ``instance of`` (``list<number>``, ``function<string>->Any``…).

``TypeSpec`` is the parsed type; ``conforms`` answers whether a value is an instance of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from engine.dmn.feel_far_dates import FarDate, FarDateTime
from engine.dmn.feel_lexer import FeelSyntaxError, Token
from engine.dmn.feel_nanos import NanoDateTime, NanoTime
from engine.dmn.feel_types import FeelFunction, Range, YearMonthDuration

# Type names with spaces, for the lexer to keep whole.
TYPE_NAMES = frozenset({"date and time", "days and time duration", "years and months duration"})
_SIMPLE: dict[str, tuple[type, ...]] = {
    "number": (Decimal,), "string": (str,), "boolean": (bool,), "date": (dt.date, FarDate),
    "time": (dt.time, NanoTime),
    "date and time": (dt.datetime, FarDateTime, NanoDateTime),
    "days and time duration": (dt.timedelta,),
    "years and months duration": (YearMonthDuration,),
}  # fmt: skip
_COMPOUND = frozenset({"list", "context", "range", "function"})


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """``name`` is a FEEL type or an item definition; the rest describe compound types."""

    name: str
    items: tuple[TypeSpec, ...] = ()  # list<T>, range<T>, function<T, U>'s parameters
    fields: tuple[tuple[str, TypeSpec], ...] = ()  # context<a: T>
    result: TypeSpec | None = None  # function<…> -> T

    def __str__(self) -> str:
        if self.name == "function":
            params = ", ".join(str(t) for t in self.items)
            return f"function<{params}>->{self.result}"
        if self.fields:
            return "context<" + ", ".join(f"{k}: {t}" for k, t in self.fields) + ">"
        if self.items:
            return f"{self.name}<{', '.join(str(t) for t in self.items)}>"
        return self.name


ANY = TypeSpec("Any")


class _TokenSource(Protocol):
    def peek(self, ahead: int = 0) -> Token: ...
    def advance(self) -> Token: ...
    def at(self, *texts: str) -> bool: ...
    def expect(self, text: str, what: str | None = None) -> Token: ...


def parse_type(p: _TokenSource) -> TypeSpec:
    """Read a type from the parser's tokens (the parser stands on its first token)."""
    tok = p.advance()
    if tok.kind not in ("name", "kw"):
        raise FeelSyntaxError("expected a type name", tok.pos)
    words = [tok.text]
    while p.peek().kind == "name":
        words.append(p.advance().text)
    name = " ".join(words)
    if name not in _COMPOUND or not p.at("<"):
        return TypeSpec(name)
    p.advance()
    if name == "context":
        fields: list[tuple[str, TypeSpec]] = []
        while not p.at(">"):
            key = p.advance()
            if key.kind not in ("name", "str", "kw"):
                raise FeelSyntaxError("expected a context key in the type", key.pos)
            p.expect(":", "':' after the key")
            fields.append((str(key.value) if key.kind == "str" else key.text, parse_type(p)))
            if not p.at(">"):
                p.expect(",", "',' or '>' in the type")
        p.advance()
        return TypeSpec(name, fields=tuple(fields))
    items: list[TypeSpec] = []
    while not p.at(">"):
        items.append(parse_type(p))
        if not p.at(">"):
            p.expect(",", "',' or '>' in the type")
    p.advance()
    if name != "function":
        return TypeSpec(name, tuple(items))
    p.expect("-", "'->' and the result type")
    p.expect(">", "'->' and the result type")
    return TypeSpec(name, tuple(items), result=parse_type(p))


Resolve = Callable[[str], "TypeSpec | None"]


def _unknown(name: str) -> TypeSpec | None:
    return None


def conforms(value: Any, spec: TypeSpec, resolve: Resolve = _unknown) -> bool | None:
    """``value instance of spec``; None when the type is one this engine does not know.

    ``resolve`` gives the type an item definition of the model names.
    """
    name = spec.name
    if name == "Any":
        return value is not None
    if name == "Null":
        return value is None
    if value is None:
        return False
    simple = _SIMPLE.get(name)
    if simple is not None:
        return type(value) in simple
    if name == "list":
        if type(value) is not list:
            return False
        item = spec.items[0] if spec.items else ANY
        return _all(conforms(v, item, resolve) for v in value if v is not None)
    if name == "context":
        if type(value) is not dict:
            return False
        return _all(k in value and (value[k] is None or conforms(value[k], t, resolve))
                    for k, t in spec.fields)
    if name == "range":
        if type(value) is not Range:
            return False
        return not spec.items or all(
            end is None or conforms(end, spec.items[0]) for end in (value.start, value.end)
        )
    if name == "function":
        return _function_conforms(value, spec)
    named = resolve(name)
    return None if named is None else conforms(value, named, resolve)


def _all(results: Iterable[bool | None]) -> bool | None:
    """True if every result is; False if one is False; None if one is unknown."""
    unknown = False
    for r in results:
        if r is False:
            return False
        unknown = unknown or r is None
    return None if unknown else True


def _function_conforms(value: Any, spec: TypeSpec) -> bool:
    if not isinstance(value, FeelFunction):
        return False
    if len(value.params) != len(spec.items):
        return False
    declared = value.types or (None,) * len(value.params)
    for wanted, own in zip(spec.items, declared, strict=True):
        if own is not None and not is_subtype(wanted, own):
            return False  # parameters are contravariant
    result = value.result
    return spec.result is None or result is None or is_subtype(result, spec.result)


def is_subtype(sub: TypeSpec, sup: TypeSpec) -> bool:
    """Whether every value of ``sub`` is a value of ``sup`` (structural, for contexts)."""
    if sup.name == "Any" or sub == sup:
        return True
    if sub.name != sup.name:
        return False
    if sup.name == "context":
        own = dict(sub.fields)
        return all(k in own and is_subtype(own[k], t) for k, t in sup.fields)
    if sup.name in ("list", "range"):
        return is_subtype(sub.items[0] if sub.items else ANY, sup.items[0] if sup.items else ANY)
    if sup.name == "function":
        return (len(sub.items) == len(sup.items)
                and all(is_subtype(b, a) for a, b in zip(sub.items, sup.items, strict=True))
                and is_subtype(sub.result or ANY, sup.result or ANY))
    return False
