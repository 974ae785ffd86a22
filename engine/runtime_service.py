"""RuntimeService: start instances, read them, send messages and inbound events to them."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, literal, select
from sqlalchemy.orm import Session

from . import archived, messages, signals
from .advance import HUMAN_TASKS, INSTANCES
from .bpmn.serializer import to_json_value
from .core import Core
from .errors import ConflictError, InvalidInputError, NotFoundError, StaleStateError
from .inbound import InboundOutcome, accept_event
from .instances import check_business_key, check_start, check_variables, create_instance
from .messages import MessageResult
from .models import HumanTask, Incident, Instance
from .paging import Page
from .prepared import Prepared, written_row
from .reporting import search_instances
from .vocabulary import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    OPEN_TASK_STATUSES,
    IncidentStatus,
    InstanceStatus,
)


class InstanceDetail(NamedTuple):
    """An instance as a caller looking for its next step sees it (its stored workflow state
    is not loaded: ``instance.state`` is not readable)."""

    instance: Instance
    called_instances: list[Instance]
    open_tasks: list[HumanTask]
    open_incidents: list[Incident]


class RuntimeService:
    """What systems and people do to running processes (Camunda's RuntimeService)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def start(self, process_key: str, business_key: str | None = None,
              variables: Any = None, started_by: str | None = None,
              wait: float = 0.0) -> Instance:
        """Start an instance; with ``wait``, run it now and answer once it waits or ends."""
        if not isinstance(process_key, str) or not process_key:
            raise InvalidInputError("process_key is required",
                                    {"fields": {"process_key": "is required"}})
        if wait > 0:
            return self._start_and_wait(process_key, business_key, variables, started_by, wait)
        core = self._core
        with core.db.write() as s:
            instance, _ = create_instance(s, core.definitions, process_key, business_key,
                                          variables, started_by)
            instance_id = instance.id
        return core.instance(instance_id)

    def _start_and_wait(self, process_key: str, business_key: str | None, variables: Any,
                        started_by: str | None, wait: float) -> Instance:
        core = self._core
        deadline = time.monotonic() + wait
        data = check_variables(variables)
        check_business_key(business_key)
        definition = core.definitions.remembered_latest(process_key)
        for _ in range(3):
            if definition is None:
                with core.db.read() as s:
                    definition = core.definitions.latest_process(s, process_key)
            # the version's start form is read once and kept: no read per start
            data = check_start(None, core.definitions, definition, data)
            try:
                row, job_id = core.executor.start_inline(definition, business_key, data,
                                                         started_by)
                break
            except StaleStateError:  # a newer version was deployed meanwhile: start on it
                definition = None
        else:
            raise ConflictError(f"{process_key} kept being redeployed; try again")
        if job_id is not None:
            core.run_now(job_id)
            return core.wait_for(row.id, max(0.0, deadline - time.monotonic()))
        return row

    def instance(self, instance_id: str) -> Instance:
        """One instance; ``NotFoundError`` when there is none with that id."""
        return self._core.instance(instance_id)

    def instance_detail(self, instance_id: str) -> InstanceDetail:
        """The instance with the instances it called, its open tasks and open incidents, read
        in one transaction; ``NotFoundError`` when there is none with that id."""
        # a live instance (the API reads one for every next step it looks for): prepared
        # statements made into detached objects; the ORM's loading cost more than the SQL
        with self._core.db.read_plain() as connection:
            found = _INSTANCE.fetch(connection, {"id": instance_id})
            if found and found[0]["status"] not in FINAL_STATUSES:
                # a live instance's called ones are in the live table (ended ones too): only
                # an ended instance's may have been archived
                return InstanceDetail(
                    written_row(Instance, found[0]),
                    [written_row(Instance, r)
                     for r in _CALLED.fetch(connection, {"id": instance_id})],
                    [written_row(HumanTask, r)
                     for r in _OPEN_TASKS.fetch(connection, {"id": instance_id})],
                    [written_row(Incident, r)
                     for r in _OPEN_INCIDENTS.fetch(connection, {"id": instance_id})])
        # ended: what it called may be archived (and it too, if it was not found)
        row = written_row(Instance, found[0]) if found else None
        with self._core.db.read() as s:
            connection = s.connection()
            if row is None:
                row = archived.find(s, instance_id, live=False)
            if row is None:
                raise NotFoundError(f"no process instance with id '{instance_id}'",
                                    {"id": instance_id})
            called = _called(s, instance_id, False, row.status in FINAL_STATUSES)
            tasks = [written_row(HumanTask, r._mapping)
                     for r in connection.execute(_OPEN_TASKS.statement, {"id": instance_id})]
            incidents = [written_row(Incident, r._mapping) for r in connection.execute(
                _OPEN_INCIDENTS.statement, {"id": instance_id})]
        return InstanceDetail(row, called, tasks, incidents)

    def wait_for(self, instance_id: str, timeout: float) -> Instance:
        """The instance once it stops running (waits, ends, or fails), or after ``timeout``."""
        return self._core.wait_for(instance_id, timeout)

    def called_instances(self, instance_id: str, live_only: bool = True) -> list[Instance]:
        """The instances ``instance_id``'s call activities started (live ones unless told
        otherwise), oldest first."""
        with self._core.db.read() as s:
            return _called(s, instance_id, live_only, not live_only)

    def list_instances(self, *, status: str | None = None, process_key: str | None = None,
                       business_key: str | None = None, parent_instance_id: str | None = None,
                       page: int = 1, per_page: int = 50,
                       statuses: Sequence[str] | None = None, ids: Sequence[str] | None = None,
                       offset: int | None = None) -> Page:
        """Instances matching every filter given, newest first (``parent_instance_id``: the
        instances that one called; ``statuses``, ``ids``: any of these; ``offset``: from
        that row on instead of from ``page``)."""
        return search_instances(self._core.db, status=status, process_key=process_key,
                                business_key=business_key,
                                parent_instance_id=parent_instance_id, page=page,
                                per_page=per_page, statuses=statuses, ids=ids, offset=offset)

    def send_message(self, name: str, business_key: str | None = None,
                     correlation_keys: Mapping[str, Any] | None = None,
                     variables: Any = None, all_: bool = False,
                     sender: str | None = None, wait: float = 0.0) -> MessageResult:
        """Deliver a message to the instance waiting for it, or start the process it starts;
        with ``wait``, run them on now until they wait again (at most ``wait`` seconds).

        Correlation keys match the instances' variables as stored (dates as ISO text)."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name is required", {"fields": {"name": "is required"}})
        if correlation_keys is not None and not isinstance(correlation_keys, dict):
            raise InvalidInputError("correlation_keys must be an object",
                                    {"fields": {"correlation_keys": "must be an object"}})
        data = check_variables(variables)
        keys = to_json_value(correlation_keys) if correlation_keys is not None else None
        core = self._core
        with core.db.write() as s:
            result = messages.deliver(s, core.definitions, name, business_key, keys,
                                      data, all_=all_, sender=sender)
        if wait > 0:
            core.run_due([*result.delivered_to, *result.started], wait)
        return result

    def send_signal(self, name: str, variables: Any = None,
                    sender: str | None = None, wait: float = 0.0) -> MessageResult:
        """Broadcast a signal: every catch waiting for it, every process it starts; with
        ``wait``, run them on now until they wait again (at most ``wait`` seconds).

        A signal nobody waits for is no error (as in Camunda): the result is then empty.
        """
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name is required", {"fields": {"name": "is required"}})
        data = check_variables(variables)
        core = self._core
        with core.db.write() as s:
            result = signals.broadcast(s, core.definitions, name, data, sender=sender)
        if wait > 0:
            core.run_due([*result.delivered_to, *result.started], wait)
        return result

    def accept_event(self, *, source: str, event_id: str, event_type: str, record_id: str,
                     variables: dict[str, Any]) -> InboundOutcome:
        """Record an outside system's event and deliver it once per event id (webhooks)."""
        return accept_event(self._core.db, self._core.definitions, source=source,
                            event_id=event_id, event_type=event_type, record_id=record_id,
                            variables=variables)


def _called(s: Session, instance_id: str, live_only: bool, read_archive: bool,
            ) -> list[Instance]:
    """The instances ``instance_id`` called, oldest first: live ones, or the ended ones too
    (``read_archive``: and the archived ones); the workflow state is not loaded."""
    query = select(*_NO_STATE).where(INSTANCES.c.parent_instance_id == instance_id)
    if live_only:
        query = query.where(INSTANCES.c.status.in_((*LIVE_STATUSES, InstanceStatus.SUSPENDED)))
    rows = [written_row(Instance, r._mapping) for r in s.connection().execute(
        query.order_by(INSTANCES.c.created_at, INSTANCES.c.id))]
    if not read_archive:
        return rows
    old = archived.HISTORY
    rows += [archived.detached(r) for r in s.execute(
        select(*[old.c[n] for n in archived.COLUMNS if n != "state"])
        .where(old.c.parent_instance_id == instance_id))]
    return sorted(rows, key=lambda r: (r.created_at, r.id))


INCIDENTS = cast(Table, Incident.__table__)
# an instance's columns but its stored workflow state (large, and never shown)
_NO_STATE = [column for column in INSTANCES.c if column.name != "state"]
_INSTANCE = Prepared(select(*_NO_STATE).where(INSTANCES.c.id == bindparam("id")))
# every instance it called that is still in the live table, ended ones too
_CALLED = Prepared(select(*_NO_STATE).where(INSTANCES.c.parent_instance_id == bindparam("id"))
                   .order_by(INSTANCES.c.created_at, INSTANCES.c.id))
_OPEN_TASKS = Prepared(select(HUMAN_TASKS).where(
    HUMAN_TASKS.c.instance_id == bindparam("id"),
    HUMAN_TASKS.c.status.in_([literal(s) for s in OPEN_TASK_STATUSES])))
_OPEN_INCIDENTS = Prepared(select(INCIDENTS).where(
    INCIDENTS.c.instance_id == bindparam("id"), INCIDENTS.c.status == IncidentStatus.OPEN,
).order_by(INCIDENTS.c.created_at))
