"""Keep what an instance waits on in rows: human tasks, message subscriptions, timer jobs."""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from . import jobs, messages
from .advance import Advance
from .bpmn.reports import ThrownMessage
from .definitions import Definitions
from .humantasks import sync_human_tasks
from .instances import create_instance
from .models import Job, MessageSubscription
from .scripting import Sandbox
from .vocabulary import JobKind, SubscriptionKind

log = logging.getLogger(__name__)
# built once: every instance that ends runs it
DROP_OTHER_JOBS = delete(Job).where(Job.instance_id == bindparam("instance_id"),
                                     Job.id != bindparam("job_id"))


def sync_waits(session: Session, definitions: Definitions, sandbox: Sandbox, adv: Advance,
               job_id: int, new: bool = False) -> None:
    """Make task rows, subscriptions and timer jobs match what the workflow waits on.

    ``job_id``: the job being done (it is finished by the caller, not here). ``new``: the
    instance was never stored, so it has none yet (saves three queries).
    """
    inst, runner = adv.inst, adv.runner
    completed = runner.completed
    if completed and new:
        return
    sync_human_tasks(session, adv, definitions, sandbox, new=new)
    no_rows = new or adv.no_event_waits_before
    subs = {} if no_rows else {(s.kind, s.spiff_task_id, s.message_name): s
                           for s in session.scalars(select(MessageSubscription).where(
                               MessageSubscription.instance_id == inst.id))}
    waiting = {} if completed else {
        **{(SubscriptionKind.MESSAGE, m.task_id, m.name): m for m in runner.waiting_messages()},
        **{(SubscriptionKind.SIGNAL, m.task_id, m.name): m for m in runner.waiting_signals()}}
    for key, sub in subs.items():
        if key not in waiting:
            session.delete(sub)
    for key, msg in waiting.items():
        if key not in subs:
            session.add(MessageSubscription(kind=key[0], message_name=msg.name,
                                            instance_id=inst.id, process_key=inst.process_key,
                                            business_key=inst.business_key,
                                            spiff_task_id=msg.task_id,
                                            element_id=msg.element_id))
    timers = {} if no_rows else {j.payload.get("task_id"): j for j in session.scalars(
        select(Job).where(Job.instance_id == inst.id, Job.kind == JobKind.TIMER,
                          Job.id != job_id))}
    due = {} if completed else {t.task_id: t for t in runner.waiting_timers()}
    for task_id, job in timers.items():
        if task_id not in due:
            session.delete(job)
        elif job.due_at != due[task_id].due_at:
            job.due_at = due[task_id].due_at
    for task_id, timer in due.items():
        if task_id not in timers:
            jobs.enqueue(session, JobKind.TIMER, inst.id, {"task_id": task_id,
                                                     "element_id": timer.element_id},
                         timer.due_at)
    if completed:
        session.flush()  # the timer rows deleted above go first (else the ORM finds them gone)
        session.connection().execute(DROP_OTHER_JOBS, {"instance_id": inst.id,
                                                        "job_id": job_id})

def route_thrown(session: Session, definitions: Definitions, adv: Advance,
                 message: ThrownMessage) -> None:
    """Send a message one instance threw to the instances (or process starts) it reaches."""
    inst = adv.inst
    payload = message.payload if isinstance(message.payload, dict) else {
        "payload": message.payload}
    match = messages.find_targets(session, message.name, None, None,
                                  exclude_instance=inst.id)
    targets = match.waiting
    same_key = [t for t in targets if inst.business_key is not None
                and t[1].business_key == inst.business_key]
    targets = same_key or targets
    adv.event("message_thrown", name=message.name,
              delivered_to=[t[1].id for t in targets])
    for sub, target in targets:
        jobs.enqueue(session, JobKind.MESSAGE, target.id,
                     {"task_id": sub.spiff_task_id, "name": message.name,
                      "variables": payload, "element_id": sub.element_id})
        session.delete(sub)
    if not targets and match.starts:
        for sub in match.starts:
            create_instance(session, definitions, sub.process_key, inst.business_key,
                            payload, started_by=f"message:{message.name}",
                            start_message=message.name)
    elif not targets:
        log.warning("message %s thrown by instance %s reached nobody", message.name, inst.id)
