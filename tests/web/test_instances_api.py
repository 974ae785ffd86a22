"""Starting, listing and administering instances through the API, good input and bad."""

from __future__ import annotations

from engine import Engine

from .conftest import ORDER, AuthClient, instance_count, start_order

URL = "/api/v1/process-instances"


def test_start_with_wait_runs_the_process_to_the_end(client: AuthClient) -> None:
    resp = start_order(client, business_key="ORD-1")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "completed"
    assert body["variables"]["net"] == 1187.5  # 1250 less the 5 % for a large order
    assert body["business_key"] == "ORD-1"
    assert body["created_at"].endswith("Z") and body["ended_at"].endswith("Z")
    assert set(body) == {"id", "process_key", "version", "business_key", "status", "variables",
                         "active_elements", "parent_instance_id", "parent_element_id",
                         "created_at", "ended_at", "updated_at"}
    assert body["parent_instance_id"] is None  # started from outside, not by a call activity


def test_start_without_wait_leaves_the_instance_running(client: AuthClient) -> None:
    resp = client.post(URL, json={"process_key": "auto_steps", "variables": ORDER})
    assert resp.status_code == 201
    assert resp.get_json()["status"] == "running"


def test_show_instance_lists_tasks_incidents_and_events(client: AuthClient) -> None:
    instance_id = start_order(client).get_json()["id"]
    body = client.get(f"{URL}/{instance_id}").get_json()
    assert body["open_tasks"] == [] and body["open_incidents"] == []
    events = client.get(f"{URL}/{instance_id}/events").get_json()["items"]
    assert events[0]["type"] == "instance_created"
    assert events[0]["actor"] == "order-system"


def test_list_instances_is_paged_and_filtered(client: AuthClient) -> None:
    for n in range(3):
        start_order(client, business_key=f"B{n}")
    page = client.get(f"{URL}?per_page=2&page=1").get_json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["page"] == 1
    assert len(client.get(f"{URL}?per_page=2&page=2").get_json()["items"]) == 1
    only = client.get(f"{URL}?business_key=B1").get_json()
    assert [i["business_key"] for i in only["items"]] == ["B1"]
    assert client.get(f"{URL}?status=running").get_json()["total"] == 0


def test_suspend_resume_and_terminate(client: AuthClient) -> None:
    instance_id = client.post(URL, json={"process_key": "auto_steps",
                                         "variables": ORDER}).get_json()["id"]
    assert client.post(f"{URL}/{instance_id}/suspend").get_json()["status"] == "suspended"
    resumed = client.post(f"{URL}/{instance_id}/resume").get_json()
    assert resumed["status"] != "suspended"
    assert client.post(f"{URL}/{instance_id}/terminate").get_json()["status"] == "terminated"
    again = client.post(f"{URL}/{instance_id}/terminate")
    assert again.status_code == 409
    assert again.get_json()["error"] == "conflict"


def test_malformed_json_is_400_and_stores_nothing(client: AuthClient, engine: Engine) -> None:
    resp = client.post(URL, data="{not json", content_type="application/json")
    assert resp.status_code == 400
    reason = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert resp.get_json() == {"error": "malformed_request",
                               "message": f"the body is not valid JSON: {reason}",
                               "details": {"reason": reason}}
    assert instance_count(engine) == 0


def test_wrong_content_type_is_400(client: AuthClient, engine: Engine) -> None:
    resp = client.post(URL, data="process_key=auto_steps",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "malformed_request"
    assert "Content-Type: application/json" in resp.get_json()["message"]
    assert instance_count(engine) == 0


def test_unknown_process_is_404(client: AuthClient, engine: Engine) -> None:
    resp = client.post(URL, json={"process_key": "no_such_process"})
    assert resp.status_code == 404
    body = resp.get_json()
    assert body["error"] == "not_found" and "no_such_process" in body["message"]
    assert instance_count(engine) == 0


def test_variables_not_an_object_is_422(client: AuthClient, engine: Engine) -> None:
    resp = client.post(URL, json={"process_key": "auto_steps", "variables": [1, 2]})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_input"
    assert "variables" in body["details"]["fields"]
    assert instance_count(engine) == 0


def test_bad_variable_name_is_422_naming_it(client: AuthClient, engine: Engine) -> None:
    resp = client.post(URL, json={"process_key": "auto_steps", "variables": {"1x": 1}})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_input"
    assert "1x" in body["message"] and "1x" in body["details"]["fields"]
    assert instance_count(engine) == 0


def test_unknown_field_is_422(client: AuthClient, engine: Engine) -> None:
    resp = client.post(URL, json={"process_key": "auto_steps", "colour": "red"})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_input"
    assert body["details"]["fields"] == {"colour": ["Unknown field."]}
    assert instance_count(engine) == 0


def test_missing_process_key_is_422(client: AuthClient) -> None:
    resp = client.post(URL, json={"variables": {}})
    assert resp.status_code == 422
    assert "process_key" in resp.get_json()["details"]["fields"]


def test_wait_that_is_not_a_number_is_422(client: AuthClient, engine: Engine) -> None:
    for wait in ("abc", "31", "-1"):
        resp = client.post(f"{URL}?wait={wait}", json={"process_key": "auto_steps"})
        assert resp.status_code == 422, wait
        body = resp.get_json()
        assert body["error"] == "invalid_input" and "wait" in body["details"]["fields"]
    assert instance_count(engine) == 0


def test_bad_page_is_422(client: AuthClient) -> None:
    resp = client.get(f"{URL}?page=zero")
    assert resp.status_code == 422
    assert "page" in resp.get_json()["details"]["fields"]


def test_body_over_the_limit_is_413(client: AuthClient, engine: Engine) -> None:
    big = '{"process_key": "auto_steps", "variables": {"x": "' + "a" * 1_100_000 + '"}}'
    resp = client.post(URL, data=big, content_type="application/json")
    assert resp.status_code == 413
    body = resp.get_json()
    assert body["error"] == "payload_too_large" and "1000000" in body["message"]
    assert instance_count(engine) == 0


def test_unknown_instance_is_404(client: AuthClient) -> None:
    resp = client.get(f"{URL}/nope")
    assert resp.status_code == 404
    assert resp.get_json()["error"] == "not_found"
