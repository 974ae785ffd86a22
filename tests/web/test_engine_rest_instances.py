"""Process instances and their variables through /engine-rest."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from flask import Flask

from engine import Engine, Instance, Worker, utcnow

from .camunda import CamundaClient, string
from .processes import approval


@pytest.fixture
def camunda(app: Flask, api_key: str) -> CamundaClient:
    client = CamundaClient(app.test_client(), api_key)
    client.deploy("approval.bpmn", approval())
    return client


@pytest.fixture
def waiting(camunda: CamundaClient) -> list[dict[str, Any]]:
    return [camunda.start("approval", businessKey=f"PO-{n}",
                          variables={"amount": {"value": n, "type": "Integer"}})
            for n in (1, 2, 3)]


def ids(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return sorted(i["id"] for i in resp.get_json())


def test_instances_are_listed_filtered_counted_and_shown(
        camunda: CamundaClient, waiting: list[dict[str, Any]], engine: Engine) -> None:
    every = sorted(i["id"] for i in waiting)
    assert ids(camunda.get("/process-instance")) == every
    assert ids(camunda.get("/process-instance?businessKey=PO-2")) == [waiting[1]["id"]]
    assert ids(camunda.get("/process-instance?processDefinitionKey=nope")) == []
    chosen = f"{waiting[0]['id']},{waiting[2]['id']}"
    assert ids(camunda.get(f"/process-instance?processInstanceIds={chosen}")) == sorted(
        [waiting[0]["id"], waiting[2]["id"]])
    assert len(camunda.get("/process-instance?firstResult=1&maxResults=1").get_json()) == 1
    assert camunda.get("/process-instance?maxResults=0").get_json() == []
    engine.management.suspend(waiting[0]["id"])
    assert ids(camunda.get("/process-instance?suspended=true")) == [waiting[0]["id"]]
    assert len(ids(camunda.get("/process-instance?active=true"))) == 2
    assert camunda.get("/process-instance/count?active=true").get_json() == {"count": 2}
    shown = camunda.get(f"/process-instance/{waiting[0]['id']}").get_json()
    assert shown["suspended"] is True and shown["businessKey"] == "PO-1"
    engine.management.terminate(waiting[1]["id"])  # ended: gone from the runtime view
    assert camunda.get(f"/process-instance/{waiting[1]['id']}").status_code == 404
    assert camunda.get("/process-instance/count").get_json() == {"count": 2}


@pytest.mark.parametrize("query", ["active=yes", "firstResult=x", "sortBy=id",
                                   "maxResults=-5"])
def test_a_bad_instance_query_is_a_400(camunda: CamundaClient, query: str) -> None:
    resp = camunda.get(f"/process-instance?{query}")
    assert resp.status_code == 400 and resp.get_json()["type"] == "InvalidRequestException"


def test_variables_are_read_typed(camunda: CamundaClient,
                                  waiting: list[dict[str, Any]]) -> None:
    instance_id = waiting[0]["id"]
    assert camunda.get(f"/process-instance/{instance_id}/variables").get_json() == {
        "amount": {"type": "Integer", "value": 1, "valueInfo": {}}}
    assert camunda.get(f"/process-instance/{instance_id}/variables/amount").get_json() == {
        "type": "Integer", "value": 1, "valueInfo": {}}
    missing = camunda.get(f"/process-instance/{instance_id}/variables/nope")
    assert missing.status_code == 404 and "nope" in missing.get_json()["message"]
    assert camunda.get("/process-instance/unknown/variables").status_code == 404


def test_a_variable_is_written_and_removed_with_an_audit_event_and_the_process_reads_it(
        camunda: CamundaClient, waiting: list[dict[str, Any]], engine: Engine) -> None:
    instance_id = waiting[0]["id"]
    url = f"/process-instance/{instance_id}/variables"
    resp = camunda.put(f"{url}/note", json={"value": '{"ok": true}', "type": "Json"})
    assert resp.status_code == 204, resp.get_json()
    assert camunda.get(f"{url}/note").get_json()["value"] == '{"ok": true}'
    assert camunda.put(f"{url}/amount", json=string("ten")).status_code == 204
    assert camunda.delete(f"{url}/note").status_code == 204
    assert camunda.delete(f"{url}/never_set").status_code == 204
    assert engine.runtime.instance(instance_id).variables == {"amount": "ten"}
    events = [e for e in engine.history.events_of(instance_id)
              if e.type in ("variables_change_requested", "variables_changed")]
    assert [e.actor for e in events] == ["order-system"] * 8
    assert "ten" not in str([e.data for e in events])  # names in the trail, never values
    [task] = engine.tasks.open_tasks_of(instance_id)
    engine.identity.create_user("ann", "correct horse battery", groups=["finance"],
                                role="user")
    engine.tasks.complete(task.id, "ann", {}, wait=5)
    final = engine.runtime.instance(instance_id)
    assert final.status == "completed" and final.variables["amount"] == "ten"
    assert "note" not in final.variables


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/process-instance/unknown/variables/a", {"value": 1}, 404),
    ("/process-instance/{id}/variables/a", {"value": "x", "type": "Integer"}, 400),
    ("/process-instance/{id}/variables/a", {"value": "x", "type": "Bytes"}, 400),
    ("/process-instance/{id}/variables/1a", {"value": 1}, 400),
    ("/process-instance/{id}/variables/a", "not an object", 400),
])
def test_a_bad_variable_write_is_refused_and_changes_nothing(
        camunda: CamundaClient, waiting: list[dict[str, Any]], engine: Engine, path: str,
        body: Any, status: int) -> None:
    instance_id = waiting[0]["id"]
    resp = camunda.put(path.replace("{id}", instance_id), json=body)
    assert resp.status_code == status, resp.get_json()
    assert engine.runtime.instance(instance_id).variables == {"amount": 1}


def test_an_ended_instance_takes_no_variable(camunda: CamundaClient,
                                             waiting: list[dict[str, Any]],
                                             engine: Engine) -> None:
    instance_id = waiting[0]["id"]
    engine.management.terminate(instance_id)
    resp = camunda.put(f"/process-instance/{instance_id}/variables/a", json={"value": 1})
    assert resp.status_code == 400 and "terminated" in resp.get_json()["message"]
    assert engine.runtime.instance(instance_id).variables == {"amount": 1}


def test_a_write_while_a_worker_holds_the_instance_lands_after_it(
        camunda: CamundaClient, waiting: list[dict[str, Any]], engine: Engine) -> None:
    """The write is a job under the instance's lock: it never overwrites an advance."""
    instance_id = waiting[0]["id"]
    before = engine.runtime.instance(instance_id).revision
    with engine._core.db.write() as s:  # a worker is advancing it right now
        row = s.get(Instance, instance_id)
        assert row is not None
        row.locked_by, row.locked_until = "other-worker", utcnow().replace(year=2099)
    resp = camunda.put(f"/process-instance/{instance_id}/variables/late", json={"value": 1})
    assert resp.status_code == 204
    assert "late" not in engine.runtime.instance(instance_id).variables
    assert engine.runtime.instance(instance_id).revision == before
    with engine._core.db.write() as s:  # that worker finishes
        row = s.get(Instance, instance_id)
        assert row is not None
        row.locked_by, row.locked_until = None, None
    worker = Worker(engine, "test-worker")
    deadline = time.monotonic() + 5  # the job was put back for a moment
    while "late" not in engine.runtime.instance(instance_id).variables \
            and time.monotonic() < deadline:
        worker.poll_once() or time.sleep(0.02)
    assert engine.runtime.instance(instance_id).variables["late"] == 1


def test_deploy_then_start_through_camunda_paths(app: Flask, api_key: str) -> None:
    client = CamundaClient(app.test_client(), api_key)
    resp = client.post("/deployment/create", content_type="multipart/form-data",
                       data={"x": (io.BytesIO(approval()), "approval.bpmn")})
    assert resp.status_code == 200
    assert client.start("approval")["ended"] is False
