"""Human-task actions of the engine: list, claim, unclaim, complete (mixed into Engine)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import jobs
from .errors import ConflictError, InvalidInputError, NotFoundError
from .forms import validate_submission
from .instances import check_variables
from .models import Event, HumanTask, utcnow
from .paging import EnginePart, Page


class TaskActions(EnginePart):
    """What people do with the user tasks an instance waits on."""

    def task(self, task_id: str) -> HumanTask:
        with self.db.read() as s:
            row = s.get(HumanTask, task_id)
        if row is None:
            raise NotFoundError(f"no task with id '{task_id}'", {"id": task_id})
        return row

    def list_tasks(self, *, candidate_group: str | None = None, assignee: str | None = None,
                   status: str | None = None, process_key: str | None = None,
                   instance_id: str | None = None, page: int = 1, per_page: int = 50) -> Page:
        with self.db.read() as s:
            query = select(HumanTask)
            if status:
                query = query.where(HumanTask.status == status)
            else:
                query = query.where(HumanTask.status.in_(("ready", "claimed")))
            if assignee:
                query = query.where(HumanTask.assignee == assignee)
            if process_key:
                query = query.where(HumanTask.process_key == process_key)
            if instance_id:
                query = query.where(HumanTask.instance_id == instance_id)
            rows = list(s.scalars(query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at,
                                                 HumanTask.created_at)))
        if candidate_group:
            rows = [r for r in rows if candidate_group in (r.candidate_groups or [])]
        start = (page - 1) * per_page
        return Page(rows[start:start + per_page], len(rows), page, per_page)

    def _open_task_for(self, s: Session, task_id: str, user: str) -> HumanTask:
        """Load a task that ``user`` may act on, locked; refuse done or foreign-claimed ones."""
        row = s.get(HumanTask, task_id, with_for_update=self.db.is_postgres)
        if row is None:
            raise NotFoundError(f"no task with id '{task_id}'")
        if row.status in ("completed", "cancelled"):
            raise ConflictError(f"the task is already {row.status}", {"status": row.status})
        if row.assignee and row.assignee != user:
            raise ConflictError(f"the task is claimed by {row.assignee}",
                                {"assignee": row.assignee})
        return row

    def claim(self, task_id: str, user: str) -> HumanTask:
        _require_user(user)
        with self.db.write() as s:
            row = self._open_task_for(s, task_id, user)
            if row.assignee != user:
                row.assignee, row.status, row.claimed_at = user, "claimed", utcnow()
                s.add(Event(instance_id=row.instance_id, type="task_claimed",
                            element_id=row.element_id, actor=user, data={"task_id": row.id}))
        return self.task(task_id)

    def unclaim(self, task_id: str, user: str | None = None) -> HumanTask:
        with self.db.write() as s:
            row = s.get(HumanTask, task_id, with_for_update=self.db.is_postgres)
            if row is None:
                raise NotFoundError(f"no task with id '{task_id}'")
            if row.status != "claimed":
                raise ConflictError(f"the task is {row.status}, not claimed",
                                    {"status": row.status})
            previous = row.assignee
            row.assignee, row.status, row.claimed_at = None, "ready", None
            s.add(Event(instance_id=row.instance_id, type="task_unclaimed",
                        element_id=row.element_id, actor=user or previous,
                        data={"task_id": row.id, "previous_assignee": previous}))
        return self.task(task_id)

    def complete(self, task_id: str, user: str, variables: Any = None,
                 wait: float = 0.0) -> HumanTask:
        """Complete a task with the form's data; the instance moves on in a worker."""
        _require_user(user)
        with self.db.write() as s:
            row = self._open_task_for(s, task_id, user)
            data = validate_submission(row.form, {} if variables is None else variables)
            check_variables(data)
            result = s.execute(update(HumanTask).where(
                HumanTask.id == task_id, HumanTask.status.in_(("ready", "claimed")))
                .values(status="completed", assignee=user, completed_by=user,
                        completed_at=utcnow(), completion_data=data))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise ConflictError("the task was completed by someone else just now")
            job = jobs.enqueue(s, "complete_task", row.instance_id, {"human_task_id": task_id})
            s.add(Event(instance_id=row.instance_id, type="task_completed",
                        element_id=row.element_id, actor=user,
                        data={"task_id": task_id, "fields": sorted(data)}))
            s.flush()
            job_id, instance_id = job.id, row.instance_id
        if wait > 0:
            self.run_now(job_id)
            self.wait_for(instance_id, wait)
        return self.task(task_id)


def _require_user(user: Any) -> None:
    if not isinstance(user, str) or not user.strip():
        raise InvalidInputError("user is required", {"fields": {"user": "is required"}})
