"""What every ``bridgeflow`` command module shares: opening the engine, printing JSON.

Its own module, so that the modules of the commands (``cli_access``, ``cli_migrate`` …) and
``web.cli``, which gathers them, import it rather than each other (``python -m web.cli``
runs ``web.cli`` as ``__main__``, and a command module importing ``web.cli`` then loaded it
a second time, half made).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from engine import Engine, EngineError, Settings

from . import bootstrap
from .bootstrap import StartupError


@contextmanager
def open_engine(deploy: bool = False) -> Iterator[Engine]:
    """Build the engine from the environment and close its database afterwards.

    The database must be migrated (``bridgeflow db upgrade``); ``deploy`` deploys
    ``processes/`` first (``serve``, ``worker``).
    """
    try:
        settings = Settings.from_env()
        engine = bootstrap.open_engine(settings, bootstrap.default_operations(settings))
    except StartupError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        try:
            bootstrap.check_migrated(engine, settings)
            if deploy:
                bootstrap.deploy_processes(engine, settings)
        except StartupError as exc:
            raise click.ClickException(str(exc)) from exc
        yield engine
    except EngineError as exc:
        click.echo(f"error: {exc.message}", err=True)
        for problem in exc.details.get("problems", []):
            click.echo(f"  {_problem(problem)}", err=True)
        sys.exit(1)
    finally:
        engine.close()


def _problem(p: dict[str, Any]) -> str:
    where = p["file"] + (f":{p['line']}" if p.get("line") is not None else "")
    where += f" [{p['element_id']}]" if p.get("element_id") else ""
    return f"{where}: {p['message']}"


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (dates and other values as text)."""
    click.echo(json.dumps(data, indent=2, default=str))
