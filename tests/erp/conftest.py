"""ERP connector fixtures: a scripted stand-in for Tryton's JSON-RPC, and the real trytond.

The real server runs once per test session on a copy of the demo template, which is built
once per dataset and kept in ``$BRIDGEFLOW_CACHE_DIR`` or ``<repo>/.cache``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from service_tasks.tryton.client import TrytonClient, dumps
from service_tasks.tryton.demo import demo_server, prepare_template
from service_tasks.tryton.erp_operations import TrytonOperations
from service_tasks.tryton.server import TrytonServer, TrytonServerError, tryton_executable
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]

Answer = tuple[int, Any] | BaseException


def ok(result: Any) -> Answer:
    """A JSON-RPC success."""
    return 200, {"result": result}


def rpc_error(kind: str, *args: Any) -> Answer:
    """A JSON-RPC error as Tryton sends it (HTTP 200, ``error: [type, args]``)."""
    return 200, {"error": [kind, list(args)]}


def http(status: int, body: str = "") -> Answer:
    """A bare HTTP status, as werkzeug sends for 401, 403, 5xx."""
    return status, body


@dataclass
class Sent:
    url: str
    method: str
    params: list[Any]
    headers: dict[str, str]
    timeout: float


class FakeResponse:
    def __init__(self, status_code: int, text: str) -> None:
        self.status_code = status_code
        self.text = text


class FakeTryton:
    """Stands in for ``requests.Session``: answers each RPC method from a script, in order.

    Logins and preferences succeed unless scripted; anything unscripted fails the test.
    Requests are kept as sent on the wire (plain JSON, so ``__class__`` forms are visible).
    """

    DEFAULTS: dict[str, Answer] = {
        "common.db.login": ok([7, "session-token"]),
        "model.res.user.get_preferences": ok({"company": 1, "language": "en"}),
    }

    def __init__(self, script: dict[str, list[Answer]] | None = None) -> None:
        self.script = {method: list(answers) for method, answers in (script or {}).items()}
        self.sent: list[Sent] = []

    def post(self, url: str, *, data: bytes, headers: dict[str, str],
             timeout: float) -> FakeResponse:
        body = json.loads(data)
        self.sent.append(Sent(url, body["method"], body["params"], dict(headers), timeout))
        queue = self.script.get(body["method"])
        answer = queue.pop(0) if queue else self.DEFAULTS.get(body["method"])
        if answer is None:
            raise AssertionError(f"unexpected call {body['method']}")
        if isinstance(answer, BaseException):
            raise answer
        status, payload = answer
        text = payload if isinstance(payload, str) else dumps({"id": body["id"], **payload})
        return FakeResponse(status, text)

    def methods(self) -> list[str]:
        return [s.method for s in self.sent]


@dataclass(frozen=True)
class Call:
    """What the engine tells an operation about the call (``CallInfo``)."""

    instance_id: str = "instance-1"
    business_key: str | None = "order-1"
    element_id: str = "erp_task"
    attempt: int = 1

    @property
    def idempotency_key(self) -> str:
        return f"{self.instance_id}:{self.element_id}"


@pytest.fixture
def call() -> Call:
    return Call()


# --- the real Tryton ---------------------------------------------------------------------

def cache_dir() -> Path:
    return Path(os.environ.get("BRIDGEFLOW_CACHE_DIR") or ROOT / ".cache")


@pytest.fixture(scope="session")
def erp_template() -> Path:
    require(importlib.util.find_spec("trytond") is not None,
            "Tryton is not installed: trytond cannot be imported (pip install -e '.[erp]')")
    try:
        tryton_executable("trytond-admin")
    except TrytonServerError as exc:
        require(False, f"Tryton is not installed: {exc.message}")
    return prepare_template(cache_dir())


@pytest.fixture(scope="session")
def erp_server(erp_template: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    with demo_server(tmp_path_factory.mktemp("tryton"), erp_template) as server:
        yield server


@pytest.fixture(scope="session")
def erp_client(erp_server: TrytonServer) -> Iterator[TrytonClient]:
    # One login for the session, as a long-running worker would have.
    with requests.Session() as session:
        yield erp_server.client(session)


@pytest.fixture(scope="session")
def erp(erp_client: TrytonClient) -> TrytonOperations:
    return TrytonOperations(erp_client)
