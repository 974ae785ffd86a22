"""Advance one instance for one job: lock it, move its tokens, call services, save it all.

Read top to bottom, this module is the whole path of an advance:

1. ``run_job`` takes a job this worker holds and dispatches on its kind;
2. ``_advance`` locks the instance by a lease and loads its workflow into an ``Advance``;
3. the job's handler (``_APPLY``) hands the workflow what the job brings: a completed
   task, a message, a fired timer, a retry, an admin's repair, what a called instance
   ended with (``calling``);
4. ``_drive`` runs the workflow until it waits, ends or fails, calling each service task's
   operation on the way (``_call``), outside any database transaction, and choosing the
   version each call activity calls;
5. ``_save`` writes the instance, what it now waits on, the instances it calls, new jobs,
   incidents and the audit events in one transaction that is refused if the revision moved
   or the lease was lost; a called instance tells its caller what it must know.

A start with ``wait`` runs the same steps in memory for an instance nobody can see yet
(``start_inline``); a task completion with ``wait`` does so for a waiting instance nothing
else holds, and writes it only if it is still as read (``complete_inline``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, bindparam, or_, select, update
from sqlalchemy.orm import Session

from . import calling, external_work, jobs, migration_batch, retention
from .advance import (
    EVENT_COLUMNS,
    EVENTS,
    INSTANCES,
    Advance,
    LeaseLostError,
    Snapshot,
    insert_events,
)
from .bpmn.reports import ServiceCall, TaskFailure
from .bpmn.runtime import WorkflowRunner
from .bpmn.script_engine import SandboxScriptEngine
from .bpmn.serializer import load_state, to_json_value
from .config import Settings
from .db import Database
from .definitions import DefinitionRef, Definitions, newest_version_is
from .doorbell import Doorbell
from .errors import ConflictError, StaleStateError, StateFormatError
from .instances import create_instance
from .migration import Migrator
from .models import Event, HumanTask, Incident, Instance, Job, new_id, utcnow
from .prepared_insert import PreparedInsert, written_row
from .registry import (
    CallContext,
    CallFailure,
    FailureKind,
    OperationRegistry,
    RetryPolicy,
    classify,
)
from .signals import broadcast
from .timeutil import cycle_repetitions, next_cycle_time
from .vocabulary import LIVE_STATUSES, IncidentStatus, InstanceStatus, JobKind
from .waits import route_thrown, sync_waits

log = logging.getLogger(__name__)

MAX_ROUNDS = 10_000  # service calls and engine steps of one advance, against endless loops


# how long a job an engine cannot load waits before it is tried again (an incident is open)
UNREADABLE_RETRY_SECONDS = 3600.0
# jobs that come back by themselves: a failing one waits and is tried again, never dropped
PERIODIC = frozenset({JobKind.START_TIMER, JobKind.HISTORY_CLEANUP})


class JobRunLostError(Exception):
    """Earlier runs of a job were taken and never finished (their process died)."""


class Executor:
    """Runs instance jobs; any number of these, in any number of processes, may run at once."""

    def __init__(self, db: Database, definitions: Definitions, registry: OperationRegistry,
                 script_engine: SandboxScriptEngine, settings: Settings,
                 doorbell: Doorbell | None = None) -> None:
        self.db = db
        self.doorbell = doorbell or Doorbell(db)
        self.definitions = definitions
        self.registry = registry
        self.script_engine = script_engine
        self.settings = settings

    # -- 1. the job ---------------------------------------------------------------------

    def run_job(self, job_id: int, worker_id: str, taken: jobs.Taken | None = None) -> None:
        """Do one job this worker holds; failures of our own code are retried, then surfaced.

        ``taken``: the job as this worker just took it (then it is not read again).
        """
        if taken is None:
            with self.db.read() as session:
                job = session.get(Job, job_id)
                if job is None or job.locked_by != worker_id:
                    return
                taken = jobs.Taken(job.kind, job.instance_id, dict(job.payload), job.attempts)
        kind, instance_id, payload, attempts = (JobKind(taken.kind), taken.instance_id,
                                                taken.payload, taken.attempts)
        if attempts > self.settings.retry_policy().attempts:
            # Every earlier run was taken and never came back: the process running it died
            # (killed at a memory or time limit, or crashed). Count those runs as failures.
            self._job_failed(job_id, worker_id, kind, instance_id, attempts - 1,
                             JobRunLostError(f"the job's last {attempts - 1} runs never "
                                             "finished: the process running it died each time"))
            return
        try:
            if kind is JobKind.START_TIMER:
                self._start_on_timer(job_id, worker_id, payload)
            elif kind is JobKind.HISTORY_CLEANUP:
                retention.run_cleanup_job(self.db, self.settings, job_id, worker_id)
            elif kind is JobKind.MIGRATION_BATCH:
                migration_batch.run_chunk(self.db, Migrator(
                    self.db, self.definitions, self.script_engine.sandbox, self.settings),
                    job_id, worker_id, payload)
            elif instance_id is not None:
                self._advance(job_id, worker_id, kind, instance_id, payload)
        except LeaseLostError:
            log.warning("job %s was taken over by another worker; dropping our work", job_id)
        except StaleStateError:
            self._unlock(instance_id, worker_id)
            jobs.put_back(self.db, job_id, worker_id, 0.05)
        except StateFormatError as exc:
            self._unreadable(job_id, worker_id, kind, instance_id, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker
            log.exception("job %s (%s) failed", job_id, kind, extra={"instance_id": instance_id})
            self._job_failed(job_id, worker_id, kind, instance_id, attempts, exc)

    # -- 2. lock and load -----------------------------------------------------------------

    def _advance(self, job_id: int, worker_id: str, kind: JobKind, instance_id: str,
                 payload: dict[str, Any]) -> None:
        inst = self._lock(instance_id, worker_id)
        if inst is None:  # another worker is advancing it right now
            jobs.put_back(self.db, job_id, worker_id, 0.05)
            return
        if inst.status not in LIVE_STATUSES:
            self._skip(job_id, worker_id, inst)
            return
        spec, subs = self.definitions.spec_for(inst.definition_id)
        if inst.state is None:  # stored by a start without ``wait``: begin it now
            runner = WorkflowRunner.create(spec, subs, self.script_engine, inst.variables,
                                           inst.started_by)
            runner.choose_start("timer" if payload.get("start_timer") else
                                "message" if payload.get("start_message") else
                                "signal" if payload.get("start_signal") else "none")
            adv = Advance(inst, runner)
            adv.event("instance_started", variables=list(inst.variables))
        else:
            adv = Advance(inst, WorkflowRunner.restore(inst.state, spec, subs,
                                                       self.script_engine))
            adv.external_before = adv.runner.external_task_ids()
        failure = _APPLY[kind](self, adv, payload)
        adv.record_steps()
        if failure is None:
            failure = self._drive(adv)
        if failure is not None:
            adv.failed(failure)
        self._save(job_id, worker_id, adv)

    def _lock(self, instance_id: str, worker_id: str) -> Snapshot | None:
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.job_lease_seconds)
        with self.db.write() as session:
            # one statement: take the lease and read the row back (UPDATE … RETURNING)
            cols = INSTANCES.c
            row = session.connection().execute(
                INSTANCES.update().where(cols.id == instance_id,
                                         or_(cols.locked_until.is_(None),
                                             cols.locked_until < now,
                                             cols.locked_by == worker_id))
                .values(locked_by=worker_id, locked_until=lease)
                .returning(*_SNAPSHOT_COLUMNS)).first()
            return None if row is None else _snapshot(row)

    def _unlock(self, instance_id: str | None, worker_id: str) -> None:
        if instance_id is None:
            return
        with self.db.write() as session:
            session.execute(update(Instance).where(Instance.id == instance_id,
                                                   Instance.locked_by == worker_id)
                            .values(locked_by=None, locked_until=None))

    def _skip(self, job_id: int, worker_id: str, inst: Snapshot) -> None:
        """A job for an instance that may not move: drop it if it ended, else wait."""
        with self.db.write() as session:
            if inst.status in (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED):
                jobs.finish(session, job_id)
            session.execute(update(Instance).where(Instance.id == inst.id)
                            .values(locked_by=None, locked_until=None))
        if inst.status == InstanceStatus.SUSPENDED:
            jobs.put_back(self.db, job_id, worker_id, 1.0)

    # -- 3. what each kind of job brings ------------------------------------------------

    def _on_advance(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        if payload.get("start_timer"):
            adv.runner.fire_start_timers()
        elif payload.get("start_message"):
            failure = adv.runner.run_engine_steps()
            if failure is not None:
                return failure
            adv.runner.deliver_message(None, payload["start_message"],
                                       payload.get("variables", {}))
            adv.event("message_received", name=payload["start_message"], start=True)
        elif payload.get("start_signal"):
            failure = adv.runner.run_engine_steps()
            if failure is not None:
                return failure
            adv.runner.deliver_signal(None, payload["start_signal"],
                                      payload.get("variables", {}))
            adv.event("signal_received", name=payload["start_signal"], start=True)
        return None

    def _on_complete_task(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        with self.db.read() as session:
            task = session.get(HumanTask, payload["human_task_id"])
            if task is None:
                return None
            spiff_id, data, element = (task.spiff_task_id, dict(task.completion_data or {}),
                                       task.element_id)
            about = _about(task)
        try:
            adv.runner.complete_human_task(spiff_id, data, about)
        except LookupError:
            log.warning("task %s of instance %s no longer waits; completion ignored",
                        payload["human_task_id"], adv.inst.id)
            adv.event("task_completion_ignored", element, task_id=payload["human_task_id"])
        return None

    def _on_task_assigned(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        with self.db.read() as session:
            task = session.get(HumanTask, payload["human_task_id"])
            if task is None or task.assignee != payload["assignee"]:
                return None  # completed, or claimed by someone else since: theirs runs
            spiff_id, about = task.spiff_task_id, _about(task)
        ran, failure = adv.runner.run_assignment_listeners(spiff_id, about)
        if ran and failure is None:
            adv.event("assignment_listeners_ran", about["element_id"],
                      assignee=about["assignee"])
        return failure

    def _on_message(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        if adv.runner.deliver_message(payload.get("task_id"), payload["name"],
                                      payload.get("variables", {})):
            adv.event("message_received", payload.get("element_id"), name=payload["name"])
        else:
            log.warning("message %s reached instance %s after it stopped waiting",
                        payload["name"], adv.inst.id)
            adv.event("message_undeliverable", payload.get("element_id"), name=payload["name"])
        return None

    def _on_signal(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        if adv.runner.deliver_signal(payload.get("task_id"), payload["name"],
                                     payload.get("variables", {})):
            adv.event("signal_received", payload.get("element_id"), name=payload["name"])
        else:
            adv.event("signal_undeliverable", payload.get("element_id"), name=payload["name"])
        return None

    def _on_timer(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        adv.runner.refresh_timers()
        adv.event("timer_fired", payload.get("element_id"))
        return None

    def _on_service_retry(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        if adv.runner.unpark_service_call(payload["task_id"]):
            adv.attempts[payload["task_id"]] = int(payload.get("attempt", 1))
        return None

    def _on_retry_incident(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        task_id = payload.get("task_id")
        if task_id and task_id in adv.runner.failed_tasks():
            adv.runner.reset_to(task_id)
        elif task_id and task_id in {t.task_id for t in adv.runner.human_tasks()}:
            adv.reassign.add(task_id)
        elif task_id:
            adv.runner.unpark_service_call(task_id)
        return None

    def _on_move_token(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        target = (payload.get("task_id")
                  or adv.runner.element_task_id(payload["element_id"]))
        if target is None:
            raise ValueError(f"no task of element {payload['element_id']} to move back to")
        adv.runner.reset_to(target)
        adv.reopened.add(target)
        adv.event("token_moved", payload.get("element_id"), actor=payload.get("actor"))
        return None

    def _on_set_variables(self, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
        adv.runner.set_variables(payload.get("values", {}), payload.get("remove", []))
        adv.event("variables_changed", actor=payload.get("actor"),
                  names=sorted([*payload.get("values", {}), *payload.get("remove", [])]))
        return None

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
              before_waits: Callable[[Session], None] | None = None) -> str:
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
                _instance_update(inline, tuple(values)), params)
            if not result.rowcount:
                raise StaleStateError(f"instance {inst.id} changed while it was advanced")
            if before_waits is not None:
                before_waits(session)
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
        session.add_all(adv.incidents)
        insert_events(session, adv.events)

    # -- a completion that runs at once -------------------------------------------------

    @staticmethod
    def snapshot_if_waiting(row: Instance, busy: bool, now: datetime) -> Snapshot | None:
        """The instance as read if it waits and nothing else may move it now: no worker holds
        it and no job of its is due (``busy``; those go first, by the job path)."""
        if (busy or row.status != InstanceStatus.WAITING or row.state is None
                or (row.locked_until is not None and row.locked_until >= now)):
            return None
        return _snapshot(row)

    def complete_inline(self, inst: Snapshot, task: HumanTask, data: dict[str, Any],
                        event: dict[str, Any],
                        write_completion: Callable[[Session], None]) -> Advance | None:
        """Complete a user task and advance its instance in memory, then write the
        completion, the instance and what it waits on next in one transaction.

        As with ``start_inline``, the run stops before a service call (the instance is then
        written ``running`` with an ``advance`` job). Nothing is written until all is known,
        so a crash loses nothing that was acknowledged. ``None``: the instance moved since
        ``inst`` was read, or the advance failed in our own code; nothing was written, and
        the caller takes the job path, which handles (and reports) both.
        """
        try:
            spec, subs = self.definitions.spec_for(inst.definition_id)
            adv = Advance(inst, WorkflowRunner.restore(inst.state or b"", spec, subs,
                                                       self.script_engine))
            adv.external_before = adv.runner.external_task_ids()
            runner = adv.runner
            adv.no_event_waits_before = not (runner.waiting_messages() or
                                             runner.waiting_signals() or runner.waiting_timers())
            adv.event("task_completed", task.element_id, actor=task.completed_by, **event)
            adv.runner.complete_human_task(task.spiff_task_id, data, _about(task))
            adv.record_steps()
            failure = self._drive(adv, calls=False)
            if failure is not None:
                adv.failed(failure)
            if adv.calls_pending and not adv.incidents:
                adv.job(JobKind.ADVANCE, {}, utcnow())
            self._save(None, "inline", adv, write_completion)
        except StaleStateError:
            return None
        except (StateFormatError, LookupError) as exc:
            log.info("task %s is completed by a job instead: %s", task.id, exc,
                     extra={"instance_id": inst.id})
            return None
        except ConflictError:  # the task was completed by someone else meanwhile
            raise
        except Exception:  # noqa: BLE001 - the job path retries it and opens an incident
            log.exception("completing task %s inline failed; a job completes it", task.id,
                          extra={"instance_id": inst.id})
            return None
        return adv

    # -- a start that runs at once ------------------------------------------------------

    def start_inline(self, definition: DefinitionRef, business_key: str | None,
                     variables: dict[str, Any],
                     started_by: str | None) -> tuple[Instance, int | None]:
        """Start a new instance and advance it in memory, then write it in one transaction.

        Nobody else can see an instance before it is written, so no lease is needed. The run
        stops before the first service call (an external side effect must never happen for
        an instance that is not yet stored): then the instance is written as ``running``
        with an ``advance`` job, whose id is returned for the caller (or any worker) to run.
        Returns the stored row (detached) and that job id, if any. ``StaleStateError``:
        ``definition`` is no longer the latest version; nothing was written.
        """
        inst = Snapshot(new_id(), definition.id, definition.key, business_key,
                        InstanceStatus.RUNNING, None, variables, 0)
        spec, subs = self.definitions.spec_for(definition.id)
        runner = WorkflowRunner.create(spec, subs, self.script_engine, variables, started_by)
        runner.choose_start("none")
        adv = Advance(inst, runner)
        adv.event("instance_created", actor=started_by, process_key=definition.key,
                  version=definition.version, business_key=business_key)
        adv.event("instance_started", variables=list(variables))
        failure = self._drive(adv, calls=False)
        if failure is not None:
            adv.failed(failure)
        adv.thrown.extend(runner.thrown_messages())
        completed = runner.completed
        status = (InstanceStatus.COMPLETED if completed else InstanceStatus.INCIDENT
                  if adv.incidents else InstanceStatus.RUNNING if adv.calls_pending
                  else InstanceStatus.WAITING)
        now = utcnow()
        values: dict[str, Any] = dict(
            id=inst.id, definition_id=definition.id, process_key=definition.key,
            version=definition.version, business_key=business_key, status=status,
            variables=runner.variables(), state=None if completed else runner.dump(),
            started_by=started_by,
            active_elements=[] if completed else runner.active_elements(), revision=1,
            created_at=now, updated_at=now, ended_at=now if completed else None)
        if completed and not (adv.incidents or adv.thrown or adv.new_jobs or runner.signals):
            # the common case of an automatic process: two plain inserts, no ORM session
            adv.event("instance_completed")
            with self.db.write_core() as connection:
                written = _INSERT_INSTANCE.execute(connection, [values])
                if written is None or written.rowcount != 1:  # rolled back: nothing written
                    raise StaleStateError(f"a newer version of {definition.key} was deployed")
                _INSERT_EVENTS.execute(connection, adv.events)
            return written_row(Instance, values), None
        with self.db.write() as session:
            if not self.definitions.is_latest(session, definition):
                raise StaleStateError(f"a newer version of {definition.key} was deployed")
            session.connection().execute(INSTANCES.insert(), [values])
            job = None
            if adv.calls_pending and not adv.incidents:
                job = jobs.enqueue(session, JobKind.ADVANCE, inst.id, {})
            self._write(session, adv, -1, new=True)
            if adv.incidents and not completed:  # a user task's assignment failed in _write
                values["status"] = InstanceStatus.INCIDENT
        return Instance(**values), job.id if job is not None else None

    # -- failures of our own, and timer starts ------------------------------------------

    def _job_failed(self, job_id: int, worker_id: str, kind: JobKind, instance_id: str | None,
                    attempts: int, exc: Exception) -> None:
        self._unlock(instance_id, worker_id)
        message = f"{type(exc).__name__}: {exc}"
        policy = self.settings.retry_policy()
        if attempts < policy.attempts:
            jobs.put_back(self.db, job_id, worker_id, policy.delay(attempts), message)
            return
        if kind in PERIODIC:  # the next cycle or cleanup must still come: never drop it
            log.error("periodic job %s (%s) failed %d times, tried again in %.0f s: %s",
                      job_id, kind, attempts, policy.max_backoff_seconds, message)
            jobs.reschedule(self.db, job_id, worker_id, policy.max_backoff_seconds, message)
            return
        with self.db.write() as session:
            if kind is JobKind.MIGRATION_BATCH:  # its batch must not wait for it forever
                migration_batch.chunk_gave_up(session, job_id, message)
            jobs.finish(session, job_id)
            if instance_id is None:
                return
            row = session.get(Instance, instance_id)
            if row is None:
                return
            session.add(Incident(instance_id=instance_id, process_key=row.process_key,
                                 error_type="engine_error",
                                 message=f"the engine could not run a '{kind}' job: {message}",
                                 details={"job_kind": kind, "attempts": attempts}))
            session.add(Event(instance_id=instance_id, type="incident_opened",
                              data={"error_type": "engine_error", "message": message}))
            row.status = InstanceStatus.INCIDENT
            row.revision += 1

    def _unreadable(self, job_id: int, worker_id: str, kind: JobKind, instance_id: str | None,
                    exc: StateFormatError) -> None:
        """Keep the job (a person's completion, a message) for a worker that reads the state.

        Retrying here cannot help, so the job waits, not counted as an attempt, until an
        admin retries the incident after upgrading the workers.
        """
        log.error("job %s (%s): %s", job_id, kind, exc.message, extra={"instance_id": instance_id})
        self._unlock(instance_id, worker_id)
        jobs.put_back(self.db, job_id, worker_id, UNREADABLE_RETRY_SECONDS)
        if instance_id is None:
            return
        with self.db.write() as session:
            row = session.get(Instance, instance_id)
            already = session.scalar(select(Incident.id).where(
                Incident.instance_id == instance_id, Incident.status == IncidentStatus.OPEN,
                Incident.error_type == exc.code))
            if row is None or already is not None:
                return
            message = f"the engine could not load this instance: {exc.message}"
            session.add(Incident(instance_id=instance_id, process_key=row.process_key,
                                 error_type=exc.code, message=message,
                                 details={"job_kind": kind, **exc.details}))
            session.add(Event(instance_id=instance_id, type="incident_opened",
                              data={"error_type": exc.code, "message": message}))
            row.status = InstanceStatus.INCIDENT
            row.revision += 1

    def _start_on_timer(self, job_id: int, worker_id: str, payload: dict[str, Any]) -> None:
        with self.db.write() as session:
            if not jobs.still_mine(session, job_id, worker_id):
                raise LeaseLostError()
            job = session.get(Job, job_id)
            assert job is not None
            create_instance(session, self.definitions, payload["process_key"], None, {},
                            started_by="timer", start_timer=True)
            fired = int(payload.get("fired", 0)) + 1
            limit = cycle_repetitions(payload["expression"])
            nxt = next_cycle_time(payload["expression"], utcnow())
            if nxt is None or (limit is not None and fired >= limit):
                jobs.finish(session, job_id)
            else:
                job.payload = {**payload, "fired": fired}
                job.due_at, job.locked_by, job.locked_until, job.attempts = nxt, None, None, 0


# What each kind of job does to the workflow before it is driven on (timer starts create
# a new instance instead, in ``run_job``).
_APPLY: dict[JobKind, Callable[[Executor, Advance, dict[str, Any]], TaskFailure | None]] = {
    JobKind.ADVANCE: Executor._on_advance,
    JobKind.COMPLETE_TASK: Executor._on_complete_task,
    JobKind.MESSAGE: Executor._on_message,
    JobKind.TIMER: Executor._on_timer,
    JobKind.SERVICE_RETRY: Executor._on_service_retry,
    JobKind.RETRY_INCIDENT: Executor._on_retry_incident,
    JobKind.MOVE_TOKEN: Executor._on_move_token,
    JobKind.SIGNAL: Executor._on_signal,
    JobKind.CALL_ENDED: calling.on_call_ended,
    JobKind.CALL_ESCALATED: calling.on_call_escalated,
    JobKind.TASK_ASSIGNED: Executor._on_task_assigned,
    JobKind.EXTERNAL_TASK: external_work.on_reported,
    JobKind.SET_VARIABLES: Executor._on_set_variables,
}


# The two inserts of a start that ran to its end (the columns ``start_inline`` gives); the
# instance row only if its version is still the newest, checked in the same statement.
_INSERT_INSTANCE = PreparedInsert(INSTANCES, (
    "id", "definition_id", "process_key", "version", "business_key", "status", "variables",
    "state", "started_by", "active_elements", "revision", "created_at", "updated_at",
    "ended_at"), where=newest_version_is(bindparam("process_key", type_=String()),
                                         bindparam("version", type_=Integer())))
_INSERT_EVENTS = PreparedInsert(EVENTS, EVENT_COLUMNS)

_SNAPSHOT_COLUMNS = [INSTANCES.c[name] for name in (
    "id", "definition_id", "process_key", "business_key", "status", "state", "variables",
    "revision", "started_by", "parent_instance_id", "parent_task_id", "parent_element_id")]


@functools.cache
def _instance_update(inline: bool, columns: tuple[str, ...]) -> Any:
    """The UPDATE that writes an advance, built once per shape: ``inline`` (no job, no lease:
    only if the instance is still as read and nobody holds it) and the columns written."""
    cols = INSTANCES.c
    where = [cols.id == bindparam("b_id"), cols.revision == bindparam("b_revision")]
    if inline:
        where += [cols.status == bindparam("b_status"),
                  or_(cols.locked_until.is_(None), cols.locked_until < bindparam("b_now"))]
    return INSTANCES.update().where(*where).values(
        {name: bindparam(f"v_{name}") for name in columns})


def _snapshot(row: Any) -> Snapshot:
    """What the executor knows of an instance, from its row (ORM or Core)."""
    caller = ((row.parent_instance_id, row.parent_task_id, row.parent_element_id)
              if row.parent_instance_id and row.parent_task_id else None)
    return Snapshot(row.id, row.definition_id, row.process_key, row.business_key, row.status,
                    row.state, dict(row.variables or {}), row.revision, row.started_by, caller)


def _about(task: HumanTask) -> dict[str, Any]:
    """A user task as its task listeners see it (``task.assignee``, ``task.name`` …)."""
    return {"id": task.id, "name": task.name, "element_id": task.element_id,
            "assignee": task.assignee or task.completed_by,
            "candidate_groups": list(task.candidate_groups or []),
            "candidate_users": list(task.candidate_users or []), "priority": task.priority,
            "due_at": task.due_at.isoformat() + "Z" if task.due_at else None}
