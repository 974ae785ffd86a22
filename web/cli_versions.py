"""``bridgeflow export`` and ``bridgeflow rollback``: deployed versions and the folder."""

from __future__ import annotations

from pathlib import Path

import click

from engine import ConflictError, NotFoundError

from .cli_common import open_engine


@click.command("export")
@click.option("--to", "folder", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write to (default: the processes folder, BRIDGEFLOW_PROCESSES_DIR).")
def export(folder: Path | None) -> None:
    """Write the newest version of every process and decision (and their forms) as files.

    Run it after editing in the console, then commit the folder: start-up deploys the folder
    and never puts an older file back over a version deployed from the console or the API.
    """
    with open_engine() as engine:
        written = engine.repository.export(folder)
        target = folder or Path(engine.settings.processes_dir)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written)} file{'s' if len(written) != 1 else ''} written to {target}"
               if written else f"{target} already holds the newest versions")


@click.command("rollback")
@click.argument("key")
@click.argument("version", type=click.IntRange(1))
def rollback(key: str, version: int) -> None:
    """Deploy VERSION of KEY again as its newest version (running instances keep theirs)."""
    with open_engine() as engine:
        try:
            deployed = engine.repository.rollback(key, version, "cli")
        except (ConflictError, NotFoundError) as exc:
            raise click.ClickException(exc.message) from None
    for d in deployed:
        click.echo(f"{d.kind} {d.key} version {d.version}"
                   f" ({'new version' if d.new_version else 'unchanged'})")
