"""Who may call /engine-rest: API keys as Basic password or Bearer, with the route's scope."""

from __future__ import annotations

import base64

import pytest
from flask import Flask

from engine import Engine

from .camunda import CamundaClient, basic
from .processes import approval

pytestmark = pytest.mark.usefixtures("finance_people")


def refused(resp: object, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.get_json()  # type: ignore[attr-defined]
    body: dict[str, object] = resp.get_json()  # type: ignore[attr-defined]
    assert set(body) >= {"type", "message"} and body["message"]
    return body


def test_the_engine_and_version_answer_any_valid_key(app: Flask, engine: Engine) -> None:
    key = engine.identity.create_api_key("reader", ["tasks:read"])
    client = CamundaClient(app.test_client(), key)
    assert client.get("/engine").get_json() == [{"name": "default"}]
    assert client.get("/version").get_json() == {"version": "7.21.0"}
    missing = client.get("/history/process-instance")
    assert missing.status_code == 404 and missing.get_json()["type"] == "RestException"
    assert "does not offer GET /engine-rest/history/process-instance" in \
        missing.get_json()["message"]
    assert app.test_client().get("/engine-rest/history/x").status_code == 401
    bearer = app.test_client().get("/engine-rest/engine",
                                   headers={"Authorization": f"Bearer {key}"})
    assert bearer.status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic " + base64.b64encode(b"demo:not-a-key").decode()},
    {"Authorization": "Basic !!!not-base64"},
    {"Authorization": "Bearer "},
    {"Authorization": "Digest abc"},
])
def test_no_key_or_a_wrong_one_is_a_401_with_a_basic_challenge(
        app: Flask, headers: dict[str, str]) -> None:
    resp = app.test_client().get("/engine-rest/engine", headers=headers)
    body = refused(resp, 401)
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="bridgeflow"'
    assert body["type"] == "AuthenticationException"


def test_a_key_in_the_user_name_is_not_accepted(app: Flask, api_key: str) -> None:
    headers = {"Authorization": "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()}
    resp = app.test_client().get("/engine-rest/engine", headers=headers)
    assert "password" in str(refused(resp, 401)["message"])
    only_user = {"Authorization": "Basic " + base64.b64encode(api_key.encode()).decode()}
    refused(app.test_client().get("/engine-rest/engine", headers=only_user), 401)


def test_a_revoked_key_stops_working_at_once(app: Flask, engine: Engine, api_key: str) -> None:
    client = CamundaClient(app.test_client(), api_key)
    assert client.get("/engine").status_code == 200
    [row] = [k for k in engine.identity.list_api_keys() if k.name == "order-system"]
    engine.identity.revoke_api_key(row.id)
    refused(client.get("/engine"), 401)


def test_a_key_lacking_the_scope_is_a_403_and_nothing_starts(app: Flask,
                                                             engine: Engine) -> None:
    key = engine.identity.create_api_key("reader", ["tasks:read"])
    client = CamundaClient(app.test_client(), key)
    resp = client.post("/process-definition/key/auto_steps/start", json={})
    assert refused(resp, 403)["type"] == "AuthorizationException"
    assert engine.runtime.list_instances().total == 0
    for method, path in [("post", "/message"), ("get", "/process-instance"),
                         ("put", "/process-instance/x/variables/a"),
                         ("post", "/deployment/create"), ("post", "/task/x/complete")]:
        refused(getattr(client, method)(path, json={}), 403)


def test_a_route_missing_from_the_table_is_refused(app: Flask, api_key: str) -> None:
    from web.engine_rest import ENDPOINT_SCOPES

    routes = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("engine_rest.")}
    assert routes == set(ENDPOINT_SCOPES)
    assert all(ENDPOINT_SCOPES.values())


def test_a_personal_token_completes_only_its_own_persons_task(
        app: Flask, engine: Engine, api_key: str) -> None:
    admin = CamundaClient(app.test_client(), api_key)
    admin.deploy("approval.bpmn", approval())
    instance = admin.start("approval")
    [task] = admin.get(f"/task?processInstanceId={instance['id']}").get_json()
    assert admin.post(f"/task/{task['id']}/claim", json={"userId": "ann"}).status_code == 204
    bob = engine.identity.user_by_name("bob")
    assert bob is not None
    token = CamundaClient(app.test_client(), engine.identity.create_personal_token(bob, "cli"))
    assert refused(token.post(f"/task/{task['id']}/complete", json={}), 500)["type"] \
        == "ProcessEngineException"
    assert refused(token.post(f"/task/{task['id']}/claim", json={"userId": "ann"}),
                   403)["type"] == "AuthorizationException"
    assert engine.tasks.task(task["id"]).status == "claimed"
    assert engine.tasks.task(task["id"]).assignee == "ann"
    refused(token.get("/process-instance"), 403)


def test_basic_header_helper_matches_what_clients_send() -> None:
    assert basic("k", "u") == {"Authorization": "Basic dTpr"}
