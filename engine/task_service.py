"""TaskService: what people do with the user tasks an instance waits on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import jobs, task_queries
from .bpmn.dialects import ASSIGNMENT
from .core import Core
from .errors import ConflictError, InvalidInputError, NotFoundError
from .forms import validate_submission
from .instances import check_variables
from .models import Event, HumanTask, Instance, User, utcnow
from .paging import Page
from .task_queries import Queue, Show, Sort
from .users import can_see_task
from .vocabulary import OPEN_TASK_STATUSES, JobKind, TaskStatus


class TaskService:
    """List, claim, unclaim and complete human tasks (Camunda's TaskService)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.db = core.db

    def task(self, task_id: str) -> HumanTask:
        """One task; ``NotFoundError`` when there is none with that id."""
        with self.db.read() as s:
            row = s.get(HumanTask, task_id)
        if row is None:
            raise NotFoundError(f"no task with id '{task_id}'", {"id": task_id})
        return row

    def list_tasks(self, *, candidate_group: str | None = None, assignee: str | None = None,
                   status: str | None = None, process_key: str | None = None,
                   instance_id: str | None = None, page: int = 1, per_page: int = 50) -> Page:
        """Tasks matching every filter given (open ones unless ``status`` says otherwise)."""
        with self.db.read() as s:
            query = select(HumanTask)
            if status:
                query = query.where(HumanTask.status == status)
            else:
                query = query.where(HumanTask.status.in_(OPEN_TASK_STATUSES))
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

    def open_tasks_of(self, instance_id: str) -> list[HumanTask]:
        """The tasks an instance waits on now."""
        with self.db.read() as s:
            return list(s.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.status.in_(OPEN_TASK_STATUSES))))

    def queue(self, user: User, *, process_key: str | None = None, show: Show = "all",
              overdue: bool = False, sort: Sort = "due", page: int = 1,
              per_page: int = 50) -> Queue:
        """The open tasks ``user`` may see, filtered, sorted and paged, with the counts."""
        return task_queries.task_queue(self.db, user.name, lambda t: can_see_task(user, t),
                                       process_key=process_key, show=show, overdue=overdue,
                                       sort=sort, page=page, per_page=per_page)

    def history(self, task: HumanTask) -> list[Event]:
        """The audit events about one task (its history and its comments), oldest first."""
        return task_queries.task_events(self.db, task)

    def add_comment(self, task_id: str, author: str, text: str) -> Event:
        """Record a comment on a task in the audit trail."""
        return task_queries.add_comment(self.db, task_id, author, text)

    def check_submission(self, task: HumanTask, data: Any) -> dict[str, Any]:
        """The form data as the task's form accepts it; ``InvalidInputError`` otherwise."""
        return validate_submission(task.form, data)

    def _open_task_for(self, s: Session, task_id: str, user: str) -> HumanTask:
        """Load a task that ``user`` may act on, locked; refuse done or foreign-claimed ones."""
        row = s.get(HumanTask, task_id, with_for_update=self.db.is_postgres)
        if row is None:
            raise NotFoundError(f"no task with id '{task_id}'")
        if row.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
            raise ConflictError(f"the task is already {row.status}", {"status": row.status})
        if row.assignee and row.assignee != user:
            raise ConflictError(f"the task is claimed by {row.assignee}",
                                {"assignee": row.assignee})
        return row

    def claim(self, task_id: str, user: str) -> HumanTask:
        """Take the task: it is then ``user``'s until completed or unclaimed."""
        _require_user(user)
        with self.db.write() as s:
            row = self._open_task_for(s, task_id, user)
            if row.assignee != user:
                row.assignee, row.status, row.claimed_at = user, TaskStatus.CLAIMED, utcnow()
                s.add(Event(instance_id=row.instance_id, type="task_claimed",
                            element_id=row.element_id, actor=user, data={"task_id": row.id}))
                self._assigned(s, row)
        return self.task(task_id)

    def _assigned(self, s: Session, row: HumanTask) -> None:
        """A job runs the task's assignment listeners, if its element has any."""
        definition_id = s.scalar(select(Instance.definition_id)
                                 .where(Instance.id == row.instance_id))
        spec, _ = self._core.definitions.spec_for(str(definition_id))
        if f"{row.element_id}{ASSIGNMENT}" in (getattr(spec, "bf_listeners", None) or {}):
            jobs.enqueue(s, JobKind.TASK_ASSIGNED, row.instance_id,
                         {"human_task_id": row.id, "assignee": row.assignee})

    def unclaim(self, task_id: str, user: str | None = None) -> HumanTask:
        """Give a claimed task back to its candidate groups."""
        with self.db.write() as s:
            row = s.get(HumanTask, task_id, with_for_update=self.db.is_postgres)
            if row is None:
                raise NotFoundError(f"no task with id '{task_id}'")
            if row.status != TaskStatus.CLAIMED:
                raise ConflictError(f"the task is {row.status}, not claimed",
                                    {"status": row.status})
            previous = row.assignee
            row.assignee, row.status, row.claimed_at = None, TaskStatus.READY, None
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
                HumanTask.id == task_id, HumanTask.status.in_(OPEN_TASK_STATUSES))
                .values(status=TaskStatus.COMPLETED, assignee=user, completed_by=user,
                        completed_at=utcnow(), completion_data=data))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise ConflictError("the task was completed by someone else just now")
            job = jobs.enqueue(s, JobKind.COMPLETE_TASK, row.instance_id,
                               {"human_task_id": task_id})
            s.add(Event(instance_id=row.instance_id, type="task_completed",
                        element_id=row.element_id, actor=user,
                        data={"task_id": task_id, "fields": sorted(data)}))
            s.flush()
            job_id, instance_id = job.id, row.instance_id
        if wait > 0:
            self._core.run_now(job_id)
            self._core.wait_for(instance_id, wait)
        return self.task(task_id)


def _require_user(user: Any) -> None:
    if not isinstance(user, str) or not user.strip():
        raise InvalidInputError("user is required", {"fields": {"user": "is required"}})
