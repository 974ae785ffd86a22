"""Compile boxed expressions (``boxed_model``) into evaluators, the way FEEL text compiles.

Each boxed expression behaves as the FEEL it stands for: a context as ``{a: …, b: …}``, an
invocation as ``f(p: …)``, a list as ``[…]``, a conditional as ``if … then … else …`` and so
on, with the same null-safety and limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.dmn.boxed_model import (
    Boxed,
    BoxedConditional,
    BoxedContext,
    BoxedFilter,
    BoxedFunction,
    BoxedInvocation,
    BoxedIteration,
    BoxedList,
    BoxedRelation,
)
from engine.dmn.feel_builtins import BUILTINS
from engine.dmn.feel_errors import report
from engine.dmn.feel_eval import Env, Evaluator, lookup
from engine.dmn.feel_functions import function_value
from engine.dmn.feel_iteration import loop
from engine.dmn.feel_lexer import canonical_name
from engine.dmn.feel_limits import spend
from engine.dmn.feel_types import FeelFunction, feel_type_name

# compiles one nested logic element with extra names in scope
CompileLogic = Callable[[Any, frozenset[str]], Evaluator]


def _null(env: Env) -> Any:
    return None


def compile_boxed(boxed: Boxed, compile_logic: CompileLogic,
                  names: frozenset[str] = frozenset()) -> Evaluator:
    """The evaluator for ``boxed``; ``compile_logic(logic, names)`` compiles its parts."""

    def part(logic: Any, extra: frozenset[str] = frozenset()) -> Evaluator:
        return _null if logic is None else compile_logic(logic, names | extra)

    if isinstance(boxed, BoxedContext):
        return _context(boxed, part)
    if isinstance(boxed, BoxedInvocation):
        return _invocation(boxed, part)
    if isinstance(boxed, BoxedList):
        items = [part(i) for i in boxed.items]
        return lambda env: [i(env) for i in items]
    if isinstance(boxed, BoxedRelation):
        rows = [[part(cell) for cell in row] for row in boxed.rows]
        columns = boxed.columns
        return lambda env: [dict(zip(columns, (c(env) for c in row), strict=False))
                            for row in rows]
    if isinstance(boxed, BoxedConditional):
        return _conditional(part(boxed.cond), part(boxed.then), part(boxed.otherwise))
    if isinstance(boxed, BoxedFilter):
        return _filter(part(boxed.source), part(boxed.match, frozenset({"item"})))
    if isinstance(boxed, BoxedIteration):
        var = canonical_name(boxed.var)
        body = part(boxed.body, frozenset({var}))
        if boxed.kind == "for":
            return loop(boxed.kind, [(var, part(boxed.source))], body)
        return _quantified(loop(boxed.kind, [(var, part(boxed.source))], _boolean(body)),
                           boxed.kind)
    return _function(boxed, part)


def _context(boxed: BoxedContext, part: Callable[..., Evaluator]) -> Evaluator:
    entries: list[tuple[str | None, Evaluator]] = []
    seen: frozenset[str] = frozenset()
    for name, logic in boxed.entries:
        key = canonical_name(name) if name else None
        if key:
            seen = seen | {key}
        entries.append((key, part(logic, seen)))

    def context(env: Env) -> Any:
        local, result = dict(env), {}
        spend(len(entries))
        for key, fn in entries:
            value = fn(local)
            if key is None:
                return value  # an entry without a name is the context's result
            result[key] = local[key] = value
        return result

    return context


def _invocation(boxed: BoxedInvocation, part: Callable[..., Evaluator]) -> Evaluator:
    name = canonical_name(boxed.function)
    bindings = [(canonical_name(p), part(logic)) for p, logic in boxed.bindings]
    builtin = BUILTINS.get(name)

    def invoke(env: Env) -> Any:
        args = {p: fn(env) for p, fn in bindings}
        fn = env.get(name) if name in env else None
        if fn is None and builtin is not None:
            return builtin.invoke([], args)
        fn = lookup(env, name)
        if not isinstance(fn, FeelFunction):
            report(f"a {feel_type_name(fn)} cannot be invoked: null")
            return None
        spend()
        return fn.call([], args)

    return invoke


def _filter(source: Evaluator, match: Evaluator) -> Evaluator:
    def select(env: Env) -> Any:
        items = source(env)
        if items is None:
            return None
        out = []
        for item in items if type(items) is list else [items]:
            spend()
            local = {**env, **item} if type(item) is dict else dict(env)
            local["item"] = item
            keep = match(local)
            if keep is True:
                out.append(item)
            elif keep is not False and keep is not None:
                report(f"a boxed filter's match gave a {feel_type_name(keep)}, not a "
                       "boolean: null")
                return None
        return out

    return select


# The boxed forms are stricter than their FEEL text (DMN 1.5, 10.2.1.x): a condition, match
# or satisfies that is not a boolean makes the whole expression null, with an error.
def _conditional(cond: Evaluator, then: Evaluator, other: Evaluator) -> Evaluator:
    def choose(env: Env) -> Any:
        test = cond(env)
        if test is True:
            return then(env)
        if test is False or test is None:
            return other(env)
        report(f"a boxed conditional's if gave a {feel_type_name(test)}, not a boolean: null")
        return None

    return choose


class _NotBoolean(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def _boolean(body: Evaluator) -> Evaluator:
    def check(env: Env) -> Any:
        result = body(env)
        if result is not True and result is not False and result is not None:
            raise _NotBoolean(result)
        return result

    return check


def _quantified(run: Evaluator, kind: str) -> Evaluator:
    def quantify(env: Env) -> Any:
        try:
            return run(env)
        except _NotBoolean as exc:
            report(f"a boxed {kind}'s satisfies gave a {feel_type_name(exc.value)}, "
                   "not a boolean: null")
            return None

    return quantify


def _function(boxed: BoxedFunction, part: Callable[..., Evaluator]) -> Evaluator:
    params = [canonical_name(p) for p, _ in boxed.params]
    body = part(boxed.body, frozenset(params))
    return function_value(params, [None] * len(params), body)



