"""Inbound events (CRM webhooks): record each event once, deliver it as a message.

An event is written to ``inbound_events`` and delivered in the same write transaction, so
an event is either recorded *and* delivered or neither. The unique (source, event_id)
constraint makes a repeat — also two deliveries of one event racing each other — a
duplicate that changes nothing. Delivery only writes jobs and instances; a worker does the
process work.

Outcomes: ``started`` (a message start event started instances), ``delivered`` (waiting
instances will receive it), ``ignored`` (nothing starts with or waits for the message under
this business key: recorded, so the sender may stop retrying, and visible to admins).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import messages
from .db import Database
from .definitions import Definitions
from .errors import NotFoundError
from .instances import check_variables
from .models import Event, InboundEvent, MessageSubscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundOutcome:
    """What became of an event; ``duplicate`` when it had been received before."""

    event_id: str
    outcome: str  # started, delivered, ignored
    message_name: str
    instance_ids: list[str]
    duplicate: bool = False
    detail: str | None = None


def message_name_for(event_type: str) -> str:
    """The BPMN message an event type is delivered as: ``order.activated`` → ``order_activated``."""
    return event_type.replace(".", "_")


def accept_event(db: Database, definitions: Definitions, *, source: str, event_id: str,
                 event_type: str, record_id: str,
                 variables: dict[str, Any]) -> InboundOutcome:
    """Record the event and deliver it with business key ``record_id``, once per event id."""
    name = message_name_for(event_type)
    data = check_variables(variables)
    try:
        with db.write() as s:
            seen = _recorded(s, source, event_id)
            if seen is not None:
                return _duplicate(seen, name)
            row = InboundEvent(source=source, event_id=event_id, type=event_type,
                               record_id=record_id, outcome="received", instance_ids=[])
            s.add(row)
            s.flush()  # a racing twin stops here, on the unique constraint
            outcome, instance_ids, detail = _deliver(s, definitions, name, record_id, data,
                                                     f"webhook:{source}")
            row.outcome, row.instance_ids, row.detail = outcome, instance_ids, detail
            audit = {"source": source, "event_id": event_id, "type": event_type,
                     "record_id": record_id, "outcome": outcome, "message": name}
            targets: list[str | None] = [*instance_ids] or [None]
            for instance_id in targets:
                s.add(Event(instance_id=instance_id, type="inbound_event",
                            actor=f"webhook:{source}",
                            data={**audit, "detail": detail} if detail else audit))
    except IntegrityError:
        with db.read() as s:
            seen = _recorded(s, source, event_id)
        if seen is None:
            raise
        log.info("%s event %s arrived twice at once; the other delivery recorded it",
                 source, event_id)
        return _duplicate(seen, name)
    log.info("%s event %s (%s) for %s: %s %s", source, event_id, event_type, record_id,
             outcome, ", ".join(instance_ids) or detail)
    return InboundOutcome(event_id, outcome, name, instance_ids, detail=detail)


def _recorded(s: Session, source: str, event_id: str) -> InboundEvent | None:
    return s.scalar(select(InboundEvent).where(InboundEvent.source == source,
                                               InboundEvent.event_id == event_id))


def _duplicate(row: InboundEvent, name: str) -> InboundOutcome:
    log.info("%s event %s was received before (%s); nothing to do", row.source, row.event_id,
             row.outcome)
    return InboundOutcome(row.event_id, row.outcome, name, list(row.instance_ids or []),
                          duplicate=True, detail=row.detail)


def _deliver(s: Session, definitions: Definitions, name: str, record_id: str,
             data: dict[str, Any], sender: str) -> tuple[str, list[str], str | None]:
    """Deliver to every instance of this record that waits, else start what starts with it."""
    try:
        with s.begin_nested():  # nothing half-delivered stays behind when it fails
            result = messages.deliver(s, definitions, name, record_id, None, data,
                                      all_=True, sender=sender)
    except NotFoundError:
        listened = s.scalar(select(MessageSubscription.id)
                            .where(MessageSubscription.message_name == name).limit(1))
        detail = (f"no instance with business key '{record_id}' waits for message '{name}'"
                  if listened is not None else
                  f"no process starts with or waits for message '{name}'")
        return "ignored", [], detail
    if result.started:
        return "started", result.started, None
    return "delivered", result.delivered_to, None
