"""What the review inbox asks about human tasks: a person's queue, its counts, comments, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from .db import Database
from .errors import InvalidInputError, NotFoundError
from .models import Event, HumanTask, User, utcnow
from .paging import Page
from .users import may_see_task
from .vocabulary import OPEN_TASK_STATUSES

OPEN = OPEN_TASK_STATUSES


def is_open_task() -> ColumnElement[bool]:
    """SQL: the task is open, written out (no parameters) so that the database can use the
    partial indexes over open tasks whatever plan it caches."""
    return HumanTask.status.in_(bindparam("open_statuses", [str(s) for s in OPEN],
                                          expanding=True, literal_execute=True))
HISTORY_TYPES = ("task_created", "task_claimed", "task_unclaimed", "task_completed",
                 "task_cancelled", "task_completion_ignored")
MAX_COMMENT = 4000

Show = Literal["all", "mine", "unclaimed"]
Sort = Literal["due", "priority", "age"]


@dataclass
class Queue:
    """One page of a person's open tasks, with the counts the inbox's filters show."""

    page: Page
    counts: dict[str, int] = field(default_factory=dict)
    processes: list[str] = field(default_factory=list)


def task_queue(db: Database, user: User, *, process_key: str | None = None,
               show: Show = "all", overdue: bool = False, sort: Sort = "due", page: int = 1,
               per_page: int = 50, now: datetime | None = None) -> Queue:
    """Return the open tasks ``user`` may see, filtered, sorted and paged, with the counts.

    Who may see a task (``users.may_see_task``) is part of every query, so the counts
    never reveal tasks the person may not see. Two queries: the counts per process (which
    also give the total), and the page; the database filters, orders and cuts both.
    """
    now = now or utcnow()
    visible = select(HumanTask).where(is_open_task(),
                                      may_see_task(user, open_only=True))
    mine = HumanTask.assignee == user.name
    unclaimed = HumanTask.assignee.is_(None)
    late = HumanTask.due_at < now
    with db.read() as s:
        per_process = s.execute(visible.with_only_columns(
            HumanTask.process_key, func.count(), _how_many(mine), _how_many(unclaimed),
            _how_many(late)).group_by(HumanTask.process_key)).all()
        query = visible
        if process_key:
            query = query.where(HumanTask.process_key == process_key)
        if show == "mine":
            query = query.where(mine)
        elif show == "unclaimed":
            query = query.where(unclaimed)
        if overdue:
            query = query.where(late)
        counted = [r for r in per_process if not process_key or r[0] == process_key]
        counts = {name: sum(int(r[i] or 0) for r in counted)
                  for i, name in enumerate(("all", "mine", "unclaimed", "overdue"), start=1)}
        if overdue and show != "all":  # the one total the counts do not hold
            total = s.scalar(query.with_only_columns(func.count(),
                                                     maintain_column_froms=True)) or 0
        else:
            total = counts["overdue" if overdue else show]
        rows = page_of(s, query, ORDERS[sort], (page - 1) * per_page, per_page)
    return Queue(Page(rows, int(total), page, per_page), counts,
                 sorted(r[0] for r in per_process))


def page_of(s: Session, query: Select[Any], order: tuple[Any, ...], offset: int,
            limit: int) -> list[HumanTask]:
    """One page of ``query``: the ids first (narrow rows the open-task index covers), then
    only those tasks' whole rows (forms and all), in the same order."""
    ids = list(s.scalars(query.with_only_columns(HumanTask.id, maintain_column_froms=True)
                         .order_by(*order).offset(offset).limit(limit)))
    if not ids:
        return []
    found = {t.id: t for t in s.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _how_many(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def is_overdue(task: HumanTask, now: datetime | None = None) -> bool:
    """Tell whether an open task is past its due date."""
    return (task.status in OPEN and task.due_at is not None
            and task.due_at < (now or utcnow()))


# the soonest due first; tasks without a due date last, oldest first among them; the id
# makes the order total, so a page never repeats or skips a task
DUE_ORDER = (HumanTask.due_at.asc().nulls_last(), HumanTask.created_at, HumanTask.id)
ORDERS: dict[str, tuple[Any, ...]] = {
    "due": DUE_ORDER,
    # the highest priority first, then the oldest
    "priority": (HumanTask.priority.desc(), HumanTask.created_at, HumanTask.id),
    "age": (HumanTask.created_at, HumanTask.id),  # the oldest first
}


def add_comment(db: Database, task_id: str, author: str, text: str,
                via: str | None = None) -> Event:
    """Record a comment on a task in the audit trail, where it stays with the task."""
    text = (text or "").strip()
    if not text:
        raise InvalidInputError("write a comment first", {"fields": {"text": "is required"}})
    if len(text) > MAX_COMMENT:
        raise InvalidInputError(f"a comment has at most {MAX_COMMENT} characters",
                                {"fields": {"text": f"at most {MAX_COMMENT} characters"}})
    with db.write() as s:
        task = s.get(HumanTask, task_id)
        if task is None:
            raise NotFoundError(f"no task with id '{task_id}'", {"id": task_id})
        event = Event(instance_id=task.instance_id, type="task_comment",
                      element_id=task.element_id, actor=author,
                      data={"task_id": task_id, "text": text, **({"via": via} if via else {})})
        s.add(event)
        s.flush()
    return event


def task_events(db: Database, task: HumanTask) -> list[Event]:
    """The audit events about one task (its history and its comments), oldest first."""
    with db.read() as s:
        rows = s.scalars(select(Event).where(
            Event.instance_id == task.instance_id,
            Event.type.in_((*HISTORY_TYPES, "task_comment")))
            .order_by(Event.id))
        return [e for e in rows if (e.data or {}).get("task_id") == task.id]
