"""Serve the app with gunicorn: several processes, each with threads and its own job worker.

Processes are deployed and the database migrated once, in the parent, before the workers
fork; each worker then builds its own app (and engine, and database pool) after the fork.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: dict[str, Any], options: dict[str, Any]) -> None:
        self._app_config = config
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from . import create_app

        return create_app(dict(self._app_config))


def serve(config: dict[str, Any], host: str, port: int, workers: int, threads: int,
          timeout: int = 60) -> None:
    """Run until SIGINT/SIGTERM; ``config`` is what each worker's ``create_app`` gets."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": timeout,
        "graceful_timeout": 20,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "bridgeflow",
    }
    _Gunicorn(config, options).run()
