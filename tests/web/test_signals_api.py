"""POST /api/v1/signals: a broadcast from outside to every catch waiting for the signal."""

from __future__ import annotations

from engine import Engine, Worker
from tests.engine.test_bpmn_constructs import STARTS_ON_RECALL, WAITS_FOR_RECALL

from .conftest import AuthClient


def test_a_signal_reaches_every_waiting_instance_and_starts_the_processes_it_starts(
        engine: Engine, client: AuthClient) -> None:
    engine.repository.deploy({"order_watch.bpmn": WAITS_FOR_RECALL,
                              "recall_report.bpmn": STARTS_ON_RECALL})
    waiting = [engine.runtime.start("order_watch", key, {}, wait=5).id for key in ("A", "B")]
    resp = client.post("/api/v1/signals", json={"name": "product_recall",
                                                "variables": {"batch": "B-17"}})
    assert resp.status_code == 202
    body = resp.get_json()
    assert sorted(body["delivered_to"]) == sorted(waiting)
    [started] = body["started"]
    worker = Worker(engine, "test-worker")
    while worker.poll_once():  # the signal's jobs, as a worker runs them
        pass
    assert {engine.runtime.instance(i).status for i in waiting} == {"completed"}
    report = engine.runtime.instance(started)
    assert (report.process_key, report.variables["batch"]) == ("recall_report", "B-17")


def test_a_signal_nobody_waits_for_is_no_error(client: AuthClient) -> None:
    resp = client.post("/api/v1/signals", json={"name": "nobody_listens"})
    assert resp.status_code == 202
    assert resp.get_json() == {"delivered_to": [], "started": []}


def test_a_signal_without_a_name_or_with_unknown_fields_is_refused(client: AuthClient) -> None:
    missing = client.post("/api/v1/signals", json={"variables": {}})
    assert missing.status_code == 422 and "name" in missing.get_json()["details"]["fields"]
    unknown = client.post("/api/v1/signals", json={"name": "x", "businessKey": "B"})
    assert unknown.status_code == 422
    assert "businessKey" in unknown.get_json()["details"]["fields"]
