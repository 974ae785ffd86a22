"""Flask-SQLAlchemy owns the web app's database pool; the Bridgeflow engine runs over it.

``create_app`` configures ``db`` from the settings and builds the engine over ``db.engine``,
so that one pool serves the app, its per-request session is removed at the end of each
request, and ``Engine.close()`` disposes that pool. Workers and the CLI build their own
engine from the URL (engine/db.py ``make_engine``), without Flask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def database_config(database_url: str,
                    postgres_connect_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """``SQLALCHEMY_*`` settings for ``database_url``, as engine/db.py ``make_engine`` does.

    A relative SQLite path stays relative to the working directory (as for the CLI and the
    workers), not to the app's instance folder as Flask-SQLAlchemy would make it; the SQLite
    pragmas are set by the engine's ``Database`` on the engine it is handed.
    """
    url = database_url
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not path.startswith("file:"):
            url = "sqlite:///" + str(Path(path).absolute())
        options: dict[str, Any] = {"connect_args": {"timeout": 30,
                                                    "check_same_thread": False}}
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        # no pool_pre_ping: the engine's Database checks idle connections more cheaply
        options = {"pool_size": 10, "max_overflow": 20}
        if postgres_connect_args:  # BRIDGEFLOW_DATABASE_PREPARE_THRESHOLD, for PgBouncer
            options["connect_args"] = dict(postgres_connect_args)
    return {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": options}
