"""Serve the app with gunicorn: several processes, each with threads and its own job worker.

Processes are deployed and the database migrated once, in the parent, before the workers
fork (``bridgeflow serve``); each worker then builds its own app (and engine, and database
pool) after the fork and, unless ``run_worker_in_web`` is off, starts a job worker thread,
which it stops when it exits. No control socket: two servers on one host would share
gunicorn's default ``~/.gunicorn/gunicorn.ctl``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from engine import Worker

from .bootstrap import freeze_startup


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: dict[str, Any], options: dict[str, Any]) -> None:
        self._app_config = config
        self._options = options
        self._app: Flask | None = None
        self._worker: Worker | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        self.cfg.set("worker_exit", self._worker_exit)

    def load(self) -> Flask:
        """In each gunicorn worker process, after the fork: the app and its job worker."""
        from . import create_app, engine_of

        app = self._app = create_app(dict(self._app_config))
        engine = engine_of(app)
        if engine.settings.run_worker_in_web:
            self._worker = Worker(engine)
            self._worker.start()
        freeze_startup()
        return app

    def _worker_exit(self, _server: Any, _worker: Any) -> None:
        """gunicorn's ``worker_exit`` hook, in the worker process: stop the job worker."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._app is not None:
            from . import engine_of

            engine_of(self._app).close()
            self._app = None


def gunicorn_options(host: str, port: int, workers: int, threads: int,
                     timeout: int = 60) -> dict[str, Any]:
    """The gunicorn settings ``serve`` runs with."""
    return {
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
        "control_socket_disable": True,  # the default socket is one per user, not per server
    }


def serve(config: dict[str, Any], host: str, port: int, workers: int, threads: int,
          timeout: int = 60) -> None:
    """Run until SIGINT/SIGTERM; ``config`` is what each worker's ``create_app`` gets."""
    _Gunicorn(config, gunicorn_options(host, port, workers, threads, timeout)).run()
