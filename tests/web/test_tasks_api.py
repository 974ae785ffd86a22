"""Human tasks, messages and incidents through the API."""

from __future__ import annotations

import io

import pytest

from engine import Engine

from .conftest import AuthClient
from .processes import approval, waits_for_message

pytestmark = pytest.mark.usefixtures("finance_people")


def deploy(client: AuthClient, name: str, content: bytes) -> None:
    resp = client.post("/api/v1/deployments", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(content), name)]})
    assert resp.status_code == 201, resp.get_json()


def start(client: AuthClient, key: str, business_key: str | None = None) -> dict[str, object]:
    resp = client.post("/api/v1/process-instances?wait=5",
                       json={"process_key": key, "business_key": business_key})
    assert resp.status_code == 201, resp.get_json()
    body: dict[str, object] = resp.get_json()
    return body


@pytest.fixture
def task_id(client: AuthClient) -> str:
    deploy(client, "approval.bpmn", approval())
    instance = start(client, "approval", "PO-7")
    tasks = client.get("/api/v1/tasks?candidate_group=finance").get_json()
    assert tasks["total"] == 1
    [task] = tasks["items"]
    assert task["process_instance_id"] == instance["id"] and task["business_key"] == "PO-7"
    return str(task["id"])


def test_claim_unclaim_and_complete_a_task(client: AuthClient, task_id: str) -> None:
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", json={"user": "ann"}).get_json()
    assert claimed["status"] == "claimed" and claimed["assignee"] == "ann"
    assert claimed["claimed_at"].endswith("Z")
    other = client.post(f"/api/v1/tasks/{task_id}/claim", json={"user": "bob"})
    assert other.status_code == 409 and "ann" in other.get_json()["message"]
    assert client.get("/api/v1/tasks?assignee=ann").get_json()["total"] == 1
    unclaimed = client.post(f"/api/v1/tasks/{task_id}/unclaim", json={"user": "ann"}).get_json()
    assert unclaimed["status"] == "ready" and unclaimed["assignee"] is None
    done = client.post(f"/api/v1/tasks/{task_id}/complete?wait=5",
                       json={"user": "bob", "variables": {"ok": True}}).get_json()
    assert done["status"] == "completed" and done["completed_by"] == "bob"
    instance = client.get(f"/api/v1/process-instances/{done['process_instance_id']}")
    assert instance.get_json()["status"] == "completed"
    assert instance.get_json()["variables"]["approved_by"] == "x"
    assert client.get(f"/api/v1/tasks/{task_id}").get_json()["status"] == "completed"


def test_open_task_shows_on_its_instance(client: AuthClient, task_id: str) -> None:
    task = client.get(f"/api/v1/tasks/{task_id}").get_json()
    instance = client.get(f"/api/v1/process-instances/{task['process_instance_id']}").get_json()
    assert instance["status"] == "waiting"
    assert [t["id"] for t in instance["open_tasks"]] == [task_id]
    assert instance["active_elements"] == ["approve"]


def test_claim_without_user_is_422(client: AuthClient, task_id: str) -> None:
    resp = client.post(f"/api/v1/tasks/{task_id}/claim", json={})
    assert resp.status_code == 422
    assert resp.get_json()["details"]["fields"] == {"user": ["Missing data for required field."]}


def test_complete_with_bad_variable_name_changes_nothing(client: AuthClient,
                                                         task_id: str) -> None:
    resp = client.post(f"/api/v1/tasks/{task_id}/complete",
                       json={"user": "ann", "variables": {"1x": 2}})
    assert resp.status_code == 422 and "1x" in resp.get_json()["details"]["fields"]
    assert client.get(f"/api/v1/tasks/{task_id}").get_json()["status"] == "ready"


def test_unknown_task_is_404(client: AuthClient) -> None:
    resp = client.post("/api/v1/tasks/nope/claim", json={"user": "ann"})
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"


def test_message_reaches_the_waiting_instance(client: AuthClient) -> None:
    deploy(client, "payment.bpmn", waits_for_message())
    instance = start(client, "payment", "INV-1")
    assert instance["status"] == "waiting"
    resp = client.post("/api/v1/messages", json={"name": "paid", "business_key": "INV-1",
                                                 "variables": {"amount": 10}})
    assert resp.status_code == 200
    assert resp.get_json() == {"delivered_to": [instance["id"]], "started": []}


def test_message_nobody_waits_for_is_404(client: AuthClient) -> None:
    resp = client.post("/api/v1/messages", json={"name": "paid", "business_key": "X"})
    assert resp.status_code == 404
    assert "paid" in resp.get_json()["message"]


def test_ambiguous_message_is_409_unless_all(client: AuthClient) -> None:
    deploy(client, "payment.bpmn", waits_for_message())
    first, second = start(client, "payment"), start(client, "payment")
    resp = client.post("/api/v1/messages", json={"name": "paid"})
    assert resp.status_code == 409 and resp.get_json()["error"] == "conflict"
    resp = client.post("/api/v1/messages", json={"name": "paid", "all": True})
    assert sorted(resp.get_json()["delivered_to"]) == sorted([first["id"], second["id"]])


def test_failing_script_makes_an_incident_that_can_be_retried(client: AuthClient,
                                                              engine: Engine) -> None:
    deploy(client, "approval.bpmn", approval("ratio = 1 / zero"))
    instance = start(client, "approval")
    [task] = client.get("/api/v1/tasks").get_json()["items"]
    client.post(f"/api/v1/tasks/{task['id']}/complete?wait=5",
                json={"user": "ann", "variables": {"zero": 0}})
    incidents = client.get("/api/v1/incidents").get_json()
    assert incidents["total"] == 1
    [incident] = incidents["items"]
    assert incident["process_instance_id"] == instance["id"]
    assert incident["element_id"] == "after" and incident["status"] == "open"
    retried = client.post(f"/api/v1/incidents/{incident['id']}/retry")
    assert retried.status_code == 200
    body = retried.get_json()
    assert body["status"] == "resolved" and body["resolved_by"] == "order-system"
    again = client.post(f"/api/v1/incidents/{incident['id']}/retry")
    assert again.status_code == 409


def test_status_open_lists_the_ready_and_claimed_tasks(client: AuthClient,
                                                       task_id: str) -> None:
    start(client, "approval", "PO-8")
    client.post(f"/api/v1/tasks/{task_id}/claim", json={"user": "ann"})
    opened = client.get("/api/v1/tasks?status=open").get_json()
    assert sorted(t["status"] for t in opened["items"]) == ["claimed", "ready"]
    assert opened == client.get("/api/v1/tasks").get_json()
    client.post(f"/api/v1/tasks/{task_id}/complete?wait=5", json={"user": "ann"})
    still_open = client.get("/api/v1/tasks?status=open").get_json()["items"]
    assert [t["business_key"] for t in still_open] == ["PO-8"]
    done = client.get("/api/v1/tasks?status=completed").get_json()["items"]
    assert [t["id"] for t in done] == [task_id]
