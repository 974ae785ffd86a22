"""The bridgeflow command, run through click's CliRunner against a fresh SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from web.cli import main, parse_vars

from .processes import approval

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "processes"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none")}


def test_api_keys_create_prints_a_working_key(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["api-keys", "create", "crm"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("bf_")
    again = CliRunner().invoke(main, ["api-keys", "create", "crm"], env=env)
    assert again.exit_code == 1 and "exists already" in again.output


def test_deploy_of_a_broken_file_prints_the_problem(env: dict[str, str],
                                                    tmp_path: Path) -> None:
    broken = tmp_path / "approval.bpmn"
    broken.write_bytes(approval("import os"))
    result = CliRunner().invoke(main, ["deploy", str(broken)], env=env)
    assert result.exit_code == 1
    assert "approval.bpmn:" in result.output and "[after]" in result.output


def test_deploy_then_start_with_wait(env: dict[str, str]) -> None:
    runner = CliRunner()
    deployed = runner.invoke(main, ["deploy", str(FIXTURES)], env=env)
    assert deployed.exit_code == 0, deployed.output
    assert "process auto_steps version 1 (new version)" in deployed.output
    again = runner.invoke(main, ["deploy", str(FIXTURES)], env=env)
    assert "process auto_steps version 1 (unchanged)" in again.output
    result = runner.invoke(main, ["start", "auto_steps", "--business-key", "B-1", "--wait", "5",
                                  "--var", 'lines=[{"qty": 1, "price": 100}]'], env=env)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["status"] == "completed" and body["variables"]["net"] == 100.0
    listed = runner.invoke(main, ["instances", "--status", "completed"], env=env)
    assert "auto_steps v1" in listed.output and "1 instance(s)" in listed.output


def test_decide_prints_outputs_and_the_rule_that_matched(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["deploy", str(FIXTURES)], env=env).exit_code == 0
    result = runner.invoke(main, ["decide", "discount", "--var", "size=large",
                                  "--var", "total=6000"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"outputs": 10,
                                         "matched_rules": [{"id": "r1", "number": 1}]}
    unknown = runner.invoke(main, ["decide", "no_such_table"], env=env)
    assert unknown.exit_code == 1 and "no_such_table" in unknown.output


def test_start_of_an_unknown_process_is_one_line_on_stderr(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["start", "nope"], env=env)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "nope" in result.output


def test_every_command_has_help() -> None:
    for args in (["serve"], ["worker"], ["deploy"], ["start"], ["instances"], ["tasks"],
                 ["complete"], ["decide"], ["api-keys", "create"], ["db", "upgrade"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_var_values_are_json_when_they_parse() -> None:
    assert parse_vars(("n=3", "s=hello", "o={\"a\": 1}")) == {"n": 3, "s": "hello",
                                                             "o": {"a": 1}}
