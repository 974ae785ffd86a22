"""The Flask application: the REST API, health and metrics over one Bridgeflow engine."""

from __future__ import annotations

import atexit
import logging
from typing import Any

from flask import Flask

from engine import Engine, OperationRegistry, Settings, Worker

from .bootstrap import StartupError, build_engine

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: settings from the environment, then ``test_config``; engine; blueprints."""
    app = Flask(__name__, instance_relative_config=True)
    overrides = dict(test_config or {})
    registry = overrides.pop("operations", None)
    deploy = overrides.pop("deploy_processes", True)
    settings = Settings.from_env(**overrides)
    from . import auth, security

    security.check_settings(settings)  # before anything is written with a forgeable secret
    engine = build_engine(settings, registry or default_operations(settings), deploy=deploy)
    app.config.from_mapping(SECRET_KEY=settings.secret_key,
                            MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.extensions["bridgeflow"] = engine

    from . import errors, ops, pages
    from .api import bp as api_bp

    errors.init_app(app)
    security.init_app(app, settings)  # CSRF, cookie flags, security headers
    auth.init_app(app, settings)  # sign-in pages, current_user; demo users in development
    app.register_blueprint(ops.bp)
    app.register_blueprint(api_bp)
    pages.init_app(app)

    if settings.run_worker_in_web:
        worker = Worker(engine)
        worker.start()
        app.extensions["bridgeflow_worker"] = worker
        atexit.register(worker.stop)
    return app


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


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["bridgeflow"]
    return engine
