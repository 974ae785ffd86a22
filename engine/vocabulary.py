"""The engine's closed vocabularies: statuses and job kinds, stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    """Where a process instance stands."""

    RUNNING = "running"  # a worker has work to do for it
    WAITING = "waiting"  # for a person, a message or a timer
    INCIDENT = "incident"  # for an administrator
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    TERMINATED = "terminated"


# an instance in one of these may still move; the final ones never again
LIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.INCIDENT)
FINAL_STATUSES = (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED)
# not ended: the live ones and the suspended, named (not "not a final one") so that a partial
# index over them serves a query that names them alike
NOT_ENDED = tuple(s for s in InstanceStatus if s not in FINAL_STATUSES)
NOT_ENDED_SQL = "status IN ({})".format(", ".join(f"'{s}'" for s in NOT_ENDED))


class TaskStatus(StrEnum):
    """Where a human task stands; ``open`` in a filter means ready or claimed."""

    READY = "ready"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_TASK_STATUSES = (TaskStatus.READY, TaskStatus.CLAIMED)


class CandidateKind(StrEnum):
    """Whom a human task is offered to: a group, or one user by name."""

    GROUP = "group"
    USER = "user"


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class JobKind(StrEnum):
    """What a job row asks a worker to do."""

    ADVANCE = "advance"  # run a started (or newly stored) instance on
    COMPLETE_TASK = "complete_task"  # a person completed a user task
    MESSAGE = "message"  # a message reached a waiting catch event
    TIMER = "timer"  # an intermediate or boundary timer is due
    SERVICE_RETRY = "service_retry"  # call a failed service task's operation again
    RETRY_INCIDENT = "retry_incident"  # an administrator retried an incident
    MOVE_TOKEN = "move_token"  # an administrator moved the token back
    START_TIMER = "start_timer"  # a timer start event is due: start a new instance
    SIGNAL = "signal"  # a signal reached a waiting catch event
    CALL_ENDED = "call_ended"  # the instance a call activity started has ended
    CALL_ESCALATED = "call_escalated"  # … or threw an escalation it did not catch itself
    TASK_ASSIGNED = "task_assigned"  # a user task was claimed: run its assignment listeners
    HISTORY_CLEANUP = "history_cleanup"  # remove ended instances past their time-to-live
    EXTERNAL_TASK = "external_task"  # a worker completed an external task, or reported on it
    SET_VARIABLES = "set_variables"  # an administrator set or removed instance variables
    MIGRATION_BATCH = "migration_batch"  # migrate a chunk of a batch's instances
    TEST_RUN = "test_run"  # run a definition's stored tests (the console's "Run tests")


class TestRunStatus(StrEnum):
    """Where a run of a definition's tests stands."""

    __test__ = False

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"  # every file ran (or could not be read): the results say how
    STOPPED = "stopped"  # a limit ended it, or its worker died every time: ``error`` says


class ReportKind(StrEnum):
    """What a stored report is a report of; each kind has its own shape of files."""

    RECONCILIATION = "reconciliation"  # one reconciliation run: differences, repairs, conflicts
    SALES = "sales"
    INVENTORY = "inventory"
    CUSTOMER = "customer"


class ReportStatus(StrEnum):
    """A stored report is written whole (``complete``) or not at all; ``empty``: no data."""

    COMPLETE = "complete"
    EMPTY = "empty"


class SubscriptionKind(StrEnum):
    """What a subscription waits for: a message reaches one catch, a signal every one."""

    MESSAGE = "message"
    SIGNAL = "signal"


class Scope(StrEnum):
    """What a service account's API key may do; each REST route needs one of these."""

    PROCESSES_START = "processes:start"  # start instances, evaluate decisions, read them
    MESSAGES_SEND = "messages:send"  # correlate messages, broadcast signals
    WEBHOOKS = "webhooks"  # reserved for webhook management; /webhooks/crm is HMAC-signed
    TASKS_READ = "tasks:read"  # list and show human tasks
    TASKS_ACT = "tasks:act"  # claim, unclaim, complete tasks for a named person
    ADMIN = "admin"  # instances, incidents, repairs, audit events
    DEPLOY = "deploy"  # deploy BPMN and DMN
    EXTERNAL_TASKS = "external-tasks"  # fetch, lock and complete external tasks (workers)
    REPORTS_READ = "reports:read"  # list stored reports, download their files, read figures


# What keys made before scopes existed were given (migration 0006): everything they did
# day to day, but not changing what runs nor repairing instances.
LEGACY_KEY_SCOPES = (Scope.PROCESSES_START, Scope.MESSAGES_SEND, Scope.WEBHOOKS,
                     Scope.TASKS_READ, Scope.TASKS_ACT)
# A person's own token: read and work their tasks, as themself only.
PERSONAL_TOKEN_SCOPES = (Scope.TASKS_READ, Scope.TASKS_ACT)
