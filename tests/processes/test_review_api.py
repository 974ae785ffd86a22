"""Finance's review of a contract through the REST API: a rejection without a comment is a 422."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask

from engine import Settings
from web import create_app
from web.bootstrap import upgrade_database

from .conftest import Driver, shipped_files
from .fakes import Systems

ACME, CONTRACT = "001000000000001AAA", "800000000000001AAA"


@pytest.fixture
def app(tmp_path: Path, systems: Systems) -> Iterator[Flask]:
    database_url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade_database(Settings.from_env(database_url=database_url))
    app = create_app({"database_url": database_url, "run_worker_in_web": False,
                      "operations": systems.registry()})
    app.config["TESTING"] = True
    app.extensions["bridgeflow"].repository.deploy(shipped_files())
    yield app
    app.extensions["bridgeflow"].close()


def test_a_rejection_without_a_comment_is_refused_with_a_422(app: Flask,
                                                             systems: Systems) -> None:
    engine = app.extensions["bridgeflow"]
    systems.erp.credit[ACME] = (Decimal(50000), Decimal(10000))
    systems.crm.add_contract(CONTRACT, ACME, 45000)
    Driver(engine).start("contract_submitted", CONTRACT, {"AccountId": ACME})
    client = app.test_client()
    engine.identity.ensure_demo_users()  # fiona of finance, for whom the finance app acts
    key = engine.identity.create_api_key("finance-app", ["tasks:read", "tasks:act"])
    headers = {"Authorization": f"Bearer {key}"}
    (task,) = client.get("/api/v1/tasks?candidate_group=finance",
                         headers=headers).get_json()["items"]

    refused = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                          json={"user": "fiona", "variables": {"finance_decision": "reject"}})

    assert refused.status_code == 422
    assert "finance_comment: is required" in refused.get_json()["message"]
    assert client.get(f"/api/v1/tasks/{task['id']}",
                      headers=headers).get_json()["status"] == "ready"

    done = client.post(f"/api/v1/tasks/{task['id']}/complete?wait=5", headers=headers,
                       json={"user": "fiona", "variables": {
                           "finance_decision": "reject", "finance_comment": "Too risky."}})

    assert done.status_code == 200, done.get_json()
    assert systems.crm.fields[CONTRACT]["Status"] == "Rejected"


@pytest.mark.parametrize(("user", "scopes", "status", "message"), [
    ("ghost", ["tasks:read", "tasks:act"], 403, "there is no user named 'ghost'"),
    ("sue", ["tasks:read", "tasks:act"], 403, "sue is neither a candidate nor its assignee"),
    ("fiona", ["tasks:read"], 403, "lacks the scope tasks:act"),
])
def test_nobody_approves_a_finance_review_as_someone_else(
        app: Flask, systems: Systems, user: str, scopes: list[str], status: int,
        message: str) -> None:
    engine = app.extensions["bridgeflow"]
    engine.identity.ensure_demo_users()
    systems.erp.credit[ACME] = (Decimal(50000), Decimal(10000))
    systems.crm.add_contract(CONTRACT, ACME, 45000)
    driver = Driver(engine)
    instance_id = driver.start("contract_submitted", CONTRACT, {"AccountId": ACME})
    key = engine.identity.create_api_key("crm", scopes)
    headers = {"Authorization": f"Bearer {key}"}
    client = app.test_client()
    (task,) = client.get("/api/v1/tasks?candidate_group=finance",
                         headers=headers).get_json()["items"]
    updates_before = len(systems.crm.called("crm.update_contract"))

    resp = client.post(f"/api/v1/tasks/{task['id']}/complete?wait=5", headers=headers,
                       json={"user": user, "variables": {"finance_decision": "approve"}})
    driver.run()

    assert resp.status_code == status and message in resp.get_json()["message"]
    assert engine.tasks.task(task["id"]).status == "ready"
    assert driver.instance(instance_id).status == "waiting"
    assert len(systems.crm.called("crm.update_contract")) == updates_before
    assert systems.crm.fields.get(CONTRACT, {}).get("Status") != "Approved"
    assert [e.type for e in engine.history.events_of(instance_id)
            if e.type == "task_completed"] == []
