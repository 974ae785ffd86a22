"""Advance one instance for one job: lock it, move its tokens, call services, save it all.

The instance is locked by a lease while it is advanced; the work happens outside any
database transaction, and everything it produced is written in one transaction that is
refused if the revision moved or the job's lease was taken over meanwhile.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from . import jobs
from .bpmn.runtime import TaskFailure, WorkflowRunner
from .bpmn.script_engine import SandboxScriptEngine
from .bpmn.serializer import load_state
from .calls import ServiceCaller
from .config import Settings
from .db import Database
from .definitions import DefinitionRef, Definitions
from .errors import StaleStateError
from .models import Event, HumanTask, Incident, Instance, Job, new_id, utcnow
from .outcome import (
    EVENTS,
    INSTANCES,
    LeaseLostError,
    Outcome,
    Snapshot,
    event_rows,
    insert_events,
)
from .registry import OperationRegistry
from .waits import route_thrown, sync_waits

log = logging.getLogger(__name__)

LIVE = ("running", "waiting", "incident")


class Executor:
    """Runs instance jobs; any number of these, in any number of processes, may run at once."""

    def __init__(self, db: Database, definitions: Definitions, registry: OperationRegistry,
                 script_engine: SandboxScriptEngine, settings: Settings) -> None:
        self.db = db
        self.definitions = definitions
        self.registry = registry
        self.script_engine = script_engine
        self.settings = settings
        self.calls = ServiceCaller(registry, settings)

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
        inst = Snapshot(new_id(), definition.id, definition.key, business_key, "running",
                        None, variables, 0)
        spec, subs = self.definitions.spec_for(definition.id)
        out = Outcome()
        out.event(inst, "instance_created", actor=started_by, process_key=definition.key,
                  version=definition.version, business_key=business_key)
        runner = WorkflowRunner.create(spec, subs, self.script_engine, variables)
        runner.choose_start("none")
        out.event(inst, "instance_started", variables=list(variables))
        failure = self._drive(runner, inst, out, calls=False)
        if failure is not None:
            out.incident(inst, failure.element_id, failure.task_id, failure.error_type,
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
        if completed and not (out.incidents or out.thrown or out.new_jobs):
            # the common case of an automatic process: two plain inserts, no ORM session
            out.event(inst, "instance_completed")
            with self.db.write_core() as connection:
                if not self.definitions.is_latest(connection, definition):
                    raise StaleStateError(f"a newer version of {definition.key} was deployed")
                connection.execute(INSTANCES.insert(), [values])
                connection.execute(EVENTS.insert(), event_rows(out.events))
            return Instance(**values), None
        with self.db.write() as session:
            if not self.definitions.is_latest(session, definition):
                raise StaleStateError(f"a newer version of {definition.key} was deployed")
            session.connection().execute(INSTANCES.insert(), [values])
            job = None
            if out.calls_pending and not out.incidents:
                job = jobs.enqueue(session, "advance", inst.id, {})
            self._write_outcome(session, inst, runner, completed, -1, out, new=True)
        return Instance(**values), job.id if job is not None else None

    # -- advancing ------------------------------------------------------------------------

    def _lock(self, instance_id: str, worker_id: str) -> Snapshot | None:
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
            return Snapshot(row.id, row.definition_id, row.process_key, row.business_key,
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
            runner.choose_start("timer" if payload.get("start_timer") else
                                "message" if payload.get("start_message") else "none")
            out.event(inst, "instance_started", variables=list(inst.variables))
        else:
            runner = WorkflowRunner.restore(inst.state, spec, subs, self.script_engine)
        failure = self._apply(kind, payload, runner, inst, out)
        out.take_steps(runner, inst)
        if failure is None:
            failure = self._drive(runner, inst, out)
        if failure is not None:
            out.incident(inst, failure.element_id, failure.task_id, failure.error_type,
                         failure.message, {**failure.details, "line": failure.line})
        self._save(job_id, worker_id, inst, runner, out)

    def _apply(self, kind: str, payload: dict[str, Any], runner: WorkflowRunner,
               inst: Snapshot, out: Outcome) -> TaskFailure | None:
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
            out.reopened.add(target)
            out.event(inst, "token_moved", payload.get("element_id"), actor=payload.get("actor"))
        return None

    def _complete_task(self, runner: WorkflowRunner, inst: Snapshot, human_task_id: str,
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

    def _drive(self, runner: WorkflowRunner, inst: Snapshot, out: Outcome,
               calls: bool = True) -> TaskFailure | None:
        """Run until the instance waits, ends or fails; ``calls=False`` also stops at a call."""
        checkpoint = self._roundtrip if self.settings.checkpoint_every_step else None
        for _ in range(10_000):
            failure = runner.run_engine_steps(checkpoint)
            out.take_steps(runner, inst)
            if failure is not None:
                return failure
            pending = runner.pending_service_calls(self.script_engine.evaluate)
            if not pending:
                return None
            if not calls:
                out.calls_pending = True
                return None
            for call, task in pending:
                self.calls.call(runner, inst, call.task_id, call.element_id, call.operation,
                                call.retry, task, out)
        raise RuntimeError("the instance kept running after 10000 rounds; is there a loop "
                           "without a wait state?")

    def _roundtrip(self, workflow: Any) -> Any:
        blob = WorkflowRunner(workflow).dump()
        restored = load_state(blob, workflow.spec, workflow.subprocess_specs)
        restored.script_engine = self.script_engine
        return restored

    # -- service calls --------------------------------------------------------------------

    # -- saving ---------------------------------------------------------------------------

    def _save(self, job_id: int, worker_id: str, inst: Snapshot, runner: WorkflowRunner,
              out: Outcome) -> None:
        now = utcnow()
        out.take_steps(runner, inst)
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
            self._write_outcome(session, inst, runner, completed, job_id, out)
            jobs.finish(session, job_id)

    def _write_outcome(self, session: Session, inst: Snapshot, runner: WorkflowRunner,
                       completed: bool, job_id: int, out: Outcome, new: bool = False) -> None:
        """Write what an advance produced, after the instance row, in the caller's transaction.

        Waits, thrown messages, new jobs, incidents, and last the audit events (their insert
        flushes, so jobs added earlier have their ids).
        """
        sync_waits(session, self.definitions, self.script_engine.sandbox, inst, runner,
                   completed, job_id, out, new=new)
        for message in out.thrown:
            route_thrown(session, self.definitions, inst, message, out)
        for kind, payload, due in out.new_jobs:
            jobs.enqueue(session, kind, inst.id, payload, due)
        if completed:
            out.event(inst, "instance_completed")
        session.add_all(out.incidents)
        insert_events(session, out.events)

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
        from .timeutil import cycle_repetitions, next_cycle_time

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


