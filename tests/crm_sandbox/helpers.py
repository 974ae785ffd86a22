"""Test helpers shared by the sandbox and CRM connector tests: a clock to move by hand, the
app served on a free port, and a webhook receiver that records what it is sent."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from crm_sandbox import create_app

START = 1_740_819_600.0   # 2025-03-01T09:00:00Z


def seeded_template(directory: Path) -> Path:
    """A new, seeded CRM database made once, for tests to copy instead of seeding each time."""
    path = directory / "template.db"
    create_app({"DATABASE": str(path), "CLOCK": FakeClock(), "WEBHOOK_SENDER": False})
    return path


def copy_database(template: Path, target: Path) -> str:
    if not target.exists():
        shutil.copyfile(template, target)
    return str(target)


def free_port() -> int:
    """A local port nothing listens on (a receiver that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeClock:
    """Seconds since the epoch, moved only by ``advance``."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free local port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Delivery:
    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A local HTTP server standing in for Bridgeflow's webhook endpoint.

    It answers each POST with the next status from ``statuses`` (200 once they run out).
    """

    def __init__(self, port: int = 0) -> None:
        self.deliveries: list[Delivery] = []
        self.statuses: list[int] = []
        self.received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                with receiver.received:
                    receiver.deliveries.append(Delivery(dict(self.headers.items()), body))
                    receiver.received.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/webhooks/crm"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        with self.received:
            self.received.wait_for(lambda: len(self.deliveries) >= count, timeout)
        return list(self.deliveries)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
