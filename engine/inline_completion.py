"""A task completion with ``wait``: advance the waiting instance in memory, write it once.

Used for an instance nothing else holds; it is written only if it is still as read, and
otherwise the completion takes the job path (``executor``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from .advance import Advance, Snapshot, snapshot_of, task_about
from .bpmn.runtime import WorkflowRunner
from .drive import AdvanceDriver, instance_update
from .errors import ConflictError, StaleStateError, StateFormatError
from .humantasks import sync_plain
from .inline_start import INSERT_EVENTS, only_user_tasks_wait
from .models import HumanTask, Instance, utcnow
from .prepared import Prepared
from .sqlite_writer import DriverTransaction
from .vocabulary import InstanceStatus, JobKind
from .waits import DROP_OTHER_JOBS

WriteCompletion = Callable[[Connection | DriverTransaction], None]

log = logging.getLogger(__name__)


class InlineCompletion(AdvanceDriver):
    """Completes a user task and advances its instance at once (``complete_inline``)."""

    @staticmethod
    def snapshot_if_waiting(row: Instance, busy: bool, now: datetime) -> Snapshot | None:
        """The instance as read if it waits and nothing else may move it now: no worker holds
        it and no job of its is due (``busy``; those go first, by the job path)."""
        if (busy or row.status != InstanceStatus.WAITING or row.state is None
                or (row.locked_until is not None and row.locked_until >= now)):
            return None
        return snapshot_of(row)

    def complete_inline(self, inst: Snapshot, task: HumanTask, data: dict[str, Any],
                        event: dict[str, Any],
                        write_completion: WriteCompletion) -> Advance | None:
        """Complete a user task and advance its instance in memory, then write the
        completion, the instance and what it waits on next in one transaction.

        As with ``start_inline``, the run stops before a service call (the instance is then
        written ``running`` with an ``advance`` job). Nothing is written until all is known,
        so a crash loses nothing that was acknowledged. ``None``: the instance moved since
        ``inst`` was read, or the advance failed in our own code; nothing was written, and
        the caller takes the job path, which handles (and reports) both.
        """
        try:
            spec, subs = self.definitions.spec_for(inst.definition_id)
            adv = Advance(inst, WorkflowRunner.restore(inst.state or b"", spec, subs,
                                                       self.script_engine))
            adv.external_before = adv.runner.external_task_ids()
            runner = adv.runner
            adv.no_event_waits_before = not (runner.waiting_messages() or
                                             runner.waiting_signals() or runner.waiting_timers())
            adv.event("task_completed", task.element_id, actor=task.completed_by, **event)
            adv.runner.complete_human_task(task.spiff_task_id, data, task_about(task))
            adv.record_steps()
            failure = self._drive(adv, calls=False)
            if failure is not None:
                adv.failed(failure)
            if adv.calls_pending and not adv.incidents:
                adv.job(JobKind.ADVANCE, {}, utcnow())
            if not self._save_plain(adv, write_completion):
                self._save(None, "inline", adv, write_completion)
        except StaleStateError:
            return None
        except (StateFormatError, LookupError) as exc:
            log.info("task %s is completed by a job instead: %s", task.id, exc,
                     extra={"instance_id": inst.id})
            return None
        except ConflictError:  # the task was completed by someone else meanwhile
            raise
        except Exception:  # noqa: BLE001 - the job path retries it and opens an incident
            log.exception("completing task %s inline failed; a job completes it", task.id,
                          extra={"instance_id": inst.id})
            return None
        return adv

    def _save_plain(self, adv: Advance, write_completion: WriteCompletion) -> bool:
        """Write the advance as ``_save`` does, with prepared statements and no ORM session
        (on SQLite on the driver), when only user tasks waited before and wait now: no
        message, signal, timer, external task, caller or called instance, job or incident,
        no assignment expression, no task reopened or reassigned. False: it is not such an
        advance, and nothing was written."""
        runner, inst = adv.runner, adv.inst
        if (inst.caller is not None or not adv.no_event_waits_before or adv.external_before
                or adv.reopened or adv.reassign):
            return False
        # (a called instance's uncaught throws are read before these: it never gets here)
        adv.thrown.extend(runner.thrown_messages())
        if not only_user_tasks_wait(adv):
            return False
        adv.record_steps()
        completed = runner.completed
        if not completed and any(t.extensions.get("form_file") for t in runner.human_tasks()):
            self.definitions.task_forms(None, inst.definition_id)  # read now, not in the write
        now = utcnow()
        values: dict[str, Any] = dict(
            state=None if completed else runner.dump(),
            status=InstanceStatus.COMPLETED if completed else InstanceStatus.WAITING,
            variables=runner.variables(), active_elements=[] if completed
            else runner.active_elements(), revision=inst.revision + 1, updated_at=now,
            locked_by=None, locked_until=None)
        if completed:
            values["ended_at"] = now
        params = {f"v_{name}": value for name, value in values.items()}
        params.update(b_id=inst.id, b_revision=inst.revision, b_status=inst.status, b_now=now)
        with self.db.write_plain() as connection:
            if not _update_inline(tuple(values)).execute(connection, [params]):
                raise StaleStateError(f"instance {inst.id} changed while it was advanced")
            write_completion(connection)
            sync_plain(connection, adv, self.definitions, self.script_engine.sandbox, now)
            if completed:  # an ended instance's other jobs go (a deadline's, say)
                _DROP_OTHER_JOBS.execute(connection, [{"instance_id": inst.id, "job_id": -1}])
                adv.event("instance_completed")
            INSERT_EVENTS.execute(connection, adv.events)
        return True


@functools.cache
def _update_inline(columns: tuple[str, ...]) -> Prepared:
    """``_save``'s inline instance UPDATE, prepared, per set of columns written."""
    return Prepared(instance_update(True, columns))


_DROP_OTHER_JOBS = Prepared(DROP_OTHER_JOBS)
