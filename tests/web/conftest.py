"""Fixtures for the web layer: an app on a fresh SQLite file, an API key, a signed-in client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine, Scope, Settings
from web import create_app
from web.bootstrap import prepare

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "processes"


def prepared_app(config: dict[str, Any], deploy: bool = True,
                 demo_users: bool = False) -> Flask:
    """``create_app(config)`` after the steps ``serve`` and ``demo`` take first: migrate,
    deploy ``processes_dir`` (with ``config["operations"]`` when given), and the demo users
    when asked; the app factory itself writes nothing."""
    settings = Settings.from_env(**{k: v for k, v in config.items() if k != "operations"})
    prepare(settings, config.get("operations"), deploy=deploy, demo_users=demo_users)
    return create_app(dict(config))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'web.db'}",
                        "run_worker_in_web": False, "processes_dir": str(FIXTURES)})
    app.config["TESTING"] = True
    yield app
    app.extensions["bridgeflow"].close()


@pytest.fixture
def engine(app: Flask) -> Engine:
    eng: Engine = app.extensions["bridgeflow"]
    return eng


ALL_SCOPES = [scope.value for scope in Scope]
PASSWORD = "correct horse battery"


@pytest.fixture
def api_key(engine: Engine) -> str:
    """A service account's key with every scope (the scope tests make narrower ones)."""
    return engine.identity.create_api_key("order-system", ALL_SCOPES)


@pytest.fixture
def finance_people(engine: Engine) -> None:
    """ann and bob of the finance group, for whom the order system acts on tasks."""
    for name in ("ann", "bob"):
        engine.identity.create_user(name, PASSWORD, groups=["finance"], role="user")


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
