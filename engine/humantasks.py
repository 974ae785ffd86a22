"""Keep the human-task rows in step with the user tasks a workflow waits on."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .advance import Advance
from .bpmn import dialects
from .bpmn.reports import HumanTaskInfo
from .bpmn.serializer import to_json_value
from .definitions import Definitions
from .forms import form_from_fields, typed
from .models import Definition, HumanTask, utcnow
from .scripting import Sandbox, SandboxError
from .timeutil import parse_datetime, parse_duration
from .users import close_candidates
from .vocabulary import OPEN_TASK_STATUSES, TaskStatus

log = logging.getLogger(__name__)
# built once: every advance of an instance that had user tasks runs them
_TASKS_OF = select(HumanTask).where(HumanTask.instance_id == bindparam("instance_id"))
_FORMS_OF = select(Definition.extra_files).where(Definition.id == bindparam("definition_id"))


def sync_human_tasks(session: Session, adv: Advance, definitions: Definitions,
                     sandbox: Sandbox, new: bool = False) -> None:
    """Create rows for new user tasks, cancel rows whose task no longer waits.

    ``new``: the instance has never been stored, so it has no rows yet. User tasks an admin
    moved the token back to (``adv.reopened``) get a fresh row beside their finished one.
    """
    inst = adv.inst
    instance_id = inst.id
    waiting = [] if adv.runner.completed else adv.runner.human_tasks()
    rows = [] if new else list(session.scalars(_TASKS_OF, {"instance_id": instance_id}))
    known = {r.spiff_task_id for r in rows
             if r.spiff_task_id not in adv.reopened or r.status in OPEN_TASK_STATUSES}
    current = {t.task_id for t in waiting}
    now = utcnow()
    for row in rows:
        if row.status in OPEN_TASK_STATUSES and row.spiff_task_id not in current:
            row.status = TaskStatus.CANCELLED
            row.completed_at = now
            adv.event("task_cancelled", row.element_id, task_id=row.id)
    close_candidates(session, [r.id for r in rows if r.status not in OPEN_TASK_STATUSES])
    by_id = {t.task_id: t for t in waiting}
    for row in rows:  # an administrator retried the incident of a failing assignment
        info = by_id.get(row.spiff_task_id)
        if info is not None and row.spiff_task_id in adv.reassign \
                and row.status in OPEN_TASK_STATUSES:
            groups, row.assignee = _assignment(info, adv, sandbox)
            row.set_candidates(groups, list(row.candidate_users or []))
            adv.event("task_reassigned", row.element_id, task_id=row.id,
                      candidate_groups=row.candidate_groups, assignee=row.assignee)
    forms: dict[str, Any] | None = None
    for info in waiting:
        if info.task_id in known:
            continue
        ext = info.extensions
        if forms is None:
            # only the forms: the whole row would bring the source and the spec along
            forms = dict(session.scalar(_FORMS_OF, {"definition_id": inst.definition_id})
                         or {})
        groups, assignee = _assignment(info, adv, sandbox)
        row = HumanTask(
            instance_id=instance_id, spiff_task_id=info.task_id, element_id=info.element_id,
            name=info.name or info.element_id, process_key=inst.process_key,
            business_key=inst.business_key, assignee=assignee,
            form=_with_defaults(_form(ext, forms), info.data, sandbox, info.element_id),
            priority=_priority(_evaluated(ext.get("priority"), info.data, sandbox,
                                          info.element_id)),
            due_at=_due(ext.get("due_date"), info.data, sandbox, info.element_id, now),
            status=TaskStatus.READY, created_at=now)
        row.set_candidates(groups, list(ext.get("candidate_users") or []))
        if row.assignee:
            row.status, row.claimed_at = TaskStatus.CLAIMED, now
        session.add(row)
        session.flush()
        adv.event("task_created", info.element_id, task_id=row.id,
                  candidate_groups=row.candidate_groups)


def _assignment(info: HumanTaskInfo, adv: Advance,
                sandbox: Sandbox) -> tuple[list[str], str | None]:
    """Candidate groups and assignee of a user task. A failing ``${…}`` in either is an
    incident on the task, naming the expression and the error (the task waits unassigned)."""
    def value_of(attribute: str, raw: Any) -> Any:
        if not isinstance(raw, str) or not raw.strip().startswith(("${", "#{")):
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


def _evaluated(raw: Any, data: dict[str, Any], sandbox: Sandbox, element_id: str) -> Any:
    """The value of a ``${…}`` expression over the task's data; other values as they are."""
    if not isinstance(raw, str) or not raw.strip().startswith(("${", "#{")):
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
