"""External tasks: service tasks that workers outside Bridgeflow perform, Camunda 7's way.

A service task whose operation no connector provides (``camunda:type="external"
camunda:topic="…"``, a Zeebe job type) waits for a worker. Its token parks at the task, and
an ``ExternalTask`` row says what is waiting: the topic, the priority, the task's own
variables. A worker locks rows with ``fetch_and_lock`` (waiting, if there are none, until
one appears or its timeout passes) and then reports: ``complete``, ``handle_failure``
(retries left and a timeout before the next try; at 0 an incident), ``handle_bpmn_error``.
Only the worker holding the lock may report, so a task is completed exactly once.

A report changes the row at once and hands the instance an ``external_task`` job, run in
the reporting request if no worker is quicker: the instance moves on as in Camunda, where
completing an external task continues the process to its next wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import jobs
from .doorbell import Doorbell
from .errors import ConflictError, InvalidInputError, NotFoundError
from .instances import check_variables
from .models import Event, ExternalTask, ExternalTopic, Instance, utcnow
from .vocabulary import InstanceStatus, JobKind

if TYPE_CHECKING:
    from .core import Core

MAX_WAIT_SECONDS = 1800.0  # Camunda's limit for asyncResponseTimeout
MAX_TASKS = 1000
MAX_LOCK_MS = 7 * 24 * 3600 * 1000
TOPIC_SEEN_EVERY = 60.0  # seconds between two writes of "a worker asked for this topic"


@dataclass(frozen=True)
class TopicRequest:
    """One topic of a fetch: how long to lock, which variables, which tasks."""

    name: str
    lock_duration_ms: int
    variables: tuple[str, ...] | None = None  # None: all of them
    local_variables: bool = False  # only the task's own variables
    business_key: str | None = None
    process_definition_keys: tuple[str, ...] = ()
    process_definition_id: str | None = None
    process_variables: dict[str, Any] = field(default_factory=dict)  # equal values only


@dataclass
class LockedTask:
    """A task a worker now holds, with the variables it asked for."""

    task: ExternalTask
    variables: dict[str, Any]
    version: int


@dataclass(frozen=True)
class ExternalTaskQuery:
    """Filters of the external task list (each one optional)."""

    topic: str | None = None
    worker_id: str | None = None
    locked: bool | None = None
    with_retries_left: bool | None = None
    process_instance_id: str | None = None
    process_definition_key: str | None = None
    activity_id: str | None = None
    business_key: str | None = None


class ExternalTaskService:
    """Fetch, lock and report on external tasks; list them."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.db = core.db
        self._bell: Doorbell = core.executor.doorbell
        self._bell.set_probe(self._anything_free)
        self._topics_written: dict[str, float] = {}

    # -- workers ------------------------------------------------------------------------

    def fetch_and_lock(self, worker_id: str, topics: list[TopicRequest], max_tasks: int = 1,
                       use_priority: bool = False,
                       wait_seconds: float = 0.0) -> list[LockedTask]:
        """Lock up to ``max_tasks`` tasks of ``topics`` for ``worker_id``; with nothing to
        lock, wait up to ``wait_seconds`` for one to appear (long polling)."""
        _check_fetch(worker_id, topics, max_tasks, wait_seconds)
        self._seen(worker_id, topics)
        deadline = time.monotonic() + wait_seconds
        with self._bell.awaiting(t.name for t in topics):
            while True:
                rings = self._bell.rings
                found = self._lock(worker_id, topics, max_tasks, use_priority)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                if not self._bell.wait_past(rings, left):
                    return []  # the time ran out and nothing rang: nothing to look for

    def _anything_free(self, topics: frozenset[str]) -> bool:
        """Whether a task of one of ``topics`` may be locked now (the doorbell's probe)."""
        with self.db.read() as s:
            return s.scalar(select(ExternalTask.id)
                            .join(Instance, Instance.id == ExternalTask.instance_id)
                            .where(ExternalTask.topic.in_(topics), _free(utcnow()),
                                   or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0),
                                   Instance.status != InstanceStatus.SUSPENDED)
                            .limit(1)) is not None

    def _lock(self, worker_id: str, topics: list[TopicRequest], max_tasks: int,
              use_priority: bool) -> list[LockedTask]:
        now = utcnow()
        wanted = or_(*(and_(*_topic_conditions(t)) for t in topics))
        query = (select(ExternalTask, Instance.variables, Instance.version)
                 .join(Instance, Instance.id == ExternalTask.instance_id)
                 .where(wanted, _free(now), or_(ExternalTask.retries.is_(None),
                                                ExternalTask.retries > 0),
                        Instance.status != InstanceStatus.SUSPENDED))
        order = (ExternalTask.priority.desc(),) if use_priority else ()
        filtered = any(t.process_variables for t in topics)
        query = (query.order_by(*order, ExternalTask.created_at, ExternalTask.id)
                 .limit(max_tasks * 10 if filtered else max_tasks))
        if self.db.is_postgres:
            query = query.with_for_update(skip_locked=True, of=ExternalTask)
        out: list[LockedTask] = []
        with self.db.write() as s, s.no_autoflush:  # rows are marked below, not flushed
            for row, variables, version in s.execute(query).all():
                topic = next((t for t in topics if _matches(t, row, variables)), None)
                if topic is None:
                    continue
                expires = now + timedelta(milliseconds=topic.lock_duration_ms)
                taken = s.execute(update(ExternalTask).where(ExternalTask.id == row.id,
                                                             _free(now))
                                  .values(lock_owner=worker_id, lock_expires_at=expires))
                if not taken.rowcount:  # type: ignore[attr-defined]
                    continue  # another worker was quicker
                row.lock_owner, row.lock_expires_at = worker_id, expires
                out.append(LockedTask(row, _visible(topic, row, variables or {}), version))
                if len(out) >= max_tasks:
                    break
            s.expunge_all()
        return out

    def _seen(self, worker_id: str, topics: list[TopicRequest]) -> None:
        """Note that a worker asks for these topics (once a minute per topic and process)."""
        now = time.monotonic()
        due = [t.name for t in topics
               if now - self._topics_written.get(t.name, -TOPIC_SEEN_EVERY) >= TOPIC_SEEN_EVERY]
        if not due:
            return
        try:
            with self.db.write() as s:
                for name in due:
                    row = s.get(ExternalTopic, name)
                    if row is None:
                        s.add(ExternalTopic(topic=name, last_worker_id=worker_id))
                    else:
                        row.last_worker_id, row.last_seen_at = worker_id, utcnow()
        except IntegrityError:
            return  # another request noted the topic at the same moment: that will do
        for name in due:
            self._topics_written[name] = now

    def complete(self, task_id: str, worker_id: str, variables: Any = None,
                 local_variables: Any = None) -> None:
        """The worker did the task: the instance goes on with its variables."""
        values, local = check_variables(variables), check_variables(local_variables)
        self._report(task_id, worker_id, "completed", {
            "outcome": "complete", "variables": values, "local_variables": local})

    def handle_bpmn_error(self, task_id: str, worker_id: str, error_code: str,
                          error_message: str | None = None, variables: Any = None) -> None:
        """The worker reports a business error, which an error boundary event may catch."""
        if not isinstance(error_code, str) or not error_code.strip():
            raise InvalidInputError("errorCode is required",
                                    {"fields": {"errorCode": "is required"}})
        self._report(task_id, worker_id, "reported on", {
            "outcome": "bpmn_error", "error_code": error_code,
            "error_message": str(error_message or "")[:4000],
            "variables": check_variables(variables)})

    def handle_failure(self, task_id: str, worker_id: str, error_message: str | None,
                       error_details: str | None, retries: int, retry_timeout_ms: int) -> None:
        """The worker failed: try again after ``retry_timeout_ms`` while ``retries`` are left;
        at 0 an incident asks a person."""
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise InvalidInputError("retries must be a whole number, 0 or more",
                                    {"fields": {"retries": repr(retries)}})
        if not isinstance(retry_timeout_ms, int) or not 0 <= retry_timeout_ms <= MAX_LOCK_MS:
            raise InvalidInputError("retryTimeout must be a number of milliseconds, 0 or more",
                                    {"fields": {"retryTimeout": repr(retry_timeout_ms)}})
        with self.db.write() as s:
            row = self._held(s, task_id, worker_id, "reported as failed")
            row.retries = retries
            row.error_message = str(error_message or "")[:4000] or None
            row.error_details = str(error_details or "")[:65536] or None
            row.lock_expires_at = utcnow() + timedelta(milliseconds=retry_timeout_ms)
            s.add(Event(instance_id=row.instance_id, type="external_task_failed",
                        element_id=row.element_id, actor=worker_id,
                        data={"topic": row.topic, "retries": retries,
                              "error": row.error_message}))
            job = None
            if retries == 0:
                job = jobs.enqueue(s, JobKind.EXTERNAL_TASK, row.instance_id, {
                    "outcome": "incident", "task_id": row.spiff_task_id,
                    "element_id": row.element_id, "topic": row.topic,
                    "worker_id": worker_id, "error_message": row.error_message})
            elif retry_timeout_ms == 0:
                self._bell.ring_after_commit(s)
            s.flush()
            job_id = job.id if job is not None else None
        if job_id is not None:
            self._core.run_now(job_id)

    def extend_lock(self, task_id: str, worker_id: str, new_duration_ms: int) -> None:
        """Hold the task longer; only its worker may, and only while the lock lasts."""
        if not isinstance(new_duration_ms, int) or not 0 < new_duration_ms <= MAX_LOCK_MS:
            raise InvalidInputError("newDuration must be a positive number of milliseconds",
                                    {"fields": {"newDuration": repr(new_duration_ms)}})
        with self.db.write() as s:
            row = self._held(s, task_id, worker_id, "extended")
            now = utcnow()
            if row.lock_expires_at is None or row.lock_expires_at < now:
                raise ConflictError(f"Cannot extend a lock that expired: the lock of external "
                                    f"task {task_id} ran out", {"id": task_id})
            row.lock_expires_at = now + timedelta(milliseconds=new_duration_ms)

    def unlock(self, task_id: str, actor: str | None = None) -> None:
        """Free a task for any worker at once (an administrator's or a worker's call)."""
        with self.db.write() as s:
            row = self._row(s, task_id)
            row.lock_owner, row.lock_expires_at = None, None
            s.add(Event(instance_id=row.instance_id, type="external_task_unlocked",
                        element_id=row.element_id, actor=actor, data={"topic": row.topic}))
            self._bell.ring_after_commit(s)

    def set_retries(self, task_id: str, retries: int, actor: str | None = None) -> None:
        """Set the retries left (Camunda's ``PUT /external-task/{id}/retries``)."""
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise InvalidInputError("retries must be a whole number, 0 or more",
                                    {"fields": {"retries": repr(retries)}})
        with self.db.write() as s:
            row = self._row(s, task_id)
            row.retries = retries
            s.add(Event(instance_id=row.instance_id, type="external_task_retries_set",
                        element_id=row.element_id, actor=actor, data={"retries": retries}))
            if retries > 0:
                self._bell.ring_after_commit(s)

    def _report(self, task_id: str, worker_id: str, done: str, payload: dict[str, Any]) -> None:
        with self.db.write() as s:
            row = self._held(s, task_id, worker_id, done)
            s.execute(delete(ExternalTask).where(ExternalTask.id == row.id))
            job = jobs.enqueue(s, JobKind.EXTERNAL_TASK, row.instance_id, {
                **payload, "task_id": row.spiff_task_id, "element_id": row.element_id,
                "topic": row.topic, "worker_id": worker_id, "external_task_id": row.id})
            s.flush()
            job_id = job.id
        self._core.run_now(job_id)

    def _row(self, s: Session, task_id: str) -> ExternalTask:
        row = s.get(ExternalTask, task_id, with_for_update=self.db.is_postgres)
        if row is None:
            raise NotFoundError(f"External task with id {task_id} does not exist",
                                {"id": task_id})
        return row

    def _held(self, s: Session, task_id: str, worker_id: str, done: str) -> ExternalTask:
        """The task, if ``worker_id`` holds it and its instance may move."""
        if not isinstance(worker_id, str) or not worker_id:
            raise InvalidInputError("workerId is required", {"fields": {"workerId": "required"}})
        row = self._row(s, task_id)
        if row.lock_owner != worker_id:
            held = f"It is locked by worker '{row.lock_owner}'." if row.lock_owner else \
                "It is not locked."
            raise ConflictError(f"External Task {task_id} cannot be {done} by worker "
                                f"'{worker_id}'. {held}", {"id": task_id})
        status = s.scalar(select(Instance.status).where(Instance.id == row.instance_id))
        if status == InstanceStatus.SUSPENDED:
            raise ConflictError(f"ExternalTask with id '{task_id}' is suspended",
                                {"id": task_id})
        return row

    # -- reading --------------------------------------------------------------------------

    def get(self, task_id: str) -> ExternalTask:
        with self.db.read() as s:
            row = s.get(ExternalTask, task_id)
        if row is None:
            raise NotFoundError(f"External task with id {task_id} does not exist",
                                {"id": task_id})
        return row

    def list_tasks(self, query: ExternalTaskQuery, first: int = 0,
             limit: int | None = None) -> list[ExternalTask]:
        stmt = (select(ExternalTask).where(*_query_conditions(query))
                .order_by(ExternalTask.created_at, ExternalTask.id).offset(first))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.db.read() as s:
            return list(s.scalars(stmt))

    def count(self, query: ExternalTaskQuery) -> int:
        with self.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(ExternalTask)
                                .where(*_query_conditions(query))) or 0)


# -- helpers ------------------------------------------------------------------------------

def _free(now: datetime) -> Any:
    return or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at < now)


def _topic_conditions(topic: TopicRequest) -> list[Any]:
    conditions = [ExternalTask.topic == topic.name]
    if topic.business_key is not None:
        conditions.append(ExternalTask.business_key == topic.business_key)
    if topic.process_definition_keys:
        conditions.append(ExternalTask.process_key.in_(topic.process_definition_keys))
    if topic.process_definition_id is not None:
        conditions.append(ExternalTask.definition_id == topic.process_definition_id)
    return conditions


def _matches(topic: TopicRequest, row: ExternalTask, variables: dict[str, Any] | None) -> bool:
    if row.topic != topic.name or (topic.business_key is not None
                                   and row.business_key != topic.business_key):
        return False
    if topic.process_definition_keys and row.process_key not in topic.process_definition_keys:
        return False
    if topic.process_definition_id is not None and row.definition_id != \
            topic.process_definition_id:
        return False
    seen = {**(variables or {}), **(row.locals or {})}
    return all(name in seen and seen[name] == value
               for name, value in topic.process_variables.items())


def _visible(topic: TopicRequest, row: ExternalTask, variables: dict[str, Any]) -> dict[str, Any]:
    values = dict(row.locals or {}) if topic.local_variables else {**variables,
                                                                   **(row.locals or {})}
    if topic.variables is None:
        return values
    return {name: values[name] for name in topic.variables if name in values}


def _query_conditions(query: ExternalTaskQuery) -> list[Any]:
    now = utcnow()
    out: list[Any] = []
    for column, value in ((ExternalTask.topic, query.topic),
                          (ExternalTask.lock_owner, query.worker_id),
                          (ExternalTask.instance_id, query.process_instance_id),
                          (ExternalTask.process_key, query.process_definition_key),
                          (ExternalTask.element_id, query.activity_id),
                          (ExternalTask.business_key, query.business_key)):
        if value is not None:
            out.append(column == value)
    if query.locked is True:
        out.append(and_(ExternalTask.lock_expires_at.is_not(None),
                        ExternalTask.lock_expires_at > now, ExternalTask.lock_owner.is_not(None)))
    elif query.locked is False:
        out.append(or_(_free(now), ExternalTask.lock_owner.is_(None)))
    if query.with_retries_left is True:
        out.append(or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0))
    elif query.with_retries_left is False:
        out.append(ExternalTask.retries == 0)
    return out


def _check_fetch(worker_id: Any, topics: Any, max_tasks: Any, wait_seconds: Any) -> None:
    fields: dict[str, str] = {}
    if not isinstance(worker_id, str) or not worker_id.strip() or len(worker_id) > 200:
        fields["workerId"] = "is required: a string of at most 200 characters"
    if not isinstance(max_tasks, int) or isinstance(max_tasks, bool) or \
            not 0 <= max_tasks <= MAX_TASKS:
        fields["maxTasks"] = f"must be a whole number from 0 to {MAX_TASKS}"
    if not isinstance(wait_seconds, int | float) or not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
        fields["asyncResponseTimeout"] = (f"must be from 0 to {int(MAX_WAIT_SECONDS * 1000)} "
                                          "milliseconds")
    if not isinstance(topics, list) or not topics:
        fields["topics"] = "name at least one topic"
    else:
        for topic in topics:
            if not 0 < topic.lock_duration_ms <= MAX_LOCK_MS:
                fields[f"topics.{topic.name}.lockDuration"] = \
                    "must be a positive number of milliseconds (at most 7 days)"
    if fields:
        raise InvalidInputError("; ".join(f"{k} {v}" for k, v in fields.items()),
                                {"fields": fields})
