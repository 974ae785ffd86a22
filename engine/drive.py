"""Steps 4 and 5 of every advance: drive the workflow until it waits, then write it all.

``AdvanceDriver`` is what the job path (``executor``) and the inline start and completion
share: ``_drive`` runs the workflow, calling each service task's operation outside any
database transaction (``_call``); ``_save`` and ``_write`` write the instance and all the
advance produced in one transaction.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.orm import Session

from . import calling, external_work, jobs
from .advance import INSTANCES, Advance, LeaseLostError, insert_events
from .bpmn.reports import ServiceCall, TaskFailure
from .bpmn.runtime import WorkflowRunner
from .bpmn.script_engine import SandboxScriptEngine
from .bpmn.serializer import load_state, to_json_value
from .config import Settings
from .db import Database
from .definitions import Definitions
from .doorbell import Doorbell
from .errors import StaleStateError
from .models import Incident, Instance, utcnow
from .registry import (
    CallContext,
    CallFailure,
    FailureKind,
    OperationRegistry,
    RetryPolicy,
    classify,
)
from .sealed_columns import protector_of
from .signals import broadcast
from .vocabulary import IncidentStatus, InstanceStatus, JobKind
from .waits import route_thrown, sync_waits

log = logging.getLogger(__name__)

MAX_ROUNDS = 10_000  # service calls and engine steps of one advance, against endless loops


class AdvanceDriver:
    """Drives and saves advances; the base of ``Executor``, which adds the jobs."""

    def __init__(self, db: Database, definitions: Definitions, registry: OperationRegistry,
                 script_engine: SandboxScriptEngine, settings: Settings,
                 doorbell: Doorbell | None = None) -> None:
        self.db = db
        self.doorbell = doorbell or Doorbell(db)
        self.definitions = definitions
        self.registry = registry
        self.script_engine = script_engine
        self.settings = settings

    # -- 4. run until the workflow waits ------------------------------------------------

    def _drive(self, adv: Advance, calls: bool = True) -> TaskFailure | None:
        """Run until the instance waits, ends or fails; ``calls=False`` also stops at a call."""
        checkpoint = self._roundtrip if self.settings.checkpoint_every_step else None
        for _ in range(MAX_ROUNDS):
            failure = adv.runner.run_engine_steps(checkpoint)
            adv.record_steps()
            if failure is not None:
                return failure
            if adv.runner.completed:  # an ended workflow has no call left to make
                return None
            pending = []
            for call in adv.runner.pending_service_calls():
                if self.registry.is_external(call.operation):  # a worker's: no side effect
                    adv.runner.park_external(call.task_id, call.operation)
                    adv.external_parked.add(call.task_id)
                else:
                    pending.append(call)
            called = adv.runner.pending_calls(adv.inst.business_key)
            if not pending and not called:
                return None
            if not calls:
                adv.calls_pending = True
                return None
            for call_activity in called:
                calling.choose_version(self.db, self.definitions, adv, call_activity)
            for call in pending:
                self._call(adv, call)
        raise RuntimeError(f"the instance kept running after {MAX_ROUNDS} rounds; is there "
                           "a loop without a wait state?")

    def _roundtrip(self, workflow: Any) -> Any:
        blob = WorkflowRunner(workflow).dump()
        restored = load_state(blob, workflow.spec, workflow.subprocess_specs)
        restored.script_engine = self.script_engine
        return restored

    def _call(self, adv: Advance, call: ServiceCall) -> None:
        """Call the operation once; success, retry, BPMN error or incident lands in ``adv``."""
        runner, inst = adv.runner, adv.inst
        attempt = adv.attempts.pop(call.task_id, 1)
        runner.park_service_call(call.task_id)
        registered = self.registry.get(call.operation)
        if registered is None:
            adv.incident(call.element_id, call.task_id, "unknown_operation",
                         f"no connector provides the operation '{call.operation}'",
                         {"operation": call.operation})
            return
        try:
            params = runner.evaluate_parameters(call.task_id)
        except Exception as exc:  # noqa: BLE001 - the analyst's expression: an incident
            adv.incident(call.element_id, call.task_id, "parameter_error", str(exc),
                         {"operation": call.operation})
            return
        ctx = CallContext(inst.id, inst.business_key, call.element_id, attempt, call.task_id)
        started = time.perf_counter()
        try:
            result = registered.fn(params, ctx)
        except Exception as exc:  # noqa: BLE001 - classified just below
            ms = round((time.perf_counter() - started) * 1000, 1)
            policy = (registered.retry or self.settings.retry_policy()).for_task(call.retry)
            self._call_failed(adv, call, classify(exc), attempt, ms, policy)
            return
        ms = round((time.perf_counter() - started) * 1000, 1)
        adv.event("service_call", call.element_id, operation=call.operation, duration_ms=ms,
                  outcome="ok", attempt=attempt)
        runner.complete_service_call(call.task_id, to_json_value(result), call.result_variable)
        adv.record_steps()

    def _call_failed(self, adv: Advance, call: ServiceCall, failure: CallFailure,
                     attempt: int, ms: float, policy: RetryPolicy) -> None:
        element, op = call.element_id, call.operation
        if failure.kind is FailureKind.BUSINESS:
            code = failure.error_code or "error"
            adv.event("service_call", element, operation=op, duration_ms=ms, attempt=attempt,
                      outcome="business_error", error_code=code, error=failure.message)
            if not adv.runner.throw_error(call.task_id, code, failure.message):
                adv.incident(element, call.task_id, "business_error",
                             f"{op} reported '{code}': {failure.message}; no error boundary "
                             "event catches it",
                             {**failure.details, "operation": op, "error_code": code})
            return
        adv.event("service_call", element, operation=op, duration_ms=ms, attempt=attempt,
                  outcome="failed", error=failure.message[:500])
        if failure.kind is FailureKind.PERMANENT:
            adv.incident(element, call.task_id, "service_failed",
                         f"{op} failed and retrying cannot help: {failure.message}",
                         {**failure.details, "operation": op, "attempts": attempt})
        elif attempt < policy.attempts:
            adv.job(JobKind.SERVICE_RETRY, {"task_id": call.task_id, "attempt": attempt + 1,
                                            "element_id": element},
                    utcnow() + timedelta(seconds=policy.delay(attempt)))
        else:
            adv.incident(element, call.task_id, "service_failed",
                         f"{op} failed {attempt} time(s); last error: {failure.message}",
                         {**failure.details, "operation": op, "attempts": attempt})

    # -- 5. save --------------------------------------------------------------------------

    def _save(self, job_id: int | None, worker_id: str, adv: Advance,
              before_waits: Callable[[Connection], None] | None = None) -> str:
        """Write the advance; return the instance's new status.

        ``job_id`` None: an inline advance (``complete_inline``) that holds no job and no
        lease; it is written only if the instance is still as read (revision and status)
        and no worker holds it. ``before_waits`` writes what came with it (a completion).
        """
        now = utcnow()
        inline = job_id is None
        runner, inst = adv.runner, adv.inst
        adv.record_steps()
        # what a called instance throws and does not catch goes to its caller (read before
        # the messages: reading those empties the workflow's list of what it threw)
        uncaught = runner.uncaught() if inst.caller is not None else ([], [])
        adv.thrown.extend(runner.thrown_messages())
        # an ended instance is never advanced again: its history is the events, not a state
        blob = None if runner.completed else runner.dump()
        with self.db.write() as session:
            if job_id is not None and not jobs.still_mine(session, job_id, worker_id):
                raise LeaseLostError()
            completed = runner.completed
            # an inline advance starts from a waiting instance of an unchanged revision, and
            # every incident opened moves the revision: it has none but its own
            open_incidents = bool(adv.incidents) or (not inline and bool(session.scalar(
                select(Incident.id).where(Incident.instance_id == inst.id,
                                          Incident.status == IncidentStatus.OPEN).limit(1))))
            status = (InstanceStatus.COMPLETED if completed else InstanceStatus.INCIDENT
                      if open_incidents else InstanceStatus.RUNNING if adv.calls_pending
                      else InstanceStatus.WAITING)
            values: dict[str, Any] = dict(
                state=blob, status=status, variables=runner.variables(),
                active_elements=[] if completed else runner.active_elements(),
                revision=inst.revision + 1, updated_at=now, locked_by=None, locked_until=None)
            if completed:
                values["ended_at"] = now
            if inst.caller is not None:
                calling.hand_back(session, adv, *uncaught)
            # a Core statement: the ORM's bulk update would synchronise the session (costly)
            params = {f"v_{name}": value for name, value in values.items()}
            params.update(b_id=inst.id, b_revision=inst.revision, b_status=inst.status,
                          b_now=now)
            result = session.connection().execute(
                instance_update(inline, tuple(values)), params)
            if not result.rowcount:
                raise StaleStateError(f"instance {inst.id} changed while it was advanced")
            if before_waits is not None:
                before_waits(session.connection())
            self._write(session, adv, -1 if job_id is None else job_id)
            if job_id is not None:
                jobs.finish(session, job_id)
        return status

    def _write(self, session: Session, adv: Advance, job_id: int, new: bool = False) -> None:
        """Write what an advance produced, after the instance row, in the caller's transaction.

        Waits, thrown messages, new jobs, incidents, and last the audit events (their insert
        flushes, so jobs added earlier have their ids).
        """
        before = len(adv.incidents)
        sync_waits(session, self.definitions, self.script_engine.sandbox, adv, job_id, new)
        if len(adv.incidents) > before and not adv.runner.completed:
            # a user task's assignment failed: the status was written before it was known
            session.execute(update(Instance).where(Instance.id == adv.inst.id)
                            .values(status=InstanceStatus.INCIDENT))
        calling.write_called(session, self.definitions, adv)
        external_work.sync_rows(session, adv, self.doorbell)
        for message in adv.thrown:
            route_thrown(session, self.definitions, adv, message)
        for signal in adv.runner.signals:
            result = broadcast(session, self.definitions, signal.name, {},
                               sender=f"instance:{adv.inst.id}", exclude_instance=adv.inst.id,
                               business_key=adv.inst.business_key)
            adv.event("signal_thrown", signal.element_id, name=signal.name,
                      delivered_to=result.delivered_to, started=result.started)
        adv.runner.signals.clear()
        for kind, payload, due in adv.new_jobs:
            jobs.enqueue(session, kind, adv.inst.id, payload, due)
        if adv.runner.completed:
            adv.event("instance_completed")
        adv.redact_free_text(protector_of(self.db.sql_engine.dialect))
        session.add_all(adv.incidents)
        insert_events(session, adv.events)


@functools.cache
def instance_update(inline: bool, columns: tuple[str, ...]) -> Any:
    """The UPDATE that writes an advance, built once per shape: ``inline`` (no job, no lease:
    only if the instance is still as read and nobody holds it) and the columns written."""
    cols = INSTANCES.c
    where = [cols.id == bindparam("b_id"), cols.revision == bindparam("b_revision")]
    if inline:
        where += [cols.status == bindparam("b_status"),
                  or_(cols.locked_until.is_(None), cols.locked_until < bindparam("b_now"))]
    return INSTANCES.update().where(*where).values(
        {name: bindparam(f"v_{name}") for name in columns})
