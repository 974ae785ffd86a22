"""What the review inbox asks about human tasks: a person's queue, its counts, comments, history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from .db import Database
from .errors import InvalidInputError, NotFoundError
from .models import Event, HumanTask, utcnow
from .paging import Page
from .vocabulary import OPEN_TASK_STATUSES

OPEN = OPEN_TASK_STATUSES
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


def task_queue(db: Database, user: str, visible: Callable[[HumanTask], bool], *,
               process_key: str | None = None, show: Show = "all", overdue: bool = False,
               sort: Sort = "due", page: int = 1, per_page: int = 50,
               now: datetime | None = None) -> Queue:
    """Return the open tasks ``visible`` lets ``user`` see, filtered, sorted and paged.

    Who may see a task is the caller's rule (groups, roles); it is applied before counting,
    so the counts never reveal tasks the person may not see.
    """
    now = now or utcnow()
    with db.read() as s:
        rows = [r for r in s.scalars(select(HumanTask).where(HumanTask.status.in_(OPEN)))
                if visible(r)]
    processes = sorted({r.process_key for r in rows})
    if process_key:
        rows = [r for r in rows if r.process_key == process_key]
    counts = {"all": len(rows),
              "mine": sum(1 for r in rows if r.assignee == user),
              "unclaimed": sum(1 for r in rows if r.assignee is None),
              "overdue": sum(1 for r in rows if is_overdue(r, now))}
    if show == "mine":
        rows = [r for r in rows if r.assignee == user]
    elif show == "unclaimed":
        rows = [r for r in rows if r.assignee is None]
    if overdue:
        rows = [r for r in rows if is_overdue(r, now)]
    rows.sort(key=_sort_key(sort))
    start = (page - 1) * per_page
    return Queue(Page(rows[start:start + per_page], len(rows), page, per_page), counts,
                 processes)


def is_overdue(task: HumanTask, now: datetime | None = None) -> bool:
    """Tell whether an open task is past its due date."""
    return (task.status in OPEN and task.due_at is not None
            and task.due_at < (now or utcnow()))


def _sort_key(sort: Sort) -> Callable[[HumanTask], tuple[object, ...]]:
    if sort == "priority":  # the highest priority first, then the oldest
        return lambda t: (-(t.priority or 0), t.created_at)
    if sort == "age":  # the oldest first
        return lambda t: (t.created_at, t.id)
    # the soonest due first; tasks without a due date last, oldest first among them
    return lambda t: (t.due_at is None, t.due_at or t.created_at, t.created_at)


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
