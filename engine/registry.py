"""The registry of service-task operations: name → Python callable, with its retry policy.

Connectors know nothing of the engine; the app factory registers them here. An operation
is called as ``fn(params, ctx)`` and signals outcomes by exception:
``BusinessError`` becomes a BPMN error, ``PermanentError`` an incident at once, anything
else is retried and then an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import EngineError


class BusinessError(EngineError):
    """A business outcome a diagram can catch with an error boundary event (by ``code``)."""

    code = "business_error"

    def __init__(self, error_code: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.error_code = error_code


class TransientError(EngineError):
    """A failure that may pass (timeout, connection refused, 5xx): retry with back-off."""

    code = "transient_error"


class PermanentError(EngineError):
    """A failure that no retry can fix (bad parameters, refused credentials): incident now."""

    code = "permanent_error"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing call is tried again."""

    attempts: int = 3
    backoff_seconds: float = 10.0
    factor: float = 2.0
    max_backoff_seconds: float = 3600.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.backoff_seconds * self.factor ** (attempt - 1),
                         self.max_backoff_seconds))


@dataclass(frozen=True)
class CallContext:
    """What an operation may know about the call: above all, a key for idempotency."""

    instance_id: str
    business_key: str | None
    element_id: str
    attempt: int
    task_id: str = ""  # this run of the element: a loop's next round gets a new one

    @property
    def idempotency_key(self) -> str:
        """The same for every retry of one call, different for each pass through a loop."""
        base = f"{self.instance_id}:{self.element_id}"
        return f"{base}:{self.task_id}" if self.task_id else base


Operation = Callable[[dict[str, Any], CallContext], Any]
ErrorClassifier = Callable[[Exception], Exception]


@dataclass(frozen=True)
class RegisteredOperation:
    name: str
    fn: Operation
    retry: RetryPolicy | None
    classify: ErrorClassifier | None
    description: str


class OperationRegistry:
    """Operation names the BPMN may use, and what runs for each."""

    def __init__(self) -> None:
        self._ops: dict[str, RegisteredOperation] = {}

    def register(self, name: str, fn: Operation, *, retry: RetryPolicy | None = None,
                 classify: ErrorClassifier | None = None, description: str = "") -> None:
        """Register ``fn`` under ``name``; ``classify`` maps foreign errors to ours."""
        if not name or name.strip() != name:
            raise ValueError(f"operation name {name!r} must be non-empty without spaces")
        self._ops[name] = RegisteredOperation(name, fn, retry, classify, description)

    def get(self, name: str) -> RegisteredOperation | None:
        return self._ops.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def names(self) -> list[str]:
        return sorted(self._ops)
