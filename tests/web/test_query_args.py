"""Query strings: an unknown parameter or a wrong filter value is a 422 saying what is allowed."""

from __future__ import annotations

import pytest

from engine import Engine

from .conftest import AuthClient, instance_count

# (method, url, the parameters it takes)
ENDPOINTS = [
    ("get", "/api/v1/tasks", ["assignee", "candidate_group", "page", "per_page", "status"]),
    ("get", "/api/v1/process-instances",
     ["business_key", "page", "parent_instance_id", "per_page", "process_key", "status"]),
    ("get", "/api/v1/incidents", ["page", "per_page", "status"]),
    ("get", "/api/v1/process-definitions", ["kind", "page", "per_page"]),
    ("get", "/api/v1/process-definitions/auto_steps", []),
    ("get", "/api/v1/process-definitions/auto_steps/xml", ["version"]),
    ("get", "/api/v1/process-instances/any/events", []),
    ("post", "/api/v1/process-instances", ["wait"]),
    ("post", "/api/v1/tasks/any/complete", ["wait"]),
    ("post", "/api/v1/deployments", ["dry_run"]),
    ("post", "/api/v1/messages", []),
]

# (url, the filter, the values it allows)
FILTERS = [
    ("/api/v1/tasks", "status", ["open", "ready", "claimed", "completed", "cancelled"]),
    ("/api/v1/process-instances", "status",
     ["running", "waiting", "incident", "suspended", "completed", "terminated"]),
    ("/api/v1/incidents", "status", ["open", "resolved", "all"]),
    ("/api/v1/process-definitions", "kind", ["process", "decision", "library", "all"]),
]


@pytest.mark.parametrize(("method", "url", "allowed"), ENDPOINTS,
                         ids=[f"{m} {u}" for m, u, _ in ENDPOINTS])
def test_an_unknown_parameter_is_422_naming_it_and_the_allowed_ones(
        client: AuthClient, engine: Engine, method: str, url: str, allowed: list[str]) -> None:
    resp = getattr(client, method)(f"{url}?colour=red", json={})
    assert resp.status_code == 422
    body = resp.get_json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == "invalid_input"
    assert body["details"]["fields"] == {"colour": ["Unknown field."]}
    assert body["details"]["allowed_parameters"] == allowed
    assert "colour" in body["message"]
    assert all(name in body["message"] for name in allowed), body["message"]
    assert instance_count(engine) == 0


@pytest.mark.parametrize(("url", "name", "values"), FILTERS, ids=[u for u, _, _ in FILTERS])
def test_an_unknown_filter_value_is_422_listing_the_allowed_values(
        client: AuthClient, url: str, name: str, values: list[str]) -> None:
    resp = client.get(f"{url}?{name}=bogus")
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_input"
    assert body["details"]["allowed_values"] == {name: values}
    assert list(body["details"]["fields"]) == [name]
    assert "bogus" in body["message"] and ", ".join(values) in body["message"]


@pytest.mark.parametrize(("url", "name", "values"), FILTERS, ids=[u for u, _, _ in FILTERS])
def test_every_allowed_filter_value_is_accepted(client: AuthClient, url: str, name: str,
                                                values: list[str]) -> None:
    for value in values:
        resp = client.get(f"{url}?{name}={value}")
        assert resp.status_code == 200, (value, resp.get_json())


def test_wait_still_works_beside_the_check(client: AuthClient) -> None:
    resp = client.post("/api/v1/process-instances?wait=5",
                       json={"process_key": "auto_steps", "variables": {"lines": []}})
    assert resp.status_code == 201 and resp.get_json()["status"] == "completed"
