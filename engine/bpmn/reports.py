"""What a running workflow reports, in Bridgeflow's own types (never SpiffWorkflow's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Step:
    """One element an instance ran (shared: every run of the element records this value)."""

    element_id: str
    element_type: str
    name: str | None


@dataclass
class HumanTaskInfo:
    task_id: str
    element_id: str
    name: str | None
    lane: str | None
    extensions: dict[str, Any]
    data: dict[str, Any]


@dataclass
class ServiceCall:
    task_id: str
    element_id: str
    operation: str
    retry: dict[str, Any]  # the task's own retry settings (failedJobRetryTimeCycle)
    result_variable: str | None


@dataclass
class ExternalWait:
    """A service task waiting for a worker outside Bridgeflow (an external task)."""

    task_id: str
    element_id: str
    topic: str
    priority: int
    locals: dict[str, Any]  # the task's own variables (camunda:inputOutput inputs)
    properties: dict[str, str]  # camunda:properties, for the worker


@dataclass
class CalledProcess:
    """A call activity that has not yet started the instance it calls."""

    task_id: str
    element_id: str
    process_key: str
    binding: str  # "latest", "deployment" or "version"
    version: int | None
    business_key: str | None
    variables: dict[str, Any]
    error: str | None = None  # a camunda:in or business key expression failed


@dataclass
class WaitingMessage:
    task_id: str
    element_id: str
    name: str


@dataclass
class WaitingTimer:
    task_id: str
    element_id: str
    due_at: datetime


@dataclass
class ThrownMessage:
    name: str
    payload: Any
    correlations: dict[str, Any]


@dataclass
class ThrownSignal:
    name: str
    element_id: str


@dataclass
class TaskFailure:
    """A script, expression or decision that failed: what an admin sees on the incident."""

    task_id: str | None
    element_id: str | None
    error_type: str
    message: str
    line: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
