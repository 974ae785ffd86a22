"""The console's test runs: queued as jobs, run by the ordinary workers in a child process.

Asking for a run writes a ``test_runs`` row and a job in one transaction and answers at once;
a worker runs the definition's test files under the limits of ``Settings`` (wall-clock time,
memory, size of the results) and writes the results, or why there are none, on the row. A
person may have only a few runs of one version queued at a time, and only the newest runs of
each version are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import jobs
from .config import Settings
from .db import Database
from .errors import ConflictError, InvalidInputError, NotFoundError
from .models import Base, BigId, Definition, new_id, utcnow
from .test_files import FileResult, result_from_json, result_to_json
from .test_run_process import RunLimits, TestRunLimitError, run_isolated
from .test_runs import sources_for
from .vocabulary import JobKind, TestRunStatus

log = logging.getLogger(__name__)

KEPT_PER_DEFINITION = 20
PENDING = (TestRunStatus.QUEUED, TestRunStatus.RUNNING)


class TestRunRow(Base):
    """One run of a definition's stored tests, asked for by one person."""

    __test__ = False
    __tablename__ = "test_runs"
    __table_args__ = (Index("ix_test_runs_definition_created", "definition_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    definition_id: Mapped[str] = mapped_column(String(36))
    requested_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[int | None] = mapped_column(BigId)
    results: Mapped[list[Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


@dataclass(frozen=True)
class TestRun:
    """A test run as people see it: ``queued`` or ``running``, then ``finished`` with the
    results of every file, or ``stopped`` with the reason (a limit it went past)."""

    __test__ = False

    id: str
    definition_id: str
    requested_by: str
    status: TestRunStatus
    results: list[FileResult] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def pending(self) -> bool:
        return self.status in PENDING


def _view(row: TestRunRow) -> TestRun:
    results = None if row.results is None else [result_from_json(r) for r in row.results]
    return TestRun(row.id, row.definition_id, row.requested_by, TestRunStatus(row.status),
                   results, row.error, row.created_at, row.finished_at)


def queue_run(db: Database, settings: Settings, definition: Definition, by: str) -> TestRun:
    """Queue a run of ``definition``'s tests for ``by``; refused while ``by`` has
    ``test_run_max_queued`` runs of this version queued or running."""
    if not (definition.extra_files or {}).get("tests"):
        raise InvalidInputError(f"{definition.key} version {definition.version} was deployed "
                                "without tests: deploy a .test.yaml file with it")
    with db.write() as s:
        pending = s.scalar(select(func.count()).select_from(TestRunRow).where(
            TestRunRow.definition_id == definition.id, TestRunRow.requested_by == by,
            TestRunRow.status.in_(PENDING))) or 0
        if pending >= settings.test_run_max_queued:
            raise ConflictError(
                f"you already have {pending} test run(s) of {definition.key} version "
                f"{definition.version} waiting (at most {settings.test_run_max_queued}); "
                "wait for their results", {"key": definition.key,
                                           "version": definition.version})
        row = TestRunRow(id=new_id(), definition_id=definition.id, requested_by=by,
                         status=TestRunStatus.QUEUED)
        s.add(row)
        s.flush()
        job = jobs.enqueue(s, JobKind.TEST_RUN, payload={"run_id": row.id})
        s.flush()
        row.job_id = job.id
        _forget_old_runs(s, definition.id)
        return _view(row)


def _forget_old_runs(s: Session, definition_id: str) -> None:
    kept = select(TestRunRow.id).where(TestRunRow.definition_id == definition_id) \
        .order_by(TestRunRow.created_at.desc()).limit(KEPT_PER_DEFINITION).subquery()
    s.execute(delete(TestRunRow).where(TestRunRow.definition_id == definition_id,
                                       TestRunRow.status.not_in(PENDING),
                                       TestRunRow.id.not_in(select(kept.c.id))))


def get_run(db: Database, run_id: str) -> TestRun:
    with db.read() as s:
        row = s.get(TestRunRow, run_id)
        if row is None:
            raise NotFoundError(f"no test run '{run_id}'", {"run_id": run_id})
        return _view(row)


def limits_of(settings: Settings) -> RunLimits:
    """A run's limits; its time stays inside the job's lease, so no second worker takes
    the job while the first still runs it."""
    seconds = min(settings.test_run_seconds, settings.job_lease_seconds * 0.8)
    return RunLimits(seconds, settings.test_run_memory_mb, settings.test_run_max_output_bytes)


def run_job(db: Database, settings: Settings, job_id: int, worker_id: str,
            payload: dict[str, Any]) -> None:
    """Run the tests of the run this job is for and write how it went."""
    with db.write() as s:
        row = s.get(TestRunRow, payload.get("run_id"))
        definition = None if row is None else s.get(Definition, row.definition_id)
        if row is None or definition is None or row.status not in PENDING:
            jobs.finish(s, job_id)
            return
        row.status = TestRunStatus.RUNNING
        tests = dict((definition.extra_files or {}).get("tests") or {})
        s.expunge(definition)
    results: list[FileResult] | None = None
    error = None
    if tests:
        try:
            results = run_isolated(tests, sources_for(db, definition), limits_of(settings))
        except TestRunLimitError as exc:
            error = exc.message
    with db.write() as s:
        if not jobs.still_mine(s, job_id, worker_id):
            return
        row = s.get(TestRunRow, payload["run_id"])
        if row is not None:
            row.status = TestRunStatus.STOPPED if error else TestRunStatus.FINISHED
            row.results = None if results is None else [result_to_json(r) for r in results]
            row.error = error
            row.finished_at = utcnow()
        jobs.finish(s, job_id)
    log.info("test run %s of %s version %s: %s", payload["run_id"], definition.key,
             definition.version, error or "finished")


def gave_up(s: Session, job_id: int, message: str) -> None:
    """The run's job failed every attempt (its worker died each time): say so on the run."""
    row = s.scalar(select(TestRunRow).where(TestRunRow.job_id == job_id))
    if row is not None and row.status in PENDING:
        row.status = TestRunStatus.STOPPED
        row.error = f"the tests could not be run: {message}"
        row.finished_at = utcnow()
