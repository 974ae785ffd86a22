"""What the review inbox asks about human tasks: a person's queue, its counts, comments, history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    case,
    false,
    func,
    null,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from .db import Database
from .errors import InvalidInputError, NotFoundError
from .models import Event, HumanTask, TaskCandidate, User, utcnow
from .paging import Page
from .vocabulary import OPEN_TASK_STATUSES, CandidateKind

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

    Who may see a task (``users.may_see_task``) is part of the query, so the counts never
    reveal tasks the person may not see. One statement finds the visible tasks once (a
    common table expression) and answers both the counts per process (which give the
    total) and the ids of the page; a second reads those tasks' rows.
    """
    now = now or utcnow()
    everyone = user.active and user.role == "admin"
    v = (select(*_keys_of(HumanTask)).where(is_open_task()) if everyone
         else visible_open(user)).cte("visible")
    mine, unclaimed, late = v.c.assignee == user.name, v.c.assignee.is_(None), v.c.due_at < now

    def wanted_of(c: Any) -> list[ColumnElement[bool]]:
        out = [c.process_key == process_key] if process_key else []
        out += [c.assignee == user.name] if show == "mine" else \
            [c.assignee.is_(None)] if show == "unclaimed" else []
        return out + ([c.due_at < now] if overdue else [])

    wanted = wanted_of(v.c)
    order = _orders(v.c)[sort]
    if everyone:  # every open task: the page walks an index
        return _everyone_queue(db, select(HumanTask).where(is_open_task(),
                                                               *wanted_of(HumanTask)),
                               _counts_of(v, mine, unclaimed, late), process_key, show,
                               overdue, sort, page, per_page)
    ids = (select(v.c.id, func.row_number().over(order_by=order).label("n"))
           .where(*wanted).order_by(*order).offset((page - 1) * per_page).limit(per_page)
           .subquery())
    none = null().cast(String)
    both = union_all(
        _counts_of(v, mine, unclaimed, late).add_columns(none, null().cast(Integer)),
        select(none, null(), null(), null(), null(), ids.c.id, ids.c.n))
    with db.read() as s:
        answer = s.execute(both).all()
        per_process = [r for r in answer if r[5] is None]
        counts = _summed(per_process, process_key)
        if overdue and show != "all":  # the one total the counts do not hold
            total = s.scalar(select(func.count()).select_from(v).where(*wanted)) or 0
        else:
            total = counts["overdue" if overdue else show]
        page_ids = [r[5] for r in sorted((r for r in answer if r[5] is not None),
                                         key=lambda r: r[6])]
        rows = _rows(s, page_ids)
    return Queue(Page(rows, int(total), page, per_page), counts,
                 sorted(r[0] for r in per_process))


def _keys_of(c: Any) -> tuple[Any, ...]:
    return (c.id, c.process_key, c.assignee, c.due_at, c.priority, c.created_at)


def visible_open(user: User) -> Any:
    """SQL: the open tasks ``user`` may see (``users.may_see_task``), with their keys.

    Read from the open candidate rows of the person's groups and name, which carry their
    task's keys (one index-only scan each, however many tasks are visible), and from the
    open tasks claimed by them; ``UNION`` counts a task offered twice once.
    """
    c = TaskCandidate
    keys = (c.task_id.label("id"), c.process_key, c.assignee, c.due_at, c.priority,
            c.created_at)
    if not user.active:
        return select(*keys).where(false())
    parts = [select(*keys).where(c.is_open, c.kind == CandidateKind.USER, c.name == user.name)]
    if user.groups:
        parts.append(select(*keys).where(c.is_open, c.kind == CandidateKind.GROUP,
                                         c.name.in_(list(user.groups))))
    parts.append(select(*_keys_of(HumanTask)).where(HumanTask.assignee == user.name,
                                                   is_open_task()))
    return union(*parts)


def visible_page(db: Database, user: User, *, process_key: str | None = None,
                 assignee: str | None = None, unassigned: bool = False, page: int = 1,
                 per_page: int = 50, offset: int | None = None) -> Page:
    """The open tasks ``user`` may see, soonest due first, and how many (one scan of their
    candidate rows for both), then the page's whole rows."""
    v = visible_open(user).subquery("visible")
    query = select(v.c.id, func.count().over())
    if process_key:
        query = query.where(v.c.process_key == process_key)
    if assignee:
        query = query.where(v.c.assignee == assignee)
    if unassigned:
        query = query.where(v.c.assignee.is_(None))
    start = (page - 1) * per_page if offset is None else offset
    with db.read() as s:
        if not per_page:
            total = s.scalar(query.with_only_columns(func.count()).select_from(v)) or 0
            return Page([], int(total), page, per_page)
        found = s.execute(query.order_by(*_orders(v.c)["due"]).offset(start)
                          .limit(per_page)).all()
        if found:
            total = int(found[0][1])
        else:
            total = (s.scalar(query.with_only_columns(func.count()).select_from(v)) or 0) \
                if start else 0
        rows = _rows(s, [r[0] for r in found])
    return Page(rows, int(total), page, per_page)


def _everyone_queue(db: Database, query: Select[Any], counts_query: Select[Any],
                    process_key: str | None, show: Show, overdue: bool, sort: Sort,
                    page: int, per_page: int) -> Queue:
    """An admin's queue: counts over every open task, and a page read in index order."""
    with db.read() as s:
        per_process = s.execute(counts_query).all()
        counts = _summed(per_process, process_key)
        if overdue and show != "all":
            total = s.scalar(query.with_only_columns(func.count(),
                                                     maintain_column_froms=True)) or 0
        else:
            total = counts["overdue" if overdue else show]
        rows = page_of(s, query, _orders(HumanTask)[sort], (page - 1) * per_page, per_page)
    return Queue(Page(rows, int(total), page, per_page), counts,
                 sorted(r[0] for r in per_process))


def _counts_of(v: Any, mine: ColumnElement[bool], unclaimed: ColumnElement[bool],
               late: ColumnElement[bool]) -> Select[Any]:
    return select(v.c.process_key, func.count(), _how_many(mine), _how_many(unclaimed),
                  _how_many(late)).group_by(v.c.process_key)


def _summed(per_process: Sequence[Any], process_key: str | None) -> dict[str, int]:
    counted = [r for r in per_process if not process_key or r[0] == process_key]
    return {name: sum(int(r[i] or 0) for r in counted)
            for i, name in enumerate(("all", "mine", "unclaimed", "overdue"), start=1)}


def _rows(s: Session, ids: list[str]) -> list[HumanTask]:
    """The tasks with these ids, whole (forms and all), in that order."""
    if not ids:
        return []
    found = {t.id: t for t in s.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def counted_page(s: Session, query: Select[Any], order: tuple[Any, ...], offset: int,
                 limit: int) -> tuple[list[HumanTask], int]:
    """One page of ``query`` and how many rows it has in all, from one scan (a window
    count beside the ids); then only the page's whole rows."""
    found = s.execute(query.with_only_columns(HumanTask.id, func.count().over(),
                                              maintain_column_froms=True)
                      .order_by(*order).offset(offset).limit(limit)).all()
    if found:
        return _rows(s, [r[0] for r in found]), int(found[0][1])
    total = s.scalar(query.with_only_columns(func.count(), maintain_column_froms=True)) \
        if offset else 0  # past the end, or nothing at all
    return [], int(total or 0)


def page_of(s: Session, query: Select[Any], order: tuple[Any, ...], offset: int,
            limit: int) -> list[HumanTask]:
    """One page of ``query``: the ids first (narrow rows the open-task index covers), then
    only those tasks' whole rows (forms and all), in the same order."""
    return _rows(s, list(s.scalars(query.with_only_columns(HumanTask.id,
                                                           maintain_column_froms=True)
                                   .order_by(*order).offset(offset).limit(limit))))


def _how_many(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def is_overdue(task: HumanTask, now: datetime | None = None) -> bool:
    """Tell whether an open task is past its due date."""
    return (task.status in OPEN and task.due_at is not None
            and task.due_at < (now or utcnow()))


# the soonest due first; tasks without a due date last, oldest first among them; the id
# makes the order total, so a page never repeats or skips a task
def _orders(c: Any) -> dict[str, tuple[Any, ...]]:
    """Each sort of the inbox over columns ``c`` (the table's, or a query's)."""
    return {
        "due": (c.due_at.asc().nulls_last(), c.created_at, c.id),
        # the highest priority first, then the oldest
        "priority": (c.priority.desc(), c.created_at, c.id),
        "age": (c.created_at, c.id),  # the oldest first
    }


DUE_ORDER = _orders(HumanTask)["due"]


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
