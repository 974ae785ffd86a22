"""Message correlation: which waiting instance a message reaches, or which process it starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Instance, MessageSubscription


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
             .where(MessageSubscription.message_name == name,
                    Instance.status.in_(("running", "waiting", "incident", "suspended"))))
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
        select(MessageSubscription).where(MessageSubscription.message_name == name,
                                          MessageSubscription.instance_id.is_(None))))
    return Match(waiting, starts)


def _correlates(variables: Mapping[str, Any], keys: Mapping[str, Any]) -> bool:
    return all(k in variables and variables[k] == v for k, v in keys.items())
