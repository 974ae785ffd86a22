"""The ``bridgeflow`` command: serve, run a worker, deploy, start, list, complete, keys, db."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine import Settings, Worker

from . import bootstrap
from .bootstrap import StartupError
from .cli_common import echo_json, open_engine


def parse_vars(pairs: tuple[str, ...]) -> dict[str, Any]:
    """Turn ``name=value`` pairs into variables; values are JSON when they parse as JSON."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"'{pair}' is not name=value", param_hint="--var")
        try:
            out[name] = json.loads(raw)
        except ValueError:
            out[name] = raw
    return out


@click.group()
def main() -> None:
    """Bridgeflow: a BPMN process engine with human tasks."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Web processes (each also runs a job worker unless --no-worker).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Request threads per web process.")
@click.option("--no-worker", is_flag=True, help="Do not run job workers in the web processes.")
def serve(host: str, port: int, workers: int, threads: int, no_worker: bool) -> None:
    """Serve the web app and the API (migrates the database and deploys processes/ first)."""
    from .server import serve as run_server

    try:  # once, in this process, before the web processes start
        bootstrap.prepare(Settings.from_env(), deploy=True)
    except StartupError as exc:
        raise click.ClickException(str(exc)) from exc
    config: dict[str, Any] = {}
    if no_worker:
        config["run_worker_in_web"] = False
    run_server(config, host, port, workers, threads)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--erp-port", default=8000, show_default=True, type=int)
@click.option("--crm-port", default=8081, show_default=True, type=int)
@click.option("--smtp-port", default=8025, show_default=True, type=int)
@click.option("--workdir", default="instance/demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def demo(host: str, port: int, erp_port: int, crm_port: int, smtp_port: int, workdir: Path,
         workers: int) -> None:
    """Serve Bridgeflow with the demo Tryton ERP, the CRM sandbox and a mail sink."""
    from .demo import run_demo

    try:
        run_demo(host, port, erp_port=erp_port, crm_port=crm_port, smtp_port=smtp_port,
                 workdir=workdir, workers=workers)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def erp() -> None:
    """The demo ERP (Tryton)."""


@erp.command("setup", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def erp_setup(args: tuple[str, ...]) -> None:
    """Prepare the demo Tryton database (see --help of the command for options)."""
    from service_tasks.tryton.demo import main as setup_main

    sys.exit(setup_main(list(args)))


@main.command()
def worker() -> None:
    """Run a worker that takes due jobs until SIGINT or SIGTERM (deploys processes/ first)."""
    with open_engine(deploy=True) as engine:
        bootstrap.freeze_startup()  # as each web process does once built (web/server.py)
        Worker(engine).run()


@main.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="Run every check and say what would be deployed; store nothing.")
@click.option("--comment", default=None, help="What changed; kept with each new version.")
def deploy(paths: tuple[Path, ...], dry_run: bool, comment: str | None) -> None:
    """Deploy BPMN and DMN files, or every such file under directories."""
    files: dict[str, bytes] = {}
    for path in paths:
        if path.is_dir():
            files.update({str(p.relative_to(path)): p.read_bytes()
                          for p in sorted(path.rglob("*")) if p.is_file()
                          and p.suffix in (".bpmn", ".dmn", ".json", ".xml")})
        else:
            files[path.name] = path.read_bytes()
    with open_engine() as engine:
        for d in engine.repository.deploy(files, deployed_by="cli", dry_run=dry_run,
                                          comment=comment):
            state = "new version" if d.new_version else "unchanged"
            if dry_run:
                state = f"would be a {state}" if d.new_version else state
            click.echo(f"{d.kind} {d.key} version {d.version} ({state})")
            for warning in d.warnings:
                click.echo(f"  warning: {warning}")
        if dry_run:
            click.echo("dry run: nothing was stored")


@main.command()
@click.argument("key")
@click.option("--business-key", default=None)
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="A variable; the value is read as JSON when it parses, else as text.")
@click.option("--wait", default=0.0, type=click.FloatRange(0, 30),
              help="Run the instance now for up to this many seconds.")
def start(key: str, business_key: str | None, variables: tuple[str, ...], wait: float) -> None:
    """Start an instance of process KEY and print it."""
    data = parse_vars(variables)
    with open_engine() as engine:
        inst = engine.runtime.start(key, business_key, data, started_by="cli", wait=wait)
        echo_json({"id": inst.id, "process_key": inst.process_key, "version": inst.version,
                    "status": inst.status, "variables": inst.variables})


@main.command()
@click.argument("key")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="An input; the value is read as JSON when it parses, else as text.")
def decide(key: str, variables: tuple[str, ...]) -> None:
    """Evaluate deployed decision KEY with these inputs; print outputs and matched rules."""
    from .api.common import json_safe

    data = parse_vars(variables)
    with open_engine() as engine:
        result = engine.repository.evaluate_decision(key, data)
        echo_json({"outputs": json_safe(result.outputs),
                    "matched_rules": [{"id": r.id, "number": r.number}
                                      for r in result.matched_rules]})


@main.command()
@click.option("--status", default=None)
@click.option("--process", "process_key", default=None)
def instances(status: str | None, process_key: str | None) -> None:
    """List process instances, newest first."""
    with open_engine() as engine:
        page = engine.runtime.list_instances(status=status, process_key=process_key)
        for i in page.items:
            click.echo(f"{i.id}  {i.process_key} v{i.version}  {i.status:<10} "
                       f"{i.business_key or ''}")
        click.echo(f"{page.total} instance(s)")


@main.command()
@click.option("--group", default=None)
@click.option("--assignee", default=None)
def tasks(group: str | None, assignee: str | None) -> None:
    """List open human tasks."""
    with open_engine() as engine:
        page = engine.tasks.list_tasks(candidate_group=group, assignee=assignee)
        for t in page.items:
            click.echo(f"{t.id}  {t.process_key}  {t.name or t.element_id}  {t.status}  "
                       f"{t.assignee or ''}")
        click.echo(f"{page.total} task(s)")


@main.command()
@click.argument("task_id")
@click.option("--user", required=True)
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE")
def complete(task_id: str, user: str, variables: tuple[str, ...]) -> None:
    """Complete a human task as USER with the given variables."""
    data = parse_vars(variables)
    with open_engine() as engine:
        task = engine.tasks.complete(task_id, user, data)
        click.echo(f"task {task.id} {task.status}")


@main.group()
def users() -> None:
    """People who sign in to the web app: create, list, set passwords, deactivate."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "analyst", "user"]))
@click.option("--groups", default="", metavar="G1,G2",
              help="Task groups, comma-separated (e.g. finance,support).")
@click.option("--display-name", default=None)
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(name: str, role: str, groups: str, display_name: str | None,
                email: str | None, password_stdin: bool) -> None:
    """Create user NAME; asks for the password twice unless --password-stdin."""
    password = _read_password(password_stdin)
    with open_engine() as engine:
        user = engine.identity.create_user(name, password, role=role,
                                           groups=groups.split(","),
                                           display_name=display_name, email=email)
        click.echo(f"user {user.name} created (role {user.role}, groups "
                   f"{', '.join(user.groups) or 'none'})")


@users.command("demo")
def demo_users() -> None:
    """Create the demo users (development only; when there are no users yet)."""
    with open_engine() as engine:
        try:
            made = bootstrap.create_demo_users(engine, engine.settings)
        except StartupError as exc:
            raise click.ClickException(str(exc)) from exc
        if made:
            click.echo(f"demo users created: {', '.join(made)} (password "
                       "'bridgeflow-demo')")
        else:
            click.echo("no demo users created: there are users already")


@users.command("list")
def list_users() -> None:
    """List the users, their role, groups and last sign-in."""
    with open_engine() as engine:
        rows = engine.identity.list_users()
        for u in rows:
            last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
            state = "active" if u.active else "deactivated"
            click.echo(f"{u.name:<20} {u.role:<8} {','.join(u.groups) or '-':<30} "
                       f"{state:<11} last sign-in {last}")
        click.echo(f"{len(rows)} user(s)")


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_user_password(name: str, password_stdin: bool) -> None:
    """Give user NAME a new password (their open sessions end)."""
    password = _read_password(password_stdin)
    with open_engine() as engine:
        engine.identity.set_password(name, password)
        click.echo(f"password of {name} changed")


@users.command("deactivate")
@click.argument("name")
def deactivate_user(name: str) -> None:
    """Stop user NAME from signing in (their open sessions end)."""
    with open_engine() as engine:
        engine.identity.deactivate(name)
        click.echo(f"user {name} deactivated")


@main.group()
def history() -> None:
    """History: remove what has outlived its time-to-live."""


@history.command("cleanup")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def history_cleanup(dry_run: bool) -> None:
    """Remove ended instances past their process's history time-to-live, in batches."""
    with open_engine() as engine:
        report = engine.history.cleanup(dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {report.instances} instance(s) in {report.batches} batch(es)")
    for table, count in sorted(report.removed.items()):
        click.echo(f"  {table}: {count}")
    if report.archived:
        click.echo(f"archived {report.archived} ended instance(s) out of the live table")


@main.command()
@click.option("--business-key", required=True, help="The customer's business key.")
@click.option("--terminate", is_flag=True,
              help="Terminate the key's running instances first instead of refusing.")
@click.option("--actor", default="cli", show_default=True,
              help="Who asked for the erasure (kept in the audit event).")
def erase(business_key: str, terminate: bool, actor: str) -> None:
    """Erase one customer's data: every instance of a business key, audited without it."""
    with open_engine() as engine:
        report = engine.management.erase(business_key, actor, terminate)
    click.echo(f"erased business key {report.business_key}: {report.instances} instance(s) "
               f"({report.terminated} terminated first), {report.rows} row(s)")
    for table, count in sorted(report.removed.items()):
        click.echo(f"  {table}: {count}")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
def upgrade() -> None:
    """Migrate the database to the newest schema (the only command that migrates)."""
    try:
        bootstrap.upgrade_database(Settings.from_env())
    except StartupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("database is up to date")


@main.group()
def mapping() -> None:
    """Field mapping files (processes/mappings)."""


@mapping.command("test")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("sample", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def test_mapping(file: Path, sample: Path) -> None:
    """Map the JSON record in SAMPLE with mapping FILE and print the result."""
    from service_tasks.base import ConnectorError
    from service_tasks.mapping import MappingFileError, json_ready, load_mapping

    try:
        record = json.loads(sample.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="SAMPLE") from exc
    try:
        mapped = load_mapping(file).apply(record)
    except MappingFileError as exc:
        click.echo(f"error: {len(exc.problems)} problem(s) in {file}", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    except ConnectorError as exc:
        failures = exc.details.get("failures", [])
        headline = (f"mapping '{exc.details['mapping']}' failed for {len(failures)} field(s)"
                    if failures else exc.message)
        click.echo(f"error: {headline}", err=True)
        for failure in failures:
            shown = "" if failure["value"] is None else f" = {failure['value']}"
            click.echo(f"  {failure['field']}{shown}: {failure['message']}", err=True)
        sys.exit(1)
    echo_json(json_ready(mapped))


from .cli_access import api_keys as _api_keys  # noqa: E402  (the commands of other modules)
from .cli_access import security_events as _security_events  # noqa: E402
from .cli_migrate import migrate as _migrate  # noqa: E402
from .cli_tests import test as _test  # noqa: E402
from .cli_versions import export as _export  # noqa: E402
from .cli_versions import rollback as _rollback  # noqa: E402

main.add_command(_api_keys)
main.add_command(_security_events)
main.add_command(_migrate)
main.add_command(_export)
main.add_command(_rollback)
main.add_command(_test)


if __name__ == "__main__":  # ``python -m web.cli``, as the ``bridgeflow`` command
    main()
