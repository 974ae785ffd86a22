"""What one advance of an instance produced, collected in memory and written at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from .bpmn.runtime import ThrownMessage, WorkflowRunner
from .bpmn.serializer import to_json_value
from .models import Event, Incident, Instance, utcnow

# Plain Core tables for the hot inserts: the ORM's unit of work costs more than the SQL.
INSTANCES = cast(Table, Instance.__table__)
EVENTS = cast(Table, Event.__table__)


class LeaseLostError(Exception):
    """Another worker took this job over after our lease ran out: drop our work."""


@dataclass
class Outcome:
    """Everything one advance produced, written together at the end."""

    events: list[Event | dict[str, Any]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    new_jobs: list[tuple[str, dict[str, Any], datetime]] = field(default_factory=list)
    thrown: list[ThrownMessage] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    resolved_incident: str | None = None
    calls_pending: bool = False
    reopened: set[str] = field(default_factory=set)  # tasks an admin sent the token back to

    def event(self, instance: Snapshot, type_: str, element_id: str | None = None,
              actor: str | None = None, **data: Any) -> None:
        self.events.append({"instance_id": instance.id, "type": type_, "element_id": element_id,
                            "actor": actor, "data": data, "created_at": utcnow()})

    def incident(self, inst: Snapshot, element_id: str | None, task_id: str | None,
                 error_type: str, message: str, details: dict[str, Any]) -> None:
        """Open an incident with this advance (and say so in the audit trail)."""
        self.incidents.append(Incident(instance_id=inst.id, process_key=inst.process_key,
                                       element_id=element_id, spiff_task_id=task_id,
                                       error_type=error_type, message=message,
                                       details=to_json_value(details)))
        self.event(inst, "incident_opened", element_id, error_type=error_type, message=message)

    def take_steps(self, runner: WorkflowRunner, inst: Snapshot) -> None:
        """Move the steps the runner recorded into the audit trail."""
        for step in runner.steps:
            self.event(inst, "step", step.element_id, type=step.element_type, name=step.name)
        runner.steps.clear()


@dataclass
class Snapshot:
    """What the executor knows of the instance it advances."""

    id: str
    definition_id: str
    process_key: str
    business_key: str | None
    status: str
    state: bytes | None
    variables: dict[str, Any]
    revision: int


def event_rows(events: list[Event | dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit events as rows for one multi-row INSERT."""
    return [e if isinstance(e, dict) else
            {"instance_id": e.instance_id, "type": e.type, "element_id": e.element_id,
             "actor": e.actor, "data": e.data if e.data is not None else {},
             "created_at": e.created_at or utcnow()} for e in events]


def insert_events(session: Session, events: list[Event | dict[str, Any]]) -> None:
    """Append audit events with one multi-row INSERT (the ORM would fetch every new id)."""
    if not events:
        return
    session.flush()  # rows the events refer to go first
    session.connection().execute(EVENTS.insert(), event_rows(events))
