"""Each REST route needs its scope; keys from before scopes keep working without admin powers."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import create_engine, text

from engine import Engine
from web.api import ENDPOINT_SCOPES, OPEN_ENDPOINTS

from .conftest import instance_count, prepared_app
from .processes import approval

ROOT = Path(__file__).resolve().parents[2]


def call(app: Flask, key: str, method: str, url: str, **kwargs: Any) -> Any:
    client = app.test_client()
    return getattr(client, method)(url, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def bpmn() -> dict[str, Any]:
    return {"content_type": "multipart/form-data",
            "data": {"files": [(io.BytesIO(approval()), "approval.bpmn")]}}


START = ("post", "/api/v1/process-instances", {"json": {"process_key": "auto_steps"}})
DEPLOY = ("post", "/api/v1/deployments", None)
INCIDENTS = ("get", "/api/v1/incidents", {})
MESSAGE = ("post", "/api/v1/messages", {"json": {"name": "paid", "business_key": "X"}})
TASKS = ("get", "/api/v1/tasks", {})


@pytest.mark.parametrize(("scope", "allowed", "refused"), [
    ("processes:start", START, DEPLOY),
    ("deploy", DEPLOY, START),
    ("admin", INCIDENTS, MESSAGE),
    ("messages:send", MESSAGE, TASKS),
    ("tasks:read", TASKS, INCIDENTS),
])
def test_a_key_reaches_the_routes_of_its_scope_only(app: Flask, engine: Engine, scope: str,
                                                    allowed: tuple[str, str, Any],
                                                    refused: tuple[str, str, Any]) -> None:
    key = engine.identity.create_api_key("system", [scope])
    method, url, kwargs = refused
    resp = call(app, key, method, url, **(kwargs if kwargs is not None else bpmn()))
    assert resp.status_code == 403 and resp.get_json()["error"] == "forbidden"
    assert "the API key 'system' lacks the scope" in resp.get_json()["message"]
    assert instance_count(engine) == 0
    assert [d.key for d in engine.repository.list_definitions()
            if d.key == "approval"] == []
    method, url, kwargs = allowed
    resp = call(app, key, method, url, **(kwargs if kwargs is not None else bpmn()))
    assert resp.status_code not in (401, 403), resp.get_json()


def test_every_api_route_names_its_scopes(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint.startswith("api.")}
    assert endpoints - OPEN_ENDPOINTS == set(ENDPOINT_SCOPES)


def test_keys_from_before_scopes_keep_working_but_not_as_admin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    sql = create_engine(url)
    with sql.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        secret = "bf_an-old-key-made-before-scopes-existed"
        connection.execute(text(
            "INSERT INTO api_keys (id, name, prefix, key_hash, created_at) VALUES "
            "('k1', 'old-crm', :prefix, :hash, CURRENT_TIMESTAMP)"),
            {"prefix": secret[:10], "hash": hashlib.sha256(secret.encode()).hexdigest()})
    sql.dispose()
    app = prepared_app({"database_url": url, "run_worker_in_web": False,
                        "processes_dir": str(ROOT / "tests" / "fixtures" / "processes")},
                       deploy=False)  # migrates to the newest schema, as `serve` does
    engine: Engine = app.extensions["bridgeflow"]
    [key] = engine.identity.list_api_keys()
    assert key.scopes == ["processes:start", "messages:send", "webhooks", "tasks:read",
                          "tasks:act"]
    assert call(app, secret, "get", "/api/v1/tasks").status_code == 200
    refused = call(app, secret, "get", "/api/v1/incidents")
    assert refused.status_code == 403 and "lacks the scope admin" in refused.get_json()["message"]
    assert call(app, secret, "post", "/api/v1/deployments", **bpmn()).status_code == 403
    engine.close()
