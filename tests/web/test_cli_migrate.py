"""``bridgeflow migrate``: plan, dry run and migration of chosen instances from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.engine.bpmn_files import process_file
from tests.engine.migration_files import chain, script, user_task
from web.cli import main


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none")}
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    return env


def _deploy(env: dict[str, str], tmp_path: Path, body: str) -> None:
    path = tmp_path / "mig_cli.bpmn"
    path.write_bytes(process_file("mig_cli", body))
    result = CliRunner().invoke(main, ["deploy", str(path)], env=env)
    assert result.exit_code == 0, result.output


def test_migrate_plans_dry_runs_then_moves_an_instance(env: dict[str, str],
                                                       tmp_path: Path) -> None:
    runner = CliRunner()
    _deploy(env, tmp_path, chain(user_task("review")))
    started = runner.invoke(main, ["start", "mig_cli", "--wait", "5"], env=env)
    instance_id = json.loads(started.output)["id"]
    _deploy(env, tmp_path, chain(user_task("check"), script("after", "a = 1")))
    plan = runner.invoke(main, ["migrate", "mig_cli", "--from", "1", "--to", "2"], env=env)
    assert plan.exit_code == 1  # the token on 'review' has no instruction yet
    assert "has no instruction" in plan.output
    args = ["migrate", "mig_cli", "--from", "1", "--to", "2", "--map", "review=check",
            "--instance", instance_id]
    dry = runner.invoke(main, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0 and f"{instance_id}: would_migrate" in dry.output
    moved = runner.invoke(main, args, env=env)
    assert moved.exit_code == 0 and f"{instance_id}: migrated" in moved.output, moved.output
    again = runner.invoke(main, args, env=env)
    assert f"{instance_id}: skipped" in again.output
    listed = runner.invoke(main, ["instances"], env=env)
    assert "mig_cli v2" in listed.output
    bad = runner.invoke(main, [*args[:6], "--map", "review"], env=env)
    assert bad.exit_code == 2 and "old=new" in bad.output
