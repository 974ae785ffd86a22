"""Advance one instance for one job: lock it, move its tokens, call services, save it all.

The whole path of an advance, steps 1 to 3 here and 4 and 5 in ``drive``:

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
(``start_inline``, in ``inline_start``); a task completion with ``wait`` does so for a
waiting instance nothing else holds, and writes it only if it is still as read
(``complete_inline``, in ``inline_completion``). ``Executor`` brings all of them together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from . import calling, external_work, jobs, migration_batch, retention, test_run_queue
from .advance import INSTANCES, Advance, LeaseLostError, Snapshot, snapshot_of, task_about
from .bpmn.reports import TaskFailure
from .bpmn.runtime import WorkflowRunner
from .errors import StaleStateError, StateFormatError
from .inline_completion import InlineCompletion
from .inline_start import InlineStart
from .instances import create_instance
from .migration import Migrator
from .models import Event, HumanTask, Incident, Instance, Job, utcnow
from .timeutil import cycle_repetitions, next_cycle_time
from .vocabulary import LIVE_STATUSES, IncidentStatus, InstanceStatus, JobKind

log = logging.getLogger(__name__)


# how long a job an engine cannot load waits before it is tried again (an incident is open)
UNREADABLE_RETRY_SECONDS = 3600.0
# jobs that come back by themselves: a failing one waits and is tried again, never dropped
PERIODIC = frozenset({JobKind.START_TIMER, JobKind.HISTORY_CLEANUP})


class JobRunLostError(Exception):
    """Earlier runs of a job were taken and never finished (their process died)."""


class Executor(InlineStart, InlineCompletion):
    """Runs instance jobs; any number of these, in any number of processes, may run at once."""

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
            elif kind is JobKind.TEST_RUN:
                test_run_queue.run_job(self.db, self.settings, job_id, worker_id, payload)
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
            return None if row is None else snapshot_of(row)

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
            about = task_about(task)
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
            spiff_id, about = task.spiff_task_id, task_about(task)
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
            elif kind is JobKind.TEST_RUN:  # … nor its analyst for results
                test_run_queue.gave_up(session, job_id, message)
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

_SNAPSHOT_COLUMNS = [INSTANCES.c[name] for name in (
    "id", "definition_id", "process_key", "business_key", "status", "state", "variables",
    "revision", "started_by", "parent_instance_id", "parent_task_id", "parent_element_id")]
