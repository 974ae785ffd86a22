"""The reports API and console pages: listing, downloads by hash, a reconciliation run's
report in JSON and CSV, the process figures of a period, scopes and bad input."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from engine import Engine, NewReportFile, Report, ReportKind
from engine.models import Instance, utcnow
from engine.registry import CallContext
from engine.report_operations import store_operation

from .conftest import AuthClient, prepared_app

CSV_BYTES = "record,id,crm\r\norder,801A,Müller\r\n".encode()
REPORT = {"since": None, "differences": [
    {"record": "customer", "id": "001A", "label": "Customer Gale", "field": "phone",
     "crm": "+44 161 999 9999", "erp": "+44 161 000 0000", "authority": "crm",
     "action": "conflict"},
    {"record": "order", "id": "801A", "label": "CRM order 00001", "field": "ERP_Status__c",
     "crm": None, "erp": "Confirmed", "authority": "erp", "action": "repair"}],
    "conflicts": [{"id": "001A", "label": "Customer Gale", "field": "phone"}]}
OUTCOME = {"repaired": [{"label": "CRM order 00001"}], "failed": [], "to_resolve": 1,
           "subject": "Reconciliation: 2 difference(s), 1 repaired, 1 to resolve",
           "text": "The ERP and the CRM were compared.\n"}


@pytest.fixture
def app(tmp_path: Path) -> Any:
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'reports.db'}",
                        "run_worker_in_web": False,
                        "processes_dir": str(tmp_path)}, demo_users=True)
    app.config["TESTING"] = True
    yield app
    app.extensions["bridgeflow"].close()


def keep(engine: Engine, **extra: Any) -> Report:
    values: dict[str, Any] = {
        "kind": ReportKind.SALES, "title": "Sales November", "started_by": "user:admin",
        "files": [NewReportFile("sales.csv", "text/csv; charset=utf-8", CSV_BYTES)],
        "period_from": datetime(2026, 11, 1), "period_to": datetime(2026, 12, 1)}
    return engine.reports.store(**(values | extra))


def run_reconciliation(engine: Engine, instance_id: str = "run-1") -> str:
    store = store_operation(engine._core.db, engine._core.settings)
    result = store({"kind": "reconciliation", "report": REPORT, "outcome": OUTCOME},
                   CallContext(instance_id, None, "keep_report", 1, "t1"))
    report_id: str = result["report_id"]
    return report_id



@pytest.fixture
def reader(app: Flask, engine: Engine) -> AuthClient:
    return AuthClient(app.test_client(),
                      engine.identity.create_api_key("report-reader", ["reports:read"]))


def test_reports_are_listed_and_shown_with_their_files(reader: AuthClient,
                                                       engine: Engine) -> None:
    sales = keep(engine)
    run = run_reconciliation(engine)
    listed = reader.get("/api/v1/reports").get_json()
    assert listed["total"] == 2
    assert [r["id"] for r in listed["items"]] == [run, sales.id]
    only = reader.get("/api/v1/reports?kind=sales&from=2026-11-10&to=2026-11-20").get_json()
    assert [r["id"] for r in only["items"]] == [sales.id]
    shown = reader.get(f"/api/v1/reports/{sales.id}").get_json()
    assert shown["period_from"] == "2026-11-01T00:00:00.000Z"
    assert shown["started_by"] == "user:admin"
    assert shown["files"] == [{"name": "sales.csv", "media_type": "text/csv; charset=utf-8",
                               "size": len(CSV_BYTES),
                               "sha256": hashlib.sha256(CSV_BYTES).hexdigest()}]


def test_a_download_carries_its_type_name_and_hash(reader: AuthClient, engine: Engine) -> None:
    sales = keep(engine)
    resp = reader.get(f"/api/v1/reports/{sales.id}/files/sales.csv")
    assert resp.status_code == 200 and resp.data == CSV_BYTES
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="sales.csv"'
    digest = hashlib.sha256(resp.data).hexdigest()
    assert resp.headers["ETag"] == f'"{digest}"'
    again = reader.get(f"/api/v1/reports/{sales.id}/files/sales.csv",
                       headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and again.data == b""


def test_unknown_reports_and_files_are_404(reader: AuthClient, engine: Engine) -> None:
    sales = keep(engine)
    for url in ("/api/v1/reports/nope", "/api/v1/reports/nope/files/sales.csv",
                f"/api/v1/reports/{sales.id}/files/other.pdf",
                "/api/v1/reports/reconciliation/nope"):
        resp = reader.get(url)
        assert resp.status_code == 404, url
        assert "nope" in resp.get_json()["message"] or "other.pdf" in resp.get_json()["message"]


@pytest.mark.parametrize(("query", "message"), [
    ("from=2026-13-01", "invalid from"),
    ("from=yesterday", "invalid from"),
    ("from=2026-11-30&to=2026-11-01", "after 'to'"),
    ("kind=weather", "kind 'weather' is not one of"),
])
def test_a_bad_filter_is_a_422_saying_what_was_wrong(reader: AuthClient, query: str,
                                                     message: str) -> None:
    resp = reader.get(f"/api/v1/reports?{query}")
    assert resp.status_code == 422
    assert message in resp.get_json()["message"]


def test_a_reconciliation_run_by_instance_or_report_id_in_json_and_csv(
        reader: AuthClient, engine: Engine) -> None:
    report_id = run_reconciliation(engine, "run-7")
    by_run = reader.get("/api/v1/reports/reconciliation/run-7").get_json()
    by_id = reader.get(f"/api/v1/reports/reconciliation/{report_id}").get_json()
    assert by_run == by_id
    assert by_run["report"]["id"] == report_id
    assert by_run["counts"] == {"differences": 2, "repaired": 1, "repairs_failed": 0,
                                "conflicts": 1, "to_resolve": 1}
    assert [(d["field"], d["outcome"]) for d in by_run["differences"]] == [
        ("phone", "handed to people"), ("ERP_Status__c", "repaired")]
    assert by_run["repairs_made"] == [{"label": "CRM order 00001"}]
    for resp in (reader.get("/api/v1/reports/reconciliation/run-7?format=csv"),
                 reader.get("/api/v1/reports/reconciliation/run-7",
                            headers={"Accept": "text/csv"})):
        assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
        rows = list(csv.DictReader(io.StringIO(resp.data.decode())))
        assert [(r["label"], r["crm"], r["erp"], r["outcome"]) for r in rows] == [
            ("Customer Gale", "+44 161 999 9999", "+44 161 000 0000", "handed to people"),
            ("CRM order 00001", "", "Confirmed", "repaired")]
    sales = keep(engine)
    assert reader.get(f"/api/v1/reports/reconciliation/{sales.id}").status_code == 404


def finished(engine: Engine, key: str, at: datetime, seconds: float) -> None:
    engine.repository.deploy({f"{key}.bpmn": f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_{key}"
    targetNamespace="http://t"><bpmn:process id="{key}" isExecutable="true">
  <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
  <bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process>
</bpmn:definitions>""".encode()})
    instance = engine.runtime.start(key, wait=5)
    with engine._core.db.write() as s:
        s.execute(update(Instance).where(Instance.id == instance.id).values(
            created_at=at, ended_at=at + timedelta(seconds=seconds)))


def test_process_figures_of_a_period_in_json_and_csv(reader: AuthClient,
                                                     engine: Engine) -> None:
    finished(engine, "order_sync", datetime(2026, 11, 2, 9), 10)
    finished(engine, "order_sync", datetime(2026, 11, 3, 9), 30)
    finished(engine, "credit_approval", datetime(2026, 10, 3, 9), 60)  # before the period
    body = reader.get("/api/v1/reports/processes?from=2026-11-01&to=2026-11-30").get_json()
    assert (body["period_from"], body["period_to"]) == ("2026-11-01", "2026-11-30")
    assert body["durations_capped"] is False
    [order_sync] = body["processes"]
    assert {k: order_sync[k] for k in ("process_key", "started", "completed", "avg_seconds",
                                       "p95_seconds", "share_completed")} == {
        "process_key": "order_sync", "started": 2, "completed": 2, "avg_seconds": 20.0,
        "p95_seconds": 30.0, "share_completed": 1.0}
    assert len(order_sync["days"]) == 30
    resp = reader.get("/api/v1/reports/processes?from=2026-11-01&to=2026-11-30&format=csv")
    assert resp.headers["Content-Disposition"] == \
        'attachment; filename="process-figures-2026-11-01-2026-11-30.csv"'
    assert resp.data.decode().splitlines() == [
        "process_key,started,started_completed,completed,share_completed,avg_seconds,"
        "p95_seconds", "order_sync,2,2,2,1.0,20.0,30.0"]


def test_an_empty_period_is_an_honest_empty_report(reader: AuthClient) -> None:
    resp = reader.get("/api/v1/reports/processes?from=2026-01-01&to=2026-01-31")
    assert resp.status_code == 200 and resp.get_json()["processes"] == []
    csv_resp = reader.get("/api/v1/reports/processes?from=2026-01-01&to=2026-01-31",
                          headers={"Accept": "text/csv"})
    assert csv_resp.status_code == 200
    assert csv_resp.data.decode().splitlines() == [
        "process_key,started,started_completed,completed,share_completed,avg_seconds,"
        "p95_seconds"]


def test_a_future_too_long_or_unreadable_period_is_a_422(reader: AuthClient) -> None:
    future = (utcnow() + timedelta(days=3)).date().isoformat()
    cases = {f"from={future}": "is in the future",
             "from=2025-01-01&to=2026-11-30": "at most 366 days",
             "from=2026-11-30&to=2026-11-01": "after 'to'",
             "from=30.11.2026": "invalid from",
             "format=xlsx": "format 'xlsx' is not one of: json, csv"}
    for query, message in cases.items():
        resp = reader.get(f"/api/v1/reports/processes?{query}")
        assert resp.status_code == 422, query
        assert message in resp.get_json()["message"], query


def test_reports_need_the_reports_scope(app: Flask, engine: Engine) -> None:
    sales = keep(engine)
    other = AuthClient(app.test_client(),
                       engine.identity.create_api_key("crm", ["processes:start"]))
    for url in ("/api/v1/reports", f"/api/v1/reports/{sales.id}",
                f"/api/v1/reports/{sales.id}/files/sales.csv",
                "/api/v1/reports/reconciliation/run-1", "/api/v1/reports/processes"):
        resp = other.get(url)
        assert resp.status_code == 403, url
        assert "reports:read" in resp.get_json()["message"]
    admin = AuthClient(app.test_client(), engine.identity.create_api_key("ops", ["admin"]))
    assert admin.get("/api/v1/reports").status_code == 200


# -- the console ------------------------------------------------------------------------------

def signed_in(app: Flask, name: str) -> Any:
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    resp = client.post("/login", data={"name": name, "password": "bridgeflow-demo",
                                       "csrf_token": token.group(1)})
    assert resp.status_code == 302
    return client


def test_the_console_lists_reports_and_shows_a_reconciliation(app: Flask,
                                                              engine: Engine) -> None:
    keep(engine)
    report_id = run_reconciliation(engine)
    admin = signed_in(app, "admin")
    page = admin.get("/admin/reports").text
    assert "Sales November" in page and OUTCOME["subject"] in page
    assert f"/admin/reports/{report_id}/files/differences.csv" in page
    assert 'href="/admin/reports" aria-current="page"' in page
    shown = admin.get(f"/admin/reports/{report_id}").text
    assert "+44 161 999 9999" in shown and "handed to people" in shown
    assert hashlib.sha256(engine.reports.file(report_id, "differences.csv").content
                          ).hexdigest() in shown
    download = admin.get(f"/admin/reports/{report_id}/files/report.txt")
    assert download.data == OUTCOME["text"].encode()
    assert download.headers["Content-Disposition"] == 'attachment; filename="report.txt"'
    filtered = admin.get("/admin/reports?kind=sales&from=2026-11-31")
    assert filtered.status_code == 422 and "use a date like 2026-01-31" in filtered.text
    assert admin.get("/admin/reports/nope").status_code == 404


def test_people_without_the_admin_role_do_not_see_reports(app: Flask, engine: Engine) -> None:
    report_id = run_reconciliation(engine)
    for name in ("fiona", "ana"):
        client = signed_in(app, name)
        assert client.get("/admin/reports").status_code == 403
        assert client.get(f"/admin/reports/{report_id}/files/differences.csv"
                          ).status_code == 403
