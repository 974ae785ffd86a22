"""API keys guard the API; health, metrics and the OpenAPI document are open."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine
from web.bootstrap import StartupError
from web.ops import render_metrics

from .conftest import AuthClient, instance_count, prepared_app, start_order
from .processes import approval


def test_missing_key_is_401(app: Flask, engine: Engine) -> None:
    resp = app.test_client().post("/api/v1/process-instances",
                                  json={"process_key": "auto_steps"})
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"] == "unauthorized" and "Bearer" in body["message"]
    assert instance_count(engine) == 0


def test_wrong_key_is_401(app: Flask, engine: Engine, api_key: str) -> None:
    resp = app.test_client().post("/api/v1/process-instances",
                                  json={"process_key": "auto_steps"},
                                  headers={"Authorization": f"Bearer {api_key}x"})
    assert resp.status_code == 401
    assert resp.get_json()["message"] == ("the API key is not valid; send a valid key as "
                                          "'Authorization: Bearer <key>'")
    assert instance_count(engine) == 0


def test_unknown_route_and_wrong_method_use_the_error_shape(client: AuthClient) -> None:
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    resp = client.get("/api/v1/messages")
    assert resp.status_code == 405
    assert resp.get_json()["error"] == "method_not_allowed"


def test_unexpected_error_is_500_with_a_generic_message(app: Flask, client: AuthClient,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    engine: Engine = app.extensions["bridgeflow"]

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(engine.management, "list_incidents", explode)
    resp = client.get("/api/v1/incidents")
    assert resp.status_code == 500
    body = resp.get_json()
    assert body["error"] == "internal_error" and "secret" not in body["message"]


def test_healthz_reports_database_and_workers(app: Flask) -> None:
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "workers_alive": 0}


def test_healthz_is_503_when_the_database_is_away(app: Flask, engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def away() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(engine.management, "liveness", away)
    monkeypatch.setattr(engine.management, "readiness", away)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["database"] == "unreachable"
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["ready"] is False


def test_healthz_reads_no_statistics(app: Flask, engine: Engine,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def expensive() -> None:
        raise AssertionError("/healthz must not compute the statistics")

    monkeypatch.setattr(engine.management, "stats", expensive)
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_waits_for_a_worker_heartbeat(app: Flask, engine: Engine) -> None:
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "not_ready" and body["migrations"] == "current"
    assert "bridgeflow worker" in body["message"]
    engine.management.heartbeat("worker-1")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["status"], body["ready"], body["workers_alive"]) == ("ok", True, 1)


def test_readyz_says_when_the_schema_is_behind(app: Flask, engine: Engine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    engine.management.heartbeat("worker-1")
    monkeypatch.setattr(engine._core.db, "is_current", lambda: False)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["migrations"] == "behind"
    assert "bridgeflow db upgrade" in resp.get_json()["message"]


def test_metrics_in_prometheus_text(app: Flask, client: AuthClient) -> None:
    start_order(client)
    resp = app.test_client().get("/metrics")
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain; version=0.0.4")
    text = resp.get_data(as_text=True)
    assert 'bridgeflow_instances{process_key="auto_steps",status="completed"} 1' in text
    assert "bridgeflow_open_incidents 0" in text
    assert "bridgeflow_due_jobs 0" in text
    assert "bridgeflow_workers_alive 0" in text
    assert "# TYPE bridgeflow_service_call_duration_ms summary" in text


def test_counters_and_summaries_per_process_and_operation() -> None:
    text = render_metrics({"instances": [("order_sync", "completed", 3),
                                         ("order_sync", "incident", 1)],
                           "open_incidents": 1, "due_jobs": 0, "workers_alive": 1,
                           "incidents": [("order_sync", 2)],
                           "completed_durations": [("order_sync", 3, 4.5)],
                           "service_calls": [("erp.check_stock", "ok", 2, 40.0),
                                             ("erp.check_stock", "failed", 1, 5.0),
                                             ("crm.update_order", "ok", 1, 5.0)]})
    assert 'bridgeflow_instances_started_total{process_key="order_sync"} 4' in text
    assert 'bridgeflow_instances_completed_total{process_key="order_sync"} 3' in text
    assert 'bridgeflow_incidents_total{process_key="order_sync"} 2' in text
    assert 'bridgeflow_instance_duration_seconds_sum{process_key="order_sync"} 4.5' in text
    assert ('bridgeflow_service_calls_total{operation="erp.check_stock",outcome="failed"} 1'
            in text)
    assert 'bridgeflow_service_call_duration_ms_count{operation="erp.check_stock"} 3' in text
    assert 'bridgeflow_service_call_duration_ms_sum{operation="erp.check_stock"} 45.0' in text


def test_openapi_document_is_open_and_built_from_the_schemas(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/process-instances"]
    assert "/decisions/{key}/evaluate" in doc["paths"]
    instance = doc["components"]["schemas"]["Instance"]["properties"]
    assert instance["created_at"]["format"] == "date-time"
    start = doc["components"]["schemas"]["StartInstance"]
    assert start["required"] == ["process_key"]


def test_a_broken_process_file_stops_start_up_listing_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "processes"
    folder.mkdir()
    (folder / "approval.bpmn").write_bytes(approval("import os"))
    (folder / "other.bpmn").write_bytes(b"not xml")
    with pytest.raises(StartupError) as info:
        prepared_app({"database_url": f"sqlite:///{folder.parent / 'x.db'}",
                      "run_worker_in_web": False, "processes_dir": str(folder)})
    message = str(info.value)
    assert "approval.bpmn" in message and "other.bpmn" in message
