"""Compile FEEL syntax trees into Python closures, once, so evaluation never re-parses text.

A compiled expression is a function of the environment (a dict of FEEL names to values).
Literals (and lists, ranges and date/time/duration literals made of them) become ``Const``
objects; nothing an analyst wrote is computed at compile (deploy) time beyond that, and every
run is bounded by ``feel_limits``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, Overflow
from typing import Any, cast

from engine.dmn import feel_ast as ast
from engine.dmn.feel_builtins import BUILTINS, PYTHON_FUNCTIONS, Builtin
from engine.dmn.feel_errors import report
from engine.dmn.feel_functions import BuiltinFunction, function_value, instance_of
from engine.dmn.feel_iteration import int_range, loop, three_valued_all
from engine.dmn.feel_java import java_function
from engine.dmn.feel_lexer import FeelSyntaxError
from engine.dmn.feel_limits import check_length, number_overflow, spend
from engine.dmn.feel_scope import ItemScope
from engine.dmn.feel_scope import UnknownNameError as UnknownNameError  # re-exported
from engine.dmn.feel_scope import lookup as lookup  # re-exported
from engine.dmn.feel_temporal import (
    duration_divide,
    duration_times,
    has_property,
    temporal_add,
    temporal_property,
    temporal_sub,
)
from engine.dmn.feel_types import (
    NUMBER_CONTEXT,
    FeelFunction,
    Range,
    YearMonthDuration,
    compare,
    feel_eq,
    feel_not,
    feel_type_name,
    known_end,
)

Env = dict[str, Any]
Evaluator = Callable[[Env], Any]
_DURATIONS = (dt.timedelta, YearMonthDuration)
_LITERAL_CONSTRUCTORS = frozenset({"date", "time", "date and time", "duration"})


class Const:
    """A compiled expression whose value is known at compile time."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, env: Env) -> Any:
        return self.value


# -- operators ----------------------------------------------------------------------------
def add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is Decimal and tb is Decimal:
        return _decimal(NUMBER_CONTEXT.add, a, b)
    if ta is str and tb is str:
        check_length(len(a) + len(b))
        return a + b
    return None if a is None or b is None else temporal_add(a, b)


def subtract(a: Any, b: Any) -> Any:
    if type(a) is Decimal and type(b) is Decimal:
        return _decimal(NUMBER_CONTEXT.subtract, a, b)
    return None if a is None or b is None else temporal_sub(a, b)


def multiply(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is Decimal and tb is Decimal:
        return _decimal(NUMBER_CONTEXT.multiply, a, b)
    if ta in _DURATIONS and tb is Decimal:
        return duration_times(a, b)
    if tb in _DURATIONS and ta is Decimal:
        return duration_times(b, a)
    return None


def divide(a: Any, b: Any) -> Any:
    if type(a) is Decimal and type(b) is Decimal:
        return _decimal(NUMBER_CONTEXT.divide, a, b)
    if type(a) in _DURATIONS:
        return duration_divide(a, b)
    return None


def power(a: Any, b: Any) -> Any:
    if type(a) is Decimal and type(b) is Decimal:
        return _decimal(NUMBER_CONTEXT.power, a, b)
    return None


def _decimal(op: Callable[[Decimal, Decimal], Decimal], a: Decimal, b: Decimal) -> Any:
    try:
        return op(a, b)
    except Overflow:
        raise number_overflow() from None
    except ArithmeticError:  # division by zero, invalid operation: FEEL null
        return None


def negate(a: Any) -> Any:
    if type(a) is Decimal or type(a) is dt.timedelta:
        return -a
    if type(a) is YearMonthDuration:
        return YearMonthDuration(-a.months)
    return None


def _reporting(op: str, fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fn``, reporting a FEEL error when it gives null (operands it is not defined for)."""

    def apply(a: Any, b: Any) -> Any:
        result = fn(a, b)
        if result is None:
            report(f"{feel_type_name(a)} {op} {feel_type_name(b)} is not defined: null")
        return result

    return apply


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    op: _reporting(op, fn)
    for op, fn in {"+": add, "-": subtract, "*": multiply, "/": divide, "**": power}.items()
}


def _less(a: Any, b: Any) -> bool | None:
    c = compare(a, b)
    return None if c is None else c < 0


def _less_eq(a: Any, b: Any) -> bool | None:
    c = compare(a, b)
    return None if c is None else c <= 0


def _greater(a: Any, b: Any) -> bool | None:
    c = compare(a, b)
    return None if c is None else c > 0


def _greater_eq(a: Any, b: Any) -> bool | None:
    c = compare(a, b)
    return None if c is None else c >= 0


COMPARE: dict[str, Callable[[Any, Any], bool | None]] = {
    op: _reporting(op, fn) for op, fn in {
        "=": feel_eq, "!=": lambda a, b: feel_not(feel_eq(a, b)),
        "<": _less, "<=": _less_eq, ">": _greater, ">=": _greater_eq,
    }.items()
}


_RANGE_PROPERTIES = {
    "start": lambda r: r.start, "end": lambda r: r.end,
    "start included": lambda r: r.start_included, "end included": lambda r: r.end_included,
}  # fmt: skip


def member(value: Any, name: str) -> Any:
    """``value.name``; a missing entry is null, reported as null propagation (no incident)."""
    if type(value) is dict:
        try:
            return value[name]
        except KeyError:
            report(f"a context has no entry '{name}': null")
            return None
    if type(value) is list:
        return [member(v, name) for v in value]
    if type(value) is Range and name in _RANGE_PROPERTIES:
        return _RANGE_PROPERTIES[name](value)
    if not has_property(value, name):
        report(f"a {feel_type_name(value)} has no property '{name}': null")
    return temporal_property(value, name)


class ExprCompiler:
    """Turns expression nodes into closures; ``names`` are the names the model declares."""

    def __init__(self, names: frozenset[str] = frozenset(),
                 types: dict[str, Any] | None = None) -> None:
        self.names = names
        self.types = types or {}  # the model's item definitions, as feel_typespec types

    def compile(self, node: ast.Node) -> Evaluator:
        method = getattr(self, "c_" + type(node).__name__, None)
        if method is None:
            raise FeelSyntaxError(f"{type(node).__name__} is not allowed here", node.pos)
        return cast(Evaluator, method(node))

    def c_Literal(self, node: ast.Literal) -> Evaluator:
        return Const(node.value)

    def c_Name(self, node: ast.Name) -> Evaluator:
        name = node.name
        builtin = BUILTINS.get(name) if name not in self.names else None
        if builtin is None:
            return lambda env: lookup(env, name)
        function = BuiltinFunction(builtin)  # a built-in passed as a value, unless shadowed
        return lambda env: lookup(env, name) if name in env else function

    def c_InputRef(self, node: ast.InputRef) -> Evaluator:
        raise FeelSyntaxError("'?' can only be used in an input cell", node.pos)

    def c_Neg(self, node: ast.Neg) -> Evaluator:
        operand = self.compile(node.operand)
        if isinstance(node.operand, ast.Literal) and isinstance(operand, Const):
            folded = negate(operand.value)
            if folded is not None:
                return Const(folded)  # a negative literal such as -5
        def negative(env: Env) -> Any:
            value = operand(env)
            result = negate(value)
            if result is None:
                report(f"-{feel_type_name(value)} is not defined: null")
            return result

        return negative

    def c_Arith(self, node: ast.Arith) -> Evaluator:
        return self._binary(_ARITH[node.op], node.left, node.right)

    def c_Compare(self, node: ast.Compare) -> Evaluator:
        return self._binary(COMPARE[node.op], node.left, node.right)

    def _binary(self, op: Callable[[Any, Any], Any], left_node: ast.Node,
                right_node: ast.Node) -> Evaluator:
        left, right = self.compile(left_node), self.compile(right_node)
        if isinstance(right, Const):
            constant = right.value
            return lambda env: op(left(env), constant)
        return lambda env: op(left(env), right(env))

    def c_Logic(self, node: ast.Logic) -> Evaluator:
        left, right = self.compile(node.left), self.compile(node.right)
        if node.op == "and":
            def conjunction(env: Env) -> bool | None:
                a = left(env)
                if a is False:
                    return False
                b = right(env)
                if b is False:
                    return False
                return True if a is True and b is True else None

            return conjunction

        def disjunction(env: Env) -> bool | None:
            a = left(env)
            if a is True:
                return True
            b = right(env)
            if b is True:
                return True
            return False if a is False and b is False else None

        return disjunction

    def c_Between(self, node: ast.Between) -> Evaluator:
        value, low, high = (self.compile(n) for n in (node.value, node.low, node.high))

        def between(env: Env) -> bool | None:
            v = value(env)
            result = three_valued_all([_greater_eq(v, low(env)), _less_eq(v, high(env))])
            if result is None:
                report("between needs a value and bounds of one ordered type: null")
            return result

        return between

    def c_If(self, node: ast.If) -> Evaluator:
        cond, then, other = (self.compile(n) for n in (node.cond, node.then, node.otherwise))
        return lambda env: then(env) if cond(env) is True else other(env)

    def c_ListLit(self, node: ast.ListLit) -> Evaluator:
        items = [self.compile(n) for n in node.items]
        if all(isinstance(i, Const) for i in items):
            values = [cast(Const, i).value for i in items]
            return lambda env: list(values)
        return lambda env: [i(env) for i in items]

    def c_ContextLit(self, node: ast.ContextLit) -> Evaluator:
        with self.scope(key for key, _ in node.entries):
            entries = [(key, self.compile(value)) for key, value in node.entries]

        def context(env: Env) -> dict[str, Any]:
            local, result = dict(env), {}
            spend(len(entries))
            for key, fn in entries:
                result[key] = local[key] = fn(local)
            return result

        return context

    def c_RangeLit(self, node: ast.RangeLit) -> Evaluator:
        start, end = self.compile(node.start), self.compile(node.end)
        si, ei = node.start_included, node.end_included
        if node.test:
            test = node.test
            if isinstance(start, Const):
                return Const(Range(start.value, start.value, si, ei, test))
            return lambda env: Range(start(env), start(env), si, ei, test)
        if node.open_ended:
            if isinstance(start, Const) and isinstance(end, Const):
                return Const(Range(start.value, end.value, si, ei))
            return lambda env: Range(start(env), end(env), si, ei)
        # [1..null]: an end that is null is unknown (nothing is inside), not unbounded
        if isinstance(start, Const) and isinstance(end, Const):
            return Const(Range(known_end(start.value), known_end(end.value), si, ei))
        return lambda env: Range(known_end(start(env)), known_end(end(env)), si, ei)

    def c_Path(self, node: ast.Path) -> Evaluator:
        base, name = self.compile(node.base), node.member
        return lambda env: member(base(env), name)

    def c_Filter(self, node: ast.Filter) -> Evaluator:
        base, cond = self.compile(node.base), self.compile(node.cond)

        def select(env: Env) -> Any:
            value = base(env)
            if value is None:
                return None
            items = value if type(value) is list else [value]
            out = []
            for position, item in enumerate(items):
                spend()
                if type(item) is dict:  # its entries are names; a missing one is null
                    local: dict[str, Any] = ItemScope(env)
                    local.update(item)
                    local.setdefault("item", item)
                else:
                    local = dict(env)
                    local["item"] = item
                keep = cond(local)
                if type(keep) is Decimal and position == 0:
                    index = int(keep)
                    if index == 0 or abs(index) > len(items):
                        report(f"there is no item {index} in a list of {len(items)} (FEEL "
                               "lists start at 1; -1 is the last item): null")
                        return None
                    return items[index - 1 if index > 0 else index]
                if keep is True:
                    out.append(item)
            return out

        return select

    def c_Call(self, node: ast.Call) -> Evaluator:
        args = [self.compile(a) for a in node.args]
        named = [(k, self.compile(v)) for k, v in node.named or ()]
        func = node.func
        if isinstance(func, ast.Name) and func.name not in self.names:
            builtin = BUILTINS.get(func.name)
            if builtin is None:
                hint = PYTHON_FUNCTIONS.get(func.name)
                raise FeelSyntaxError(f"unknown function '{func.name}'", func.pos,
                                      f"FEEL writes {hint}" if hint else None)
            return self._builtin_call(func.name, builtin, args, named)
        target = self.compile(func)
        name = func.name if isinstance(func, ast.Name) else ""
        shadowed = BUILTINS.get(name)
        if shadowed is not None:  # a name the model uses, yet not a function in scope here
            builtin_call = self._builtin_call(name, shadowed, args, named)

            def call_either(env: Env) -> Any:
                if isinstance(env.get(name), FeelFunction):
                    return call(env)
                return builtin_call(env)

        def call(env: Env) -> Any:
            fn = target(env)
            if not isinstance(fn, FeelFunction):
                report(f"a {feel_type_name(fn)} cannot be invoked: null")
                return None
            spend()
            if named:
                return fn.call([], {k: v(env) for k, v in named})
            return fn.call([a(env) for a in args])

        return call_either if shadowed is not None else call

    def _builtin_call(self, name: str, builtin: Builtin, args: list[Evaluator],
                      named: list[tuple[str, Evaluator]]) -> Evaluator:
        invoke = builtin.invoke
        if named:
            return lambda env: invoke([], {k: v(env) for k, v in named})
        if name in _LITERAL_CONSTRUCTORS and all(
            isinstance(a, Const) and type(a.value) is str and len(a.value) <= 64 for a in args
        ):  # date("2024-01-31") and the like are literals: parsed once, in bounded time
            value = invoke([cast(Const, a).value for a in args])
            if value is not None:  # an invalid one is reported when evaluated
                return Const(value)
        if len(args) == 1:
            only = args[0]
            return lambda env: invoke([only(env)])
        return lambda env: invoke([a(env) for a in args])

    def c_Loop(self, node: ast.Loop) -> Evaluator:
        iters = []
        with self.scope(var for var, _ in node.iters):
            for var, source in node.iters:
                iters.append((var, self.compile(source)))
            body = self.compile(node.body)
        return loop(node.kind, iters, body)

    def c_IntRange(self, node: ast.IntRange) -> Evaluator:
        return int_range(self.compile(node.start), self.compile(node.end))

    def c_InstanceOf(self, node: ast.InstanceOf) -> Evaluator:
        return instance_of(self.compile(node.value), node.spec, self.types)

    def c_ExternalFunction(self, node: ast.ExternalFunction) -> Evaluator:
        mapping, params = self.compile(node.mapping), node.params
        return lambda env: java_function(params, mapping(env))

    def c_FunctionDef(self, node: ast.FunctionDef) -> Evaluator:
        with self.scope(node.params):
            body = self.compile(node.body)
        return function_value(node.params, node.types, body)

    @contextmanager
    def scope(self, names: Iterable[str]) -> Iterator[None]:
        """Names bound inside a loop, function or context shadow built-in functions."""
        outer = self.names
        self.names = outer | frozenset(names)
        try:
            yield
        finally:
            self.names = outer
