"""Repairs an administrator makes: suspend, resume, terminate, retry incidents, move tokens."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from . import jobs
from .errors import ConflictError, InvalidInputError, NotFoundError
from .models import Event, HumanTask, Incident, Instance, Job, MessageSubscription, utcnow
from .paging import EnginePart, Page

FINAL = ("completed", "terminated")


class RepairActions(EnginePart):
    """Admin actions on instances and incidents (mixed into Engine); each is audited."""

    def _admin_change(self, instance_id: str, actor: str | None, action: str,
                      allowed: tuple[str, ...], new_status: str) -> Instance:
        with self.db.write() as s:
            row = s.get(Instance, instance_id, with_for_update=self.db.is_postgres)
            if row is None:
                raise NotFoundError(f"no process instance with id '{instance_id}'")
            if row.status not in allowed:
                raise ConflictError(f"cannot {action} an instance that is {row.status}",
                                    {"status": row.status})
            if action == "suspend":
                row.suspended_from = row.status
            if action == "resume":
                new_status = row.suspended_from or "waiting"
                row.suspended_from = None
            row.status = new_status
            row.revision += 1
            row.updated_at = utcnow()
            if action == "terminate":
                row.ended_at = utcnow()
                self._terminate_children(s, instance_id)
            s.add(Event(instance_id=instance_id, type=f"instance_{action}d"
                        if not action.endswith("e") else f"instance_{action}d", actor=actor,
                        data={"admin_action": action}))
        return self.instance(instance_id)

    def _terminate_children(self, s: Session, instance_id: str) -> None:
        s.execute(delete(Job).where(Job.instance_id == instance_id))
        s.execute(delete(MessageSubscription).where(MessageSubscription.instance_id
                                                    == instance_id))
        s.execute(update(HumanTask).where(HumanTask.instance_id == instance_id,
                                          HumanTask.status.in_(("ready", "claimed")))
                  .values(status="cancelled", completed_at=utcnow()))
        s.execute(update(Incident).where(Incident.instance_id == instance_id,
                                         Incident.status == "open")
                  .values(status="resolved", resolved_at=utcnow(), resolution="terminated"))

    def suspend(self, instance_id: str, actor: str | None = None) -> Instance:
        return self._admin_change(instance_id, actor, "suspend",
                                  ("running", "waiting", "incident"), "suspended")

    def resume(self, instance_id: str, actor: str | None = None) -> Instance:
        return self._admin_change(instance_id, actor, "resume", ("suspended",), "waiting")

    def terminate(self, instance_id: str, actor: str | None = None) -> Instance:
        return self._admin_change(instance_id, actor, "terminate",
                                  ("running", "waiting", "incident", "suspended"), "terminated")

    def list_incidents(self, status: str | None = "open", page: int = 1,
                       per_page: int = 50) -> Page:
        with self.db.read() as s:
            query = select(Incident)
            if status:
                query = query.where(Incident.status == status)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            items = list(s.scalars(query.order_by(Incident.created_at.desc())
                                   .offset((page - 1) * per_page).limit(per_page)))
        return Page(items, int(total), page, per_page)

    def retry_incident(self, incident_id: str, actor: str | None = None) -> Incident:
        """Resolve an incident and let the instance try the failed step again."""
        with self.db.write() as s:
            row = s.get(Incident, incident_id, with_for_update=self.db.is_postgres)
            if row is None:
                raise NotFoundError(f"no incident with id '{incident_id}'")
            if row.status != "open":
                raise ConflictError(f"the incident is already {row.status}",
                                    {"status": row.status})
            row.status, row.resolved_at, row.resolved_by, row.resolution = (
                "resolved", utcnow(), actor, "retried")
            jobs.enqueue(s, "retry_incident", row.instance_id,
                         {"task_id": row.spiff_task_id, "incident_id": row.id})
            s.add(Event(instance_id=row.instance_id, type="incident_retried", actor=actor,
                        element_id=row.element_id, data={"incident_id": row.id}))
            others = s.scalar(select(func.count()).select_from(Incident).where(
                Incident.instance_id == row.instance_id, Incident.status == "open",
                Incident.id != row.id)) or 0
            if not others:
                s.execute(update(Instance).where(Instance.id == row.instance_id,
                                                 Instance.status == "incident")
                          .values(status="running", revision=Instance.revision + 1))
        with self.db.read() as s:
            out = s.get(Incident, incident_id)
            assert out is not None
            return out

    def move_token(self, instance_id: str, element_id: str, actor: str | None = None) -> None:
        """Send the instance back to an earlier task (an admin repair)."""
        inst = self.instance(instance_id)
        if inst.status in FINAL:
            raise ConflictError(f"the instance is {inst.status}")
        if element_id not in _visited(self, instance_id):
            raise InvalidInputError(f"the instance never reached '{element_id}'",
                                    {"fields": {"element_id": "not on the path taken"}})
        with self.db.write() as s:
            jobs.enqueue(s, "move_token", instance_id, {"element_id": element_id,
                                                        "actor": actor, "by_element": True})


def _visited(engine: RepairActions, instance_id: str) -> set[str]:
    with engine.db.read() as s:
        return set(s.scalars(select(Event.element_id).where(
            Event.instance_id == instance_id, Event.type == "step")))
