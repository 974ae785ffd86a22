"""Keep the human-task rows in step with the user tasks a workflow waits on."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.orm import Session

from .advance import HUMAN_TASKS, Advance
from .bpmn import dialects
from .bpmn.reports import HumanTaskInfo
from .bpmn.serializer import to_json_value
from .definitions import Definitions
from .forms import form_from_fields, typed
from .models import HumanTask, TaskCandidate, candidates, new_id, utcnow
from .prepared import Prepared, PreparedInsert
from .scripting import Sandbox, SandboxError
from .sqlite_writer import DriverTransaction
from .timeutil import parse_datetime, parse_duration
from .vocabulary import OPEN_TASK_STATUSES, TaskStatus

log = logging.getLogger(__name__)
# built once (prepared): every advance of an instance that had user tasks runs them
_TASKS_OF = Prepared(select(HumanTask.id, HumanTask.spiff_task_id, HumanTask.element_id,
                            HumanTask.status).where(
    HumanTask.instance_id == bindparam("instance_id")))
_CANCEL = Prepared(update(HumanTask).where(HumanTask.id == bindparam("id")).values(
    status=TaskStatus.CANCELLED, completed_at=bindparam("now")))
TASK_CANDIDATES = cast(Table, TaskCandidate.__table__)


def sync_human_tasks(session: Session, adv: Advance, definitions: Definitions,
                     sandbox: Sandbox, new: bool = False) -> None:
    """Create rows for new user tasks, cancel rows whose task no longer waits.

    ``new``: the instance has never been stored, so it has no rows yet. User tasks an admin
    moved the token back to (``adv.reopened``) get a fresh row beside their finished one.
    """
    waiting = [] if adv.runner.completed else adv.runner.human_tasks()
    if not new:
        session.flush()  # a task row changed in this session (a completion) reads as changed
    connection = session.connection()
    rows = [] if new else _TASKS_OF.fetch(connection, {"instance_id": adv.inst.id})
    now = utcnow()
    unwritten = _cancel_left(connection, adv, rows, waiting, now)
    by_id = {t.task_id: t for t in waiting}
    for found in rows:  # an administrator retried the incident of a failing assignment
        info = by_id.get(found["spiff_task_id"])
        if info is not None and found["spiff_task_id"] in adv.reassign \
                and found["status"] in OPEN_TASK_STATUSES:
            row = session.get_one(HumanTask, found["id"])
            groups, row.assignee = _assignment(info, adv, sandbox)
            row.set_candidates(groups, list(row.candidate_users or []))
            adv.event("task_reassigned", row.element_id, task_id=row.id,
                      candidate_groups=row.candidate_groups, assignee=row.assignee)
    created = new_tasks(adv, unwritten, definitions, sandbox, session, now)
    if created:
        session.flush()  # rows the tasks refer to go first (a called instance's, say)
        insert_tasks(session.connection(), created)


def sync_plain(connection: Connection | DriverTransaction, adv: Advance,
               definitions: Definitions, sandbox: Sandbox, now: datetime) -> None:
    """``sync_human_tasks`` in a transaction without the ORM, for an advance that reopened
    and reassigned no task and whose new tasks have no assignment expression (one that
    fails opens an incident, which the session path writes). A new task's form must have
    been read already (``Definitions.task_forms``): nothing else is read in the transaction.
    """
    waiting = [] if adv.runner.completed else adv.runner.human_tasks()
    rows = _TASKS_OF.fetch(connection, {"instance_id": adv.inst.id})
    unwritten = _cancel_left(connection, adv, rows, waiting, now)
    insert_tasks(connection, new_tasks(adv, unwritten, definitions, sandbox, None, now))


def _cancel_left(connection: Connection | DriverTransaction, adv: Advance,
                 rows: list[dict[str, Any]], waiting: list[HumanTaskInfo],
                 now: datetime) -> list[HumanTaskInfo]:
    """Cancel the open rows (``_TASKS_OF``) whose task no longer waits (their candidate rows
    close by a trigger); return the waiting tasks that have no row yet (a reopened one has
    only its finished row: it gets a fresh one)."""
    current = {t.task_id for t in waiting}
    gone = [r for r in rows if r["status"] in OPEN_TASK_STATUSES
            and r["spiff_task_id"] not in current]
    _CANCEL.execute(connection, [{"id": r["id"], "now": now} for r in gone])
    for old in gone:
        adv.event("task_cancelled", old["element_id"], task_id=old["id"])
    known = {r["spiff_task_id"] for r in rows
             if r["spiff_task_id"] not in adv.reopened or r["status"] in OPEN_TASK_STATUSES}
    return [t for t in waiting if t.task_id not in known]


def new_tasks(adv: Advance, waiting: list[HumanTaskInfo], definitions: Definitions,
              sandbox: Sandbox, db: Session | Connection | None,
              now: datetime) -> list[dict[str, Any]]:
    """The ``human_tasks`` rows of the user tasks in ``waiting`` (each one's candidates
    under ``CANDIDATES``), with a ``task_created`` event for each; ``insert_tasks`` writes
    them. A failing assignment expression opens an incident on ``adv`` (``_assignment``).

    ``db``: where the forms are read the first time a version needs them (None: a read of
    its own).
    """
    inst = adv.inst
    created = []
    for info in waiting:
        ext = info.extensions
        forms = definitions.task_forms(db, inst.definition_id) if ext.get("form_file") else {}
        groups, assignee = _assignment(info, adv, sandbox)
        users = list(ext.get("candidate_users") or [])
        task_id = new_id()
        created.append({
            "id": task_id, "instance_id": inst.id, "spiff_task_id": info.task_id,
            "element_id": info.element_id, "name": info.name or info.element_id,
            "process_key": inst.process_key, "business_key": inst.business_key,
            "candidate_groups": groups, "candidate_users": users, "assignee": assignee,
            "form": _with_defaults(_form(ext, forms), info.data, sandbox, info.element_id),
            "status": TaskStatus.CLAIMED if assignee else TaskStatus.READY,
            "priority": _priority(_evaluated(ext.get("priority"), info.data, sandbox,
                                             info.element_id)),
            "due_at": _due(ext.get("due_date"), info.data, sandbox, info.element_id, now),
            "created_at": now, "claimed_at": now if assignee else None,
            "completed_at": None, "completed_by": None, "completion_data": None,
            CANDIDATES: [{"task_id": task_id, "kind": kind, "name": name, "is_open": True}
                         for kind, name in candidates(groups, users)]})
        adv.event("task_created", info.element_id, task_id=task_id, candidate_groups=groups)
    return created


def insert_tasks(connection: Connection | DriverTransaction, rows: list[dict[str, Any]]) -> None:
    """Write ``new_tasks``' rows: the tasks, then their candidates (whose copies of the
    task's keys a trigger fills in from the task row)."""
    if rows:
        _INSERT_TASKS.execute(connection, rows)
        _INSERT_CANDIDATES.execute(connection, [c for row in rows for c in row[CANDIDATES]])


CANDIDATES = "candidates"  # where a new task's row from ``new_tasks`` keeps its candidates'
_INSERT_TASKS = PreparedInsert(HUMAN_TASKS, (
    "id", "instance_id", "spiff_task_id", "element_id", "name", "process_key", "business_key",
    "candidate_groups", "candidate_users", "assignee", "form", "status", "priority", "due_at",
    "created_at", "claimed_at", "completed_at", "completed_by", "completion_data"))
_INSERT_CANDIDATES = PreparedInsert(TASK_CANDIDATES, ("task_id", "kind", "name", "is_open"))


def _assignment(info: HumanTaskInfo, adv: Advance,
                sandbox: Sandbox) -> tuple[list[str], str | None]:
    """Candidate groups and assignee of a user task. A failing ``${…}`` in either is an
    incident on the task, naming the expression and the error (the task waits unassigned)."""
    def value_of(attribute: str, raw: Any) -> Any:
        if not is_expression(raw):
            return raw
        try:
            return sandbox.evaluate(dialects.juel_to_python(raw), info.data,
                                    element_id=info.element_id)
        except SandboxError as exc:
            adv.incident(info.element_id, info.task_id, "expression_error",
                         f"the {attribute} expression {raw} of user task "
                         f"'{info.element_id}' failed: {exc}",
                         {"attribute": attribute, "expression": raw, "error": str(exc)})
            return None

    ext = info.extensions
    before = len(adv.incidents)
    groups: list[str] = []
    for raw in ext.get("candidate_groups") or []:
        value = value_of("candidateGroups", raw)
        items = value if isinstance(value, list) else str(value or "").split(",")
        groups += [str(g).strip() for g in items if str(g).strip()]
    failed = len(adv.incidents) > before
    if not groups and info.lane and not failed:  # not a lane's group for a failed expression
        groups = [info.lane.strip().lower().replace(" ", "-")]
    assignee = value_of("assignee", ext.get("assignee")) if ext.get("assignee") else None
    return list(dict.fromkeys(groups)), str(assignee) if assignee else None


def assignment_values(info: HumanTaskInfo) -> list[Any]:
    """What a user task's assignment is made of: its candidate groups and its assignee."""
    ext = info.extensions
    return [*(ext.get("candidate_groups") or ()), ext.get("assignee")]


def is_expression(raw: Any) -> bool:
    """Is ``raw`` a ``${…}`` (or ``#{…}``) expression, evaluated over the task's data?"""
    return isinstance(raw, str) and raw.strip().startswith(("${", "#{"))


def _evaluated(raw: Any, data: dict[str, Any], sandbox: Sandbox, element_id: str) -> Any:
    """The value of a ``${…}`` expression over the task's data; other values as they are."""
    if not is_expression(raw):
        return raw
    try:
        return sandbox.evaluate(dialects.juel_to_python(raw), data, element_id=element_id)
    except SandboxError:
        log.warning("expression %r of %s failed", raw, element_id, exc_info=True)
        return None


def _with_defaults(form: dict[str, Any] | None, data: dict[str, Any], sandbox: Sandbox,
                   element_id: str) -> dict[str, Any] | None:
    """Evaluate ``${…}`` defaults (Camunda evaluates them when the task is created)."""
    if form is None:
        return None
    for prop in (form.get("properties") or {}).values():
        if isinstance(prop, dict) and isinstance(prop.get("default"), str) \
                and prop["default"].strip().startswith(("${", "#{")):
            value = typed(to_json_value(_evaluated(prop["default"], data, sandbox, element_id)),
                          prop.get("type"))
            if value is None:
                del prop["default"]
            else:
                prop["default"] = value
    return form


def _form(ext: dict[str, Any], forms: dict[str, Any]) -> dict[str, Any] | None:
    if ext.get("form_fields"):
        form = form_from_fields(ext["form_fields"])
    elif ext.get("form_file") and ext["form_file"] in forms:
        form = json.loads(json.dumps(forms[ext["form_file"]]))
    else:
        return None
    if ext.get("instructions"):
        form["description"] = ext["instructions"]
    return form


def _priority(raw: Any) -> int:
    try:
        return int(raw) if raw is not None else 50
    except (TypeError, ValueError):
        return 50


def _due(raw: str | None, data: dict[str, Any], sandbox: Sandbox, element_id: str,
         now: datetime) -> datetime | None:
    if not raw:
        return None
    value: Any = raw.strip()
    if not dialects.is_iso_timer(value):
        try:
            value = sandbox.evaluate(dialects.juel_to_python(value), data, element_id=element_id)
        except SandboxError:
            log.warning("due date of %s could not be evaluated", element_id, exc_info=True)
            return None
    if isinstance(value, timedelta):
        try:
            return now + value
        except OverflowError:
            log.warning("due date of %s is too far ahead: %s", element_id, value)
            return None
    if isinstance(value, datetime):
        return parse_datetime(value.isoformat())
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return now + parse_duration(value) if value.startswith("P") else parse_datetime(value)
        except (ValueError, OverflowError):
            log.warning("due date %r of %s is neither a duration nor a date", value, element_id)
    return None
