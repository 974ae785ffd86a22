"""Erase one customer's personal data: every instance of a business key and all kept about it.

The customer's instances go, live or archived (engine/archive.py), with the instances they
called and every row keyed by them (variables, workflow state, tasks and their forms and
completion data, events, incidents, jobs, subscriptions), and the webhook receipts about
them. What stays is one audit event naming who erased which business key and how many rows:
never a value that was erased.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, delete, or_, select
from sqlalchemy.orm import Session

from . import archived, jobs
from .db import Database
from .errors import ConflictError, InvalidInputError, NotFoundError
from .instances import clear_open_work, terminate_called
from .models import Event, InboundEvent, Instance, utcnow
from .retention import call_tree, delete_instances
from .vocabulary import FINAL_STATUSES, InstanceStatus, JobKind


@dataclass
class ErasureReport:
    """What one erasure removed: instances (and how many were terminated first), rows by table."""

    business_key: str
    instances: int = 0
    terminated: int = 0
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.removed.values())


def _check_key(business_key: Any) -> str:
    if not isinstance(business_key, str) or not business_key.strip():
        raise InvalidInputError("give the business key of the customer whose data to erase",
                                {"fields": {"business_key": "must be a non-empty string"}})
    return business_key.strip()


def erase(db: Database, business_key: Any, actor: str | None,
          terminate: bool = False) -> ErasureReport:
    """Remove every instance of ``business_key`` and what is kept about them, audited.

    Instances that have not ended are refused (``ConflictError``) unless ``terminate``:
    then they are terminated first, as an administrator would, and removed with the rest.
    """
    key = _check_key(business_key)
    report = ErasureReport(key)
    with db.write() as s:
        query = select(Instance.id).where(Instance.business_key == key)
        roots = list(s.scalars(query.with_for_update() if db.is_postgres else query))
        levels, _ = call_tree(s, roots) if roots else ([], True)
        old_levels = _archived_trees(s, key, db.is_postgres)
        ids = list(dict.fromkeys(i for level in levels for i in level))
        old_ids = list(dict.fromkeys(i for level in old_levels for i in level))
        receipts = _inbound_events(s, key, ids + old_ids)
        if not ids and not old_ids and not receipts:
            raise NotFoundError(f"nothing is kept about business key '{key}': no instance "
                                "and no webhook has it; nothing was erased",
                                {"business_key": key})
        live = list(s.scalars(select(Instance.id).where(
            Instance.id.in_(ids), Instance.status.not_in(FINAL_STATUSES))))
        if live and not terminate:
            raise ConflictError(f"{len(live)} instance(s) of business key '{key}' have not "
                                "ended; terminate them first, or erase with terminate",
                                {"business_key": key, "running_instances": live})
        for instance_id in live:
            _terminate(s, instance_id, set(ids))
        report.terminated = len(live)
        report.removed = delete_instances(s, _deepest_once(levels))
        if old_ids:  # and those moved out of the live table (a call tree is moved whole)
            for table, n in delete_instances(s, _deepest_once(old_levels),
                                             t=archived.HISTORY).items():
                report.removed[table] = report.removed.get(table, 0) + n
        report.removed["inbound_events"] = len(receipts)
        if receipts:
            s.execute(delete(InboundEvent).where(InboundEvent.id.in_(receipts)))
        report.instances = report.removed.get("instances", 0)
        s.add(Event(type="personal_data_erased", actor=actor,
                    data={"business_key": key, "instances": report.instances,
                          "terminated": report.terminated, "rows": report.rows,
                          "removed": dict(report.removed)}))
    return report


def _archived_trees(s: Session, key: str, lock: bool) -> list[list[str]]:
    """The archived instances of ``key`` and those they called, level by level."""
    query = select(archived.HISTORY.c.id).where(archived.HISTORY.c.business_key == key)
    roots = list(s.scalars(query.with_for_update() if lock else query))
    return call_tree(s, roots, archived.HISTORY)[0] if roots else []


def _deepest_once(levels: list[list[str]]) -> list[list[str]]:
    """Each instance once, at its deepest level (one of the key's may call another)."""
    depth = {i: d for d, level in enumerate(levels) for i in level}
    out: list[list[str]] = [[] for _ in levels]
    for i, d in depth.items():
        out[d].append(i)
    return [level for level in out if level]


def _terminate(s: Session, instance_id: str, erased: set[str]) -> None:
    """Terminate as an administrator would; a caller that stays is told, as on terminate."""
    row = s.get(Instance, instance_id)
    if row is None or row.status in FINAL_STATUSES:
        return
    row.status, row.ended_at, row.updated_at = InstanceStatus.TERMINATED, utcnow(), utcnow()
    row.revision += 1
    clear_open_work(s, instance_id)
    terminate_called(s, instance_id, "its caller's data was erased")
    if row.parent_instance_id and row.parent_task_id and row.parent_instance_id not in erased:
        jobs.enqueue(s, JobKind.CALL_ENDED, row.parent_instance_id,
                     {"task_id": row.parent_task_id, "called_instance": row.id,
                      "element_id": row.parent_element_id, "terminated": True})


def _inbound_events(s: Session, key: str, ids: list[str]) -> list[int]:
    """Webhook receipts about the customer: by record id, or naming one of their instances."""
    about = [InboundEvent.record_id == key]
    about += [cast(InboundEvent.instance_ids, String).contains(f'"{i}"') for i in ids]
    found: list[int] = []
    for start in range(0, len(about), 200):
        found.extend(s.scalars(select(InboundEvent.id).where(or_(*about[start:start + 200]))))
    return list(dict.fromkeys(found))
