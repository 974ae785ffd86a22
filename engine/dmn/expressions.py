"""FEEL expressions outside decision tables: Camunda 8 style ``=…`` conditions in BPMN."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from engine.dmn.feel_errors import collecting
from engine.dmn.feel_eval import UnknownNameError
from engine.dmn.feel_lexer import FeelSyntaxError
from engine.dmn.feel_limits import evaluation_budget
from engine.dmn.feel_parser import parse_expression
from engine.dmn.feel_types import plain_numbers
from engine.dmn.feel_unary import TestCompiler

__all__ = ["FeelExpressionError", "FeelSyntaxError", "compile_feel", "is_feel", "real_errors"]

# null met by an operator, a path or a built-in function: FEEL's null propagation (a
# missing variable), which Camunda lets through as null too, not a mistake in the expression
_NULL_PROPAGATION = re.compile(r"(?:^|: )(?:(?:null \S+ .+|.+ \S+ null|-null) is not defined: null"
                               r"$|a null has no property '|a context has no entry '"
                               r"|[\w ]+\(\) gave null: it was given null$)")


def real_errors(errors: list[str]) -> list[str]:
    """The FEEL errors that are mistakes (``1 + "a"``), without null propagation."""
    return [e for e in errors if not _NULL_PROPAGATION.search(e)]


class FeelExpressionError(ValueError):
    """The expression met FEEL errors (operations that gave null): its value would be wrong."""


def is_feel(expression: str) -> bool:
    """A BPMN expression written as FEEL: it starts with ``=`` (``=amount > 100``)."""
    return expression.lstrip().startswith("=")


@lru_cache(maxsize=1024)
def compile_feel(expression: str) -> Callable[[Mapping[str, Any]], Any]:
    """Compile ``=…`` FEEL text once; ``FeelSyntaxError`` says where it is not FEEL.

    The result maps process variables to the expression's value; a name the variables
    lack is FEEL null, as in Camunda 8. An operation that is not defined for its operands
    (``1 + "a"``) raises ``FeelExpressionError`` listing them, where DMN would give null:
    a condition must not silently take the wrong path.
    """
    text = expression.lstrip()[1:]
    if not text.strip():
        raise FeelSyntaxError("an expression is missing after '='", 0)
    fn = TestCompiler().compile(parse_expression(text))

    def run(variables: Mapping[str, Any]) -> Any:
        env = dict(variables)
        with evaluation_budget(), collecting() as errors:  # the retries share one budget
            start = len(errors)
            for _ in range(100):  # each unknown name becomes null, then the expression reruns
                del errors[start:]
                try:
                    value = plain_numbers(fn(env))
                except UnknownNameError as exc:
                    env[exc.args[0]] = None
                    continue
                wrong = real_errors(errors[start:])
                if wrong:
                    raise FeelExpressionError(
                        f"the FEEL expression {expression.strip()!r} met errors, so its value "
                        f"would be wrong: {'; '.join(wrong)}")
                return value
        return None

    return run
