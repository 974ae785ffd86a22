"""What every service of the engine shares: the database, the settings and the executor.

The services (``runtime``, ``tasks``, ``repository``, ``history``, ``management``,
``identity``) are thin, documented doors; ``Core`` is the one set of internals behind them.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

from sqlalchemy import select

from . import archived, jobs
from .bpmn.script_engine import SandboxScriptEngine
from .config import Settings
from .db import Database
from .definitions import Definitions
from .doorbell import Doorbell
from .errors import NotFoundError
from .executor import Executor
from .models import Instance, Job, utcnow
from .protect import Protector
from .registry import OperationRegistry
from .report_operations import with_builtins
from .scripting import IsolatedSandbox
from .sealed_columns import install
from .vocabulary import InstanceStatus, JobKind


class Core:
    """One engine's internals over one database; cheap to create, safe to share across threads."""

    def __init__(self, db: Database, settings: Settings, registry: OperationRegistry) -> None:
        self.db = db
        self.settings = settings
        # the engine's own operations (reports.store) beside the connectors'
        registry = self.registry = with_builtins(registry, db, settings)
        # Personal variables are sealed and opened by the column types of this database.
        self.protector = Protector.from_settings(settings)
        install(db.sql_engine, self.protector)
        calendar = (settings.business_days, settings.business_hours, settings.business_timezone)
        self.sandbox = IsolatedSandbox(settings.script_limits(), {
            "business_hours_from_now": ("engine.calendar", "business_hours_from_settings",
                                        calendar)})
        self.definitions = Definitions(
            db, self.sandbox, known_operation=registry.accepts,
            min_start_cycle=timedelta(seconds=settings.min_start_cycle_seconds),
            is_external=registry.is_external, mask=self.protector.mask_variables)
        self.script_engine = SandboxScriptEngine(self.sandbox, self.definitions.decide)
        self.executor = Executor(db, self.definitions, registry, self.script_engine, settings,
                                 Doorbell(db))
        self.inline_worker_id = f"inline-{socket.gethostname()}-{os.getpid()}"

    def instance(self, instance_id: str) -> Instance:
        with self.db.read() as s:
            row = archived.find(s, instance_id)
        if row is None:
            raise NotFoundError(f"no process instance with id '{instance_id}'",
                                {"id": instance_id})
        return row

    def run_now(self, job_id: int) -> None:
        """Run a job in the calling thread if no worker has taken it yet."""
        taken = jobs.acquire_one(self.db, job_id, self.inline_worker_id,
                                 self.settings.job_lease_seconds)
        if taken is not None:
            self.executor.run_job(job_id, self.inline_worker_id, taken)

    def run_due(self, instance_ids: list[str], timeout: float) -> None:
        """Run the due jobs of these instances here (a delivered message's, a started
        instance's), then wait for each to stop running; ``timeout`` bounds it all."""
        deadline = time.monotonic() + timeout
        for instance_id in instance_ids:
            with self.db.read() as s:
                due = list(s.scalars(select(Job.id).where(
                    Job.instance_id == instance_id, Job.due_at <= utcnow(),
                    Job.locked_by.is_(None)).order_by(Job.id)))
            for job_id in due:
                self.run_now(job_id)
            self.wait_for(instance_id, max(0.0, deadline - time.monotonic()))

    def wait_for(self, instance_id: str, timeout: float) -> Instance:
        """Poll until the instance stops running (waits, ends, or fails), at most ``timeout``.

        An instance waiting on a call activity is not done yet: the instances it called run
        here too, and it goes on when they end, as Camunda runs a call activity in one go.
        """
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            instance = self.instance(instance_id)
            if time.monotonic() >= deadline:
                return instance
            due = self._due_job(instance)
            if due is not None:
                self.run_now(due)
                continue
            if instance.status != InstanceStatus.RUNNING:
                return instance
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _due_job(self, instance: Instance) -> int | None:
        """A due job that moves ``instance`` on: its own while it runs, those of the instances
        it called while it waits, and the hand-back of a called instance that ended."""
        if instance.status == InstanceStatus.RUNNING:
            owners, own = [instance.id], True
        elif instance.status == InstanceStatus.WAITING:
            owners, own = called_tree(self.db, instance.id), False
        else:
            return None
        with self.db.read() as s:
            query = select(Job.id).where(Job.instance_id.in_(owners), Job.due_at <= utcnow(),
                                         Job.locked_by.is_(None))
            if not own:
                query = query.where((Job.instance_id != instance.id)
                                    | (Job.kind == JobKind.CALL_ENDED))
            return s.scalar(query.order_by(Job.id).limit(1))  # in the order they came


def called_tree(db: Database, instance_id: str, depth: int = 8) -> list[str]:
    """``instance_id`` and the live instances it called, theirs in turn (``depth`` levels)."""
    ids, frontier = [instance_id], [instance_id]
    with db.read() as s:
        for _ in range(depth):
            frontier = list(s.scalars(select(Instance.id).where(
                Instance.parent_instance_id.in_(frontier),
                Instance.status.in_((InstanceStatus.RUNNING, InstanceStatus.WAITING)))))
            if not frontier:
                break
            ids.extend(frontier)
    return ids
