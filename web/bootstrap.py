"""The explicit start-up steps: open, migrate, deploy, demo users, freeze what start-up
built; each is a command's.

``create_app`` only builds (it refuses a database that is not migrated); ``bridgeflow db
upgrade`` migrates, ``serve``, ``worker`` and ``demo`` deploy ``processes/`` before they
start, ``bridgeflow users demo`` creates the demo users (``demo`` does too).
"""

from __future__ import annotations

import gc
import logging
import re
from pathlib import Path

from sqlalchemy import Engine as SqlEngine

from engine import (
    DefinitionError,
    Engine,
    OperationRegistry,
    Problem,
    ProtectionError,
    Settings,
)

log = logging.getLogger(__name__)

_UNKNOWN_OPERATION = re.compile(r"^unknown operation '([^']+)': no connector provides it$")
DEMO_HINT = ("`make run` (or `bridgeflow demo`) starts Bridgeflow with the demo ERP, CRM and "
             "mail sink, which provide them all.")


class StartupError(Exception):
    """The application cannot start; the message says every thing that must be fixed."""


def default_operations(settings: Settings) -> OperationRegistry:
    """The connectors this deployment's settings name (see web/connectors.py)."""
    from service_tasks.mapping import MappingFileError

    from .connectors import build_registry

    try:
        return build_registry(settings)
    except MappingFileError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        raise StartupError(f"cannot load the field mappings in {settings.mappings_dir}: "
                           f"{len(exc.problems)} problem(s)\n{lines}") from exc
    except ValueError as exc:  # a connector refused its settings (e.g. BRIDGEFLOW_SMTP_*)
        raise StartupError(f"invalid connector settings: {exc}") from exc


def open_engine(settings: Settings, registry: OperationRegistry | None = None,
                database: SqlEngine | None = None) -> Engine:
    """An engine over ``database`` (the web app's Flask-SQLAlchemy engine) or else over
    ``settings.database_url``; writes nothing, not even a migration."""
    try:  # refuses missing or bad encryption keys before anything is written
        return Engine(settings.database_url if database is None else database, settings,
                      registry or OperationRegistry())
    except ProtectionError as exc:
        raise StartupError(str(exc)) from exc


def not_migrated(settings: Settings) -> StartupError:
    return StartupError(f"the database at {_shown(settings.database_url)} is not migrated; "
                        "run `bridgeflow db upgrade`")


def require_database_file(settings: Settings) -> None:
    """Refuse a SQLite file that does not exist, before connecting would create it empty."""
    path = settings.sqlite_path()
    if path is not None and not str(path).startswith((":memory:", "file:")) \
            and not path.is_file():
        raise not_migrated(settings)


def check_migrated(engine: Engine, settings: Settings) -> None:
    """Refuse a database whose schema is not at the newest migration (reads only)."""
    require_database_file(settings)
    if not engine.management.database_is_current():
        raise not_migrated(settings)


def upgrade_database(settings: Settings) -> None:
    """Migrate the database to the newest schema: what ``bridgeflow db upgrade`` does."""
    engine = open_engine(settings)
    try:
        engine.management.upgrade_database()
    finally:
        engine.close()


def deploy_processes(engine: Engine, settings: Settings) -> None:
    """Deploy ``settings.processes_dir`` (when it exists); problems become one StartupError."""
    if not Path(settings.processes_dir).is_dir():
        return
    try:
        deployed = engine.repository.deploy_directory(settings.processes_dir)
    except DefinitionError as exc:
        raise StartupError(deploy_failure(settings.processes_dir, exc.problems)) from exc
    for d in deployed:
        if d.new_version:
            log.info("deployed %s version %d", d.key, d.version)
        for warning in d.warnings:
            log.warning("%s: %s", d.key, warning)


def deploy_failure(directory: str, problems: list[Problem]) -> str:
    """Say what stops ``directory`` from deploying: operations no connector provides once
    each, grouped with the files that use them and the settings that provide them; then
    every other problem."""
    from .connectors import SETTINGS_FOR

    missing: dict[str, set[str]] = {}
    others: list[Problem] = []
    for problem in problems:
        found = _UNKNOWN_OPERATION.match(problem.message)
        if found:
            missing.setdefault(found.group(1), set()).add(problem.file)
        else:
            others.append(problem)
    parts = [f"cannot deploy {directory}:"]
    if missing:
        width = max(map(len, missing))
        parts.append(f"{len(missing)} operation(s) that the processes use have no connector:")
        parts += [f"  {op:<{width}}  used by {', '.join(sorted(files))}"
                  for op, files in sorted(missing.items())]
        families = sorted({op.partition(".")[0] for op in missing})
        hints = [(f"{family}.*", SETTINGS_FOR.get(family)) for family in families]
        parts.append("Set these to connect them:")
        parts += [f"  {name:<12} {hint or 'no setting provides these: register a connector'}"
                  for name, hint in hints]
        parts.append(DEMO_HINT)
    if others:
        parts.append(f"{len(others)} other problem(s):")
        parts += [f"  {p}" for p in others]
    return "\n".join(parts)


def create_demo_users(engine: Engine, settings: Settings) -> list[str]:
    """The demo users (development only): created when there are no users; names created."""
    if settings.environment != "development" or not settings.demo_users:
        raise StartupError("demo users exist only in development (BRIDGEFLOW_ENVIRONMENT="
                           f"{settings.environment}, BRIDGEFLOW_DEMO_USERS="
                           f"{str(settings.demo_users).lower()})")
    return engine.identity.ensure_demo_users()


def prepare(settings: Settings, registry: OperationRegistry | None = None, *,
            deploy: bool = True, demo_users: bool = False) -> None:
    """Migrate, deploy ``processes/`` and (when asked) create the demo users: the steps
    ``serve`` and ``demo`` take before they start, and test fixtures before ``create_app``."""
    upgrade_database(settings)
    engine = open_engine(settings, registry if registry is not None
                         else default_operations(settings))
    try:
        if deploy:
            deploy_processes(engine, settings)
        if demo_users:
            create_demo_users(engine, settings)
    finally:
        engine.close()


def _shown(url: str) -> str:
    """The database URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def freeze_startup() -> None:
    """Keep what start-up built out of the garbage collector's full collections.

    A web process holds about 170,000 objects once its app and engine are built (Flask's and
    SQLAlchemy's structures, parsed processes, compiled statements). A full collection walks
    them all: about 100 ms with every thread of the process stopped, each time the objects
    that outlived the younger collections reach a quarter of them. Frozen (``gc.freeze``),
    they are left out of every collection and a full one takes under 1 ms
    (``bench/gc_pause.py``). Reference counting still frees them; only a cycle among them
    that start-up made and later drops (a definition replaced by a newer version, say) stays
    until the process exits. The garbage made so far is collected first, so none is kept.
    """
    gc.collect()
    gc.freeze()
