"""Signals: a broadcast to every catch that waits for it, in every instance and process.

A signal is delivered by jobs written in the thrower's transaction (an instance's save, or
the REST call's), so a worker crash in between loses nothing and delivers nothing twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import jobs
from .definitions import Definitions
from .instances import create_instance
from .messages import MessageResult
from .models import Event, Instance, MessageSubscription
from .vocabulary import LIVE_STATUSES, InstanceStatus, JobKind, SubscriptionKind


def broadcast(session: Session, definitions: Definitions, name: str,
              variables: dict[str, Any], *, sender: str | None = None,
              exclude_instance: str | None = None,
              business_key: str | None = None) -> MessageResult:
    """Deliver signal ``name`` to every waiting catch and start every process it starts.

    ``exclude_instance``: the thrower, which SpiffWorkflow already delivered to itself.
    """
    query = (select(MessageSubscription, Instance)
             .join(Instance, Instance.id == MessageSubscription.instance_id)
             .where(MessageSubscription.kind == SubscriptionKind.SIGNAL,
                    MessageSubscription.message_name == name,
                    Instance.status.in_((*LIVE_STATUSES, InstanceStatus.SUSPENDED))))
    if exclude_instance is not None:
        query = query.where(Instance.id != exclude_instance)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=MessageSubscription)
    delivered: list[str] = []
    for sub, instance in session.execute(query.order_by(MessageSubscription.id)):
        jobs.enqueue(session, JobKind.SIGNAL, instance.id,
                     {"task_id": sub.spiff_task_id, "name": name, "variables": variables,
                      "element_id": sub.element_id})
        session.add(Event(instance_id=instance.id, type="signal_accepted", actor=sender,
                          element_id=sub.element_id, data={"name": name}))
        session.delete(sub)  # the next save subscribes again whatever still waits
        if instance.id not in delivered:
            delivered.append(instance.id)
    started: list[str] = []
    for sub in session.scalars(select(MessageSubscription).where(
            MessageSubscription.kind == SubscriptionKind.SIGNAL,
            MessageSubscription.message_name == name,
            MessageSubscription.instance_id.is_(None))):
        inst, _ = create_instance(session, definitions, sub.process_key, business_key,
                                  variables, started_by=sender or f"signal:{name}",
                                  start_signal=name)
        started.append(inst.id)
    return MessageResult(delivered, started)
