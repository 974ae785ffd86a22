"""Fixtures: the sandbox CRM served on a free port, and a connector talking to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from crm_sandbox import create_app, crm_of
from service_tasks.crm import CrmOperations, SalesforceClient
from tests.crm_sandbox.helpers import FakeClock, copy_database, seeded_template, serve


@dataclass(frozen=True)
class Ctx:
    """What the engine passes as ``ctx`` (service_tasks.base.CallInfo)."""

    instance_id: str = "inst-1"
    element_id: str = "notify_owner"
    business_key: str | None = None
    attempt: int = 1

    @property
    def idempotency_key(self) -> str:
        return f"{self.instance_id}:{self.element_id}"


@dataclass
class Crm:
    url: str
    app: Any
    clock: FakeClock
    session: requests.Session
    client: SalesforceClient
    ops: CrmOperations
    token_requests: list[str]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_template(tmp_path_factory.mktemp("crm-template"))


@pytest.fixture
def make_crm(tmp_path: Path, clock: FakeClock,
             template: Path) -> Iterator[Callable[..., Crm]]:
    """Serve a sandbox CRM (config overrides as keyword arguments) and connect to it."""
    stack: list[Any] = []

    def make(**config: Any) -> Crm:
        database = copy_database(template, tmp_path / f"crm{len(stack)}.db")
        app = create_app({"DATABASE": database, "CLOCK": clock,
                          "WEBHOOK_SENDER": False, "TOKEN_LIFETIME": 60, **config})
        server = serve(app)
        url = server.__enter__()
        session = requests.Session()
        token_requests: list[str] = []
        session.hooks["response"].append(
            lambda r, *args, **kwargs: token_requests.append(r.url)
            if r.url.endswith("/oauth2/token") else None)
        stack.append((server, session))
        client = SalesforceClient(session, url, "bridgeflow", "demo-secret", timeout=5)
        return Crm(url, app, clock, session, client, CrmOperations(client), token_requests)

    yield make
    for server, session in reversed(stack):
        session.close()
        server.__exit__(None, None, None)


@pytest.fixture
def crm(make_crm: Callable[..., Crm]) -> Crm:
    return make_crm()


def fault(crm: Crm, status: int = 503, count: int = 1) -> None:
    crm_of(crm.app).faults.inject(status, count)
