"""Instance migration, Camunda 7's model: move running instances to another version by a plan.

A plan maps the elements a token may sit on in the source version to elements of the target
(``generate_plan`` maps equal ids of equal kinds; callers may edit it). ``validate`` says
what is wrong with the plan and, per instance, why it cannot move. ``migrate_one`` moves one
instance under its lease, in one transaction checked by its revision: the workflow is put on
the target spec with every task keeping its id, then the rows that follow the tokens (human
tasks, timer jobs, message subscriptions, incidents) are rewritten, a record and an
``instance_migrated`` event written. A refused instance changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from . import archived
from .advance import Advance, Snapshot, insert_events
from .bpmn import migrate as transform
from .bpmn.migrate import MigrationElement
from .bpmn.runtime import WorkflowRunner
from .bpmn.serializer import load_state
from .config import Settings
from .db import Database
from .definitions import Definitions
from .errors import NotFoundError
from .migration_plan import (
    MigrationCheck,
    MigrationInstruction,
    MigrationOutcome,
    MigrationPlan,
    MigrationProblem,
    MigrationValidation,
)
from .models import (
    Definition,
    ExternalTask,
    HumanTask,
    Incident,
    Instance,
    Job,
    MessageSubscription,
    MigrationRecord,
    new_id,
    utcnow,
)
from .scripting import Sandbox
from .vocabulary import FINAL_STATUSES, OPEN_TASK_STATUSES
from .waits import sync_waits

log = logging.getLogger(__name__)


class BusyError(Exception):
    """A worker holds the instance right now; try again in a moment."""


class Migrator:
    """Plans, checks and moves instances between versions of a process."""

    def __init__(self, db: Database, definitions: Definitions, sandbox: Sandbox,
                 settings: Settings) -> None:
        self.db = db
        self.definitions = definitions
        self.sandbox = sandbox
        self.settings = settings

    # -- plans ----------------------------------------------------------------------------

    def _definition(self, definition_id: str) -> Definition:
        with self.db.read() as s:
            row = s.get(Definition, definition_id)
        if row is None or row.kind != "process":
            raise NotFoundError(f"no process definition with id '{definition_id}'",
                                {"definition_id": definition_id})
        return row

    def _elements(self, definition_id: str) -> dict[str, MigrationElement]:
        spec, subs = self.definitions.spec_for(definition_id)
        return transform.elements(spec, subs)

    def elements(self, definition_id: str) -> list[MigrationElement]:
        """The elements of a version a token may sit on (what a plan maps)."""
        self._definition(definition_id)
        return sorted(self._elements(definition_id).values(), key=lambda e: e.element_id)

    def generate_plan(self, source_id: str, target_id: str) -> MigrationPlan:
        """Map every element that exists in both versions with the same id and kind."""
        self._definition(source_id)
        self._definition(target_id)
        old, new = self._elements(source_id), self._elements(target_id)
        return MigrationPlan(source_id, target_id, tuple(
            MigrationInstruction(e, e) for e in sorted(old)
            if e in new and new[e].kind == old[e].kind))

    def plan_problems(self, plan: MigrationPlan) -> list[MigrationProblem]:
        """What is wrong with the plan itself, whatever instance it is used for."""
        source, target = self._definition(plan.source_definition_id), self._definition(
            plan.target_definition_id)
        problems = []
        if source.id == target.id:
            problems.append(MigrationProblem("same_definition",
                                             "source and target are the same version"))
        old, new = self._elements(source.id), self._elements(target.id)
        seen: set[str] = set()
        for i in plan.instructions:
            if i.source in seen:
                problems.append(MigrationProblem(
                    "duplicate_source", f"'{i.source}' is mapped more than once", i.source))
            seen.add(i.source)
            if i.source not in old:
                problems.append(MigrationProblem(
                    "source_element_missing", f"version {source.version} of {source.key} has "
                    f"no element '{i.source}' a token can sit on", i.source))
            elif i.target not in new:
                problems.append(MigrationProblem(
                    "target_element_missing", f"version {target.version} of {target.key} has "
                    f"no element '{i.target}' a token can sit on", i.source))
            elif old[i.source].kind != new[i.target].kind:
                problems.append(MigrationProblem(
                    "kind_changed", f"waits change kind: '{i.source}' is a "
                    f"{old[i.source].kind}, '{i.target}' a {new[i.target].kind}", i.source))
        return problems

    # -- checking instances ---------------------------------------------------------------

    def validate(self, plan: MigrationPlan, instance_ids: Iterable[str]) -> MigrationValidation:
        """The plan's problems and, for each instance, why it cannot migrate by it."""
        problems = self.plan_problems(plan)
        bad = {p.element_id for p in problems if p.element_id}
        checks = []
        for instance_id in instance_ids:
            with self.db.read() as s:
                row = archived.find(s, instance_id)
                check = self._check(plan, row, bad, instance_id)
            checks.append(check)
        return MigrationValidation(plan, problems, checks)

    def _check(self, plan: MigrationPlan, row: Instance | None, bad: set[str],
               instance_id: str) -> MigrationCheck:
        check = MigrationCheck(instance_id)
        if row is None:
            check.problems.append(MigrationProblem("not_found", "no such instance"))
            return check
        if row.definition_id == plan.target_definition_id:
            check.problems.append(MigrationProblem(
                "already_migrated", f"the instance already runs version {row.version}"))
            return check
        if row.definition_id != plan.source_definition_id:
            check.problems.append(MigrationProblem(
                "other_definition", f"the instance runs version {row.version} of "
                f"{row.process_key}, not the plan's source"))
            return check
        if row.status in FINAL_STATUSES:
            check.problems.append(MigrationProblem(
                "ended", f"the instance is {row.status}; only running instances migrate"))
            return check
        if row.locked_until is not None and row.locked_until > utcnow():
            check.problems.append(MigrationProblem(
                "locked", "a worker is advancing the instance right now; try again"))
        active = self._active(row)
        check.active_elements = sorted(active)
        mapping = plan.mapping
        for element_id in sorted(active):
            if element_id not in mapping:
                check.problems.append(MigrationProblem(
                    "unmapped_active_element", f"a token is on '{element_id}' and the plan "
                    "has no instruction for it", element_id))
            elif element_id in bad:
                check.problems.append(MigrationProblem(
                    "invalid_instruction", f"a token is on '{element_id}', whose instruction "
                    "is invalid", element_id))
        return check

    def _active(self, row: Instance) -> dict[str, str]:
        if row.state is None:
            return {}
        spec, subs = self.definitions.spec_for(row.definition_id)
        return transform.active_elements(load_state(row.state, spec, subs))

    # -- moving ---------------------------------------------------------------------------

    def migrate(self, plan: MigrationPlan, instance_ids: Iterable[str], dry_run: bool,
                actor: str | None) -> list[MigrationOutcome]:
        """Migrate each instance in its own transaction; a refused one changes nothing."""
        problems = self.plan_problems(plan)
        out = []
        for instance_id in instance_ids:
            try:
                out.append(self.migrate_one(plan, problems, instance_id, dry_run, actor))
            except BusyError:
                out.append(MigrationOutcome(instance_id, "refused", [MigrationProblem(
                    "locked", "a worker is advancing the instance right now; try again")]))
        return out

    def migrate_one(self, plan: MigrationPlan, problems: list[MigrationProblem],
                    instance_id: str, dry_run: bool, actor: str | None,
                    batch_id: str | None = None,
                    also: Callable[[Session, MigrationOutcome], None] | None = None,
                    ) -> MigrationOutcome:
        """Move one instance (``also`` writes more in the same transaction, for batches).

        ``BusyError``: a worker holds the instance; nothing was changed.
        """
        bad = {p.element_id for p in problems if p.element_id}
        with self.db.read() as s:
            row = archived.find(s, instance_id)
            check = self._check(plan, row, bad, instance_id)
        codes = {p.code for p in check.problems}
        if codes == {"already_migrated"}:
            outcome = MigrationOutcome(instance_id, "skipped", check.problems)
            self._write_only(outcome, also)
            return outcome
        if codes == {"locked"}:
            raise BusyError(instance_id)
        if problems or check.problems:
            outcome = MigrationOutcome(instance_id, "refused", [*problems, *check.problems])
            self._write_only(outcome, also)
            return outcome
        target = self._definition(plan.target_definition_id)
        if dry_run:
            outcome = MigrationOutcome(instance_id, "would_migrate", [],
                                       row.version if row else None, target.version)
            self._write_only(outcome, also)
            return outcome
        owner = f"migration:{new_id()}"
        snapshot = self._lock(instance_id, owner)
        try:
            return self._move(plan, snapshot, target, owner, actor, batch_id, also)
        except transform.MigrationTransformError as exc:
            self._unlock(instance_id, owner)
            outcome = MigrationOutcome(instance_id, "refused", [
                MigrationProblem("cannot_rebuild", str(exc))])
            self._write_only(outcome, also)
            return outcome
        except BaseException:
            self._unlock(instance_id, owner)
            raise

    def _write_only(self, outcome: MigrationOutcome,
                    also: Callable[[Session, MigrationOutcome], None] | None) -> None:
        if also is not None:
            with self.db.write() as s:
                also(s, outcome)

    def _lock(self, instance_id: str, owner: str) -> Instance:
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.job_lease_seconds)
        with self.db.write() as s:
            result = s.execute(update(Instance).where(
                Instance.id == instance_id,
                or_(Instance.locked_until.is_(None), Instance.locked_until < now))
                .values(locked_by=owner, locked_until=lease))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise BusyError(instance_id)
            row = s.get(Instance, instance_id)
            assert row is not None
            s.expunge(row)
            return row

    def _unlock(self, instance_id: str, owner: str) -> None:
        with self.db.write() as s:
            s.execute(update(Instance).where(Instance.id == instance_id,
                                             Instance.locked_by == owner)
                      .values(locked_by=None, locked_until=None))

    def _move(self, plan: MigrationPlan, row: Instance, target: Definition, owner: str,
              actor: str | None, batch_id: str | None,
              also: Callable[[Session, MigrationOutcome], None] | None) -> MigrationOutcome:
        # checked again now that no worker can move it (it may have moved since the check)
        problems = [p for p in self._check(plan, row, set(), row.id).problems
                    if p.code != "locked"]
        if problems:
            raise transform.MigrationTransformError("; ".join(p.message for p in problems))
        spec, subs = self.definitions.spec_for(target.id)
        runner = None
        values: dict[str, Any] = dict(definition_id=target.id, version=target.version,
                                      process_key=target.key, revision=row.revision + 1,
                                      updated_at=utcnow(), locked_by=None, locked_until=None)
        if row.state is not None:
            old_spec, old_subs = self.definitions.spec_for(row.definition_id)
            workflow = load_state(row.state, old_spec, old_subs)
            transform.rebuild(workflow, spec, subs, plan.mapping)
            runner = WorkflowRunner(workflow)
            blob = runner.dump()
            WorkflowRunner.restore(blob, spec, subs, None)  # it must load as it will be read
            values.update(state=blob, active_elements=runner.active_elements())
        outcome = MigrationOutcome(row.id, "migrated", [], row.version, target.version)
        with self.db.write() as s:
            result = s.execute(update(Instance).where(
                Instance.id == row.id, Instance.revision == row.revision,
                Instance.locked_by == owner).values(**values))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise transform.MigrationTransformError(
                    "the instance changed while it was migrated (its revision moved)")
            adv = Advance(Snapshot(row.id, target.id, target.key, row.business_key,
                                   row.status, values.get("state"), dict(row.variables or {}),
                                   row.revision + 1, row.started_by), runner)  # type: ignore[arg-type]
            if runner is not None:
                self._follow_tokens(s, adv, plan.mapping)
            s.add(MigrationRecord(instance_id=row.id, process_key=target.key,
                                  source_definition_id=row.definition_id,
                                  target_definition_id=target.id, from_version=row.version,
                                  to_version=target.version,
                                  instructions=plan.as_dict()["instructions"], actor=actor,
                                  batch_id=batch_id))
            adv.event("instance_migrated", actor=actor, batch_id=batch_id,
                      from_definition_id=row.definition_id, to_definition_id=target.id,
                      from_version=row.version, to_version=target.version,
                      plan=plan.as_dict()["instructions"])
            insert_events(s, adv.events)
            if also is not None:
                also(s, outcome)
        log.info("instance %s migrated from version %s to %s", row.id, row.version,
                 target.version, extra={"instance_id": row.id})
        return outcome

    def _follow_tokens(self, s: Session, adv: Advance, mapping: dict[str, str]) -> None:
        """Rewrite the rows that follow the tokens: tasks, timers, subscriptions, incidents,
        external tasks."""
        runner = adv.runner
        sync_waits(s, self.definitions, self.sandbox, adv, -1)
        tasks = {t.task_id: t for t in runner.human_tasks()}
        for task in s.scalars(select(HumanTask).where(HumanTask.instance_id == adv.inst.id,
                                                      HumanTask.status.in_(OPEN_TASK_STATUSES))):
            info = tasks.get(task.spiff_task_id)
            if info is not None and info.element_id != task.element_id:
                task.element_id, task.name = info.element_id, info.name or info.element_id
        waits = {m.task_id: m.element_id
                 for m in [*runner.waiting_messages(), *runner.waiting_signals()]}
        for sub in s.scalars(select(MessageSubscription).where(
                MessageSubscription.instance_id == adv.inst.id)):
            if sub.spiff_task_id in waits:
                sub.element_id = waits[sub.spiff_task_id]
        externals = runner.external_elements()
        for ext in s.scalars(select(ExternalTask).where(ExternalTask.instance_id
                                                        == adv.inst.id)):
            ext.definition_id = adv.inst.definition_id  # the target version's
            ext.element_id = externals.get(ext.spiff_task_id, ext.element_id)
        renamed = {old: new for old, new in mapping.items() if old != new}
        if not renamed:
            return
        for job in s.scalars(select(Job).where(Job.instance_id == adv.inst.id)):
            if job.payload.get("element_id") in renamed:
                job.payload = {**job.payload, "element_id": renamed[job.payload["element_id"]]}
        for incident in s.scalars(select(Incident).where(Incident.instance_id == adv.inst.id)):
            if incident.element_id in renamed:
                incident.element_id = renamed[incident.element_id]

    # -- history --------------------------------------------------------------------------

    def records(self, instance_id: str | None = None, limit: int = 100,
                offset: int = 0) -> list[MigrationRecord]:
        """Migrations done, newest first (of one instance if given)."""
        with self.db.read() as s:
            query = select(MigrationRecord)
            if instance_id:
                query = query.where(MigrationRecord.instance_id == instance_id)
            return list(s.scalars(query.order_by(MigrationRecord.created_at.desc())
                                  .offset(offset).limit(limit)))

    def reverse_plan(self, record_id: str) -> MigrationPlan:
        """The plan that takes an instance back where a recorded migration took it from."""
        with self.db.read() as s:
            record = s.get(MigrationRecord, record_id)
        if record is None:
            raise NotFoundError(f"no migration with id '{record_id}'")
        return MigrationPlan.from_dict({"source_definition_id": record.source_definition_id,
                                        "target_definition_id": record.target_definition_id,
                                        "instructions": record.instructions}).reversed()

