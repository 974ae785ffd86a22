"""Calling a service task's operation: parameters, retry policy, outcome into the workflow."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException

from .bpmn.runtime import WorkflowRunner
from .bpmn.serializer import to_json_value
from .config import Settings
from .errors import EngineError
from .models import utcnow
from .outcome import Outcome, Snapshot
from .registry import (
    BusinessError,
    CallContext,
    OperationRegistry,
    PermanentError,
    RetryPolicy,
)
from .timeutil import parse_duration


class ServiceCaller:
    """Runs one operation for one service task, outside any database transaction."""

    def __init__(self, registry: OperationRegistry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings

    def policy(self, task_retry: dict[str, Any], op_retry: RetryPolicy | None) -> RetryPolicy:
        """The task's own retry settings win over the operation's, which win over the default."""
        base = op_retry or RetryPolicy(self.settings.retry_attempts,
                                       self.settings.retry_backoff_seconds,
                                       self.settings.retry_backoff_factor,
                                       self.settings.retry_backoff_max_seconds)
        if task_retry.get("attempts"):
            backoff = task_retry.get("backoff")
            seconds = (parse_duration(backoff).total_seconds() if isinstance(backoff, str)
                       and backoff.startswith("P") else float(backoff or base.backoff_seconds))
            factor = 1.0 if isinstance(backoff, str) and backoff.startswith("P") else base.factor
            return RetryPolicy(int(task_retry["attempts"]), seconds, factor,
                               base.max_backoff_seconds)
        return base

    def call(self, runner: WorkflowRunner, inst: Snapshot, task_id: str, element_id: str,
             operation: str, task_retry: dict[str, Any], task: Any, out: Outcome) -> None:
        """Call the operation once; success, retry, BPMN error or incident lands in ``out``."""
        registered = self.registry.get(operation)
        attempt = out.attempts.pop(task_id, 1)
        runner.park_service_call(task_id)
        if registered is None:
            out.incident(inst, element_id, task_id, "unknown_operation",
                         f"no connector provides the operation '{operation}'",
                         {"operation": operation})
            return
        try:
            params = runner.evaluate_parameters(task)
        except SpiffWorkflowException as exc:
            out.incident(inst, element_id, task_id, "parameter_error", str(exc),
                         {"operation": operation})
            return
        policy = self.policy(task_retry, registered.retry)
        ctx = CallContext(inst.id, inst.business_key, element_id, attempt, task_id)
        started = time.perf_counter()
        try:
            result = registered.fn(params, ctx)
        except Exception as raw:  # noqa: BLE001 - classified just below
            error = registered.classify(raw) if registered.classify else raw
            ms = round((time.perf_counter() - started) * 1000, 1)
            self._failed(runner, inst, out, task_id, element_id, operation, error,
                                 attempt, policy, ms)
            return
        ms = round((time.perf_counter() - started) * 1000, 1)
        out.event(inst, "service_call", element_id, operation=operation, duration_ms=ms,
                  outcome="ok", attempt=attempt)
        runner.complete_service_call(task_id, to_json_value(result),
                                     runner.service_result_variable(task_id))
        out.take_steps(runner, inst)

    def _failed(self, runner: WorkflowRunner, inst: Snapshot, out: Outcome, task_id: str,
                element_id: str, operation: str, exc: Exception, attempt: int,
                policy: RetryPolicy, ms: float) -> None:
        details = dict(exc.details) if isinstance(exc, EngineError) else {}
        if isinstance(exc, BusinessError):
            out.event(inst, "service_call", element_id, operation=operation, duration_ms=ms,
                      outcome="business_error", attempt=attempt, error_code=exc.error_code,
                      error=exc.message)
            if not runner.throw_error(task_id, exc.error_code, exc.message):
                out.incident(inst, element_id, task_id, "business_error",
                             f"{operation} reported '{exc.error_code}': {exc.message}; no "
                             "error boundary event catches it",
                             {**details, "operation": operation, "error_code": exc.error_code})
            return
        message = f"{type(exc).__name__}: {exc}"
        out.event(inst, "service_call", element_id, operation=operation, duration_ms=ms,
                  outcome="failed", attempt=attempt, error=message[:500])
        if isinstance(exc, PermanentError):
            out.incident(inst, element_id, task_id, "service_failed",
                         f"{operation} failed and retrying cannot help: {message}",
                         {**details, "operation": operation, "attempts": attempt})
        elif attempt < policy.attempts:
            due = utcnow() + timedelta(seconds=policy.delay(attempt))
            out.new_jobs.append(("service_retry", {"task_id": task_id, "attempt": attempt + 1,
                                                   "element_id": element_id}, due))
        else:
            out.incident(inst, element_id, task_id, "service_failed",
                         f"{operation} failed {attempt} time(s); last error: {message}",
                         {**details, "operation": operation, "attempts": attempt})
