"""The scripted answers a process test gives in place of the ERP, the CRM and the workers.

Every operation the BPMN names is registered with one function that answers from the
current case's script: a value, a business error (a BPMN error with its code) or a
technical failure (an incident at once: no retry can change a scripted answer).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .registry import CallContext, OperationRegistry, RetryPolicy
from .test_files import Failure


class ScriptedBusinessError(Exception):
    """A business error the script gives: the engine reads it as a BPMN error."""

    retryable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.bpmn_error_code = code
        self.message = message


class ScriptedFailure(Exception):
    """A technical failure the script gives (or a call it has no answer for)."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    element_id: str


@dataclass
class Script:
    """The current case's answers by operation, and the calls made so far."""

    answers: dict[str, Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    problems: list[Failure] = field(default_factory=list)

    def reset(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls = []
        self.problems = []

    def answer(self, operation: str, params: dict[str, Any], ctx: CallContext) -> Any:
        self.calls.append(Call(operation, copy.deepcopy(params), ctx.element_id))
        if operation not in self.answers:
            self.problems.append(Failure(f"an answer for {operation}", "scripted in services",
                                         "none given", ctx.element_id))
            raise ScriptedFailure(f"the test gives no answer for {operation}")
        given = self.answers[operation]
        if isinstance(given, list):
            n = sum(1 for c in self.calls if c.operation == operation)
            if n > len(given):
                self.problems.append(Failure(f"calls of {operation}", f"at most {len(given)}",
                                             n, ctx.element_id))
                raise ScriptedFailure(f"the test gives {len(given)} answer(s) for "
                                      f"{operation}; this is call {n}")
            given = given[n - 1]
        if "error" in given:
            raise ScriptedBusinessError(str(given["error"]["code"]),
                                        str(given["error"].get("message", "")))
        if "fails" in given:
            raise ScriptedFailure(str(given["fails"]))
        return copy.deepcopy(given.get("returns"))


def scripted_registry(operations: set[str], script: Script) -> OperationRegistry:
    """A registry where each of ``operations`` answers from ``script``."""
    registry = OperationRegistry()
    once = RetryPolicy(attempts=1, backoff_seconds=0.0, factor=1.0)
    for name in sorted(operations):
        def answer(params: dict[str, Any], ctx: CallContext, _name: str = name) -> Any:
            return script.answer(_name, params, ctx)
        registry.register(name, answer, retry=once, description="scripted by a test")
    return registry
