"""ManagementService: repairs an administrator makes, incidents, workers, health figures."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from . import archived, erasure, jobs, migration_batch, reporting, statistics
from .bpmn.migrate import MigrationElement
from .core import Core
from .erasure import ErasureReport
from .errors import ConflictError, InvalidInputError, NotFoundError
from .instances import check_variables, clear_open_work, terminate_called
from .migration import Migrator
from .migration_plan import MigrationOutcome, MigrationPlan, MigrationValidation
from .models import (
    Event,
    Incident,
    Instance,
    Job,
    MigrationBatch,
    MigrationRecord,
    Worker,
    utcnow,
)
from .paging import Page
from .vocabulary import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    IncidentStatus,
    InstanceStatus,
    JobKind,
)

# what each admin action is audited as
_AUDITED = {"suspend": "instance_suspended", "resume": "instance_resumed",
            "terminate": "instance_terminated"}


class ManagementService:
    """Admin actions on instances and incidents, each audited; the engine's own health."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.db = core.db
        self._migrator = Migrator(core.db, core.definitions, core.sandbox, core.settings)

    def _admin_change(self, instance_id: str, actor: str | None, action: str,
                      allowed: tuple[InstanceStatus, ...], new_status: InstanceStatus,
                      ) -> Instance:
        with self.db.write() as s:
            row = s.get(Instance, instance_id, with_for_update=self.db.is_postgres)
            if row is None:
                row = _archived(s, instance_id)  # ended long ago: refused below, as any ended
            if row.status not in allowed:
                raise ConflictError(f"cannot {action} an instance that is {row.status}",
                                    {"status": row.status})
            if action == "suspend":
                row.suspended_from = row.status
            if action == "resume":
                new_status = InstanceStatus(row.suspended_from or InstanceStatus.WAITING)
                row.suspended_from = None
            row.status = new_status
            row.revision += 1
            row.updated_at = utcnow()
            if action == "terminate":
                row.ended_at = utcnow()
                self._terminate(s, row, actor)
            s.add(Event(instance_id=instance_id, type=_AUDITED[action], actor=actor,
                        data={"admin_action": action}))
        return self._core.instance(instance_id)

    def _terminate(self, s: Session, row: Instance, actor: str | None) -> None:
        """Cancel what the instance waits for and what it called; tell its caller."""
        clear_open_work(s, row.id)
        terminate_called(s, row.id, f"its caller {row.id} was terminated")
        if row.parent_instance_id and row.parent_task_id:
            # the caller's call activity now waits for nothing: an incident there says so
            jobs.enqueue(s, JobKind.CALL_ENDED, row.parent_instance_id,
                         {"task_id": row.parent_task_id, "called_instance": row.id,
                          "element_id": row.parent_element_id, "terminated": True,
                          "actor": actor})

    def suspend(self, instance_id: str, actor: str | None = None) -> Instance:
        """Stop the instance where it is: no job of it runs until it is resumed."""
        return self._admin_change(instance_id, actor, "suspend", LIVE_STATUSES,
                                  InstanceStatus.SUSPENDED)

    def resume(self, instance_id: str, actor: str | None = None) -> Instance:
        """Let a suspended instance go on from the status it was suspended in."""
        return self._admin_change(instance_id, actor, "resume", (InstanceStatus.SUSPENDED,),
                                  InstanceStatus.WAITING)

    def terminate(self, instance_id: str, actor: str | None = None) -> Instance:
        """End the instance for good: its tasks are cancelled, its jobs and waits removed."""
        return self._admin_change(instance_id, actor, "terminate",
                                  (*LIVE_STATUSES, InstanceStatus.SUSPENDED),
                                  InstanceStatus.TERMINATED)

    def incident(self, incident_id: str) -> Incident:
        """One incident, open or resolved."""
        return reporting.incident(self.db, incident_id)

    def incidents_of(self, instance_id: str,
                     status: str | None = IncidentStatus.OPEN) -> list[Incident]:
        """The incidents of one instance, oldest first (open ones unless told otherwise)."""
        with self.db.read() as s:
            query = select(Incident).where(Incident.instance_id == instance_id)
            if status:
                query = query.where(Incident.status == status)
            return list(s.scalars(query.order_by(Incident.created_at)))

    def list_incidents(self, status: str | None = IncidentStatus.OPEN, page: int = 1,
                       per_page: int = 50) -> Page:
        """Incidents across all instances, newest first."""
        with self.db.read() as s:
            query = select(Incident)
            if status:
                query = query.where(Incident.status == status)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            items = list(s.scalars(query.order_by(Incident.created_at.desc())
                                   .offset((page - 1) * per_page).limit(per_page)))
        return Page(items, int(total), page, per_page)

    def retry_incident(self, incident_id: str, actor: str | None = None) -> Incident:
        """Resolve an incident and let the instance try the failed step again."""
        with self.db.write() as s:
            row = s.get(Incident, incident_id, with_for_update=self.db.is_postgres)
            if row is None:
                raise NotFoundError(f"no incident with id '{incident_id}'")
            if row.status != IncidentStatus.OPEN:
                raise ConflictError(f"the incident is already {row.status}",
                                    {"status": row.status})
            row.status, row.resolved_at, row.resolved_by, row.resolution = (
                IncidentStatus.RESOLVED, utcnow(), actor, "retried")
            jobs.enqueue(s, JobKind.RETRY_INCIDENT, row.instance_id,
                         {"task_id": row.spiff_task_id, "incident_id": row.id})
            # jobs held back while the instance could not be loaded are due again now
            s.execute(update(Job).where(Job.instance_id == row.instance_id,
                                        Job.locked_by.is_(None), Job.due_at > utcnow())
                      .values(due_at=utcnow()))
            s.add(Event(instance_id=row.instance_id, type="incident_retried", actor=actor,
                        element_id=row.element_id, data={"incident_id": row.id}))
            others = s.scalar(select(func.count()).select_from(Incident).where(
                Incident.instance_id == row.instance_id, Incident.status == IncidentStatus.OPEN,
                Incident.id != row.id)) or 0
            if not others:
                s.execute(update(Instance).where(Instance.id == row.instance_id,
                                                 Instance.status == InstanceStatus.INCIDENT)
                          .values(status=InstanceStatus.RUNNING,
                                  revision=Instance.revision + 1))
        with self.db.read() as s:
            out = s.get(Incident, incident_id)
            assert out is not None
            return out

    def move_token(self, instance_id: str, element_id: str, actor: str | None = None) -> None:
        """Send the instance back to an earlier task (an admin repair)."""
        inst = self._core.instance(instance_id)
        if inst.status in FINAL_STATUSES:
            raise ConflictError(f"the instance is {inst.status}")
        if element_id not in {v.element_id for v in reporting.path_taken(self.db, instance_id)}:
            raise InvalidInputError(f"the instance never reached '{element_id}'",
                                    {"fields": {"element_id": "not on the path taken"}})
        with self.db.write() as s:
            jobs.enqueue(s, JobKind.MOVE_TOKEN, instance_id, {"element_id": element_id,
                                                        "actor": actor, "by_element": True})

    def set_variables(self, instance_id: str, values: dict[str, Any] | None = None,
                      remove: list[str] | None = None, actor: str | None = None,
                      wait: float = 0.0) -> None:
        """Set (and remove) variables of a live instance, audited (an admin repair).

        The change is a job, so it lands under the instance's lock, never in the middle of
        an advance; with ``wait``, it is applied now unless a worker holds the instance.
        """
        data = check_variables(values)
        names = list(remove or [])
        if not all(isinstance(name, str) for name in names):
            raise InvalidInputError("variable names to remove must be strings",
                                    {"fields": {"remove": "must be a list of names"}})
        with self.db.write() as s:
            row = s.get(Instance, instance_id, with_for_update=self.db.is_postgres)
            if row is None:
                row = _archived(s, instance_id)
            if row.status in FINAL_STATUSES:
                raise ConflictError(f"the instance is {row.status}: its variables cannot "
                                    "change any more", {"status": row.status})
            job = jobs.enqueue(s, JobKind.SET_VARIABLES, instance_id,
                               {"values": data, "remove": names, "actor": actor})
            s.add(Event(instance_id=instance_id, type="variables_change_requested",
                        actor=actor, data={"admin_action": "set_variables",
                                           "names": sorted([*data, *names])}))
            s.flush()
            job_id = job.id
        if wait > 0:
            self._core.run_now(job_id)

    def erase(self, business_key: str, actor: str | None = None,
              terminate: bool = False) -> ErasureReport:
        """Erase one customer's data: every instance of ``business_key``, audited without it.

        Instances that have not ended are refused (a conflict) unless ``terminate``.
        """
        return erasure.erase(self.db, business_key, actor, terminate)

    # -- instance migration (Camunda 7's model) -------------------------------------------

    def migration_elements(self, definition_id: str) -> list[MigrationElement]:
        """The elements of a version a migration plan maps (id, name, kind, scope)."""
        return self._migrator.elements(definition_id)

    def generate_migration_plan(self, source_definition_id: str,
                                target_definition_id: str) -> MigrationPlan:
        """A plan mapping every element both versions have with the same id and kind."""
        return self._migrator.generate_plan(source_definition_id, target_definition_id)

    def validate_migration(self, plan: MigrationPlan,
                           instance_ids: list[str]) -> MigrationValidation:
        """The plan's problems and each instance's, changing nothing."""
        return self._migrator.validate(plan, instance_ids)

    def migrate(self, plan: MigrationPlan, instance_ids: list[str], dry_run: bool = False,
                actor: str | None = None) -> list[MigrationOutcome]:
        """Migrate these instances now, each in its own transaction; refused ones stay."""
        return self._migrator.migrate(plan, instance_ids, dry_run, actor)

    def migration_candidates(self, source_definition_id: str,
                             filters: dict[str, Any] | None = None) -> list[str]:
        """The live instances of a version that a filter selects (all, without one)."""
        return migration_batch.select_instances(self.db, source_definition_id, filters)

    def start_migration_batch(self, plan: MigrationPlan, instance_ids: list[str],
                              dry_run: bool = False,
                              actor: str | None = None) -> MigrationBatch:
        """Migrate many instances in the background: workers run it in chunks."""
        return migration_batch.start_batch(self.db, self._migrator, plan, instance_ids,
                                           dry_run, actor)

    def migration_batch(self, batch_id: str) -> MigrationBatch:
        """One batch with its counts and status."""
        return migration_batch.batch(self.db, batch_id)

    def migration_batches(self, limit: int = 50) -> list[MigrationBatch]:
        """The latest batches, newest first."""
        return migration_batch.list_batches(self.db, limit)

    def migrations(self, instance_id: str | None = None, limit: int = 100,
                   offset: int = 0) -> list[MigrationRecord]:
        """Migrations done (of one instance), newest first: from, to, plan, who, when."""
        return self._migrator.records(instance_id, limit, offset)

    def reverse_migration_plan(self, record_id: str) -> MigrationPlan:
        """The plan that takes an instance back to where a recorded migration found it."""
        return self._migrator.reverse_plan(record_id)

    # -- the engine's own health ------------------------------------------------------------

    def upgrade_database(self) -> None:
        """Bring the database schema to the newest migration."""
        self.db.upgrade()

    def database_is_current(self) -> bool:
        """Whether the schema is at the newest migration (``upgrade_database`` brings it)."""
        return self.db.is_current()

    def heartbeat(self, worker_id: str, jobs_done: int = 0) -> None:
        """Record that a worker is alive (the console lists workers by their last beat)."""
        with self.db.write() as s:
            row = s.get(Worker, worker_id)
            if row is None:
                s.add(Worker(id=worker_id, hostname=socket.gethostname(), pid=os.getpid(),
                             jobs_done=jobs_done))
            else:
                row.last_seen, row.jobs_done = utcnow(), jobs_done

    def workers(self) -> list[tuple[Worker, bool]]:
        """Every worker that has announced itself, newest heartbeat first, and whether alive."""
        return reporting.workers(self.db, self._core.settings.worker_alive_seconds)

    def liveness(self) -> dict[str, int]:
        """What /healthz answers: the database answers ``SELECT 1``; how many workers beat
        lately (the small workers table). Nothing here grows with history."""
        with self.db.read() as s:
            s.execute(text("SELECT 1"))
            return {"workers_alive": self._workers_alive(s)}

    def readiness(self) -> dict[str, Any]:
        """What /readyz answers: the database answers, its schema is at the newest migration,
        and a worker has beaten within ``worker_alive_seconds`` (``ready``: all three)."""
        with self.db.read() as s:
            alive = self._workers_alive(s)
            last = s.scalar(select(func.max(Worker.last_seen)))
        current = self.db.is_current()
        return {"ready": current and alive > 0, "database": "ok",
                "migrations": "current" if current else "behind", "workers_alive": alive,
                "last_heartbeat_seconds_ago": None if last is None
                else round((utcnow() - last).total_seconds(), 1)}

    def _workers_alive(self, s: Session) -> int:
        return int(s.scalar(select(func.count()).select_from(Worker).where(
            Worker.last_seen >= utcnow() - timedelta(
                seconds=self._core.settings.worker_alive_seconds))) or 0)

    def stats(self) -> dict[str, Any]:
        """Figures for /metrics and the dashboard: running totals for what has ended
        (``statistics``), live counts for the rest (at most ``statistics.LIVE_MAX_AGE``
        old); nothing reads the whole history."""
        figures = statistics.totals(self.db, live_max_age=statistics.LIVE_MAX_AGE)
        with self.db.read() as s:
            alive = self._workers_alive(s)
            open_incidents = s.scalar(select(func.count()).select_from(Incident)
                                      .where(Incident.status == IncidentStatus.OPEN)) or 0
            due = jobs.due_count(s)
            incidents = [(k, int(n)) for k, n in s.execute(
                select(Incident.process_key, func.count()).group_by(Incident.process_key))]
        return {**figures, "workers_alive": int(alive), "open_incidents": int(open_incidents),
                "due_jobs": due, "incidents": incidents}



def _archived(s: Session, instance_id: str) -> Instance:
    """The archived instance ``instance_id`` (read-only, for a clear refusal), or
    ``NotFoundError`` when there is none with that id."""
    row = archived.find(s, instance_id, live=False)
    if row is None:
        raise NotFoundError(f"no process instance with id '{instance_id}'", {"id": instance_id})
    return row
