"""Fixtures for the sandbox CRM: an app on a fresh SQLite file with a hand-moved clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm_sandbox import create_app, crm_of

from .helpers import FakeClock, Receiver, copy_database, seeded_template

VERSION = "v60.0"
API = f"/services/data/{VERSION}"
SECRET = "test-webhook-secret"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_template(tmp_path_factory.mktemp("sandbox-template"))


@pytest.fixture
def make_app(tmp_path: Path, clock: FakeClock,
             template: Path) -> Iterator[Callable[..., Flask]]:
    """Build sandbox apps on one (seeded) database file; their webhook threads stop after."""
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings = {"DATABASE": copy_database(template, tmp_path / "crm.db"), "CLOCK": clock,
                    "WEBHOOK_SENDER": False, "WEBHOOK_SECRET": SECRET,
                    "WEBHOOK_BACKOFF_BASE": 10.0, "WEBHOOK_BACKOFF_MAX": 25.0,
                    "TESTING": True, **config}
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        crm_of(app).sender.stop()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


class Api:
    """A test client that logs in with client credentials and calls the REST API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        answer = client.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": "bridgeflow",
            "client_secret": "demo-secret"})
        assert answer.status_code == 200, answer.json
        self.token = answer.json["access_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(API + path, method=method, headers=headers, **kwargs)

    def query(self, soql: str) -> Any:
        return self.call("GET", "/query", query_string={"q": soql})

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        answer = self.call("POST", f"/sobjects/{sobject}", json=fields)
        assert answer.status_code == 201, answer.json
        return str(answer.json["id"])

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/sobjects/{sobject}/{record_id}")
        assert answer.status_code == 200, answer.json
        return dict(answer.json)

    def patch(self, sobject: str, record_id: str, fields: dict[str, Any]) -> Any:
        return self.call("PATCH", f"/sobjects/{sobject}/{record_id}", json=fields)

    def order(self, lines: list[tuple[str, float, float]],
              account: str = "001000000000001AAA", activate: bool = False) -> str:
        """A draft order with ``(product id, quantity, unit price)`` lines."""
        order_id = self.create("Order", {"AccountId": account, "EffectiveDate": "2025-03-01"})
        for product, quantity, price in lines:
            self.create("OrderItem", {"OrderId": order_id, "Product2Id": product,
                                      "Quantity": quantity, "UnitPrice": price})
        if activate:
            assert self.patch("Order", order_id, {"Status": "Activated"}).status_code == 204
        return order_id


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


RACKING = "01t000000000001AAA"   # BF-100 Pallet racking bay, 420.00
BEAMS = "01t000000000002AAA"     # BF-110 Shelf beam pair, 65.00
ACME = "001000000000001AAA"
BOREALIS = "001000000000002AAA"

