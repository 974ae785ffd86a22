"""One advance of one instance: the workflow in memory and everything the advance produced.

An ``Advance`` is the only thing the executor's steps pass around: they move its runner and
record into it; the executor writes it all in one transaction at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from .bpmn.reports import CalledProcess, TaskFailure, ThrownMessage
from .bpmn.runtime import WorkflowRunner
from .bpmn.serializer import to_json_value
from .definitions import DefinitionRef
from .models import Event, HumanTask, Incident, Instance, utcnow
from .prepared import FIXED_KEPT, Fixed
from .protect import Protector, redact
from .vocabulary import JobKind

# Plain Core tables for the hot inserts: the ORM's unit of work costs more than the SQL.
INSTANCES = cast(Table, Instance.__table__)
EVENTS = cast(Table, Event.__table__)
HUMAN_TASKS = cast(Table, HumanTask.__table__)
# what ``Advance.event`` gives each audit event
EVENT_COLUMNS = ("instance_id", "type", "element_id", "actor", "data", "created_at")


class LeaseLostError(Exception):
    """Another worker took this job over after our lease ran out: drop our work."""


@dataclass
class Snapshot:
    """What the executor knows of the instance it advances, as it was read."""

    id: str
    definition_id: str
    process_key: str
    business_key: str | None
    status: str
    state: bytes | None
    variables: dict[str, Any]
    revision: int
    started_by: str | None = None
    caller: tuple[str, str, str | None] | None = None  # a called instance: its caller's
    # instance id, call activity task id and element id


@dataclass
class Advance:
    """The instance being advanced, its workflow, and what this advance produced."""

    inst: Snapshot
    runner: WorkflowRunner
    events: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    new_jobs: list[tuple[JobKind, dict[str, Any], datetime]] = field(default_factory=list)
    thrown: list[ThrownMessage] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)  # a retried call's attempt number
    calls_pending: bool = False  # stopped before a service call (an inline start)
    reopened: set[str] = field(default_factory=set)  # tasks an admin moved the token back to
    reassign: set[str] = field(default_factory=set)  # user tasks whose assignment to evaluate
    # again (an admin retried the incident of a failing candidateGroups or assignee)
    called: list[tuple[CalledProcess, DefinitionRef]] = field(default_factory=list)  # to start
    # external tasks: those waiting when the instance was loaded, and those (re)parked now
    external_before: set[str] = field(default_factory=set)
    external_parked: set[str] = field(default_factory=set)
    # the workflow as loaded waited on no message, signal or timer, so the instance has no
    # subscription or timer rows to read back (saves two queries)
    no_event_waits_before: bool = False

    def event(self, type_: str, element_id: str | None = None, actor: str | None = None,
              **data: Any) -> None:
        """Add an audit event about this instance."""
        self.events.append({"instance_id": self.inst.id, "type": type_,
                            "element_id": element_id, "actor": actor,
                            "data": data or NO_DATA, "created_at": utcnow()})

    def incident(self, element_id: str | None, task_id: str | None, error_type: str,
                 message: str, details: dict[str, Any]) -> None:
        """Open an incident with this advance (and say so in the audit trail)."""
        self.incidents.append(Incident(instance_id=self.inst.id,
                                       process_key=self.inst.process_key,
                                       element_id=element_id, spiff_task_id=task_id,
                                       error_type=error_type, message=message,
                                       details=to_json_value(details)))
        self.event("incident_opened", element_id, error_type=error_type, message=message)

    def redact_free_text(self, protector: Protector | None) -> None:
        """Mask the personal values that this advance's incidents and failure reports quote.

        A failing script's or expression's error often quotes the value it failed on
        (``invalid literal for int(): 'fiona@example.com'``), as may a connector's or an
        external worker's error. These are free text, which the key-based masking of audit
        data cannot see into: every value under a personal name in the instance's variables
        is masked wherever an incident's message or details, or an event's ``message`` or
        ``error``, repeat it."""
        if protector is None or not protector.names:
            return
        reports = [n for n, event in enumerate(self.events)
                   if any(isinstance(event["data"].get(key), str) for key in FREE_TEXT)]
        if not self.incidents and not reports:
            return
        values = protector.personal_values(self.runner.variables())
        if not values:
            return
        for incident in self.incidents:
            incident.message = redact(incident.message, values)
            incident.details = _redacted(incident.details, values)
        for n in reports:
            self.events[n] = {**self.events[n], "data": _redacted(self.events[n]["data"],
                                                                  values)}

    def failed(self, failure: TaskFailure) -> None:
        """A script, expression or decision failed: an incident an admin can act on."""
        self.incident(failure.element_id, failure.task_id, failure.error_type,
                      failure.message, {**failure.details, "line": failure.line})

    def job(self, kind: JobKind, payload: dict[str, Any], due: datetime) -> None:
        """A job to write with this advance (a retry of a service call)."""
        self.new_jobs.append((kind, payload, due))

    def record_steps(self) -> None:
        """Move the steps the runner took into the audit trail."""
        now = utcnow()  # the steps were all taken in the run that just ended
        inst_id = self.inst.id
        self.events.extend({"instance_id": inst_id, "type": "step", "element_id": step.element_id,
                            "actor": None, "data": step_data(step.element_type, step.name),
                            "created_at": now}
                           for step in self.runner.steps)
        self.runner.steps.clear()


NO_DATA = Fixed()  # an event that carries no data: one shared value, converted once
FREE_TEXT = ("message", "error")  # keys of audit data that hold a failure's own words


def _redacted(data: Any, values: list[str]) -> Any:
    """``data`` with every string in it ``redact``ed (a copy; ``data`` is not changed)."""
    if isinstance(data, str):
        return redact(data, values)
    if isinstance(data, dict):
        return {key: _redacted(value, values) for key, value in data.items()}
    if isinstance(data, list):
        return [_redacted(value, values) for value in data]
    return data


@lru_cache(maxsize=FIXED_KEPT)
def step_data(element_type: str, name: str | None) -> Fixed:
    """A step event's data, one shared value per kind of element and name (converted for
    the database once, not at every step)."""
    return Fixed(type=element_type, name=name)


def insert_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Append audit events with one multi-row INSERT (the ORM would fetch every new id)."""
    if not events:
        return
    session.flush()  # rows the events refer to go first
    session.connection().execute(EVENTS.insert(), events)


def snapshot_of(row: Any) -> Snapshot:
    """What the executor knows of an instance, from its row (ORM or Core)."""
    caller = ((row.parent_instance_id, row.parent_task_id, row.parent_element_id)
              if row.parent_instance_id and row.parent_task_id else None)
    return Snapshot(row.id, row.definition_id, row.process_key, row.business_key, row.status,
                    row.state, dict(row.variables or {}), row.revision, row.started_by, caller)


def task_about(task: HumanTask) -> dict[str, Any]:
    """A user task as its task listeners see it (``task.assignee``, ``task.name`` …)."""
    return {"id": task.id, "name": task.name, "element_id": task.element_id,
            "assignee": task.assignee or task.completed_by,
            "candidate_groups": list(task.candidate_groups or []),
            "candidate_users": list(task.candidate_users or []), "priority": task.priority,
            "due_at": task.due_at.isoformat() + "Z" if task.due_at else None}
