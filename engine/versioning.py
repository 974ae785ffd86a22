"""Which version a deployed file becomes, and what a new process version subscribes to.

A changed file makes the next version; an unchanged one is the stored version. The processes
folder deployed at start-up (``keep_newer``) never puts an older file back over a version
deployed since from the console or the API, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import jobs
from .bpmn.parser import ParsedProcess
from .models import Definition, Job, MessageSubscription, utcnow
from .timeutil import next_cycle_time
from .vocabulary import JobKind, SubscriptionKind

STARTUP = "startup"
"""Who deploys the processes folder when Bridgeflow starts."""
MAX_COMMENT = 2000


@dataclass(frozen=True)
class DeployingAs:
    """Who deploys, what they wrote about it, and whether older versions may come back."""

    by: str | None
    comment: str | None
    keep_newer: bool



def next_version(session: Session, key: str, kind: str, content_hash: str,
                 keep_newer: bool) -> tuple[Definition | None, int, tuple[str, ...]]:
    """The version the content would be (or the stored one it already is), and why a
    file of the processes folder is not deployed or replaces a console version."""
    latest = session.scalars(select(Definition).where(
        Definition.key == key, Definition.kind == kind)
        .order_by(Definition.version.desc()).limit(1)).first()
    if latest is not None and latest.content_hash == content_hash:
        return latest, latest.version, ()
    if latest is None:
        return None, 1, ()
    if not keep_newer or latest.deployed_by == STARTUP:
        return None, latest.version + 1, ()
    by = f"{latest.deployed_by or 'someone'} on {latest.deployed_at:%Y-%m-%d %H:%M} UTC"
    older = session.scalar(select(func.max(Definition.version)).where(
        Definition.key == key, Definition.kind == kind,
        Definition.content_hash == content_hash))
    if older is not None:
        return latest, latest.version, (
            f"the processes folder holds version {older}; version {latest.version}, "
            f"deployed by {by}, is newer and stays the newest (`bridgeflow export` "
            "writes it to the folder)",)
    return None, latest.version + 1, (
        f"the processes folder's file differs from version {latest.version}, deployed "
        f"by {by}, and is deployed over it as version {latest.version + 1} "
        "(`bridgeflow export` writes console versions to the folder first)",)


def subscribe_starts(session: Session, process: ParsedProcess) -> None:
    """Subscribe a newly deployed version's message and signal starts, and schedule its
    timer start (replacing the previous version's)."""
    session.execute(delete(MessageSubscription).where(
        MessageSubscription.process_key == process.key,
        MessageSubscription.instance_id.is_(None)))
    for name in process.message_starts:
        session.add(MessageSubscription(message_name=name, process_key=process.key,
                                        element_id="start"))
    for name in process.signal_starts:
        session.add(MessageSubscription(kind=SubscriptionKind.SIGNAL, message_name=name,
                                        process_key=process.key, element_id="start"))
    session.execute(delete(Job).where(Job.kind == JobKind.START_TIMER,
                                      Job.payload["process_key"].as_string() == process.key))
    first = (next_cycle_time(process.timer_start, utcnow())
             if process.timer_start else None)
    if process.timer_start and first is not None:
        # the first start is the cycle's first time, not the moment of deployment
        jobs.enqueue(session, JobKind.START_TIMER, payload={"process_key": process.key,
                                                      "expression": process.timer_start,
                                                      "fired": 0}, due_at=first)

