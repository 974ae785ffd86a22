"""The Flask application: the REST API, health and metrics over one Bridgeflow engine."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from engine import Engine, Settings

from .bootstrap import (
    StartupError,
    check_migrated,
    default_operations,
    open_engine,
)
from .strict_json import StrictJSONProvider

log = logging.getLogger(__name__)

__all__ = ["StartupError", "create_app", "default_operations", "engine_of"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: settings from the environment, then ``test_config``; engine; blueprints.

    It only builds: it writes nothing to the database and starts no thread. The database
    must be migrated (``bridgeflow db upgrade``; else a StartupError says so); ``serve``,
    ``worker`` and ``demo`` deploy ``processes/``; ``bridgeflow users demo`` creates the demo
    users; ``serve`` starts a job worker in each web process (web/server.py).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.json = StrictJSONProvider(app)
    overrides = dict(test_config or {})
    registry = overrides.pop("operations", None)
    settings = Settings.from_env(**overrides)
    from . import auth, security
    from .extensions import database_config, db

    security.check_settings(settings)  # before the database is opened with a forgeable secret
    registry = registry or default_operations(settings)
    app.config.from_mapping(SECRET_KEY=settings.secret_key,
                            MAX_CONTENT_LENGTH=settings.max_body_bytes,
                            **database_config(settings.database_url,
                                             settings.postgres_connect_args()))
    db.init_app(app)  # Flask-SQLAlchemy owns the pool; the engine runs over it
    with app.app_context():
        engine = open_engine(settings, registry, database=db.engine)
    try:  # reads only; a SQLite file that does not exist is refused, not created
        check_migrated(engine, settings)
    except StartupError:
        engine.close()
        raise
    app.extensions["bridgeflow"] = engine

    from . import errors, ops, pages
    from .api import bp as api_bp
    from .engine_rest import bp as engine_rest_bp

    errors.init_app(app)
    security.init_app(app, settings)  # CSRF, cookie flags, security headers
    auth.init_app(app)  # sign-in pages, current_user
    app.register_blueprint(ops.bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(engine_rest_bp)
    pages.init_app(app)
    return app


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["bridgeflow"]
    return engine
