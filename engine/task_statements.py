"""The statements of the task actions (claim, complete), built once: the task read with the
person acting and its instance, and the task's updates; most are ``Prepared``."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, join, literal, select

from .advance import HUMAN_TASKS, INSTANCES
from .models import HumanTask, Instance, Job, User
from .prepared import Prepared, written_row
from .vocabulary import OPEN_TASK_STATUSES, TaskStatus

R = TypeVar("R", HumanTask, User, Instance)

# An inline completion reads in one statement, built once: the task, the person acting (none
# when nobody has the name), the instance, and whether a job of the instance is due. (An outer
# join: an archived instance's finished task is refused as done, not as unknown.)
_DUE_JOB = select(Job.id).where(Job.instance_id == HumanTask.instance_id,
                                Job.due_at <= bindparam("now")).exists()
USERS = cast(Table, User.__table__)
# (Prepared, on the driver; each table's columns labelled with a prefix of their own)
_PARTS = (("t_", HUMAN_TASKS), ("u_", USERS), ("i_", INSTANCES))
# the task, its instance (an outer join: an archived one's task is refused as done), and
# the person of that name (none when nobody has it)
_TASK_INSTANCE_PERSON = (
    HUMAN_TASKS.outerjoin(INSTANCES, INSTANCES.c.id == HUMAN_TASKS.c.instance_id)
    .outerjoin(USERS, USERS.c.name == bindparam("user")))
FOR_COMPLETION = Prepared(
    select(*[c.label(prefix + c.name) for prefix, table in _PARTS for c in table.c],
           _DUE_JOB.label("busy"))
    .select_from(_TASK_INSTANCE_PERSON).where(HUMAN_TASKS.c.id == bindparam("task_id")))
_KEYS = {prefix: [(prefix + c.name, c.name) for c in table.c] for prefix, table in _PARTS}
# A claim or a job-path completion: the task (locked on PostgreSQL), the person, and the
# instance's definition (for the assignment listeners).
FOR_ACTION = (
    select(HumanTask, User, Instance.definition_id)
    .select_from(join(HumanTask, Instance, Instance.id == HumanTask.instance_id, isouter=True)
                 .outerjoin(User, User.name == bindparam("user")))
    .where(HumanTask.id == bindparam("task_id")))
FOR_ACTION_LOCKED = FOR_ACTION.with_for_update(of=HumanTask)
# the same for a claim without the ORM (Prepared; the task and the person labelled as above)
_CLAIM_READ = (
    select(*[c.label(prefix + c.name) for prefix, table in _PARTS[:2] for c in table.c],
           INSTANCES.c.definition_id)
    .select_from(_TASK_INSTANCE_PERSON).where(HUMAN_TASKS.c.id == bindparam("task_id")))
FOR_CLAIM = Prepared(_CLAIM_READ)
FOR_CLAIM_LOCKED = Prepared(_CLAIM_READ.with_for_update(of=HUMAN_TASKS))
WRITE_CLAIM = Prepared(HUMAN_TASKS.update().where(HUMAN_TASKS.c.id == bindparam("task_id"))
                       .values(assignee=bindparam("user"), status=TaskStatus.CLAIMED,
                               claimed_at=bindparam("now")))
WRITE_COMPLETION = Prepared(HUMAN_TASKS.update().where(
    HUMAN_TASKS.c.id == bindparam("b_task_id"),
    HUMAN_TASKS.c.status.in_([literal(s) for s in OPEN_TASK_STATUSES]),
).values(status=TaskStatus.COMPLETED, assignee=bindparam("b_user"),
         completed_by=bindparam("b_user"), completed_at=bindparam("b_now"),
         completion_data=bindparam("b_data")))


def part(found: dict[str, Any], prefix: str, model: type[R]) -> R | None:
    """One table's part of a joined row as its detached object; None when the outer join
    found no row of it."""
    if found[prefix + "id"] is None:
        return None
    return written_row(model, {name: found[key] for key, name in _KEYS[prefix]})
