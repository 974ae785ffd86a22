"""Migrate running instances to another version of their process (admins only)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from engine import MigrationPlan

from ..errors import ApiError
from . import bp
from .common import actor, dump, engine, load_args, load_body
from .migration_schemas import (
    BatchSchema,
    GeneratedPlanSchema,
    GeneratePlanSchema,
    HistoryArgsSchema,
    MigrateSchema,
    MigrationResultSchema,
    RecordListSchema,
    SelectionSchema,
    ValidationReportSchema,
)


def _body(schema: Schema) -> dict[str, Any]:
    """The body, or a 400 naming each wrong field (nothing is changed)."""
    try:
        return load_body(schema)
    except ValidationError as exc:
        names = ", ".join(sorted(str(k) for k in exc.messages_dict))
        raise ApiError(400, f"invalid migration request: {names}",
                       {"fields": exc.messages_dict}) from exc


def _selection(body: dict[str, Any]) -> tuple[MigrationPlan, list[str]]:
    plan = MigrationPlan.from_dict(body["plan"])
    if body.get("instance_ids"):
        return plan, list(dict.fromkeys(body["instance_ids"]))
    return plan, engine().management.migration_candidates(plan.source_definition_id,
                                                          body.get("filter") or None)


def _refuse_bad_plan(plan: MigrationPlan) -> None:
    problems = engine().management.validate_migration(plan, []).plan_problems
    if problems:
        raise ApiError(400, "the migration plan is invalid: " + "; ".join(
            p.message for p in problems), {"plan_problems": [
                {"code": p.code, "message": p.message, "element_id": p.element_id}
                for p in problems]})


@bp.post("/migrations/plan")
def generate_migration_plan() -> dict[str, Any]:
    """Map every element both versions have with the same id and kind (editable)."""
    body = _body(GeneratePlanSchema())
    management = engine().management
    plan = management.generate_migration_plan(body["source_definition_id"],
                                              body["target_definition_id"])
    return dump(GeneratedPlanSchema, {
        "plan": plan.as_dict(),
        "source_elements": management.migration_elements(plan.source_definition_id),
        "target_elements": management.migration_elements(plan.target_definition_id)})


@bp.post("/migrations/validate")
def validate_migration() -> dict[str, Any]:
    """Say what is wrong with the plan and, per instance, why it cannot migrate."""
    plan, ids = _selection(_body(SelectionSchema()))
    return dump(ValidationReportSchema, engine().management.validate_migration(plan, ids))


@bp.post("/migrations")
def migrate() -> tuple[dict[str, Any], int]:
    """Migrate listed instances now (200), or a filtered set or all of them as a batch (202)."""
    body = _body(MigrateSchema())
    plan, ids = _selection(body)
    _refuse_bad_plan(plan)
    management = engine().management
    if body.get("instance_ids"):
        results = management.migrate(plan, ids, body["dry_run"], actor())
        return dump(MigrationResultSchema, {"dry_run": body["dry_run"],
                                              "results": results}), 200
    batch = management.start_migration_batch(plan, ids, body["dry_run"], actor())
    return dump(BatchSchema, batch), 202


@bp.get("/migrations/batches/<batch_id>")
def show_migration_batch(batch_id: str) -> dict[str, Any]:
    """A batch's progress: total, done, failed, status."""
    return dump(BatchSchema, engine().management.migration_batch(batch_id))


@bp.get("/migrations")
def list_migrations() -> dict[str, Any]:
    """Migrations done, newest first: from, to, plan, who, when."""
    args = load_args(HistoryArgsSchema)
    return dump(RecordListSchema, {"items": engine().management.migrations(
        args.get("instance_id"), args["limit"], args["offset"])})
