"""Functions defined inline in FEEL (``function(a, b: number) a + b``) and their calls.

A function closes over the scope it is defined in (so a context entry can call itself);
every call costs a step and counts against ``feel_limits.MAX_DEPTH``, so recursion through
inline functions stops at a limit instead of exhausting the stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.dmn.feel_errors import report
from engine.dmn.feel_limits import call_depth, spend
from engine.dmn.feel_types import FeelFunction, feel_repr
from engine.dmn.feel_typespec import TypeSpec, conforms

Env = dict[str, Any]
Evaluator = Callable[[Env], Any]


def function_value(params: Sequence[str], types: Sequence[TypeSpec | None],
                   body: Evaluator) -> Evaluator:
    """Compile ``function(params) body``: each evaluation gives a closure over its scope."""
    names = tuple(params)
    declared = tuple(types)

    def define(env: Env) -> FeelFunction:
        def run(args: list[Any]) -> Any:
            for value, spec in zip(args, declared, strict=True):
                if spec is not None and value is not None and conforms(value, spec) is False:
                    report(f"a function with a parameter of type {spec} was given "
                           f"{feel_repr(value)}: the call gives null")
                    return None  # an argument of the wrong type: FEEL null
            spend()
            with call_depth():
                local = dict(env)
                local.update(zip(names, args, strict=True))
                return body(local)

        return FeelFunction("anonymous function", names, run,
                            declared if any(declared) else None)

    return define


def instance_of(value: Evaluator, spec: TypeSpec,
                types: dict[str, TypeSpec] | None = None) -> Evaluator:
    resolve = (types or {}).get
    return lambda env: conforms(value(env), spec, resolve)


class BuiltinFunction(FeelFunction):
    """A built-in passed as a value (``bkm(abs, sqrt)``): a call takes any of its signatures."""

    __slots__ = ("builtin",)

    def __init__(self, builtin: Any) -> None:
        super().__init__(builtin.name, builtin.signatures[0], builtin.invoke)
        self.builtin = builtin

    def call(self, args: list[Any], named: dict[str, Any] | None = None) -> Any:
        spend()
        return self.builtin.invoke(args, named)
