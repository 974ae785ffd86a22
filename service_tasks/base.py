"""What every connector shares: one error tree and the call information it is given.

This is the one error tree of connector failures. Connectors import nothing of Bridgeflow's;
the engine reads two attributes of what they raise (see ``engine.registry.classify``):

- ``retryable``: ``TransientError`` → the call is retried with back-off, then an incident;
- ``bpmn_error_code``: ``BusinessRuleError`` → a BPMN error (``code``) that a boundary
  event may catch;
- ``AuthenticationError`` → raised only after one refresh of the credentials failed;
  an incident (a person must fix the credentials);
- ``ConnectorError`` (anything else) → an incident at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ConnectorError(Exception):
    """A call to an external system failed; ``details`` is safe to log and show."""

    retryable = False  # trying again cannot help: the engine opens an incident at once
    bpmn_error_code: str | None = None

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class TransientError(ConnectorError):
    """It may work a little later: timeout, connection refused, 5xx, rate limit."""

    retryable = True


class AuthenticationError(ConnectorError):
    """The credentials were refused, even after one fresh login or token."""


class BusinessRuleError(ConnectorError):
    """The system said no for a business reason; ``code`` names it for BPMN error events."""

    def __init__(self, code: str, message: str,
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.code = code
        self.bpmn_error_code = code


class InvalidParameters(ConnectorError):
    """The process passed parameters the operation cannot use (a modelling mistake)."""


class CallInfo(Protocol):
    """What the engine tells an operation about the call (duck-typed: ``engine.CallContext``)."""

    @property
    def instance_id(self) -> str: ...
    @property
    def business_key(self) -> str | None: ...
    @property
    def element_id(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def idempotency_key(self) -> str: ...


def require(params: Mapping[str, Any], *names: str) -> list[Any]:
    """The values of ``names`` in ``params``, or one error naming every missing one."""
    missing = [n for n in names if params.get(n) in (None, "")]
    if missing:
        raise InvalidParameters(f"missing parameter(s): {', '.join(missing)}",
                                {"missing": missing})
    return [params[n] for n in names]
