"""Message correlation: which waiting instance a message reaches, or which process it starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import jobs
from .definitions import Definitions
from .errors import ConflictError, NotFoundError
from .instances import create_instance
from .models import Event, Instance, MessageSubscription
from .vocabulary import LIVE_STATUSES, InstanceStatus, JobKind, SubscriptionKind


@dataclass
class MessageResult:
    """Which waiting instances a message reached, and which instances it started."""

    delivered_to: list[str]
    started: list[str]


def deliver(s: Session, definitions: Definitions, name: str, business_key: str | None,
            correlation_keys: Mapping[str, Any] | None, data: dict[str, Any], *,
            all_: bool = False, sender: str | None = None) -> MessageResult:
    """Deliver a checked message inside the caller's write transaction (jobs do the work).

    Nothing waiting and nothing to start → ``NotFoundError``; several waiting without
    ``all_`` → ``ConflictError``. Either way the caller's transaction is rolled back.
    """
    match = find_targets(s, name, business_key, correlation_keys)
    if len(match.waiting) > 1 and not all_:
        raise ConflictError(
            f"{len(match.waiting)} instances wait for message '{name}'; narrow it with "
            "business_key or correlation_keys, or send all: true",
            {"instances": [i.id for _, i in match.waiting]})
    if match.waiting:
        for sub, inst in match.waiting:
            jobs.enqueue(s, JobKind.MESSAGE, inst.id, {"task_id": sub.spiff_task_id,
                                                 "name": name, "variables": data,
                                                 "element_id": sub.element_id})
            s.add(Event(instance_id=inst.id, type="message_accepted", actor=sender,
                        element_id=sub.element_id, data={"name": name}))
            s.delete(sub)
        return MessageResult([i.id for _, i in match.waiting], [])
    if match.starts:
        started = []
        for sub in match.starts:
            inst, _ = create_instance(s, definitions, sub.process_key, business_key,
                                      data, started_by=sender or f"message:{name}",
                                      start_message=name)
            started.append(inst.id)
        return MessageResult([], started)
    raise NotFoundError(f"no instance waits for message '{name}' with these keys, and no "
                        "process starts with it", {"name": name, "business_key": business_key})


@dataclass
class Match:
    """Where a message goes: waiting instances (with their subscriptions) or a start."""

    waiting: list[tuple[MessageSubscription, Instance]] = field(default_factory=list)
    starts: list[MessageSubscription] = field(default_factory=list)


def find_targets(session: Session, name: str, business_key: str | None,
                 correlation_keys: Mapping[str, Any] | None,
                 exclude_instance: str | None = None) -> Match:
    """Find every subscription a message with this name and these keys correlates to."""
    query = (select(MessageSubscription, Instance)
             .join(Instance, Instance.id == MessageSubscription.instance_id)
             .where(MessageSubscription.kind == SubscriptionKind.MESSAGE,
                    MessageSubscription.message_name == name,
                    Instance.status.in_((*LIVE_STATUSES, InstanceStatus.SUSPENDED))))
    if business_key is not None:
        query = query.where(Instance.business_key == business_key)
    if exclude_instance is not None:
        query = query.where(Instance.id != exclude_instance)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=MessageSubscription)
    waiting = []
    for sub, instance in session.execute(query.order_by(MessageSubscription.id)):
        if _correlates(instance.variables or {}, correlation_keys or {}):
            waiting.append((sub, instance))
    starts = list(session.scalars(
        select(MessageSubscription).where(MessageSubscription.kind == SubscriptionKind.MESSAGE,
                                          MessageSubscription.message_name == name,
                                          MessageSubscription.instance_id.is_(None))))
    return Match(waiting, starts)


def _correlates(variables: Mapping[str, Any], keys: Mapping[str, Any]) -> bool:
    return all(k in variables and variables[k] == v for k, v in keys.items())
