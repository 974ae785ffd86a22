"""Fixtures for the web layer: an app on a fresh SQLite file, an API key, a signed-in client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine
from web import create_app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "processes"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'web.db'}",
                      "run_worker_in_web": False, "processes_dir": str(FIXTURES)})
    app.config["TESTING"] = True
    yield app
    app.extensions["bridgeflow"].close()


@pytest.fixture
def engine(app: Flask) -> Engine:
    eng: Engine = app.extensions["bridgeflow"]
    return eng


@pytest.fixture
def api_key(engine: Engine) -> str:
    return engine.identity.create_api_key("order-system")


class AuthClient:
    """A test client that sends the API key with every request."""

    def __init__(self, client: FlaskClient, key: str) -> None:
        self.raw = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return getattr(self.raw, method)(url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._call("get", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self._call("post", url, **kwargs)


@pytest.fixture
def client(app: Flask, api_key: str) -> AuthClient:
    return AuthClient(app.test_client(), api_key)


ORDER = {"lines": [{"qty": 2, "price": 600}, {"qty": 1, "price": 50}]}


def start_order(client: AuthClient, **extra: Any) -> Any:
    body = {"process_key": "auto_steps", "variables": ORDER, **extra}
    return client.post("/api/v1/process-instances?wait=5", json=body)


def instance_count(engine: Engine) -> int:
    return engine.runtime.list_instances().total
