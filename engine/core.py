"""What every service of the engine shares: the database, the settings and the executor.

The services (``runtime``, ``tasks``, ``repository``, ``history``, ``management``,
``identity``) are thin, documented doors; ``Core`` is the one set of internals behind them.
"""

from __future__ import annotations

import os
import socket
import time

from sqlalchemy import select

from . import jobs
from .bpmn.script_engine import SandboxScriptEngine
from .calendar import BusinessCalendar, business_hours_function
from .config import Settings
from .db import Database
from .definitions import Definitions
from .errors import NotFoundError
from .executor import Executor
from .models import Instance, Job, utcnow
from .protect import Protector, install
from .registry import OperationRegistry
from .scripting import Sandbox
from .vocabulary import InstanceStatus


class Core:
    """One engine's internals over one database; cheap to create, safe to share across threads."""

    def __init__(self, db: Database, settings: Settings, registry: OperationRegistry) -> None:
        self.db = db
        self.settings = settings
        self.registry = registry
        # Personal variables are sealed and opened by the column types of this database.
        self.protector = Protector.from_settings(settings)
        install(db.sql_engine, self.protector)
        calendar = BusinessCalendar.parse(settings.business_days, settings.business_hours,
                                          settings.business_timezone)
        self.sandbox = Sandbox(time_limit=settings.script_time_limit,
                               max_size=settings.script_max_size,
                               extra_globals={"business_hours_from_now":
                                              business_hours_function(calendar)})
        self.definitions = Definitions(db, self.sandbox, known_operation=registry.__contains__)
        self.script_engine = SandboxScriptEngine(self.sandbox, self.definitions.decide)
        self.executor = Executor(db, self.definitions, registry, self.script_engine, settings)
        self.inline_worker_id = f"inline-{socket.gethostname()}-{os.getpid()}"

    def instance(self, instance_id: str) -> Instance:
        with self.db.read() as s:
            row = s.get(Instance, instance_id)
        if row is None:
            raise NotFoundError(f"no process instance with id '{instance_id}'",
                                {"id": instance_id})
        return row

    def run_now(self, job_id: int) -> None:
        """Run a job in the calling thread if no worker has taken it yet."""
        if jobs.acquire_one(self.db, job_id, self.inline_worker_id,
                            self.settings.job_lease_seconds):
            self.executor.run_job(job_id, self.inline_worker_id)

    def wait_for(self, instance_id: str, timeout: float) -> Instance:
        """Poll until the instance stops running (waits, ends, or fails), at most ``timeout``."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            instance = self.instance(instance_id)
            if instance.status != InstanceStatus.RUNNING or time.monotonic() >= deadline:
                return instance
            with self.db.read() as s:
                due = s.scalar(select(Job.id).where(Job.instance_id == instance_id,
                                                    Job.due_at <= utcnow(),
                                                    Job.locked_by.is_(None)).limit(1))
            if due is not None:
                self.run_now(due)
                continue
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
