"""Migrate instances between versions of a process: two diagrams, the mapping, the checks."""

from __future__ import annotations

from typing import Any

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue

from engine import (
    Definition,
    MigrationInstruction,
    MigrationOutcome,
    MigrationPlan,
    MigrationValidation,
    NotFoundError,
)
from web.auth import roles_required

from ..common import engine, me
from . import bp

SHOWN = 200  # instances listed on the page; more are migrated with "all" as a batch


def _version(key: str, raw: str | None) -> Definition | None:
    if not raw:
        return None
    try:
        return engine().repository.definition(key, int(raw))
    except (ValueError, NotFoundError):
        return None


def _plan(source: Definition, target: Definition, form: dict[str, str] | None) -> MigrationPlan:
    """The generated plan, or what the admin chose in the table (``map-<source>`` selects)."""
    management = engine().management
    if form is None:
        return management.generate_migration_plan(source.id, target.id)
    chosen = [MigrationInstruction(name.removeprefix("map-"), value)
              for name, value in form.items() if name.startswith("map-") and value]
    return MigrationPlan(source.id, target.id, tuple(chosen))


def _page(form: dict[str, str] | None = None, selected: list[str] | None = None,
          report: MigrationValidation | None = None,
          outcomes: list[MigrationOutcome] | None = None, dry_run: bool = False,
          status: int = 200) -> tuple[str, int]:
    values = form if form is not None else request.args.to_dict()
    eng = engine()
    processes = [d for d in eng.repository.list_definitions() if d.kind == "process"]
    key = values.get("key") or ""
    versions = eng.repository.definition_versions(key) if key else []
    source = _version(key, values.get("from")) if key else None
    target = _version(key, values.get("to")) if key else None
    view: dict[str, Any] = {"processes": processes, "key": key, "versions": versions,
                            "source": source, "target": target, "report": report,
                            "outcomes": outcomes, "dry_run": dry_run,
                            "history": eng.management.migrations(limit=20),
                            "batches": eng.management.migration_batches(10)}
    if source is not None and target is not None and source.id != target.id:
        plan = _plan(source, target, form)
        ids = eng.management.migration_candidates(source.id)
        view.update(plan=plan.mapping,
                    source_elements=eng.management.migration_elements(source.id),
                    target_elements=eng.management.migration_elements(target.id),
                    instances=[eng.runtime.instance(i) for i in ids[:SHOWN]],
                    total=len(ids), selected=set(selected if selected is not None else ids),
                    checks={c.instance_id: c for c in report.instances} if report else {},
                    results={o.instance_id: o for o in outcomes or []})
    return render_template("admin/migrations.html", nav_section="definitions",
                           **view), status


@bp.get("/migrations")
@roles_required("admin")
def migrations() -> tuple[str, int]:
    """Choose a process and two versions; see the plan, the instances and the history."""
    return _page()


@bp.post("/migrations")
@roles_required("admin")
def run_migration() -> ResponseReturnValue:
    """Validate, dry-run or run the plan for the ticked instances (or all, as a batch)."""
    form = request.form.to_dict()
    form.pop("csrf_token", None)
    action = form.pop("action", "validate")
    selected = request.form.getlist("instance")
    form.pop("instance", None)
    key = form.get("key") or ""
    source, target = _version(key, form.get("from")), _version(key, form.get("to"))
    if source is None or target is None or source.id == target.id:
        flash("Choose a process and two different versions of it.", "error")
        return _page(form, selected, status=400)
    plan = _plan(source, target, form)
    management = engine().management
    if action == "batch":
        ids = management.migration_candidates(source.id)
        report = management.validate_migration(plan, [])
        if report.plan_problems:
            return _page(form, selected, report, status=400)
        batch = management.start_migration_batch(plan, ids, False, me().name)
        flash(f"Batch started: {batch.total} instance(s) of version {source.version} move "
              f"to version {target.version} in the background.", "success")
        return _page(form, selected)
    if not selected:
        flash("Tick the instances to migrate.", "error")
        return _page(form, selected, status=400)
    report = management.validate_migration(plan, selected)
    if action == "validate":
        return _page(form, selected, report)
    dry_run = action == "dry_run"
    outcomes = management.migrate(plan, selected, dry_run, me().name)
    moved = sum(o.outcome == "migrated" for o in outcomes)
    refused = sum(o.outcome == "refused" for o in outcomes)
    if dry_run:
        flash(f"Dry run: {len(outcomes) - refused} instance(s) would migrate, {refused} would "
              "be refused. Nothing was changed.", "info")
    else:
        flash(f"{moved} instance(s) migrated to version {target.version}; {refused} refused.",
              "success" if not refused else "error")
    return _page(form, selected, report, outcomes, dry_run)
