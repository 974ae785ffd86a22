"""External tasks in the executor: their rows follow the workflow, workers' reports move it.

The executor calls ``sync_rows`` in the transaction that saves an advance, and runs
``on_reported`` for an ``external_task`` job (what ``ExternalTaskService`` enqueued when a
worker completed a task, reported a BPMN error, or ran out of retries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from .advance import Advance
from .bpmn.reports import TaskFailure
from .doorbell import Doorbell
from .models import ExternalTask, new_id, utcnow

if TYPE_CHECKING:
    from .executor import Executor


def sync_rows(session: Session, adv: Advance, bell: Doorbell) -> None:
    """Write the external tasks an advance opened; drop those whose token left."""
    if not adv.external_before and not adv.external_parked:
        return
    waits = {w.task_id: w for w in adv.runner.external_waits()}
    gone = adv.external_before - set(waits)
    if gone:
        session.execute(delete(ExternalTask).where(ExternalTask.instance_id == adv.inst.id,
                                                   ExternalTask.spiff_task_id.in_(gone)))
    again = adv.external_parked & adv.external_before & set(waits)
    if again:  # an incident was retried: one more try, as Camunda's "increment retries"
        session.execute(update(ExternalTask).where(ExternalTask.instance_id == adv.inst.id,
                                                   ExternalTask.spiff_task_id.in_(again))
                        .values(retries=1, lock_owner=None, lock_expires_at=None))
    new = [w for task_id, w in waits.items() if task_id not in adv.external_before]
    inst = adv.inst
    now = utcnow()
    session.add_all(ExternalTask(id=new_id(), instance_id=inst.id,
                                 definition_id=inst.definition_id, process_key=inst.process_key,
                                 business_key=inst.business_key, spiff_task_id=w.task_id,
                                 element_id=w.element_id, topic=w.topic, priority=w.priority,
                                 locals=w.locals, properties=w.properties, created_at=now)
                    for w in new)
    for w in new:
        adv.event("external_task_created", w.element_id, topic=w.topic)
    if new or again:
        bell.ring_after_commit(session)


def on_reported(_executor: Executor, adv: Advance,
                payload: dict[str, Any]) -> TaskFailure | None:
    """Hand the workflow what a worker reported on one of its external tasks."""
    runner, task_id = adv.runner, payload["task_id"]
    element, topic, worker = payload.get("element_id"), payload.get("topic"), \
        payload.get("worker_id")
    outcome = payload["outcome"]
    if task_id not in runner.external_task_ids():
        adv.event("external_task_report_ignored", element, actor=worker, outcome=outcome)
        return None  # the token left the task meanwhile (a boundary event, a repair)
    if outcome == "complete":
        runner.complete_external(task_id, payload.get("variables") or {},
                                 payload.get("local_variables") or {})
        adv.event("external_task_completed", element, actor=worker, topic=topic,
                  variables=sorted(payload.get("variables") or {}))
    elif outcome == "bpmn_error":
        code, message = payload["error_code"], payload.get("error_message") or ""
        variables = payload.get("variables") or {}
        runner.leave_external(task_id, variables)
        adv.event("external_task_bpmn_error", element, actor=worker, topic=topic,
                  error_code=code, error=message)
        if not runner.throw_error(task_id, code, message, variables):
            adv.incident(element, task_id, "business_error",
                         f"the worker of topic '{topic}' reported BPMN error '{code}': "
                         f"{message}; no error boundary event catches it",
                         {"topic": topic, "error_code": code, "worker_id": worker})
    elif outcome == "incident":
        adv.incident(element, task_id, "failed_external_task",
                     f"the worker of topic '{topic}' failed and no retries are left: "
                     f"{payload.get('error_message') or 'no message'}",
                     {"topic": topic, "worker_id": worker})
    return None
