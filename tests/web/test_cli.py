"""The bridgeflow command, run through click's CliRunner against a fresh SQLite file."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from web import create_app, server
from web.cli import main, parse_vars

from .processes import approval

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "processes"


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none")}
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    return env


def test_db_upgrade_is_what_migrates(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{database}",
           "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none")}
    refused = CliRunner().invoke(main, ["users", "list"], env=env)
    assert refused.exit_code == 1
    assert f"the database at sqlite:///{database} is not migrated; run `bridgeflow db " \
           "upgrade`" in refused.output
    assert not database.exists()  # refused without creating an empty file
    for _ in range(2):  # and again: nothing left to do
        upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
        assert upgraded.exit_code == 0 and "database is up to date" in upgraded.output
    listed = CliRunner().invoke(main, ["users", "list"], env=env)
    assert listed.exit_code == 0 and "0 user(s)" in listed.output


def shipped_env(tmp_path: Path) -> dict[str, str]:
    """The shipped processes/ on default settings: no ERP, CRM or SMTP configured."""
    return {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "BRIDGEFLOW_PROCESSES_DIR": str(ROOT / "processes"),
            "BRIDGEFLOW_MAPPINGS_DIR": str(ROOT / "processes" / "mappings"),
            "BRIDGEFLOW_ERP_URL": "", "BRIDGEFLOW_CRM_URL": "", "BRIDGEFLOW_SMTP_HOST": ""}


def test_serve_without_connectors_says_once_which_operations_lack_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    monkeypatch.setattr(server, "serve", lambda *args, **kw: started.append(args))
    result = CliRunner().invoke(main, ["serve"], env=shipped_env(tmp_path))
    assert result.exit_code == 1 and started == []
    out = result.output
    for op in ("erp.check_stock", "erp.find_order", "crm.create_task", "crm.update_order",
               "notify.email", "reconcile.read", "reconcile.compare", "reconcile.repair"):
        assert out.count(f"  {op} ") == 1, (op, out)  # once, however many files use it
    listed = [line.split()[0] for line in out.splitlines() if " used by " in line]
    assert listed == sorted(listed) and len(listed) == len(set(listed)) == 23
    assert "notify.email" in out and "used by complaint_handling.bpmn, credit_approval.bpmn" \
        in out
    assert "unknown operation" not in out  # no per-element duplicates
    for setting in ("BRIDGEFLOW_ERP_URL", "BRIDGEFLOW_CRM_URL", "BRIDGEFLOW_CRM_CLIENT_ID",
                    "BRIDGEFLOW_CRM_CLIENT_SECRET", "BRIDGEFLOW_SMTP_HOST"):
        assert setting in out, setting
    assert "reconcile.*  both BRIDGEFLOW_ERP_URL and BRIDGEFLOW_CRM_URL" in out
    assert "`make run` (or `bridgeflow demo`) starts Bridgeflow with the demo ERP, CRM and " \
           "mail sink" in out
    assert len(out.splitlines()) < 36


def test_serve_migrates_and_deploys_once_then_starts_the_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    monkeypatch.setattr(server, "serve", lambda *args, **kw: started.append(args))
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           "BRIDGEFLOW_PROCESSES_DIR": str(FIXTURES)}
    result = CliRunner().invoke(main, ["serve", "--port", "9999", "--no-worker"], env=env)
    assert result.exit_code == 0, result.output
    assert started == [({"run_worker_in_web": False}, "127.0.0.1", 9999, 2, 8)]
    listed = CliRunner().invoke(main, ["instances"], env=env)  # migrated
    assert listed.exit_code == 0, listed.output
    tried = CliRunner().invoke(main, ["deploy", "--dry-run", str(FIXTURES)], env=env)
    assert "process auto_steps version 1 (unchanged)" in tried.output  # deployed


def test_the_server_has_no_shared_control_socket() -> None:
    options = server.gunicorn_options("127.0.0.1", 8080, 1, 1)
    assert options["control_socket_disable"] is True
    assert server._Gunicorn({}, options).cfg.control_socket_disable is True


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A web process freezes what start-up built (web/bootstrap.py); this test process, which
    goes on with other tests, is thawed afterwards."""
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_each_web_process_starts_its_job_worker_and_stops_it_on_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    assert CliRunner().invoke(main, ["db", "upgrade"],
                              env={"BRIDGEFLOW_DATABASE_URL": url}).exit_code == 0
    config = {"database_url": url, "processes_dir": str(tmp_path / "none")}
    app_server = server._Gunicorn(config, server.gunicorn_options("127.0.0.1", 0, 1, 1))
    app_server.load()  # what gunicorn calls in each worker process after the fork
    # what start-up built is out of the full collections' way (each walked it all)
    assert gc.get_freeze_count() > 10_000
    worker = app_server._worker
    assert worker is not None and worker._scheduler is not None
    app_server._worker_exit(None, None)  # gunicorn's worker_exit hook
    assert worker._scheduler is None and app_server._worker is None
    quiet = server._Gunicorn({**config, "run_worker_in_web": False},
                             server.gunicorn_options("127.0.0.1", 0, 1, 1))
    quiet.load()
    assert quiet._worker is None
    quiet._worker_exit(None, None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _healthz(port: int, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                answer: dict[str, Any] = json.loads(resp.read())
                if answer.get("workers_alive"):
                    return answer
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no server with a live job worker on port {port}")
        time.sleep(0.3)


@pytest.mark.slow
def test_two_servers_on_one_host_run_side_by_side_without_a_control_socket(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BRIDGEFLOW_") and k != "XDG_RUNTIME_DIR"}
    env["HOME"] = str(home)
    servers = []
    try:
        for name in ("one", "two"):
            port = _free_port()
            servers.append((port, subprocess.Popen(
                [sys.executable, "-c", "from web.cli import main; main()", "serve",
                 "--port", str(port), "--workers", "1", "--threads", "2"], cwd=ROOT,
                env={**env, "BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
                     "BRIDGEFLOW_PROCESSES_DIR": str(FIXTURES)})))
        for port, process in servers:
            assert process.poll() is None, f"the server on port {port} stopped"
            assert _healthz(port)["status"] == "ok"
        assert all(process.poll() is None for _, process in servers)
        assert not (home / ".gunicorn").exists()
    finally:
        for _, process in servers:
            process.send_signal(signal.SIGTERM)
        for _, process in servers:
            try:
                assert process.wait(timeout=30) == 0
            except subprocess.TimeoutExpired:
                process.kill()
                raise


def test_api_keys_create_list_rotate_and_revoke(env: dict[str, str]) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["api-keys", "create", "crm", "--scope", "processes:start",
                                "--scope", "messages:send", "--expires", "90d"], env=env)
    assert made.exit_code == 0, made.output
    secret = made.output.strip()
    assert secret.startswith("bf_")
    again = runner.invoke(main, ["api-keys", "create", "crm", "--scope", "admin"], env=env)
    assert again.exit_code == 1 and "exists already" in again.output
    listed = runner.invoke(main, ["api-keys", "list"], env=env)
    assert listed.exit_code == 0
    assert secret not in listed.output and secret[10:20] not in listed.output
    [line] = [row for row in listed.output.splitlines() if " crm " in row]
    assert "processes:start,messages:send" in line and "active" in line
    key_id = line.split()[0]
    app = create_app({"database_url": env["BRIDGEFLOW_DATABASE_URL"],
                      "run_worker_in_web": False})
    client = app.test_client()

    def status(key: str, url: str = "/api/v1/process-definitions") -> int:
        return client.get(url, headers={"Authorization": f"Bearer {key}"}).status_code

    assert status(secret) == 200
    assert status(secret, "/api/v1/incidents") == 403  # no admin scope
    rotated = runner.invoke(main, ["api-keys", "rotate", key_id], env=env)
    fresh = rotated.output.strip()
    assert rotated.exit_code == 0 and fresh.startswith("bf_") and fresh != secret
    assert (status(secret), status(fresh)) == (401, 200)
    revoked = runner.invoke(main, ["api-keys", "revoke", key_id], env=env)
    assert revoked.exit_code == 0 and "API key crm revoked" in revoked.output
    assert status(fresh) == 401
    assert "revoked" in runner.invoke(main, ["api-keys", "list"], env=env).output
    app.extensions["bridgeflow"].close()


@pytest.mark.parametrize(("args", "message"), [
    (["--scope", "everything"], "'everything' is not one of"),
    (["--scope", "admin", "--expires", "soon"], "'soon' is neither a date"),
    (["--scope", "admin", "--expires", "2001-01-01"], "the expiry must be in the future"),
    ([], "Missing option '--scope'"),
])
def test_api_keys_create_refuses_bad_scopes_and_expiries(env: dict[str, str], args: list[str],
                                                         message: str) -> None:
    result = CliRunner().invoke(main, ["api-keys", "create", "crm", *args], env=env)
    assert result.exit_code != 0 and message in result.output
    listed = CliRunner().invoke(main, ["api-keys", "list"], env=env)
    assert listed.output.strip() == "0 key(s)"


def test_revoking_an_unknown_key_says_so(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["api-keys", "revoke", "nope"], env=env)
    assert result.exit_code == 1 and "no API key with id 'nope'" in result.output


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


def test_deploy_dry_run_stores_nothing(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    tried = runner.invoke(main, ["deploy", "--dry-run", str(FIXTURES)], env=env)
    assert tried.exit_code == 0, tried.output
    assert "process auto_steps version 1 (would be a new version)" in tried.output
    assert "dry run: nothing was stored" in tried.output
    deployed = runner.invoke(main, ["deploy", str(FIXTURES)], env=env)
    assert "process auto_steps version 1 (new version)" in deployed.output
    broken = tmp_path / "approval.bpmn"
    broken.write_bytes(approval("import os"))
    refused = runner.invoke(main, ["deploy", "--dry-run", str(broken)], env=env)
    assert refused.exit_code == 1 and "approval.bpmn:" in refused.output


def test_deploy_with_a_comment_rollback_and_export(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    first, second = tmp_path / "v1" / "approval.bpmn", tmp_path / "v2" / "approval.bpmn"
    for path, content in ((first, approval()), (second, approval("approved_by = 'y'"))):
        path.parent.mkdir()
        path.write_bytes(content)
    assert runner.invoke(main, ["deploy", str(first)], env=env).exit_code == 0
    deployed = runner.invoke(main, ["deploy", "--comment", "y approves now", str(second)],
                             env=env)
    assert "process approval version 2 (new version)" in deployed.output

    back = runner.invoke(main, ["rollback", "approval", "1"], env=env)
    assert back.exit_code == 0 and "process approval version 3 (new version)" in back.output
    again = runner.invoke(main, ["rollback", "approval", "3"], env=env)
    assert again.exit_code == 1
    assert "version 3 of 'approval' is already the newest" in again.output
    missing = runner.invoke(main, ["rollback", "nothing", "1"], env=env)
    assert missing.exit_code == 1 and "no definition with key 'nothing'" in missing.output

    folder = tmp_path / "exported"
    exported = runner.invoke(main, ["export", "--to", str(folder)], env=env)
    assert exported.exit_code == 0, exported.output
    assert (folder / "approval.bpmn").read_bytes() == approval()  # version 3 is version 1
    assert "1 file written to" in exported.output
    unchanged = runner.invoke(main, ["export", "--to", str(folder)], env=env)
    assert "already holds the newest versions" in unchanged.output


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
                 ["complete"], ["decide"], ["api-keys", "create"], ["db", "upgrade"],
                 ["users", "demo"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_var_values_are_json_when_they_parse() -> None:
    assert parse_vars(("n=3", "s=hello", "o={\"a\": 1}")) == {"n": 3, "s": "hello",
                                                             "o": {"a": 1}}


def test_complete_from_the_cli_is_for_a_candidate_only(env: dict[str, str],
                                                       tmp_path: Path) -> None:
    runner = CliRunner()
    process = tmp_path / "approval.bpmn"
    process.write_bytes(approval())
    assert runner.invoke(main, ["deploy", str(process)], env=env).exit_code == 0
    assert runner.invoke(main, ["start", "approval", "--wait", "5"], env=env).exit_code == 0
    password = {"input": "correct horse battery\n"}
    for name, groups in (("fiona", "finance"), ("sue", "support")):
        made = runner.invoke(main, ["users", "create", name, "--role", "user", "--groups",
                                    groups, "--password-stdin"], env=env, **password)
        assert made.exit_code == 0, made.output
    listed = runner.invoke(main, ["tasks"], env=env).output
    task_id = listed.split()[0]
    for user, message in (("ghost", "there is no user named 'ghost'"),
                          ("sue", "sue is neither a candidate nor its assignee")):
        refused = runner.invoke(main, ["complete", task_id, "--user", user], env=env)
        assert refused.exit_code == 1 and message in refused.output
        assert " ready" in runner.invoke(main, ["tasks"], env=env).output
    done = runner.invoke(main, ["complete", task_id, "--user", "fiona"], env=env)
    assert done.exit_code == 0 and f"task {task_id} completed" in done.output


def test_an_admin_sees_the_refusals_with_security_events(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    runner = CliRunner()
    process = tmp_path / "approval.bpmn"
    process.write_bytes(approval())
    runner.invoke(main, ["deploy", str(process)], env=env)
    runner.invoke(main, ["start", "approval", "--wait", "5"], env=env)
    task_id = runner.invoke(main, ["tasks"], env=env).output.split()[0]
    runner.invoke(main, ["complete", task_id, "--user", "ghost"], env=env)
    shown = runner.invoke(main, ["security-events", "--type", "access_denied"], env=env)
    assert shown.exit_code == 0
    [line] = shown.output.splitlines()
    assert "access_denied" in line and "ghost" in line and "action=task.complete" in line
    assert f"task_id={task_id}" in line and "there is no user named 'ghost'" in line


def test_deploy_warns_of_a_topic_no_worker_has_asked_for(env: dict[str, str]) -> None:
    external = FIXTURES.parent / "external" / "loan_granting.bpmn"
    result = CliRunner().invoke(main, ["deploy", str(external)], env=env)
    assert result.exit_code == 0, result.output
    assert "process loan_granting version 1 (new version)" in result.output
    assert ("  warning: no worker has asked for topic 'creditScoreChecker' yet: its external "
            "tasks wait until a worker fetches them") in result.output


def test_python_dash_m_web_cli_is_the_bridgeflow_command(tmp_path: Path) -> None:
    # run as __main__, web.cli used to be loaded a second time by a command module and
    # stopped on a circular import before printing anything
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGEFLOW_")}
    done = subprocess.run([sys.executable, "-m", "web.cli", "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Bridgeflow: a BPMN process engine" in done.stdout
    for command in ("serve", "worker", "api-keys", "migrate", "export", "test"):
        assert f"  {command} " in done.stdout or f"  {command}\n" in done.stdout, command
    db = tmp_path / "cli.db"
    done = subprocess.run([sys.executable, "-m", "web.cli", "db", "upgrade"], cwd=ROOT,
                          env={**env, "BRIDGEFLOW_DATABASE_URL": f"sqlite:///{db}"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert db.exists()
