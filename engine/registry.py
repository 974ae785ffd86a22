"""The registry of service-task operations: name → Python callable, with its retry policy.

Connectors know nothing of the engine; the app factory registers them here. An operation
is called as ``fn(params, ctx)`` and signals a failure by raising; ``classify`` reads what
the engine does with it (a BPMN error, an incident at once, or retries then an incident).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .timeutil import parse_duration


class FailureKind(StrEnum):
    """What the engine does with a failed call."""

    TRANSIENT = "transient"  # retried with back-off, then an incident
    PERMANENT = "permanent"  # an incident at once: no retry can help
    BUSINESS = "business"  # a BPMN error a boundary event may catch, by its code


@dataclass(frozen=True)
class CallFailure:
    """A failed call, as the engine reads it from the connector's exception."""

    kind: FailureKind
    message: str
    error_code: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def classify(exc: BaseException) -> CallFailure:
    """Read a connector's exception by the one protocol every connector follows.

    Connectors import nothing of Bridgeflow's, so the engine reads attributes instead of
    classes (``service_tasks.base.ConnectorError`` and its subclasses set them):
    ``bpmn_error_code`` (a string) makes a BPMN error; ``retryable`` says whether trying
    again may help; ``details`` is safe to show. An exception without them is a bug in the
    connector: it is retried, then an incident carries its text.
    """
    message = str(getattr(exc, "message", None) or exc)
    details = getattr(exc, "details", None)
    details = dict(details) if isinstance(details, dict) else {}
    code = getattr(exc, "bpmn_error_code", None)
    if isinstance(code, str) and code:
        return CallFailure(FailureKind.BUSINESS, message, code, details)
    if getattr(exc, "retryable", True) is False:
        return CallFailure(FailureKind.PERMANENT, f"{type(exc).__name__}: {message}", None,
                           details)
    return CallFailure(FailureKind.TRANSIENT, f"{type(exc).__name__}: {message}", None, details)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently failing work is tried again: calls and jobs alike."""

    attempts: int = 3
    backoff_seconds: float = 10.0
    factor: float = 2.0
    max_backoff_seconds: float = 3600.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.backoff_seconds * self.factor ** (attempt - 1),
                         self.max_backoff_seconds))

    def for_task(self, task_retry: dict[str, Any]) -> RetryPolicy:
        """This policy with a task's own settings (``camunda:failedJobRetryTimeCycle``).

        ``attempts`` replaces ours; a ``backoff`` duration (``PT5M``) waits that long each
        time, a number of seconds backs off from it by our factor.
        """
        if not task_retry.get("attempts"):
            return self
        backoff = task_retry.get("backoff")
        if isinstance(backoff, str) and backoff.startswith("P"):
            return RetryPolicy(int(task_retry["attempts"]),
                               parse_duration(backoff).total_seconds(), 1.0,
                               self.max_backoff_seconds)
        return RetryPolicy(int(task_retry["attempts"]), float(backoff or self.backoff_seconds),
                           self.factor, self.max_backoff_seconds)


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


@dataclass(frozen=True)
class RegisteredOperation:
    name: str
    fn: Operation
    retry: RetryPolicy | None
    description: str


class OperationRegistry:
    """Operation names the BPMN may use, and what runs for each.

    A name no connector provides is an external task's topic, which a worker outside
    Bridgeflow performs, unless its family (``erp`` of ``erp.create_sale``) is reserved for
    a built-in connector: then the connector is missing, and the BPMN cannot deploy.
    """

    def __init__(self, reserved: tuple[str, ...] = ()) -> None:
        self._ops: dict[str, RegisteredOperation] = {}
        self._reserved = frozenset(reserved)

    def reserve(self, *families: str) -> None:
        """Keep the operations of these families for built-in connectors."""
        self._reserved |= frozenset(families)

    def is_external(self, name: str) -> bool:
        """Tell whether a service task naming ``name`` becomes an external task."""
        return name not in self._ops and name.partition(".")[0] not in self._reserved

    def accepts(self, name: str) -> bool:
        """Tell whether a process may name ``name``: a connector's, or an external topic."""
        return name in self._ops or self.is_external(name)

    def register(self, name: str, fn: Operation, *, retry: RetryPolicy | None = None,
                 description: str = "") -> None:
        """Register ``fn`` under ``name``; ``retry`` overrides the engine's default policy."""
        if not name or name.strip() != name:
            raise ValueError(f"operation name {name!r} must be non-empty without spaces")
        self._ops[name] = RegisteredOperation(name, fn, retry, description)

    def get(self, name: str) -> RegisteredOperation | None:
        return self._ops.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def names(self) -> list[str]:
        return sorted(self._ops)
