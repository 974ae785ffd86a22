"""Personal API tokens, made on the person's own account page: shown once, act as them only."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from engine import Engine

from .conftest import PASSWORD
from .test_auth import sign_in, token_of


def signed_in(app: Flask, engine: Engine, name: str, groups: list[str]) -> FlaskClient:
    engine.identity.create_user(name, PASSWORD, groups=groups, role="user")
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def create(client: FlaskClient, label: str) -> tuple[int, str]:
    resp = client.post("/account/tokens", data={"label": label,
                                                "csrf_token": token_of(client, "/account/tokens")})
    return resp.status_code, resp.text


def secret_in(page: str) -> str:
    found = re.search(r'id="token-secret">(bfp_[^<]+)<', page)
    assert found is not None
    return found.group(1)


def test_a_token_is_shown_once_and_acts_as_its_person(app: Flask, engine: Engine) -> None:
    fiona = signed_in(app, engine, "fiona", ["finance"])
    assert "My API tokens" in fiona.get("/inbox").text  # in the account menu
    status, page = create(fiona, "laptop script")
    assert status == 201 and "shown only this once" in page
    secret = secret_in(page)
    listing = fiona.get("/account/tokens").text
    assert "laptop script" in listing and secret not in listing and secret[:10] in listing
    api = app.test_client()
    resp = api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200
    refused = api.get("/api/v1/incidents", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403 and "lacks the scope admin" in refused.get_json()["message"]


def test_a_revoked_token_stops_working(app: Flask, engine: Engine) -> None:
    fiona = signed_in(app, engine, "fiona", ["finance"])
    secret = secret_in(create(fiona, "cli")[1])
    [token] = engine.identity.personal_tokens(engine.identity.user_by_name("fiona"))  # type: ignore[arg-type]
    resp = fiona.post(f"/account/tokens/{token.id}/revoke",
                      data={"csrf_token": token_of(fiona, "/account/tokens")})
    assert resp.status_code == 302
    assert "is revoked" in fiona.get("/account/tokens").text
    api = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401 and "revoked" in api.get_json()["message"]


def test_nobody_revokes_or_sees_another_persons_token(app: Flask, engine: Engine) -> None:
    fiona = signed_in(app, engine, "fiona", ["finance"])
    secret = secret_in(create(fiona, "cli")[1])
    sue = signed_in(app, engine, "sue", ["support"])
    assert "cli" not in sue.get("/account/tokens").text.split("Your tokens")[1]
    [token] = engine.identity.personal_tokens(engine.identity.user_by_name("fiona"))  # type: ignore[arg-type]
    resp = sue.post(f"/account/tokens/{token.id}/revoke",
                    data={"csrf_token": token_of(sue, "/account/tokens")})
    assert resp.status_code == 303
    assert "no such token among yours" in sue.get("/account/tokens").text
    api = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_a_token_needs_a_name_and_a_signed_in_person(app: Flask, engine: Engine) -> None:
    fiona = signed_in(app, engine, "fiona", ["finance"])
    status, page = create(fiona, "  ")
    assert status == 422 and "give the token a name" in page
    assert engine.identity.list_api_keys() == []
    anonymous = app.test_client().get("/account/tokens")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def test_a_token_pages_only_its_persons_tasks_and_a_look_at_another_is_audited(
        app: Flask, engine: Engine) -> None:
    from .test_pages import group_task

    engine.repository.deploy({"sales_call.bpmn": group_task("sales_call", "sales", "Call"),
                              "books.bpmn": group_task("books", "finance", "Book it")})
    for _ in range(3):
        engine.runtime.start("sales_call", None, {}, wait=5)
        engine.runtime.start("books", None, {}, wait=5)
    fiona = signed_in(app, engine, "fiona", ["finance"])
    secret = secret_in(create(fiona, "script")[1])
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    page = api.get("/api/v1/tasks?per_page=2", headers=headers).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2  # finance's three, paged
    assert {t["process_key"] for t in page["items"]} == {"books"}
    [sales] = engine.tasks.list_tasks(process_key="sales_call", per_page=1).items
    refused = api.get(f"/api/v1/tasks/{sales.id}", headers=headers)
    assert refused.status_code == 403
    [event] = engine.identity.security_events(type_="access_denied")
    assert event.actor == "fiona" and event.data["task_id"] == sales.id
