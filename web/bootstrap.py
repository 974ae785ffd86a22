"""Build the engine from settings: shared by the app factory, the CLI and the worker."""

from __future__ import annotations

import logging
from pathlib import Path

from engine import DefinitionError, Engine, OperationRegistry, ProtectionError, Settings

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The application cannot start; the message says every thing that must be fixed."""


def build_engine(settings: Settings, registry: OperationRegistry | None = None,
                 deploy: bool = True) -> Engine:
    """Open the database, migrate it, and deploy ``settings.processes_dir`` when asked."""
    try:  # refuses missing or bad encryption keys before anything is written
        engine = Engine.from_settings(settings, registry or OperationRegistry())
    except ProtectionError as exc:
        raise StartupError(str(exc)) from exc
    engine.management.upgrade_database()
    if deploy and Path(settings.processes_dir).is_dir():
        try:
            deployed = engine.repository.deploy_directory(settings.processes_dir)
        except DefinitionError as exc:
            engine.close()
            lines = "\n".join(f"  {p}" for p in exc.problems)
            raise StartupError(f"cannot deploy {settings.processes_dir}: "
                               f"{len(exc.problems)} problem(s)\n{lines}") from exc
        for d in deployed:
            if d.new_version:
                log.info("deployed %s version %d", d.key, d.version)
    return engine
