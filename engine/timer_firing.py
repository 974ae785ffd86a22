"""Firing a waiting timer now, for process tests: as if its time had come.

The timer's due time lives in the workflow state (the timer task's ``event_value``) and in
its job row; both are moved to the past, and the next worker poll fires it as it would
have fired on its own. Only the test runner's private database is ever touched.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from .facade import Engine
from .models import Instance, Job, utcnow
from .vocabulary import JobKind


def _set_due(node: Any, task_id: str, due: str) -> bool:
    """Find task ``task_id`` anywhere in the serialized state and make it due at ``due``."""
    if isinstance(node, dict):
        tasks = node.get("tasks")
        if isinstance(tasks, dict) and isinstance(tasks.get(task_id), dict):
            task = tasks[task_id]
            internal = task.setdefault("internal_data", {})
            value = internal.get("event_value")
            if isinstance(value, dict) and "next" in value:  # a cycle: its next round
                value["next"] = due
            else:
                internal["event_value"] = due
            return True
        return any(_set_due(v, task_id, due) for v in node.values())
    if isinstance(node, list):
        return any(_set_due(v, task_id, due) for v in node)
    return False


def fire_timer(engine: Engine, instance_id: str, element_id: str) -> bool:
    """Make the timer of ``element_id`` due now; False when no such timer is waiting."""
    past = utcnow() - timedelta(seconds=1)
    with engine._core.db.write() as s:
        job = next((j for j in s.scalars(select(Job).where(
            Job.instance_id == instance_id, Job.kind == JobKind.TIMER))
            if j.payload.get("element_id") == element_id), None)
        row = s.get(Instance, instance_id)
        if job is None or row is None or row.state is None:
            return False
        state = json.loads(row.state)
        stamp = past.isoformat() if past.tzinfo else past.isoformat() + "+00:00"
        if not _set_due(state, str(job.payload.get("task_id")), stamp):
            return False
        row.state = json.dumps(state, separators=(",", ":")).encode()
        row.revision += 1
        job.due_at = past
    return True
