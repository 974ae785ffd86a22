"""``bridgeflow migrate``: move running instances from one version of a process to another."""

from __future__ import annotations

import sys

import click

from engine import MigrationInstruction, MigrationPlan

from .cli_common import echo_json, open_engine


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise click.BadParameter(f"'{pair}' is not old=new", param_hint="--map")
        out[old] = new
    return out


@click.command("migrate")
@click.argument("key")
@click.option("--from", "from_version", type=int, required=True, help="version to leave")
@click.option("--to", "to_version", type=int, required=True, help="version to move to")
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW",
              help="map element OLD of the old version to NEW (repeatable)")
@click.option("--instance", "instances", multiple=True, metavar="ID",
              help="migrate this instance now (repeatable)")
@click.option("--all", "everything", is_flag=True,
              help="migrate every running instance of the old version, as a batch")
@click.option("--dry-run", is_flag=True, help="check and report; change nothing")
def migrate(key: str, from_version: int, to_version: int, maps: tuple[str, ...],
            instances: tuple[str, ...], everything: bool, dry_run: bool) -> None:
    """Migrate instances of KEY from one version to another (without --instance or --all:
    print the plan and what stands in the way of each instance)."""
    if instances and everything:
        raise click.UsageError("give --instance or --all, not both")
    with open_engine() as engine:
        source = engine.repository.definition(key, from_version)
        target = engine.repository.definition(key, to_version)
        management = engine.management
        plan = management.generate_migration_plan(source.id, target.id)
        mapping = {**plan.mapping, **_mapping(maps)}
        plan = MigrationPlan(source.id, target.id, tuple(
            MigrationInstruction(old, new) for old, new in sorted(mapping.items())))
        ids = list(instances) or management.migration_candidates(source.id)
        report = management.validate_migration(plan, ids)
        for problem in report.plan_problems:
            click.echo(f"plan: {problem.message}", err=True)
        if not instances and not everything:
            echo_json({"plan": plan.as_dict(), "instances": [
                {"id": c.instance_id, "ok": c.ok, "problems": [p.message for p in c.problems]}
                for c in report.instances]})
            sys.exit(0 if report.ok else 1)
        if report.plan_problems:
            sys.exit(1)
        if everything:
            batch = management.start_migration_batch(plan, ids, dry_run, "cli")
            click.echo(f"batch {batch.id}: {batch.total} instance(s); workers migrate them "
                       f"({'dry run' if dry_run else 'for real'})")
            return
        results = management.migrate(plan, ids, dry_run, "cli")
        for r in results:
            why = "; ".join(p.message for p in r.problems)
            click.echo(f"{r.instance_id}: {r.outcome}" + (f" ({why})" if why else ""))
        sys.exit(1 if any(r.outcome == "refused" for r in results) else 0)
