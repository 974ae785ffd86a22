"""Nobody acts as someone else: the attacks on task actions through the REST API.

Each refusal is checked for its answer (status and message) and for what did not happen:
the task is still open and unchanged, the instance still waits, no claim or completion is in
the audit trail, and the refusal itself is.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import engine.credentials as credentials
from engine import Engine, ForbiddenError, utcnow
from engine.models import Event

from .conftest import PASSWORD, AuthClient
from .processes import approval


@pytest.fixture
def people(engine: Engine) -> None:
    identity = engine.identity
    identity.create_user("fiona", PASSWORD, groups=["finance"], role="user")
    identity.create_user("frank", PASSWORD, groups=["finance"], role="user")
    identity.create_user("sue", PASSWORD, groups=["support"], role="user")
    identity.create_user("olga", PASSWORD, groups=["finance"], role="user")
    identity.deactivate("olga")
    identity.create_user("ada", PASSWORD, groups=[], role="admin")


@pytest.fixture
def task(client: AuthClient, people: None) -> dict[str, Any]:
    """An open finance review, waited on by its instance."""
    resp = client.post("/api/v1/deployments", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(approval()), "approval.bpmn")]})
    assert resp.status_code == 201
    client.post("/api/v1/process-instances?wait=5", json={"process_key": "approval"})
    [found] = client.get("/api/v1/tasks").get_json()["items"]
    return dict(found)


def key_with(engine: Engine, *scopes: str, name: str = "crm",
             expires_in: timedelta | None = None) -> dict[str, str]:
    expires_at = utcnow() + expires_in if expires_in is not None else None
    secret = engine.identity.create_api_key(name, list(scopes), expires_at=expires_at)
    return {"Authorization": f"Bearer {secret}"}


def events(engine: Engine, *types: str) -> list[Event]:
    with engine._core.db.read() as s:
        return list(s.scalars(select(Event).where(Event.type.in_(types))
                              .order_by(Event.id)))


def assert_untouched(client: AuthClient, engine: Engine, task: dict[str, Any]) -> None:
    now = client.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert (now["status"], now["assignee"], now["completed_by"]) == ("ready", None, None)
    instance = client.get(f"/api/v1/process-instances/{task['process_instance_id']}")
    assert instance.get_json()["status"] == "waiting"
    assert events(engine, "task_claimed", "task_completed", "task_comment") == []


def refused(resp: Any, status: int, message: str) -> None:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert body["error"] == {401: "unauthorized", 403: "forbidden"}[status]
    assert message in body["message"]


@pytest.mark.parametrize("action", ["claim", "complete"])
@pytest.mark.parametrize(("user", "message"), [
    ("ghost", "there is no user named 'ghost'"),
    ("olga", "the user 'olga' is deactivated"),
    ("sue", "is for finance; sue is neither a candidate nor its assignee"),
])
def test_a_key_cannot_act_for_a_ghost_an_inactive_user_or_a_non_candidate(
        client: AuthClient, engine: Engine, task: dict[str, Any], action: str, user: str,
        message: str) -> None:
    resp = client.post(f"/api/v1/tasks/{task['id']}/{action}?wait=5" if action == "complete"
                       else f"/api/v1/tasks/{task['id']}/{action}",
                       json={"user": user, "variables": {"ok": True}}
                       if action == "complete" else {"user": user})
    refused(resp, 403, message)
    assert_untouched(client, engine, task)
    [denied] = events(engine, "access_denied")
    assert denied.actor == user
    assert denied.data["action"] == f"task.{action}"
    assert denied.data["via"] == "api-key:order-system" and message in denied.data["reason"]


def test_a_candidate_acts_through_a_key_and_the_audit_names_both(
        client: AuthClient, engine: Engine, task: dict[str, Any]) -> None:
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", json={"user": "fiona"})
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "fiona"
    done = client.post(f"/api/v1/tasks/{task['id']}/complete?wait=5",
                       json={"user": "fiona", "variables": {"ok": True}})
    assert done.status_code == 200 and done.get_json()["completed_by"] == "fiona"
    trail = events(engine, "task_claimed", "task_completed")
    assert [(e.type, e.actor, e.data["via"]) for e in trail] == [
        ("task_claimed", "fiona", "api-key:order-system"),
        ("task_completed", "fiona", "api-key:order-system")]


def test_only_the_assignee_or_an_admin_gives_a_task_back(
        client: AuthClient, engine: Engine, task: dict[str, Any]) -> None:
    client.post(f"/api/v1/tasks/{task['id']}/claim", json={"user": "fiona"})
    resp = client.post(f"/api/v1/tasks/{task['id']}/unclaim", json={"user": "frank"})
    refused(resp, 403, "claimed by fiona; only they or an admin may give it back")
    assert client.get(f"/api/v1/tasks/{task['id']}").get_json()["assignee"] == "fiona"
    resp = client.post(f"/api/v1/tasks/{task['id']}/unclaim", json={"user": "ada"})
    assert resp.status_code == 200 and resp.get_json()["assignee"] is None


def test_a_comment_needs_a_person_who_may_act(engine: Engine, task: dict[str, Any]) -> None:
    with pytest.raises(ForbiddenError, match="there is no user named 'ghost'"):
        engine.tasks.add_comment(task["id"], "ghost", "approve it, I am the CFO")
    assert events(engine, "task_comment") == []
    engine.tasks.add_comment(task["id"], "fiona", "checked the limit", via="api-key:crm")
    [comment] = events(engine, "task_comment")
    assert comment.actor == "fiona" and comment.data["via"] == "api-key:crm"


@pytest.mark.parametrize("scopes", [("tasks:read",), ("processes:start", "messages:send")])
def test_a_key_without_tasks_act_acts_for_nobody(app: Flask, client: AuthClient,
                                                 engine: Engine, task: dict[str, Any],
                                                 scopes: tuple[str, ...]) -> None:
    headers = key_with(engine, *scopes)
    resp = app.test_client().post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                                  json={"user": "fiona", "variables": {"ok": True}})
    refused(resp, 403, "the API key 'crm' lacks the scope tasks:act")
    assert_untouched(client, engine, task)
    [denied] = events(engine, "access_denied")
    assert denied.data["via"] == "api-key:crm"


@pytest.mark.parametrize(("how", "message"), [
    ("expired", "the API key expired at"),
    ("revoked", "the API key has been revoked"),
    ("rotated", "the API key is not valid"),
])
def test_an_expired_revoked_or_rotated_away_key_is_401(
        app: Flask, client: AuthClient, engine: Engine, task: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch, how: str, message: str) -> None:
    headers = key_with(engine, "tasks:act", "tasks:read", expires_in=timedelta(hours=1))
    [key] = [k for k in engine.identity.list_api_keys() if k.name == "crm"]
    if how == "expired":
        later = utcnow() + timedelta(hours=2)
        monkeypatch.setattr(credentials, "utcnow", lambda: later)
    elif how == "revoked":
        engine.identity.revoke_api_key(key.id)
    else:
        engine.identity.rotate_api_key(key.id)
    resp = app.test_client().post(f"/api/v1/tasks/{task['id']}/claim", headers=headers,
                                  json={"user": "fiona"})
    monkeypatch.undo()
    refused(resp, 401, message)
    assert_untouched(client, engine, task)
    [refusal] = events(engine, "api_key_refused")
    assert message in refusal.data["reason"]


@pytest.mark.parametrize("how", ["revoked", "rotated"])
def test_a_key_in_use_stops_at_once_when_another_process_revokes_or_rotates_it(
        app: Flask, engine: Engine, task: dict[str, Any], how: str) -> None:
    headers = key_with(engine, "tasks:read")
    [key] = [k for k in engine.identity.list_api_keys() if k.name == "crm"]
    web = app.test_client()
    assert web.get("/api/v1/tasks", headers=headers).status_code == 200  # in use, just now
    other = Engine(engine.settings.database_url)  # as another web process would
    try:
        if how == "revoked":
            other.identity.revoke_api_key(key.id)
        else:
            other.identity.rotate_api_key(key.id)
    finally:
        other.close()
    resp = web.get("/api/v1/tasks", headers=headers)
    refused(resp, 401, "has been revoked" if how == "revoked" else "is not valid")


def test_a_rotated_key_works_with_its_new_secret(app: Flask, engine: Engine,
                                                 task: dict[str, Any]) -> None:
    key_with(engine, "tasks:read")
    [key] = [k for k in engine.identity.list_api_keys() if k.name == "crm"]
    fresh = engine.identity.rotate_api_key(key.id)
    resp = app.test_client().get("/api/v1/tasks",
                                 headers={"Authorization": f"Bearer {fresh}"})
    assert resp.status_code == 200 and resp.get_json()["total"] == 1


def test_a_personal_token_acts_only_as_its_person(app: Flask, client: AuthClient,
                                                  engine: Engine, task: dict[str, Any]) -> None:
    fiona = engine.identity.user_by_name("fiona")
    assert fiona is not None
    headers = {"Authorization": f"Bearer {engine.identity.create_personal_token(fiona, 'cli')}"}
    api = app.test_client()
    resp = api.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                    json={"user": "frank", "variables": {"ok": True}})
    refused(resp, 403, "a personal token acts only as fiona, not as frank")
    assert_untouched(client, engine, task)
    [denied] = events(engine, "access_denied")
    assert (denied.actor, denied.data["via"]) == ("fiona", "token:fiona:cli")
    resp = api.post("/api/v1/process-instances", headers=headers,
                    json={"process_key": "approval"})
    refused(resp, 403, "lacks the scope processes:start")
    done = api.post(f"/api/v1/tasks/{task['id']}/complete?wait=5", headers=headers,
                    json={"variables": {"ok": True}})
    assert done.status_code == 200 and done.get_json()["completed_by"] == "fiona"
    [completed] = events(engine, "task_completed")
    assert (completed.actor, completed.data["via"]) == ("fiona", "token:fiona:cli")


def test_a_personal_token_sees_only_its_persons_tasks(app: Flask, engine: Engine,
                                                      task: dict[str, Any]) -> None:
    sue = engine.identity.user_by_name("sue")
    assert sue is not None
    headers = {"Authorization": f"Bearer {engine.identity.create_personal_token(sue, 'cli')}"}
    api = app.test_client()
    assert api.get("/api/v1/tasks", headers=headers).get_json()["items"] == []
    refused(api.get(f"/api/v1/tasks/{task['id']}", headers=headers), 403,
            "is not one of sue's tasks")


def test_a_deactivated_persons_token_stops_working(app: Flask, client: AuthClient,
                                                   engine: Engine, task: dict[str, Any]) -> None:
    frank = engine.identity.user_by_name("frank")
    assert frank is not None
    headers = {"Authorization": f"Bearer {engine.identity.create_personal_token(frank, 'x')}"}
    engine.identity.deactivate("frank")
    resp = app.test_client().post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
    refused(resp, 401, "the token's owner is deactivated")
    assert_untouched(client, engine, task)


def test_a_key_acts_for_an_admin_only_with_the_admin_scope(app: Flask, client: AuthClient,
                                                           engine: Engine,
                                                           task: dict[str, Any]) -> None:
    headers = key_with(engine, "tasks:act")  # may act for people, may not administer
    resp = app.test_client().post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                                  json={"user": "ada", "variables": {"ok": True}})
    refused(resp, 403, "may act for people, not for the admin ada")
    assert_untouched(client, engine, task)
    admin_key = key_with(engine, "tasks:act", "admin", name="ops")
    done = app.test_client().post(f"/api/v1/tasks/{task['id']}/complete", headers=admin_key,
                                  json={"user": "ada", "variables": {"ok": True}})
    assert done.status_code == 200
