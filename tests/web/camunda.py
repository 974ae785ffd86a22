"""A test client that talks to /engine-rest as a Camunda 7 client does (HTTP Basic)."""

from __future__ import annotations

import base64
import io
from typing import Any

from flask.testing import FlaskClient

from engine import Engine


def basic(key: str, user: str = "demo") -> dict[str, str]:
    """``Authorization: Basic base64(user:key)``, what Camunda clients send."""
    token = base64.b64encode(f"{user}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class CamundaClient:
    """Every call goes to ``/engine-rest`` with the key as the Basic password."""

    def __init__(self, client: FlaskClient, key: str, user: str = "demo") -> None:
        self.raw = client
        self.headers = basic(key, user)

    def __getattr__(self, method: str) -> Any:
        if method not in ("get", "post", "put", "delete"):
            raise AttributeError(method)

        def call(path: str, **kwargs: Any) -> Any:
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.raw, method)(f"/engine-rest{path}", headers=headers, **kwargs)
        return call

    def deploy(self, name: str, content: bytes) -> dict[str, Any]:
        resp = self.post("/deployment/create", content_type="multipart/form-data",
                         data={"deployment-name": "test", "data": (io.BytesIO(content), name)})
        assert resp.status_code == 200, resp.get_json()
        body: dict[str, Any] = resp.get_json()
        return body

    def start(self, key: str, **body: Any) -> dict[str, Any]:
        resp = self.post(f"/process-definition/key/{key}/start", json=body)
        assert resp.status_code == 200, resp.get_json()
        out: dict[str, Any] = resp.get_json()
        return out


def string(value: str) -> dict[str, Any]:
    return {"value": value, "type": "String"}


def settle(engine: Engine, instance_id: str) -> Any:
    """Run the instance's due jobs here (no worker runs in the web tests) and return it."""
    return engine.runtime.wait_for(instance_id, 5)
