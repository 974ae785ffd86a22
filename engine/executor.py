"""Advance one instance for one job: lock it, move its tokens, call services, save it all.

The instance is locked by a lease while it is advanced; the work happens outside any
database transaction, and everything it produced is written in one transaction that is
refused if the revision moved or the job's lease was taken over meanwhile.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import Table, or_, select, update
from sqlalchemy.orm import Session

from . import jobs, messages
from .bpmn.runtime import TaskFailure, ThrownMessage, WorkflowRunner
from .bpmn.scripting import SandboxScriptEngine
from .bpmn.serializer import load_state, to_json_value
from .config import Settings
from .db import Database
from .definitions import DefinitionRef, Definitions
from .errors import StaleStateError
from .humantasks import sync_human_tasks
from .models import (
    Event,
    HumanTask,
    Incident,
    Instance,
    Job,
    MessageSubscription,
    new_id,
    utcnow,
)
from .operations import BusinessError, CallContext, OperationRegistry, RetryPolicy
from .timeutil import parse_duration

log = logging.getLogger(__name__)

LIVE = ("running", "waiting", "incident")
# Plain Core tables for the hot inserts: the ORM's unit of work costs more than the SQL.
_INSTANCES = cast(Table, Instance.__table__)
_EVENTS = cast(Table, Event.__table__)


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

    def event(self, instance: _Snapshot, type_: str, element_id: str | None = None,
              actor: str | None = None, **data: Any) -> None:
        self.events.append({"instance_id": instance.id, "type": type_, "element_id": element_id,
                            "actor": actor, "data": data, "created_at": utcnow()})


@dataclass
class _Snapshot:
    id: str
    definition_id: str
    process_key: str
    business_key: str | None
    status: str
    state: bytes | None
    variables: dict[str, Any]
    revision: int


class Executor:
    """Runs instance jobs; any number of these, in any number of processes, may run at once."""

    def __init__(self, db: Database, definitions: Definitions, registry: OperationRegistry,
                 script_engine: SandboxScriptEngine, settings: Settings) -> None:
        self.db = db
        self.definitions = definitions
        self.registry = registry
        self.script_engine = script_engine
        self.settings = settings

    # -- entry point --------------------------------------------------------------------

    def run_job(self, job_id: int, worker_id: str) -> None:
        """Do one job this worker holds; failures of our own code are retried, then surfaced."""
        with self.db.read() as session:
            job = session.get(Job, job_id)
            if job is None or job.locked_by != worker_id:
                return
            kind, instance_id, payload, attempts = (job.kind, job.instance_id,
                                                    dict(job.payload), job.attempts)
        try:
            if kind == "start_timer":
                self._start_on_timer(job_id, worker_id, payload)
            elif instance_id is not None:
                self._advance(job_id, worker_id, kind, instance_id, payload)
        except LeaseLostError:
            log.warning("job %s was taken over by another worker; dropping our work", job_id)
        except StaleStateError:
            self._unlock(instance_id, worker_id)
            jobs.put_back(self.db, job_id, worker_id, 0.05)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker
            log.exception("job %s (%s) failed", job_id, kind, extra={"instance_id": instance_id})
            self._job_failed(job_id, worker_id, kind, instance_id, attempts, exc)

    # -- starting inline ------------------------------------------------------------------

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
        inst = _Snapshot(new_id(), definition.id, definition.key, business_key, "running",
                         None, variables, 0)
        spec, subs = self.definitions.spec_for(definition.id)
        out = Outcome()
        out.event(inst, "instance_created", actor=started_by, process_key=definition.key,
                  version=definition.version, business_key=business_key)
        runner = WorkflowRunner.create(spec, subs, self.script_engine, variables)
        out.event(inst, "instance_started", variables=list(variables))
        failure = self._drive(runner, inst, out, calls=False)
        if failure is not None:
            self._incident(inst, out, failure.element_id, failure.task_id, failure.error_type,
                           failure.message, {**failure.details, "line": failure.line})
        out.thrown.extend(runner.thrown_messages())
        completed = runner.completed
        status = ("completed" if completed else "incident" if out.incidents
                  else "running" if out.calls_pending else "waiting")
        now = utcnow()
        values: dict[str, Any] = dict(
            id=inst.id, definition_id=definition.id, process_key=definition.key,
            version=definition.version, business_key=business_key, status=status,
            variables=runner.variables(), state=runner.dump(), started_by=started_by,
            active_elements=[] if completed else runner.active_elements(), revision=1,
            created_at=now, updated_at=now, ended_at=now if completed else None)
        with self.db.write() as session:
            if not self.definitions.is_latest(session, definition):
                raise StaleStateError(f"a newer version of {definition.key} was deployed")
            session.connection().execute(_INSTANCES.insert(), [values])
            job = None
            if out.calls_pending and not out.incidents:
                job = jobs.enqueue(session, "advance", inst.id, {})
            self._sync_waits(session, inst, runner, completed, -1, out, new=True)
            for message in out.thrown:
                self._route_thrown(session, inst, message, out)
            for kind, payload, due in out.new_jobs:
                jobs.enqueue(session, kind, inst.id, payload, due)
            if completed:
                out.event(inst, "instance_completed")
            session.add_all(out.incidents)
            _insert_events(session, out.events)  # flushes, so the job has its id
        return Instance(**values), job.id if job is not None else None

    # -- advancing ------------------------------------------------------------------------

    def _lock(self, instance_id: str, worker_id: str) -> _Snapshot | None:
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.job_lease_seconds)
        with self.db.write() as session:
            result = session.execute(
                update(Instance).where(Instance.id == instance_id,
                                       or_(Instance.locked_until.is_(None),
                                           Instance.locked_until < now,
                                           Instance.locked_by == worker_id))
                .values(locked_by=worker_id, locked_until=lease))
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            row = session.get(Instance, instance_id)
            assert row is not None
            return _Snapshot(row.id, row.definition_id, row.process_key, row.business_key,
                             row.status, row.state, dict(row.variables or {}), row.revision)

    def _unlock(self, instance_id: str | None, worker_id: str) -> None:
        if instance_id is None:
            return
        with self.db.write() as session:
            session.execute(update(Instance).where(Instance.id == instance_id,
                                                   Instance.locked_by == worker_id)
                            .values(locked_by=None, locked_until=None))

    def _advance(self, job_id: int, worker_id: str, kind: str, instance_id: str,
                 payload: dict[str, Any]) -> None:
        inst = self._lock(instance_id, worker_id)
        if inst is None:  # another worker is advancing it right now
            jobs.put_back(self.db, job_id, worker_id, 0.05)
            return
        if inst.status not in LIVE:
            with self.db.write() as session:
                if inst.status in ("completed", "terminated"):
                    jobs.finish(session, job_id)
                session.execute(update(Instance).where(Instance.id == inst.id)
                                .values(locked_by=None, locked_until=None))
            if inst.status == "suspended":
                jobs.put_back(self.db, job_id, worker_id, 1.0)
            return
        spec, subs = self.definitions.spec_for(inst.definition_id)
        out = Outcome()
        if inst.state is None:
            runner = WorkflowRunner.create(spec, subs, self.script_engine, inst.variables)
            out.event(inst, "instance_started", variables=list(inst.variables))
        else:
            runner = WorkflowRunner.restore(inst.state, spec, subs, self.script_engine)
        failure = self._apply(kind, payload, runner, inst, out)
        self._flush_steps(runner, inst, out)
        if failure is None:
            failure = self._drive(runner, inst, out)
        if failure is not None:
            self._incident(inst, out, failure.element_id, failure.task_id, failure.error_type,
                           failure.message, {**failure.details, "line": failure.line})
        self._save(job_id, worker_id, inst, runner, out)

    def _apply(self, kind: str, payload: dict[str, Any], runner: WorkflowRunner,
               inst: _Snapshot, out: Outcome) -> TaskFailure | None:
        if kind == "advance" and payload.get("start_timer"):
            runner.fire_start_timers()
        elif kind == "advance" and payload.get("start_message"):
            failure = runner.run_engine_steps()
            if failure is not None:
                return failure
            runner.deliver_message(None, payload["start_message"], payload.get("variables", {}))
            out.event(inst, "message_received", name=payload["start_message"], start=True)
        elif kind == "complete_task":
            self._complete_task(runner, inst, payload["human_task_id"], out)
        elif kind == "message":
            if runner.deliver_message(payload.get("task_id"), payload["name"],
                                      payload.get("variables", {})):
                out.event(inst, "message_received", payload.get("element_id"),
                          name=payload["name"])
            else:
                log.warning("message %s reached instance %s after it stopped waiting",
                            payload["name"], inst.id)
                out.event(inst, "message_undeliverable", payload.get("element_id"),
                          name=payload["name"])
        elif kind == "timer":
            runner.refresh_timers()
            out.event(inst, "timer_fired", payload.get("element_id"))
        elif kind == "service_retry":
            if runner.unpark_service_call(payload["task_id"]):
                out.attempts[payload["task_id"]] = int(payload.get("attempt", 1))
        elif kind == "retry_incident":
            task_id = payload.get("task_id")
            if task_id and task_id in runner.failed_tasks():
                runner.reset_to(task_id)
            elif task_id:
                runner.unpark_service_call(task_id)
        elif kind == "move_token":
            target = payload.get("task_id") or runner.element_task_id(payload["element_id"])
            if target is None:
                raise ValueError(f"no task of element {payload['element_id']} to move back to")
            runner.reset_to(target)
            out.event(inst, "token_moved", payload.get("element_id"), actor=payload.get("actor"))
        return None

    def _complete_task(self, runner: WorkflowRunner, inst: _Snapshot, human_task_id: str,
                       out: Outcome) -> None:
        with self.db.read() as session:
            task = session.get(HumanTask, human_task_id)
            if task is None:
                return
            spiff_id, data, element = (task.spiff_task_id, dict(task.completion_data or {}),
                                       task.element_id)
        try:
            runner.complete_human_task(spiff_id, data)
        except LookupError:
            log.warning("task %s of instance %s no longer waits; completion ignored",
                        human_task_id, inst.id)
            out.event(inst, "task_completion_ignored", element, task_id=human_task_id)

    def _drive(self, runner: WorkflowRunner, inst: _Snapshot, out: Outcome,
               calls: bool = True) -> TaskFailure | None:
        """Run until the instance waits, ends or fails; ``calls=False`` also stops at a call."""
        checkpoint = self._roundtrip if self.settings.checkpoint_every_step else None
        for _ in range(10_000):
            failure = runner.run_engine_steps(checkpoint)
            self._flush_steps(runner, inst, out)
            if failure is not None:
                return failure
            pending = runner.pending_service_calls(self.script_engine.evaluate)
            if not pending:
                return None
            if not calls:
                out.calls_pending = True
                return None
            for call, task in pending:
                self._call_service(runner, inst, call.task_id, call.element_id, call.operation,
                                   call.retry, task, out)
        raise RuntimeError("the instance kept running after 10000 rounds; is there a loop "
                           "without a wait state?")

    @staticmethod
    def _flush_steps(runner: WorkflowRunner, inst: _Snapshot, out: Outcome) -> None:
        for step in runner.steps:
            out.event(inst, "step", step.element_id, type=step.element_type, name=step.name)
        runner.steps.clear()

    def _roundtrip(self, workflow: Any) -> Any:
        blob = WorkflowRunner(workflow).dump()
        restored = load_state(blob, workflow.spec, workflow.subprocess_specs)
        restored.script_engine = self.script_engine
        return restored

    # -- service calls --------------------------------------------------------------------

    def _policy(self, task_retry: dict[str, Any], op_retry: RetryPolicy | None) -> RetryPolicy:
        base = op_retry or RetryPolicy(self.settings.retry_attempts,
                                       self.settings.retry_backoff_seconds,
                                       self.settings.retry_backoff_factor,
                                       self.settings.retry_backoff_max_seconds)
        if task_retry.get("attempts"):
            backoff = task_retry.get("backoff")
            seconds = (parse_duration(backoff).total_seconds() if isinstance(backoff, str)
                       and backoff.startswith("P") else float(backoff or base.backoff_seconds))
            factor = 1.0 if isinstance(backoff, str) and backoff.startswith("P") else base.factor
            return RetryPolicy(int(task_retry["attempts"]), seconds, factor,
                               base.max_backoff_seconds)
        return base

    def _call_service(self, runner: WorkflowRunner, inst: _Snapshot, task_id: str,
                      element_id: str, operation: str, task_retry: dict[str, Any], task: Any,
                      out: Outcome) -> None:
        registered = self.registry.get(operation)
        attempt = out.attempts.pop(task_id, 1)
        runner.park_service_call(task_id)
        if registered is None:
            self._incident(inst, out, element_id, task_id, "unknown_operation",
                           f"no connector provides the operation '{operation}'",
                           {"operation": operation})
            return
        try:
            params = runner.evaluate_parameters(task)
        except SpiffWorkflowException as exc:
            self._incident(inst, out, element_id, task_id, "parameter_error", str(exc),
                           {"operation": operation})
            return
        policy = self._policy(task_retry, registered.retry)
        ctx = CallContext(inst.id, inst.business_key, element_id, attempt)
        started = time.perf_counter()
        try:
            result = registered.fn(params, ctx)
        except Exception as raw:  # noqa: BLE001 - classified just below
            error = registered.classify(raw) if registered.classify else raw
            ms = round((time.perf_counter() - started) * 1000, 1)
            self._service_failed(runner, inst, out, task_id, element_id, operation, error,
                                 attempt, policy, ms)
            return
        ms = round((time.perf_counter() - started) * 1000, 1)
        out.event(inst, "service_call", element_id, operation=operation, duration_ms=ms,
                  outcome="ok", attempt=attempt)
        runner.complete_service_call(task_id, to_json_value(result),
                                     runner.service_result_variable(task_id))
        self._flush_steps(runner, inst, out)

    def _service_failed(self, runner: WorkflowRunner, inst: _Snapshot, out: Outcome,
                        task_id: str, element_id: str, operation: str, exc: Exception,
                        attempt: int, policy: RetryPolicy, ms: float) -> None:
        if isinstance(exc, BusinessError):
            out.event(inst, "service_call", element_id, operation=operation, duration_ms=ms,
                      outcome="business_error", attempt=attempt, error_code=exc.error_code,
                      error=exc.message)
            if not runner.throw_error(task_id, exc.error_code, exc.message):
                self._incident(inst, out, element_id, task_id, "business_error",
                               f"{operation} reported '{exc.error_code}': {exc.message}; no "
                               "error boundary event catches it",
                               {"operation": operation, "error_code": exc.error_code})
            return
        message = f"{type(exc).__name__}: {exc}"
        out.event(inst, "service_call", element_id, operation=operation, duration_ms=ms,
                  outcome="failed", attempt=attempt, error=message[:500])
        if attempt < policy.attempts:
            due = utcnow() + timedelta(seconds=policy.delay(attempt))
            out.new_jobs.append(("service_retry", {"task_id": task_id, "attempt": attempt + 1,
                                                   "element_id": element_id}, due))
        else:
            self._incident(inst, out, element_id, task_id, "service_failed",
                           f"{operation} failed {attempt} time(s); last error: {message}",
                           {"operation": operation, "attempts": attempt})

    def _incident(self, inst: _Snapshot, out: Outcome, element_id: str | None,
                  task_id: str | None, error_type: str, message: str,
                  details: dict[str, Any]) -> None:
        out.incidents.append(Incident(instance_id=inst.id, process_key=inst.process_key,
                                      element_id=element_id, spiff_task_id=task_id,
                                      error_type=error_type, message=message,
                                      details=to_json_value(details)))
        out.event(inst, "incident_opened", element_id, error_type=error_type, message=message)

    # -- saving ---------------------------------------------------------------------------

    def _save(self, job_id: int, worker_id: str, inst: _Snapshot, runner: WorkflowRunner,
              out: Outcome) -> None:
        now = utcnow()
        self._flush_steps(runner, inst, out)
        out.thrown.extend(runner.thrown_messages())
        blob = runner.dump()
        with self.db.write() as session:
            if not jobs.still_mine(session, job_id, worker_id):
                raise LeaseLostError()
            completed = runner.completed
            open_incidents = bool(out.incidents) or bool(session.scalar(
                select(Incident.id).where(Incident.instance_id == inst.id,
                                          Incident.status == "open").limit(1)))
            status = "completed" if completed else "incident" if open_incidents else "waiting"
            values: dict[str, Any] = dict(
                state=blob, status=status, variables=runner.variables(),
                active_elements=[] if completed else runner.active_elements(),
                revision=inst.revision + 1, updated_at=now, locked_by=None, locked_until=None)
            if completed:
                values["ended_at"] = now
            result = session.execute(update(Instance).where(Instance.id == inst.id,
                                                            Instance.revision == inst.revision)
                                     .values(**values))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise StaleStateError(f"instance {inst.id} changed while it was advanced")
            self._sync_waits(session, inst, runner, completed, job_id, out)
            for message in out.thrown:
                self._route_thrown(session, inst, message, out)
            for kind, payload, due in out.new_jobs:
                jobs.enqueue(session, kind, inst.id, payload, due)
            if completed:
                out.event(inst, "instance_completed")
            session.add_all(out.incidents)
            _insert_events(session, out.events)
            jobs.finish(session, job_id)

    def _sync_waits(self, session: Session, inst: _Snapshot, runner: WorkflowRunner,
                    completed: bool, job_id: int, out: Outcome, new: bool = False) -> None:
        """Make task rows, subscriptions and timer jobs match what the workflow waits on.

        ``new``: the instance was never stored, so it has none yet (saves three queries).
        """
        if completed and new:
            return
        sync_human_tasks(session, inst.id, inst.process_key, inst.business_key,
                         [] if completed else runner.human_tasks(), self.script_engine.sandbox,
                         self.definitions, inst.definition_id, out.events, new=new)
        subs = {} if new else {s.spiff_task_id: s for s in session.scalars(
            select(MessageSubscription).where(MessageSubscription.instance_id == inst.id))}
        waiting = {} if completed else {m.task_id: m for m in runner.waiting_messages()}
        for task_id, sub in subs.items():
            if task_id not in waiting:
                session.delete(sub)
        for task_id, msg in waiting.items():
            if task_id not in subs:
                session.add(MessageSubscription(message_name=msg.name, instance_id=inst.id,
                                                process_key=inst.process_key,
                                                business_key=inst.business_key,
                                                spiff_task_id=task_id, element_id=msg.element_id))
        timers = {} if new else {j.payload.get("task_id"): j for j in session.scalars(
            select(Job).where(Job.instance_id == inst.id, Job.kind == "timer", Job.id != job_id))}
        due = {} if completed else {t.task_id: t for t in runner.waiting_timers()}
        for task_id, job in timers.items():
            if task_id not in due:
                session.delete(job)
            elif job.due_at != due[task_id].due_at:
                job.due_at = due[task_id].due_at
        for task_id, timer in due.items():
            if task_id not in timers:
                jobs.enqueue(session, "timer", inst.id, {"task_id": task_id,
                                                         "element_id": timer.element_id},
                             timer.due_at)
        if completed:
            for job in session.scalars(select(Job).where(Job.instance_id == inst.id,
                                                         Job.id != job_id)):
                session.delete(job)

    def _route_thrown(self, session: Session, inst: _Snapshot, message: ThrownMessage,
                      out: Outcome) -> None:
        payload = message.payload if isinstance(message.payload, dict) else {
            "payload": message.payload}
        match = messages.find_targets(session, message.name, None, None,
                                      exclude_instance=inst.id)
        targets = match.waiting
        same_key = [t for t in targets if inst.business_key is not None
                    and t[1].business_key == inst.business_key]
        targets = same_key or targets
        out.event(inst, "message_thrown", name=message.name,
                  delivered_to=[t[1].id for t in targets])
        for sub, target in targets:
            jobs.enqueue(session, "message", target.id,
                         {"task_id": sub.spiff_task_id, "name": message.name,
                          "variables": payload, "element_id": sub.element_id})
            session.delete(sub)
        if not targets and match.starts:
            from .instances import create_instance

            for sub in match.starts:
                create_instance(session, self.definitions, sub.process_key, inst.business_key,
                                payload, started_by=f"message:{message.name}",
                                start_message=message.name)
        elif not targets:
            log.warning("message %s thrown by instance %s reached nobody", message.name, inst.id)

    # -- failures of our own ------------------------------------------------------------

    def _job_failed(self, job_id: int, worker_id: str, kind: str, instance_id: str | None,
                    attempts: int, exc: Exception) -> None:
        self._unlock(instance_id, worker_id)
        message = f"{type(exc).__name__}: {exc}"
        if attempts < self.settings.retry_attempts:
            delay = self.settings.retry_backoff_seconds * (2 ** (attempts - 1))
            jobs.put_back(self.db, job_id, worker_id, min(delay, 300.0), message)
            return
        with self.db.write() as session:
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
            row.status = "incident"
            row.revision += 1

    def _start_on_timer(self, job_id: int, worker_id: str, payload: dict[str, Any]) -> None:
        from .instances import create_instance
        from .timeutil import next_cycle_time

        with self.db.write() as session:
            if not jobs.still_mine(session, job_id, worker_id):
                raise LeaseLostError()
            job = session.get(Job, job_id)
            assert job is not None
            create_instance(session, self.definitions, payload["process_key"], None, {},
                            started_by="timer", start_timer=True)
            nxt = next_cycle_time(payload["expression"], utcnow())
            if nxt is None:
                jobs.finish(session, job_id)
            else:
                job.due_at, job.locked_by, job.locked_until, job.attempts = nxt, None, None, 0


def _insert_events(session: Session, events: list[Event | dict[str, Any]]) -> None:
    """Append audit events with one multi-row INSERT (the ORM would fetch every new id)."""
    if not events:
        return
    session.flush()  # rows the events refer to go first
    session.connection().execute(_EVENTS.insert(), [
        e if isinstance(e, dict) else
        {"instance_id": e.instance_id, "type": e.type, "element_id": e.element_id,
         "actor": e.actor, "data": e.data if e.data is not None else {},
         "created_at": e.created_at or utcnow()} for e in events])
