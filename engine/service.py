"""The engine's public face: deploy, start, complete, message, repair. Web and CLI use only this."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import jobs, messages
from .bpmn.script_engine import SandboxScriptEngine
from .calendar import BusinessCalendar, business_hours_function
from .config import Settings
from .db import Database
from .definitions import Definitions, Deployed
from .errors import ConflictError, InvalidInputError, NotFoundError, StaleStateError
from .executor import Executor
from .instances import check_business_key, check_variables, create_instance
from .messages import MessageResult
from .models import (
    ApiKey,
    Definition,
    Event,
    HumanTask,
    Incident,
    Instance,
    Job,
    Worker,
    utcnow,
)
from .paging import Page
from .protect import Protector, install
from .registry import OperationRegistry
from .repair import RepairActions
from .scripting import Sandbox
from .tasks import TaskActions

log = logging.getLogger(__name__)



class Engine(TaskActions, RepairActions):
    """One Bridgeflow engine over one database; cheap to create, safe to share across threads."""

    def __init__(self, db: Database, settings: Settings | None = None,
                 registry: OperationRegistry | None = None) -> None:
        self.db = db
        self.settings = settings or Settings()
        self.registry = registry or OperationRegistry()
        # Personal variables are sealed and opened by the column types of this database.
        self.protector = Protector.from_settings(self.settings)
        install(db.sql_engine, self.protector)
        calendar = BusinessCalendar.parse(self.settings.business_days,
                                          self.settings.business_hours,
                                          self.settings.business_timezone)
        self.sandbox = Sandbox(time_limit=self.settings.script_time_limit,
                               max_size=self.settings.script_max_size,
                               extra_globals={"business_hours_from_now":
                                              business_hours_function(calendar)})
        self.definitions = Definitions(db, self.sandbox, known_operation=self.registry.__contains__)
        self.script_engine = SandboxScriptEngine(self.sandbox, self.definitions.decide)
        self.executor = Executor(db, self.definitions, self.registry, self.script_engine,
                                 self.settings)
        self.inline_worker_id = f"inline-{socket.gethostname()}-{os.getpid()}"

    # -- definitions ----------------------------------------------------------------------

    def deploy(self, files: Mapping[str, bytes], deployed_by: str | None = None) -> list[Deployed]:
        return self.definitions.deploy(files, deployed_by)

    def deploy_directory(self, path: str | Path | None = None) -> list[Deployed]:
        return self.definitions.deploy_directory(Path(path or self.settings.processes_dir))

    def list_definitions(self, kind: str | None = None) -> list[Definition]:
        """The latest version of every definition."""
        with self.db.read() as s:
            latest = (select(Definition.key, Definition.kind,
                             func.max(Definition.version).label("v"))
                      .group_by(Definition.key, Definition.kind).subquery())
            query = select(Definition).join(latest, (Definition.key == latest.c.key)
                                            & (Definition.kind == latest.c.kind)
                                            & (Definition.version == latest.c.v))
            if kind:
                query = query.where(Definition.kind == kind)
            return list(s.scalars(query.order_by(Definition.key)))

    def definition_versions(self, key: str) -> list[Definition]:
        with self.db.read() as s:
            rows = list(s.scalars(select(Definition).where(Definition.key == key)
                                  .order_by(Definition.version.desc())))
        if not rows:
            raise NotFoundError(f"no definition with key '{key}' is deployed", {"key": key})
        return rows

    def definition(self, key: str, version: int | None = None) -> Definition:
        rows = self.definition_versions(key)
        if version is None:
            return rows[0]
        for row in rows:
            if row.version == version:
                return row
        raise NotFoundError(f"'{key}' has no version {version}", {"key": key})

    def evaluate_decision(self, key: str, variables: dict[str, Any]) -> Any:
        """Evaluate a deployed decision with sample inputs (for analysts trying a table)."""
        doc = self.definitions.decision_document(key)
        return doc.evaluate(key, variables)

    # -- instances ------------------------------------------------------------------------

    def start(self, process_key: str, business_key: str | None = None,
              variables: Any = None, started_by: str | None = None,
              wait: float = 0.0) -> Instance:
        """Start an instance; with ``wait``, run it now and answer once it waits or ends."""
        if not isinstance(process_key, str) or not process_key:
            raise InvalidInputError("process_key is required",
                                    {"fields": {"process_key": "is required"}})
        if wait > 0:
            return self._start_and_wait(process_key, business_key, variables, started_by, wait)
        with self.db.write() as s:
            instance, _ = create_instance(s, self.definitions, process_key, business_key,
                                          variables, started_by)
            instance_id = instance.id
        return self.instance(instance_id)

    def _start_and_wait(self, process_key: str, business_key: str | None, variables: Any,
                        started_by: str | None, wait: float) -> Instance:
        deadline = time.monotonic() + wait
        data = check_variables(variables)
        check_business_key(business_key)
        definition = self.definitions.remembered_latest(process_key)
        for _ in range(3):
            if definition is None:
                with self.db.read() as s:
                    definition = self.definitions.latest_process(s, process_key)
            try:
                row, job_id = self.executor.start_inline(definition, business_key, data,
                                                         started_by)
                break
            except StaleStateError:  # a newer version was deployed meanwhile: start on it
                definition = None
        else:
            raise ConflictError(f"{process_key} kept being redeployed; try again")
        if job_id is not None:
            self.run_now(job_id)
            return self.wait_for(row.id, max(0.0, deadline - time.monotonic()))
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
            if instance.status != "running" or time.monotonic() >= deadline:
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

    def instance(self, instance_id: str) -> Instance:
        with self.db.read() as s:
            row = s.get(Instance, instance_id)
        if row is None:
            raise NotFoundError(f"no process instance with id '{instance_id}'",
                                {"id": instance_id})
        return row

    def list_instances(self, *, status: str | None = None, process_key: str | None = None,
                       business_key: str | None = None, page: int = 1,
                       per_page: int = 50) -> Page:
        with self.db.read() as s:
            query = select(Instance)
            if status:
                query = query.where(Instance.status == status)
            if process_key:
                query = query.where(Instance.process_key == process_key)
            if business_key:
                query = query.where(Instance.business_key == business_key)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            items = list(s.scalars(query.order_by(Instance.created_at.desc(), Instance.id)
                                   .offset((page - 1) * per_page).limit(per_page)))
        return Page(items, int(total), page, per_page)

    def open_tasks_of(self, instance_id: str) -> list[HumanTask]:
        with self.db.read() as s:
            return list(s.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.status.in_(("ready", "claimed")))))

    def incidents_of(self, instance_id: str, status: str | None = "open") -> list[Incident]:
        with self.db.read() as s:
            query = select(Incident).where(Incident.instance_id == instance_id)
            if status:
                query = query.where(Incident.status == status)
            return list(s.scalars(query.order_by(Incident.created_at)))

    def events_of(self, instance_id: str, after_id: int = 0, limit: int = 500) -> list[Event]:
        self.instance(instance_id)
        with self.db.read() as s:
            return list(s.scalars(select(Event).where(Event.instance_id == instance_id,
                                                      Event.id > after_id)
                                  .order_by(Event.id).limit(limit)))

    # -- messages -------------------------------------------------------------------------

    def send_message(self, name: str, business_key: str | None = None,
                     correlation_keys: Mapping[str, Any] | None = None,
                     variables: Any = None, all_: bool = False,
                     sender: str | None = None) -> MessageResult:
        """Deliver a message to the instance waiting for it, or start the process it starts."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name is required", {"fields": {"name": "is required"}})
        if correlation_keys is not None and not isinstance(correlation_keys, dict):
            raise InvalidInputError("correlation_keys must be an object",
                                    {"fields": {"correlation_keys": "must be an object"}})
        data = check_variables(variables)
        with self.db.write() as s:
            return messages.deliver(s, self.definitions, name, business_key, correlation_keys,
                                    data, all_=all_, sender=sender)

    # -- systems --------------------------------------------------------------------------

    def create_api_key(self, name: str) -> str:
        """Create an API key and return it; only its hash is stored, so show it once."""
        secret = "bf_" + secrets.token_urlsafe(32)
        with self.db.write() as s:
            if s.scalar(select(ApiKey.id).where(ApiKey.name == name)):
                raise ConflictError(f"an API key named '{name}' exists already")
            s.add(ApiKey(name=name, prefix=secret[:10], key_hash=_hash_key(secret)))
        return secret

    def check_api_key(self, secret: str) -> str | None:
        """Return the key's name when ``secret`` is a valid, unrevoked key."""
        with self.db.read() as s:
            rows = list(s.scalars(select(ApiKey).where(ApiKey.prefix == secret[:10],
                                                       ApiKey.revoked_at.is_(None))))
        digest = _hash_key(secret)
        for row in rows:
            if secrets.compare_digest(row.key_hash, digest):
                return row.name
        return None

    def heartbeat(self, worker_id: str, jobs_done: int = 0) -> None:
        with self.db.write() as s:
            row = s.get(Worker, worker_id)
            if row is None:
                s.add(Worker(id=worker_id, hostname=socket.gethostname(), pid=os.getpid(),
                             jobs_done=jobs_done))
            else:
                row.last_seen, row.jobs_done = utcnow(), jobs_done

    def stats(self) -> dict[str, Any]:
        """Figures for /healthz and /metrics."""
        from datetime import timedelta

        with self.db.read() as s:
            by_status = [(k, st, int(n)) for k, st, n in s.execute(
                select(Instance.process_key, Instance.status, func.count())
                .group_by(Instance.process_key, Instance.status))]
            alive = s.scalar(select(func.count()).select_from(Worker).where(
                Worker.last_seen >= utcnow() - timedelta(
                    seconds=self.settings.worker_alive_seconds))) or 0
            open_incidents = s.scalar(select(func.count()).select_from(Incident)
                                      .where(Incident.status == "open")) or 0
            due = jobs.due_count(s)
            incidents = [(k, int(n)) for k, n in s.execute(
                select(Incident.process_key, func.count()).group_by(Incident.process_key))]
            seconds = _seconds_between(s, Instance.created_at, Instance.ended_at)
            durations = [(k, int(n), float(total or 0)) for k, n, total in s.execute(
                select(Instance.process_key, func.count(), func.sum(seconds))
                .where(Instance.status == "completed", Instance.ended_at.is_not(None))
                .group_by(Instance.process_key))]
            operation = Event.data["operation"].as_string()
            outcome = Event.data["outcome"].as_string()
            calls = [(op, out, int(n), float(ms or 0)) for op, out, n, ms in s.execute(
                select(operation, outcome, func.count(),
                       func.sum(Event.data["duration_ms"].as_float()))
                .where(Event.type == "service_call").group_by(operation, outcome))]
        return {"instances": by_status, "workers_alive": int(alive),
                "open_incidents": int(open_incidents), "due_jobs": due,
                "incidents": incidents, "completed_durations": durations,
                "service_calls": calls}


def _seconds_between(s: Session, start: Any, end: Any) -> Any:
    """SQL for the seconds between two timestamp columns, on SQLite and PostgreSQL."""
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
