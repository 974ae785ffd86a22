"""A start with ``wait``: advance a new instance in memory, then write it in one go.

Nobody can see the instance before it is written, so it needs no lease and no job unless
the run stops before a service call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, bindparam

from . import jobs
from .advance import EVENT_COLUMNS, EVENTS, INSTANCES, Advance, Snapshot
from .bpmn.runtime import WorkflowRunner
from .definitions import DefinitionRef, newest_version_is
from .drive import AdvanceDriver
from .errors import StaleStateError
from .humantasks import assignment_values, insert_tasks, is_expression, new_tasks
from .models import Instance, new_id, utcnow
from .prepared import PreparedInsert, written_row
from .vocabulary import InstanceStatus, JobKind


class InlineStart(AdvanceDriver):
    """Starts an instance and advances it at once (``start_inline``)."""

    def start_inline(self, definition: DefinitionRef, business_key: str | None,
                     variables: dict[str, Any],
                     started_by: str | None) -> tuple[Instance, int | None]:
        """Start a new instance and advance it in memory, then write it in one transaction.

        Nobody else can see an instance before it is written, so no lease is needed. The run
        stops before the first service call (an external side effect must never happen for
        an instance that is not yet stored): then the instance is written as ``running``
        with an ``advance`` job, whose id is returned for the caller (or any worker) to run.
        Returns the stored row (detached) and that job id, if any. ``StaleStateError``:
        ``definition`` is no longer the latest version; nothing was written.
        """
        inst = Snapshot(new_id(), definition.id, definition.key, business_key,
                        InstanceStatus.RUNNING, None, variables, 0)
        spec, subs = self.definitions.spec_for(definition.id)
        runner = WorkflowRunner.create(spec, subs, self.script_engine, variables, started_by)
        runner.choose_start("none")
        adv = Advance(inst, runner)
        adv.event("instance_created", actor=started_by, process_key=definition.key,
                  version=definition.version, business_key=business_key)
        adv.event("instance_started", variables=list(variables))
        failure = self._drive(adv, calls=False)
        if failure is not None:
            adv.failed(failure)
        adv.thrown.extend(runner.thrown_messages())
        completed = runner.completed
        status = (InstanceStatus.COMPLETED if completed else InstanceStatus.INCIDENT
                  if adv.incidents else InstanceStatus.RUNNING if adv.calls_pending
                  else InstanceStatus.WAITING)
        now = utcnow()
        values: dict[str, Any] = dict(
            id=inst.id, definition_id=definition.id, process_key=definition.key,
            version=definition.version, business_key=business_key, status=status,
            variables=runner.variables(), state=None if completed else runner.dump(),
            started_by=started_by,
            active_elements=[] if completed else runner.active_elements(), revision=1,
            created_at=now, updated_at=now, ended_at=now if completed else None)
        if completed and not (adv.incidents or adv.thrown or adv.new_jobs or runner.signals):
            # the common case of an automatic process: two plain inserts, no ORM session
            adv.event("instance_completed")
            self._insert(definition, values, [], adv.events)
            return written_row(Instance, values), None
        if not completed and only_user_tasks_wait(adv):
            # the common case of a process that waits for people: four plain inserts
            tasks = new_tasks(adv, runner.human_tasks(), self.definitions,
                              self.script_engine.sandbox, None, now)
            self._insert(definition, values, tasks, adv.events)
            return written_row(Instance, values), None
        with self.db.write() as session:
            if not self.definitions.is_latest(session, definition):
                raise StaleStateError(f"a newer version of {definition.key} was deployed")
            session.connection().execute(INSTANCES.insert(), [values])
            job = None
            if adv.calls_pending and not adv.incidents:
                job = jobs.enqueue(session, JobKind.ADVANCE, inst.id, {})
            self._write(session, adv, -1, new=True)
            if adv.incidents and not completed:  # a user task's assignment failed in _write
                values["status"] = InstanceStatus.INCIDENT
        return Instance(**values), job.id if job is not None else None

    def _insert(self, definition: DefinitionRef, instance: dict[str, Any],
                tasks: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        """Write a new instance with plain inserts, no ORM session: its row (if its version
        is still the newest, else ``StaleStateError``), its user tasks' rows, its events."""
        with self.db.write_plain() as connection:
            if _INSERT_INSTANCE.execute(connection, [instance]) != 1:  # rolled back
                raise StaleStateError(f"a newer version of {definition.key} was deployed")
            insert_tasks(connection, tasks)
            INSERT_EVENTS.execute(connection, events)


def only_user_tasks_wait(adv: Advance) -> bool:
    """The run stopped where only user tasks wait, with nothing else to write: no message,
    signal, timer, external task or called instance, no job, no incident, and no
    assignment expression, whose failure would open one."""
    runner = adv.runner
    if (adv.incidents or adv.thrown or adv.new_jobs or adv.calls_pending or adv.called
            or adv.external_parked or runner.signals or runner.calls_processes
            or runner.waiting_messages() or runner.waiting_signals()
            or runner.waiting_timers()):
        return False
    return not any(is_expression(value) for task in runner.human_tasks()
                   for value in assignment_values(task))


# The two inserts of a start that ran to its end (the columns ``start_inline`` gives); the
# instance row only if its version is still the newest, checked in the same statement.
_INSERT_INSTANCE = PreparedInsert(INSTANCES, (
    "id", "definition_id", "process_key", "version", "business_key", "status", "variables",
    "state", "started_by", "active_elements", "revision", "created_at", "updated_at",
    "ended_at"), where=newest_version_is(bindparam("process_key", type_=String()),
                                         bindparam("version", type_=Integer())))
INSERT_EVENTS = PreparedInsert(EVENTS, EVENT_COLUMNS)
