"""The engine's tables: definitions, instances, tasks, jobs, subscriptions, incidents, events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .model_types import UTCDateTime as UTCDateTime  # re-exported: the tables' time type
from .model_types import new_id as new_id  # re-exported: every module takes ids from here
from .model_types import utcnow as utcnow  # re-exported
from .sealed_columns import MaskedJSON, SealedJSON, SealedState
from .vocabulary import NOT_ENDED_SQL, CandidateKind, IncidentStatus, SubscriptionKind

# the predicate of the partial index over service-call events; a query that wants the index
# must say this literally (a bound parameter cannot prove a partial index's condition)
SERVICE_CALL_EVENTS = text("type = 'service_call'")


JsonDict = dict[str, Any]
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, JsonDict: JSON, list[str]: JSON}


class Definition(Base):
    """One deployed version of a process (or a decision) with its spec, stored once."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_definitions_key_version"),
                      Index("ix_definitions_key_kind_version", "key", "kind", "version"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "process", "decision" or "library"
    name: Mapped[str | None] = mapped_column(String(400))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(400))
    source: Mapped[str] = mapped_column(Text)
    spec: Mapped[bytes | None] = mapped_column(LargeBinary)  # serialized process spec
    extra_files: Mapped[JsonDict] = mapped_column(default=dict)  # forms the process uses
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)  # what the deployer wrote about it
    # days an ended instance of this version is kept; None: the engine's default setting
    history_ttl_days: Mapped[int | None] = mapped_column(Integer)
    # a decision its file defines but that cannot be evaluated: why (None: it can)
    unavailable_reason: Mapped[str | None] = mapped_column(Text)
    # a DMN file's <import>s, pinned at deploy: namespace -> {"id", "key", "version"} of the
    # deployed file used (None: no import, or deployed before imports were pinned)
    imports: Mapped[JsonDict | None] = mapped_column()


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, on both databases."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class Instance(Base):
    """A running or finished process instance and its serialized state (spec not included;
    none once it completed: an ended instance is never advanced again)."""

    __tablename__ = "instances"
    __table_args__ = (
        # the live counts by status and process (statistics.LIVE_COUNTS), an index-only scan;
        # partial, so that an instance is out of it once it ends, and one that ends at its
        # start never writes it (migration 0029, as the next)
        Index("ix_instances_status_key", "status", "process_key", **_where(NOT_ENDED_SQL)),
        # the live instances of a version (a migration batch's candidates); partial alike.
        # Definitions are never removed, so the foreign key needs no index of its own
        Index("ix_instances_definition_id", "definition_id", **_where(NOT_ENDED_SQL)),
        Index("ix_instances_ended_at", "ended_at"),
        # the lists' order (newest first), alone and after each filter they offer
        Index("ix_instances_created", "created_at", "id"),
        Index("ix_instances_key_created", "process_key", "created_at"),
        Index("ix_instances_status_created", "status", "created_at"),
        # only the instances that have one: every lookup asks for a value (migration 0027)
        Index("ix_instances_business_key_created", "business_key", "created_at",
              **_where("business_key IS NOT NULL")),
        Index("ix_instances_parent_instance_id", "parent_instance_id",
              **_where("parent_instance_id IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    definition_id: Mapped[str] = mapped_column(ForeignKey("definitions.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    suspended_from: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[bytes | None] = mapped_column(SealedState)
    variables: Mapped[JsonDict] = mapped_column(SealedJSON, default=dict)
    active_elements: Mapped[list[str]] = mapped_column(default=list)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    started_by: Mapped[str | None] = mapped_column(String(200))
    # a called instance: the instance whose call activity started it, and that task
    parent_instance_id: Mapped[str | None] = mapped_column(ForeignKey("instances.id"))
    parent_task_id: Mapped[str | None] = mapped_column(String(36))
    parent_element_id: Mapped[str | None] = mapped_column(String(200))


OPEN_TASKS_SQL = "status IN ('ready', 'claimed')"  # OPEN_TASK_STATUSES, for partial indexes
OPEN_ONLY: Any = _where(OPEN_TASKS_SQL)


class HumanTask(Base):
    """A user task that a person must complete, with who may do it and the form to fill.

    ``candidate_groups`` / ``candidate_users`` are kept for display; the inbox filters on
    the ``task_candidates`` rows that ``set_candidates`` writes beside them.
    """

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_status", "status"),
        # over the open tasks only (not growing with finished ones): probes by id, the
        # soonest-due order an admin's inbox walks, and its counts in process order
        Index("ix_human_tasks_open", "id", "process_key", "assignee", "due_at", "priority",
              "created_at", **OPEN_ONLY),
        Index("ix_human_tasks_open_due", "due_at", "created_at", "id", **OPEN_ONLY),
        Index("ix_human_tasks_open_counts", "process_key", "assignee", "due_at", **OPEN_ONLY),
        Index("ix_human_tasks_process_key", "process_key", "status"),
        Index("ix_human_tasks_business_key", "business_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    candidate_groups: Mapped[list[str]] = mapped_column(default=list)
    candidate_users: Mapped[list[str]] = mapped_column(default=list)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    form: Mapped[JsonDict | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # ready, claimed, completed, cancelled
    priority: Mapped[int] = mapped_column(Integer, default=50)
    due_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    completed_by: Mapped[str | None] = mapped_column(String(200))
    completion_data: Mapped[JsonDict | None] = mapped_column(SealedJSON)
    candidates: Mapped[list[TaskCandidate]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)

    def set_candidates(self, groups: list[str], users: list[str]) -> None:
        """Offer the task to these groups and users (the JSON columns and the rows agree)."""
        self.candidate_groups, self.candidate_users = list(groups), list(users)
        self.candidates = [TaskCandidate(kind=kind, name=name)
                           for kind, name in candidates(groups, users)]


def candidates(groups: list[str], users: list[str]) -> list[tuple[CandidateKind, str]]:
    """The ``(kind, name)`` of each group and user a task is offered to, each once."""
    return [(CandidateKind.GROUP, g) for g in dict.fromkeys(groups)] + \
           [(CandidateKind.USER, u) for u in dict.fromkeys(users)]


class TaskCandidate(Base):
    """One group or user a human task is offered to: the row the inbox query joins on."""

    __tablename__ = "task_candidates"
    __table_args__ = (
        Index("ix_task_candidates_name", "kind", "name", "task_id"),
        # the inbox reads only the open tasks' rows, with their keys: one index-only scan
        Index("ix_task_candidates_open_keys", "kind", "name", "due_at", "created_at",
              "task_id", "process_key", "assignee", "priority",
              postgresql_where=text("is_open"), sqlite_where=text("is_open")),
    )

    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"),
                                         primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # CandidateKind
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # is_open and the task's keys: copies kept in step by triggers (migration 0011)
    is_open: Mapped[bool] = mapped_column(default=True, server_default=true())
    process_key: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column()
    priority: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column()


class Job(Base):
    """Work that is due: advance an instance, fire a timer, retry a call, start on a cycle."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    payload: Mapped[JsonDict] = mapped_column(SealedJSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)


class MessageSubscription(Base):
    """An instance waiting for a message or a signal, or a process that one starts."""

    __tablename__ = "message_subscriptions"
    __table_args__ = (Index("ix_subscriptions_name", "message_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default=SubscriptionKind.MESSAGE,
                                      server_default="message")  # or "signal"
    message_name: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("instances.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    spiff_task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExternalTask(Base):
    """A service task that a worker outside Bridgeflow performs (Camunda 7's external task).

    Open while its token waits at the task; a worker locks it by ``fetch_and_lock`` and
    reports back (complete, failure, BPMN error). ``locals`` are the task's own variables
    (``camunda:inputOutput`` inputs); the process's are read from the instance when fetched.
    """

    __tablename__ = "external_tasks"
    __table_args__ = (Index("ix_external_tasks_topic", "topic", "lock_expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(36))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(BigId, default=0)
    locals: Mapped[JsonDict] = mapped_column(SealedJSON, default=dict)
    properties: Mapped[JsonDict] = mapped_column(default=dict)  # camunda:properties
    lock_owner: Mapped[str | None] = mapped_column(String(200))
    # locked until then; after a failure, free again only then (its retry timeout)
    lock_expires_at: Mapped[datetime | None] = mapped_column()
    retries: Mapped[int | None] = mapped_column(Integer)  # None until a worker sets them
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExternalTopic(Base):
    """A topic some worker has asked for, and when: a deploy warns of topics nobody serves."""

    __tablename__ = "external_topics"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_worker_id: Mapped[str] = mapped_column(String(200))
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """A failure that needs a person, and how it was resolved."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str | None] = mapped_column(String(200))
    spiff_task_id: Mapped[str | None] = mapped_column(String(36))
    error_type: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[JsonDict] = mapped_column(MaskedJSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(String(64))


class Event(Base):
    """One line of the append-only audit trail."""

    __tablename__ = "events"
    __table_args__ = (
        # the service-call statistics over a time window (statistics._calls); partial, so that
        # the many other events (steps above all) are not written to it (migration 0026)
        Index("ix_events_service_calls", "created_at", sqlite_where=SERVICE_CALL_EVENTS,
              postgresql_where=SERVICE_CALL_EVENTS),
        Index("ix_events_instance_id_id", "instance_id", "id"),  # an instance's history
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # looked up through ix_events_instance_id_id (migration 0025 dropped the narrow index)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(48))
    element_id: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[JsonDict] = mapped_column(MaskedJSON, default=dict)
    # no index of its own: every read goes by instance or is the service-call statistics
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatCounter(Base):
    """A running total of rows that never change (ended instances, service calls)."""

    __tablename__ = "stat_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # what is counted
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # process or operation
    sub: Mapped[str] = mapped_column(String(64), primary_key=True)  # status or outcome
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)  # seconds or milliseconds


class StatMark(Base):
    """How far each running total has been added up (rows before ``mark_at`` are in it)."""

    __tablename__ = "stat_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    mark_at: Mapped[datetime | None] = mapped_column()


class DayFigure(Base):
    """One day of one process, added up once (engine/daily.py): started, completed, durations."""

    __tablename__ = "day_figures"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    started: Mapped[int] = mapped_column(BigInteger, default=0)  # created that day
    started_completed: Mapped[int] = mapped_column(BigInteger, default=0)  # of those, completed
    completed: Mapped[int] = mapped_column(BigInteger, default=0)  # completed that day
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # their summed durations
    max_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    buckets: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # duration histogram


class Worker(Base):
    """A worker process that has announced itself; /healthz reads its heartbeat."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)


class ApiKey(Base):
    """A credential for the REST API; only its hash is kept.

    A service account's key (``user_id`` empty) acts with its ``scopes``; a personal token
    (``user_id`` set) acts only as that person, with their groups.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()


class InboundEvent(Base):
    """An event another system pushed to us (a CRM webhook), kept so a repeat is recognised."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_inbound_events_source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # started, delivered, ignored
    instance_ids: Mapped[list[str]] = mapped_column(default=list)
    detail: Mapped[str | None] = mapped_column(String(400))


class User(Base):
    """A person who signs in: their role, the task groups they belong to, their password hash."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))  # admin, analyst or user
    groups: Mapped[list[str]] = mapped_column(default=list)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on sign-out, password change and deactivation: older session cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class LoginThrottle(Base):
    """Failed sign-ins of one name from one address (hashed together), to slow down guessing."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()


class MigrationRecord(Base):
    """One instance moved from one version of a process to another: from, to, plan, who."""

    __tablename__ = "instance_migrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    source_definition_id: Mapped[str] = mapped_column(String(36))
    target_definition_id: Mapped[str] = mapped_column(String(36))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    instructions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    actor: Mapped[str | None] = mapped_column(String(200))
    batch_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MigrationBatch(Base):
    """Many instances migrated by one plan, a chunk per job; survives restarts."""

    __tablename__ = "migration_batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source_definition_id: Mapped[str] = mapped_column(String(36))
    target_definition_id: Mapped[str] = mapped_column(String(36))
    instructions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))  # running, completed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the first 100
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
