"""The job table as a queue: enqueue, take due jobs under a lease, finish, put back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from .db import Database
from .models import Instance, Job, utcnow
from .vocabulary import InstanceStatus


class Taken(NamedTuple):
    """A job as it was taken: what the executor needs to run it."""

    kind: str
    instance_id: str | None
    payload: dict[str, Any]
    attempts: int


def enqueue(session: Session, kind: str, instance_id: str | None = None,
            payload: dict[str, Any] | None = None, due_at: datetime | None = None) -> Job:
    """Add a job in the caller's transaction, so it exists exactly when the change does."""
    job = Job(kind=kind, instance_id=instance_id, payload=payload or {},
              due_at=due_at or utcnow())
    session.add(job)
    return job


def _available(now: datetime) -> Any:
    suspended = select(Instance.id).where(Instance.status == InstanceStatus.SUSPENDED)
    return and_(Job.due_at <= now,
                or_(Job.locked_until.is_(None), Job.locked_until < now),
                or_(Job.instance_id.is_(None), Job.instance_id.not_in(suspended)))


def acquire(db: Database, worker_id: str, limit: int, lease_seconds: float) -> list[int]:
    """Take up to ``limit`` due jobs for this worker; no other worker gets them meanwhile."""
    now = utcnow()
    with db.write() as session:
        query = select(Job.id).where(_available(now)).order_by(Job.due_at).limit(limit)
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(Job).where(Job.id.in_(ids))
                .values(locked_by=worker_id, locked_until=now + timedelta(seconds=lease_seconds),
                        attempts=Job.attempts + 1)
            )
    return ids


def acquire_one(db: Database, job_id: int, worker_id: str,
                lease_seconds: float) -> Taken | None:
    """Take one particular job if nobody holds it (used to run a start inline); return what
    the job is, read back by the same statement (``None``: someone else holds it)."""
    now = utcnow()
    with db.write() as session:
        row = session.connection().execute(
            update(Job).where(Job.id == job_id, _available(now))
            .values(locked_by=worker_id, locked_until=now + timedelta(seconds=lease_seconds),
                    attempts=Job.attempts + 1)
            .returning(Job.kind, Job.instance_id, Job.payload, Job.attempts)).first()
    return None if row is None else Taken(row[0], row[1], dict(row[2] or {}), row[3])


def put_back(db: Database, job_id: int, worker_id: str, delay: float,
             error: str | None = None) -> None:
    """Give a job back to the queue, due again after ``delay`` seconds. Without an ``error``
    the job did not fail (its instance was busy, the worker is stopping): taking it did not
    count as an attempt."""
    with db.write() as session:
        values: dict[str, Any] = {"locked_by": None, "locked_until": None,
                                  "due_at": utcnow() + timedelta(seconds=delay)}
        if error is not None:
            values["last_error"] = error[:4000]
        else:
            values["attempts"] = Job.attempts - 1
        session.execute(update(Job).where(Job.id == job_id, Job.locked_by == worker_id)
                        .values(**values))


def reschedule(db: Database, job_id: int, worker_id: str, delay: float, error: str) -> None:
    """Give a job back due after ``delay`` seconds with its attempts counted from 0 again (a
    periodic job whose retries ran out: it must not disappear)."""
    with db.write() as session:
        session.execute(update(Job).where(Job.id == job_id, Job.locked_by == worker_id)
                        .values(locked_by=None, locked_until=None, attempts=0,
                                last_error=error[:4000],
                                due_at=utcnow() + timedelta(seconds=delay)))


def still_mine(session: Session, job_id: int, worker_id: str) -> bool:
    """Tell whether this worker still holds the job (its lease may have been taken over)."""
    job = session.get(Job, job_id, with_for_update=session.bind.dialect.name == "postgresql"
                      if session.bind is not None else False)
    return job is not None and job.locked_by == worker_id


def finish(session: Session, job_id: int) -> None:
    session.execute(delete(Job).where(Job.id == job_id))


def due_count(session: Session) -> int:
    from sqlalchemy import func

    return int(session.scalar(select(func.count()).select_from(Job)
                              .where(Job.due_at <= utcnow())) or 0)
