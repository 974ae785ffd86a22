"""A task completion with ``wait``: advance the waiting instance in memory, write it once.

Used for an instance nothing else holds; it is written only if it is still as read, and
otherwise the completion takes the job path (``executor``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .advance import Advance, Snapshot, snapshot_of, task_about
from .bpmn.runtime import WorkflowRunner
from .drive import AdvanceDriver
from .errors import ConflictError, StaleStateError, StateFormatError
from .models import HumanTask, Instance, utcnow
from .vocabulary import InstanceStatus, JobKind

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
                        write_completion: Callable[[Session], None]) -> Advance | None:
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
