"""The CRM webhook: signed events start or reach processes, once, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine import Engine, inbound
from engine.models import Base, Event, InboundEvent, Instance
from engine.worker import Worker
from web.api.webhooks import SIGNATURE_HEADER, signature_of

from .conftest import prepared_app

URL = "/api/v1/webhooks/crm"
SECRET = "whsec-test-0123456789"
PROCESS = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks" / \
    "crm_order_follow_up.bpmn"
ORDER_A, ORDER_B = "801000000000001AAA", "801000000000002AAA"


@pytest.fixture
def hook_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite or PostgreSQL, with the follow-up process deployed."""
    app = prepared_app({"database_url": database_url, "run_worker_in_web": False,
                        "processes_dir": str(tmp_path / "none"), "webhook_secret": SECRET})
    app.config["TESTING"] = True
    app.extensions["bridgeflow"].repository.deploy({PROCESS.name: PROCESS.read_bytes()})
    yield app
    app.extensions["bridgeflow"].close()


@pytest.fixture
def engine(hook_app: Flask) -> Engine:
    eng: Engine = hook_app.extensions["bridgeflow"]
    return eng


@pytest.fixture
def crm(hook_app: Flask) -> FlaskClient:
    return hook_app.test_client()  # no API key: the signature is the authentication


def event(type_: str = "order.activated", record_id: str = ORDER_A, **data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": type_, "occurred_at": "2026-11-22T10:15:00.000Z",
            "object": type_.split(".")[0].capitalize(), "record_id": record_id,
            "data": {"Id": record_id, "Status": "Activated", "TotalAmount": 840.0, **data}}


def post(client: FlaskClient, body: dict[str, Any] | bytes, *, secret: str = SECRET,
         signature: str | None = None, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {SIGNATURE_HEADER: signature_of(secret, raw) if signature is None else signature,
            **(headers or {})}
    return client.post(URL, data=raw, headers=sent, content_type="application/json")


def stored(engine: Engine) -> tuple[int, int]:
    """How many inbound events and instances the database holds."""
    with engine._core.db.read() as s:
        return (s.scalar(select(func.count()).select_from(InboundEvent)) or 0,
                s.scalar(select(func.count()).select_from(Instance)) or 0)


def run_jobs(engine: Engine) -> None:
    """Do what a worker would: run every due job."""
    Worker(engine, "webhook-test").drain()


def inbound_row(engine: Engine, event_id: str) -> InboundEvent:
    with engine._core.db.read() as s:
        row = s.scalar(select(InboundEvent).where(InboundEvent.event_id == event_id))
    assert row is not None
    return row


# -- delivery ---------------------------------------------------------------------------------

def test_a_signed_event_starts_the_process_that_listens_for_it(crm: FlaskClient,
                                                               engine: Engine) -> None:
    sent = event()
    resp = post(crm, sent)
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    [instance_id] = body["instance_ids"]
    assert body == {"event_id": sent["id"], "outcome": "started", "message": "order_activated",
                    "instance_ids": [instance_id], "duplicate": False, "detail": None}
    # The request only wrote the instance and its job; a worker runs it.
    inst = engine.runtime.instance(instance_id)
    assert (inst.process_key, inst.business_key, inst.status) == (
        "crm_order_follow_up", ORDER_A, "running")
    assert inst.variables == {
        "crm_event": {"id": sent["id"], "type": "order.activated", "object": "Order",
                      "record_id": ORDER_A, "occurred_at": "2026-11-22T10:15:00.000Z"},
        "record_id": ORDER_A, "crm_record": sent["data"]}
    run_jobs(engine)
    ran = engine.runtime.instance(instance_id)
    assert ran.status == "waiting" and ran.variables["amount"] == 840.0
    assert ran.variables["order_event"] == sent["id"]
    row = inbound_row(engine, sent["id"])
    assert (row.source, row.type, row.record_id, row.outcome, row.instance_ids) == (
        "crm", "order.activated", ORDER_A, "started", [instance_id])
    audit = [e for e in engine.history.events_of(instance_id) if e.type == "inbound_event"]
    assert [(e.actor, e.data["event_id"], e.data["outcome"]) for e in audit] == [
        ("webhook:crm", sent["id"], "started")]


def test_the_same_event_twice_starts_one_instance(crm: FlaskClient, engine: Engine) -> None:
    sent = event()
    first = post(crm, sent)
    again = post(crm, sent)
    assert first.status_code == 202 and again.status_code == 200
    assert again.get_json() == {**first.get_json(), "duplicate": True}
    assert stored(engine) == (1, 1)


def test_deliveries_racing_each_other_start_one_instance(crm: FlaskClient,
                                                         engine: Engine) -> None:
    sent = event()
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def deliver() -> None:
        barrier.wait()
        codes.append(post(crm, sent).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [200, 200, 200, 202]
    assert stored(engine) == (1, 1)


def test_a_twin_that_passed_the_check_is_stopped_by_the_unique_constraint(
        crm: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = event()
    first = post(crm, sent).get_json()
    real, looked = inbound._recorded, []

    def blind_once(s: Any, source: str, event_id: str) -> InboundEvent | None:
        looked.append(event_id)  # the first look misses the row, as in a race
        return None if len(looked) == 1 else real(s, source, event_id)

    monkeypatch.setattr(inbound, "_recorded", blind_once)
    resp = post(crm, sent)
    assert len(looked) == 2, "the IntegrityError path was not taken"
    assert resp.status_code == 200
    assert resp.get_json() == {**first, "duplicate": True}
    assert stored(engine) == (1, 1)


def test_an_event_for_a_waiting_instance_correlates_by_business_key(crm: FlaskClient,
                                                                    engine: Engine) -> None:
    started = {record: post(crm, event(record_id=record)).get_json()["instance_ids"][0]
               for record in (ORDER_A, ORDER_B)}
    run_jobs(engine)
    assert {engine.runtime.instance(i).status for i in started.values()} == {"waiting"}
    case = event("case.created", ORDER_A, Subject="Damaged rack")
    resp = post(crm, case)
    assert resp.status_code == 202
    assert resp.get_json()["outcome"] == "delivered"
    assert resp.get_json()["instance_ids"] == [started[ORDER_A]]
    run_jobs(engine)
    done = engine.runtime.instance(started[ORDER_A])
    assert done.status == "completed" and done.variables["case_subject"] == "Damaged rack"
    assert engine.runtime.instance(started[ORDER_B]).status == "waiting"
    assert stored(engine) == (3, 2)


def test_a_later_event_replaces_the_crm_variables(crm: FlaskClient, engine: Engine) -> None:
    instance_id = post(crm, event(record_id=ORDER_A)).get_json()["instance_ids"][0]
    run_jobs(engine)
    case = event("case.created", ORDER_A, Subject="Damaged rack")
    case["data"] = {"Id": "500000000000001AAA", "Subject": "Damaged rack"}
    post(crm, case)
    run_jobs(engine)
    variables = engine.runtime.instance(instance_id).variables
    assert variables["crm_event"]["id"] == case["id"]
    assert "TotalAmount" not in variables["crm_record"]


# -- events nobody wants ----------------------------------------------------------------------

def test_a_type_no_process_listens_to_is_recorded_as_ignored(crm: FlaskClient,
                                                             engine: Engine) -> None:
    # 202 with outcome "ignored": the CRM stops retrying, and an admin can see the event.
    sent = event("account.merged", "001000000000001AAA")
    resp = post(crm, sent)
    assert resp.status_code == 202
    assert resp.get_json()["outcome"] == "ignored" and resp.get_json()["instance_ids"] == []
    assert resp.get_json()["detail"] == ("no process starts with or waits for message "
                                         "'account_merged'")
    assert inbound_row(engine, sent["id"]).outcome == "ignored"
    assert stored(engine) == (1, 0)
    again = post(crm, sent)
    assert again.status_code == 200 and again.get_json()["outcome"] == "ignored"
    with engine._core.db.read() as s:
        audit = list(s.scalars(select(Event).where(Event.type == "inbound_event")))
    assert [(e.instance_id, e.data["event_id"]) for e in audit] == [(None, sent["id"])]


def test_a_message_nobody_with_that_record_waits_for_is_ignored(crm: FlaskClient,
                                                                 engine: Engine) -> None:
    started = post(crm, event(record_id=ORDER_A)).get_json()["instance_ids"][0]
    run_jobs(engine)
    resp = post(crm, event("case.created", ORDER_B))
    assert resp.status_code == 202 and resp.get_json()["outcome"] == "ignored"
    assert resp.get_json()["detail"] == (f"no instance with business key '{ORDER_B}' waits "
                                         "for message 'case_created'")
    assert engine.runtime.instance(started).status == "waiting"


# -- refusals: nothing is stored --------------------------------------------------------------

@pytest.mark.parametrize("signature", [
    None, "", "sha256=" + "0" * 64, "md5=abc", "sha256=",
])
def test_a_missing_or_wrong_signature_is_401(crm: FlaskClient, engine: Engine,
                                             signature: str | None) -> None:
    sent = json.dumps(event()).encode()
    if signature is None:
        resp = crm.post(URL, data=sent, content_type="application/json")
    else:
        resp = post(crm, sent, signature=signature)
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"] == "unauthorized" and body["details"] == {}
    assert SIGNATURE_HEADER in body["message"]
    assert stored(engine) == (0, 0)


def test_a_body_signed_with_another_secret_is_401(crm: FlaskClient, engine: Engine) -> None:
    resp = post(crm, event(), secret="someone-else")
    assert resp.status_code == 401
    assert stored(engine) == (0, 0)


def test_a_tampered_body_is_401(crm: FlaskClient, engine: Engine) -> None:
    original = json.dumps(event()).encode()
    tampered = original.replace(ORDER_A.encode(), ORDER_B.encode())
    resp = post(crm, tampered, signature=signature_of(SECRET, original))
    assert resp.status_code == 401
    assert stored(engine) == (0, 0)


def test_malformed_json_is_400(crm: FlaskClient, engine: Engine) -> None:
    resp = post(crm, b'{"id": "e-1", "type": ')
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "malformed_request",
                               "message": "the body is not valid JSON", "details": {}}
    assert stored(engine) == (0, 0)


@pytest.mark.parametrize("change,fields", [
    ({"record_id": None, "type": None}, {"record_id", "type"}),
    ({"occurred_at": "yesterday"}, {"occurred_at"}),
    ({"type": "order activated!"}, {"type"}),
    ({"id": ""}, {"id"}),
    ({"data": [1, 2]}, {"data"}),
])
def test_missing_or_wrong_fields_are_422(crm: FlaskClient, engine: Engine,
                                         change: dict[str, Any], fields: set[str]) -> None:
    sent = {k: v for k, v in {**event(), **change}.items() if v is not None}
    resp = post(crm, sent)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_input" and set(body["details"]["fields"]) == fields
    assert stored(engine) == (0, 0)


def test_a_body_that_is_not_an_object_is_422(crm: FlaskClient, engine: Engine) -> None:
    resp = post(crm, b"[1, 2]")
    assert resp.status_code == 422 and resp.get_json()["error"] == "invalid_input"
    assert stored(engine) == (0, 0)


def test_without_a_configured_secret_every_webhook_is_refused(app: Flask) -> None:
    # The app of tests/web/conftest.py has no webhook secret.
    raw = json.dumps(event()).encode()
    resp = app.test_client().post(URL, data=raw, content_type="application/json",
                                  headers={SIGNATURE_HEADER: signature_of("", raw)})
    assert resp.status_code == 503
    assert resp.get_json()["error"] == "webhooks_not_configured"


# -- schema -----------------------------------------------------------------------------------

def test_the_migration_creates_inbound_events_as_the_model_says(engine: Engine) -> None:
    with engine._core.db.sql_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "inbound_events" in repr(d)] == []
    with engine._core.db.sql_engine.connect() as connection:
        tables = set(connection.dialect.get_table_names(connection))
    assert "inbound_events" in tables
