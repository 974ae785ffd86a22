"""Migration batches: many instances by one plan, in chunk jobs the ordinary workers run.

Each chunk job carries its instance ids and how far it got. Every instance is migrated in
its own transaction, which also moves the chunk's position and the batch's counters: a
worker killed half way leaves a job whose next run starts at the first instance not yet
done, so nothing is lost and nothing is counted twice (an instance already on the target is
skipped, not migrated again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from . import jobs
from .advance import LeaseLostError
from .db import Database
from .errors import InvalidInputError, NotFoundError
from .migration import BusyError, Migrator
from .migration_plan import MigrationOutcome, MigrationPlan
from .models import Instance, Job, MigrationBatch, utcnow
from .vocabulary import NOT_ENDED_SQL, JobKind

log = logging.getLogger(__name__)

CHUNK = 50  # instances per job
MAX_FAILURES_KEPT = 100


# The live instances of a version, through the partial index on definition_id: the query
# names the statuses not ended in the index's own words (a bound value proves nothing)
LIVE_OF_VERSION = select(Instance.id, Instance.active_elements).where(
    Instance.definition_id == bindparam("definition_id"), text(NOT_ENDED_SQL))


def select_instances(db: Database, source_definition_id: str,
                     filters: dict[str, Any] | None) -> list[str]:
    """Ids of the live instances of the source version that match ``filters``.

    ``filters``: ``business_key``, ``status`` (running, waiting, incident, suspended),
    ``active_element`` (a token sits on it); none: every live instance of the version.
    """
    filters = dict(filters or {})
    unknown = set(filters) - {"business_key", "status", "active_element"}
    if unknown:
        raise InvalidInputError(f"unknown filter(s): {', '.join(sorted(unknown))}; use "
                                "business_key, status or active_element",
                                {"fields": {"filter": sorted(unknown)}})
    query = LIVE_OF_VERSION.params(definition_id=source_definition_id)
    if filters.get("business_key"):
        query = query.where(Instance.business_key == filters["business_key"])
    if filters.get("status"):
        query = query.where(Instance.status == filters["status"])
    with db.read() as s:
        rows = list(s.execute(query.order_by(Instance.created_at, Instance.id)))
    element = filters.get("active_element")
    return [r[0] for r in rows if not element or element in (r[1] or [])]


def start_batch(db: Database, migrator: Migrator, plan: MigrationPlan,
                instance_ids: list[str], dry_run: bool, actor: str | None) -> MigrationBatch:
    """Store the batch and its chunk jobs in one transaction; workers do the rest."""
    migrator.generate_plan(plan.source_definition_id, plan.target_definition_id)  # both exist
    with db.write() as s:
        batch = MigrationBatch(source_definition_id=plan.source_definition_id,
                               target_definition_id=plan.target_definition_id,
                               instructions=plan.as_dict()["instructions"], dry_run=dry_run,
                               status="running" if instance_ids else "completed",
                               total=len(instance_ids), done=0, failed=0, failures=[],
                               actor=actor, ended_at=None if instance_ids else utcnow())
        s.add(batch)
        s.flush()
        for start in range(0, len(instance_ids), CHUNK):
            jobs.enqueue(s, JobKind.MIGRATION_BATCH, None,
                         {"batch_id": batch.id,
                          "instance_ids": instance_ids[start:start + CHUNK], "position": 0})
        s.flush()
        s.expunge(batch)
    return batch


def batch(db: Database, batch_id: str) -> MigrationBatch:
    with db.read() as s:
        row = s.get(MigrationBatch, batch_id)
    if row is None:
        raise NotFoundError(f"no migration batch with id '{batch_id}'")
    return row


def list_batches(db: Database, limit: int = 50) -> list[MigrationBatch]:
    with db.read() as s:
        return list(s.scalars(select(MigrationBatch)
                              .order_by(MigrationBatch.created_at.desc()).limit(limit)))


def run_chunk(db: Database, migrator: Migrator, job_id: int, worker_id: str,
              payload: dict[str, Any]) -> None:
    """Do one chunk job this worker holds, from where its last run stopped."""
    row = batch(db, payload["batch_id"])
    plan = MigrationPlan.from_dict({"source_definition_id": row.source_definition_id,
                                    "target_definition_id": row.target_definition_id,
                                    "instructions": row.instructions})
    problems = migrator.plan_problems(plan)
    ids: list[str] = list(payload["instance_ids"])
    lease = timedelta(seconds=migrator.settings.job_lease_seconds)
    with db.read() as s:
        job = s.get(Job, job_id)
        position = int(job.payload.get("position", 0)) if job is not None else len(ids)
    for index in range(position, len(ids)):
        try:
            migrator.migrate_one(plan, problems, ids[index], row.dry_run, row.actor,
                                 batch_id=row.id,
                                 also=_progress(job_id, worker_id, row.id, index + 1,
                                                lease))
        except BusyError:
            jobs.put_back(db, job_id, worker_id, 0.5)  # a worker advances it: come back
            return
    with db.write() as s:
        if not jobs.still_mine(s, job_id, worker_id):
            raise LeaseLostError()
        jobs.finish(s, job_id)


def chunk_gave_up(s: Session, job_id: int, message: str) -> None:
    """A chunk job failed for good: count its instances not yet migrated as failed, with the
    reason, so that the batch ends and says which instances to try again."""
    job = s.get(Job, job_id)
    if job is None:
        return
    left = list(job.payload["instance_ids"])[int(job.payload.get("position", 0)):]
    row = s.get(MigrationBatch, job.payload["batch_id"], with_for_update=_is_postgres(s))
    if row is None or not left:
        return
    row.failed += len(left)
    room = max(0, MAX_FAILURES_KEPT - len(row.failures or []))
    row.failures = [*(row.failures or []), *({"instance_id": instance_id, "problems": [
        f"the batch job migrating it failed and was given up: {message}"]}
        for instance_id in left[:room])]
    if row.done + row.failed >= row.total:
        row.status, row.ended_at = "completed", utcnow()


def _progress(job_id: int, worker_id: str, batch_id: str, position: int,
              lease: timedelta) -> Callable[[Session, MigrationOutcome], None]:
    """Write, with one instance's migration, the chunk's position and the batch's counts."""
    def write(s: Session, outcome: MigrationOutcome) -> None:
        if not jobs.still_mine(s, job_id, worker_id):
            raise LeaseLostError()  # rolls the instance's migration back with it
        job = s.get(Job, job_id)
        assert job is not None
        job.payload = {**job.payload, "position": position}
        job.locked_until = utcnow() + lease  # still working: keep the chunk
        row = s.get(MigrationBatch, batch_id, with_for_update=_is_postgres(s))
        assert row is not None
        if outcome.outcome == "refused":
            row.failed += 1
            if len(row.failures or []) < MAX_FAILURES_KEPT:
                row.failures = [*(row.failures or []), {
                    "instance_id": outcome.instance_id,
                    "problems": [p.message for p in outcome.problems]}]
        else:
            row.done += 1
        if row.done + row.failed >= row.total:  # counted once each: the last one ends it
            row.status, row.ended_at = "completed", utcnow()
    return write


def _is_postgres(s: Session) -> bool:
    return s.bind is not None and s.bind.dialect.name == "postgresql"
