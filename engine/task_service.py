"""TaskService: what people do with the user tasks an instance waits on."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.orm import Session

from . import jobs, task_queries, users
from .advance import Advance
from .bpmn.dialects import ASSIGNMENT
from .core import Core
from .errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from .figures import Figure, figures_of
from .forms import validate_submission
from .inline_start import INSERT_EVENTS
from .instances import check_variables
from .models import Event, HumanTask, Instance, User, utcnow
from .paging import Page
from .sqlite_writer import DriverTransaction
from .task_queries import Queue, Show, Sort
from .task_statements import (
    FOR_ACTION,
    FOR_ACTION_LOCKED,
    FOR_CLAIM,
    FOR_CLAIM_LOCKED,
    FOR_COMPLETION,
    WRITE_CLAIM,
    WRITE_COMPLETION,
    part,
)
from .vocabulary import OPEN_TASK_STATUSES, CandidateKind, JobKind, TaskStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

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
                   instance_id: str | None = None, visible_to: User | None = None,
                   element_id: str | None = None, business_key: str | None = None,
                   candidate_user: str | None = None, unassigned: bool = False,
                   page: int = 1, per_page: int = 50, offset: int | None = None) -> Page:
        """Tasks matching every filter given (open ones unless ``status`` says otherwise);
        with ``visible_to``, only those that person sees in the inbox.

        ``candidate_user``: tasks that person is a candidate for, by name or by group;
        ``unassigned``: only tasks nobody has claimed; ``offset``: from that row on instead
        of from ``page``. The database filters, counts and pages (soonest due first).
        """
        if visible_to is not None and visible_to.role != "admin" and not (
                status or instance_id or element_id or business_key or candidate_group
                or candidate_user):
            # the inbox's question: answered from the candidate rows' keys alone
            return task_queries.visible_page(
                self.db, visible_to, process_key=process_key, assignee=assignee,
                unassigned=unassigned, page=page, per_page=per_page, offset=offset)
        with self.db.read() as s:
            query = select(HumanTask)
            if status:
                query = query.where(HumanTask.status == status)
            else:
                query = query.where(task_queries.is_open_task())
            if assignee:
                query = query.where(HumanTask.assignee == assignee)
            if process_key:
                query = query.where(HumanTask.process_key == process_key)
            if instance_id:
                query = query.where(HumanTask.instance_id == instance_id)
            if element_id:
                query = query.where(HumanTask.element_id == element_id)
            if business_key:
                query = query.where(HumanTask.business_key == business_key)
            if unassigned:
                query = query.where(HumanTask.assignee.is_(None))
            open_only = not status or status in OPEN_TASK_STATUSES
            if candidate_group:
                query = query.where(users.offered_to(CandidateKind.GROUP, [candidate_group],
                                                     open_only))
            if candidate_user:
                candidate = s.scalar(select(User).where(User.name == candidate_user))
                groups = list(candidate.groups or []) if candidate is not None else []
                query = query.where(or_(
                    users.offered_to(CandidateKind.USER, [candidate_user], open_only),
                    users.offered_to(CandidateKind.GROUP, groups, open_only)))
            if visible_to is not None:
                query = query.where(users.may_see_task(visible_to, open_only=open_only))
            start = (page - 1) * per_page if offset is None else offset
            by_candidates = bool(candidate_group or candidate_user or visible_to is not None)
            if per_page and by_candidates:  # count beside the page: the probes once
                rows, total = task_queries.counted_page(s, query, task_queries.DUE_ORDER,
                                                        start, per_page)
            else:  # an index counts the rest alone, and the page stops at its end
                total = s.scalar(query.with_only_columns(func.count(),
                                                         maintain_column_froms=True)) or 0
                rows = task_queries.page_of(s, query, task_queries.DUE_ORDER, start,
                                            per_page) if per_page else []
        return Page(rows, int(total), page, per_page)

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
        return task_queries.task_queue(self.db, user,
                                       process_key=process_key, show=show, overdue=overdue,
                                       sort=sort, page=page, per_page=per_page)

    def figures(self, task: HumanTask, variables: dict[str, Any]) -> list[Figure]:
        """The figures the task's form declares, worked out from ``variables`` (pass the
        variables as the viewer may see them: a masked value stays masked)."""
        return figures_of(task.form, variables, self._core.sandbox)

    def history(self, task: HumanTask) -> list[Event]:
        """The audit events about one task (its history and its comments), oldest first."""
        return task_queries.task_events(self.db, task)

    def add_comment(self, task_id: str, author: str, text: str, *,
                    via: str | None = None) -> Event:
        """Record a comment on a task in the audit trail; only who may act on it may."""
        _require_user(author)
        with self._refusals_audited("comment", task_id, author, via):
            with self.db.read() as s:
                row = s.get(HumanTask, task_id)
                if row is None:
                    raise NotFoundError(f"no task with id '{task_id}'", {"id": task_id})
                users.acting_person(s, author, row)
        return task_queries.add_comment(self.db, task_id, author, text, via=via)

    def check_submission(self, task: HumanTask, data: Any) -> dict[str, Any]:
        """The form data as the task's form accepts it; ``InvalidInputError`` otherwise."""
        return validate_submission(task.form, data)

    @contextmanager
    def _refusals_audited(self, action: str, task_id: str, user: str,
                          via: str | None) -> Iterator[None]:
        """Record a refused task action in the audit trail (after its rollback), then raise."""
        try:
            yield
        except ForbiddenError as exc:
            log.warning("refused to %s task %s as %s (%s): %s", action, task_id, user,
                        via or "direct", exc.message, extra={"task_id": task_id})
            users.audit(self.db, "access_denied", user, action=f"task.{action}",
                        task_id=task_id, via=via, reason=exc.message)
            raise

    def _act(self, action: str, task_id: str, user: str, via: str | None,
             body: Callable[[Session], T]) -> T:
        with self._refusals_audited(action, task_id, user, via), self.db.write() as s:
            return body(s)

    def _open_task_for(self, s: Session, task_id: str, user: str) -> tuple[HumanTask, str]:
        """Load a task that ``user`` may act on, locked, and its instance's definition id;
        refuse done or foreign-claimed ones. One statement reads the task and the person."""
        found = s.execute(FOR_ACTION_LOCKED if self.db.is_postgres else FOR_ACTION,
                          {"task_id": task_id, "user": user}).first()
        if found is None:
            raise NotFoundError(f"no task with id '{task_id}'")
        row, person, definition_id = found
        _check_open(row, user, person)
        return row, definition_id

    def claim(self, task_id: str, user: str, *, via: str | None = None) -> HumanTask:
        """Take the task: it is then ``user``'s until completed or unclaimed.

        ``user`` must be an active person who is a candidate (or an admin); ``via`` names
        the credential acting for them (``api-key:<account>``) in the audit trail.
        """
        _require_user(user)
        done = self._claim_plain(task_id, user, via)
        if done is not None:
            return done

        def claim_it(s: Session) -> HumanTask:
            row, definition_id = self._open_task_for(s, task_id, user)
            if row.assignee != user:
                row.assignee, row.status, row.claimed_at = user, TaskStatus.CLAIMED, utcnow()
                s.add(Event(instance_id=row.instance_id, type="task_claimed",
                            element_id=row.element_id, actor=user,
                            data=_with_via({"task_id": row.id}, via)))
                self._assigned(s, row, definition_id)
            return row
        # the row as written (the session keeps it readable after the commit): no re-read
        return self._act("claim", task_id, user, via, claim_it)

    def _claim_plain(self, task_id: str, user: str, via: str | None) -> HumanTask | None:
        """``claim`` in one transaction of prepared statements (the read, the task's update,
        its event); None when the task's element has assignment listeners, whose job the
        session path writes (nothing was written then)."""
        db = self.db
        with self._refusals_audited("claim", task_id, user, via), \
                db.write_plain() as connection:
            found = (FOR_CLAIM_LOCKED if db.is_postgres else FOR_CLAIM).fetch(
                connection, {"task_id": task_id, "user": user})
            row = part(found[0], "t_", HumanTask) if found else None
            if row is None:
                raise NotFoundError(f"no task with id '{task_id}'")
            _check_open(row, user, part(found[0], "u_", User))
            if row.assignee == user:
                return row
            if self._listens_to_assignment(found[0]["definition_id"], row):
                return None
            now = utcnow()
            WRITE_CLAIM.execute(connection, [{"task_id": task_id, "user": user, "now": now}])
            INSERT_EVENTS.execute(connection, [{
                "instance_id": row.instance_id, "type": "task_claimed",
                "element_id": row.element_id, "actor": user,
                "data": _with_via({"task_id": row.id}, via), "created_at": now}])
        row.assignee, row.status, row.claimed_at = user, TaskStatus.CLAIMED, now
        return row

    def _assigned(self, s: Session, row: HumanTask, definition_id: str) -> None:
        """A job runs the task's assignment listeners, if its element has any."""
        if self._listens_to_assignment(definition_id, row):
            jobs.enqueue(s, JobKind.TASK_ASSIGNED, row.instance_id,
                         {"human_task_id": row.id, "assignee": row.assignee})

    def _listens_to_assignment(self, definition_id: str, row: HumanTask) -> bool:
        spec, _ = self._core.definitions.spec_for(str(definition_id))
        return f"{row.element_id}{ASSIGNMENT}" in (getattr(spec, "bf_listeners", None) or {})

    def unclaim(self, task_id: str, user: str, *, via: str | None = None) -> HumanTask:
        """Give a claimed task back to its candidate groups (its assignee or an admin may)."""
        _require_user(user)

        def unclaim_it(s: Session) -> None:
            row = s.get(HumanTask, task_id, with_for_update=self.db.is_postgres)
            if row is None:
                raise NotFoundError(f"no task with id '{task_id}'")
            if row.status != TaskStatus.CLAIMED:
                raise ConflictError(f"the task is {row.status}, not claimed",
                                    {"status": row.status})
            users.acting_person(s, user, row, owner_only=True)
            previous = row.assignee
            row.assignee, row.status, row.claimed_at = None, TaskStatus.READY, None
            s.add(Event(instance_id=row.instance_id, type="task_unclaimed",
                        element_id=row.element_id, actor=user,
                        data=_with_via({"task_id": row.id, "previous_assignee": previous},
                                       via)))
        self._act("unclaim", task_id, user, via, unclaim_it)
        return self.task(task_id)

    def complete(self, task_id: str, user: str, variables: Any = None,
                 wait: float = 0.0, *, via: str | None = None) -> HumanTask:
        """Complete a task with the form's data; the instance moves on in a worker, or here
        with ``wait`` (at once when nothing else holds it, else by its job).

        ``user`` must be an active person who is a candidate or the assignee (or an admin).
        """
        _require_user(user)
        if wait > 0:
            deadline = time.monotonic() + wait
            done = self._complete_inline(task_id, user, variables, via)
            if done is not None:
                row, adv = done
                if adv.calls_pending or adv.called:  # a service call or a called instance
                    self._core.wait_for(row.instance_id,
                                        max(0.0, deadline - time.monotonic()))
                return row
        row, job_id = self._act("complete", task_id, user, via,
                                lambda s: self._complete(s, task_id, user, variables, via))
        if wait > 0:
            self._core.run_now(job_id)
            self._core.wait_for(row.instance_id, wait)
        # the row as written (the job path never changes a completed task's row): no re-read
        return row

    def _complete_inline(self, task_id: str, user: str, variables: Any,
                         via: str | None) -> tuple[HumanTask, Advance] | None:
        """Complete the task and advance its instance here, in one write transaction.

        ``None`` when the instance is busy (a worker holds it, a job of its is due, it is
        not waiting) or moved meanwhile: then nothing was written and the job path runs.
        """
        now = utcnow()
        with self._refusals_audited("complete", task_id, user, via), \
                self.db.read_plain() as connection:
            found = FOR_COMPLETION.fetch(connection, {"task_id": task_id, "user": user,
                                                      "now": now})
            if not found:
                raise NotFoundError(f"no task with id '{task_id}'")
            row, person, instance = (part(found[0], "t_", HumanTask),
                                     part(found[0], "u_", User), part(found[0], "i_", Instance))
            if row is None:
                raise NotFoundError(f"no task with id '{task_id}'")
            busy = bool(found[0]["busy"])
            _check_open(row, user, person)
            data = validate_submission(row.form, {} if variables is None else variables)
            check_variables(data)
            inst = None if instance is None else \
                self._core.executor.snapshot_if_waiting(instance, busy, now)
        if inst is None:
            return None
        now = utcnow()
        row.status, row.assignee, row.completed_by = TaskStatus.COMPLETED, user, user
        row.completed_at, row.completion_data = now, data

        def write_completion(connection: Connection | DriverTransaction) -> None:
            if not WRITE_COMPLETION.execute(connection, [{
                    "b_task_id": task_id, "b_user": user, "b_now": now, "b_data": data}]):
                raise ConflictError("the task was completed by someone else just now")

        adv = self._core.executor.complete_inline(
            inst, row, data, _with_via({"task_id": task_id, "fields": sorted(data)}, via),
            write_completion)
        return None if adv is None else (row, adv)

    def _complete(self, s: Session, task_id: str, user: str, variables: Any,
                  via: str | None) -> tuple[HumanTask, int]:
        """Complete the task in ``s``; return it and the job that moves its instance on."""
        row, _ = self._open_task_for(s, task_id, user)
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
                    data=_with_via({"task_id": task_id, "fields": sorted(data)}, via)))
        s.flush()
        return row, job.id


def _check_open(row: HumanTask, user: str, person: User | None) -> None:
    """Refuse ``person`` (the row of ``user``) if they may not act on the task, and a done
    or foreign-claimed task."""
    users.check_acting(person, user, row)
    if row.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
        raise ConflictError(f"the task is already {row.status}", {"status": row.status})
    if row.assignee and row.assignee != user:
        raise ConflictError(f"the task is claimed by {row.assignee}",
                            {"assignee": row.assignee})


def _with_via(data: dict[str, Any], via: str | None) -> dict[str, Any]:
    return {**data, "via": via} if via else data


def _require_user(user: Any) -> None:
    if not isinstance(user, str) or not user.strip():
        raise InvalidInputError("user is required", {"fields": {"user": "is required"}})
