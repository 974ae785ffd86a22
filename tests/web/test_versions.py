"""Versions in the API and the console: comments, the diff, rolling back; who may."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask

from engine import Engine

from .conftest import AuthClient
from .processes import approval
from .test_pages import PASSWORD, People, text_of

DEPLOY = "/api/v1/deployments"


@pytest.fixture
def people(app: Flask, engine: Engine) -> People:
    engine.identity.create_user("ana", PASSWORD, groups=[], role="analyst")
    engine.identity.create_user("fiona", PASSWORD, groups=["finance"], role="user")
    return People(app)


def upload(client: AuthClient, content: bytes, comment: str | None = None) -> Any:
    data: dict[str, Any] = {"files": [(io.BytesIO(content), "approval.bpmn")]}
    if comment is not None:
        data["comment"] = comment
    return client.post(DEPLOY, data=data, content_type="multipart/form-data")


def test_the_api_keeps_a_comment_compares_versions_and_rolls_back(client: AuthClient) -> None:
    assert upload(client, approval(), "first").status_code == 201
    assert upload(client, approval("approved_by = 'y'"), "  second  ").status_code == 201

    versions = client.get("/api/v1/process-definitions/approval").get_json()["versions"]
    assert [(v["version"], v["comment"]) for v in versions] == [(2, "second"), (1, "first")]

    diff = client.get("/api/v1/process-definitions/approval/diff?from=1").get_json()
    assert (diff["from"], diff["to"]) == (1, 2)
    [change] = diff["changes"]
    assert change["kind"] == "changed" and change["type"] == "scriptTask"
    assert change["details"] == [{"what": "script", "before": "approved_by = 'x'",
                                  "after": "approved_by = 'y'"}]

    back = client.post("/api/v1/process-definitions/approval/rollback", json={"version": 1})
    assert back.status_code == 201
    assert back.get_json()["definitions"][0]["version"] == 3
    xml = client.get("/api/v1/process-definitions/approval/xml").data
    assert b"approved_by = 'x'" in xml


def test_bad_version_requests_say_what_is_wrong_and_change_nothing(
        client: AuthClient, engine: Engine) -> None:
    upload(client, approval())
    newest = client.post("/api/v1/process-definitions/approval/rollback", json={"version": 1})
    assert newest.status_code == 409
    assert "version 1 of 'approval' is already the newest" in newest.get_json()["message"]
    missing = client.post("/api/v1/process-definitions/approval/rollback", json={"version": 9})
    assert missing.status_code == 404
    assert client.post("/api/v1/process-definitions/approval/rollback",
                       json={"version": "one"}).status_code == 422
    assert client.get("/api/v1/process-definitions/approval/diff").status_code == 422  # no from
    assert client.get("/api/v1/process-definitions/approval/diff?from=5").status_code == 404
    long = upload(client, approval("approved_by = 'z'"), "x" * 2001)
    assert long.status_code == 422 and "at most 2000" in long.get_data(as_text=True)
    assert len(engine.repository.definition_versions("approval")) == 1


def test_rolling_back_needs_the_deploy_scope(app: Flask, engine: Engine) -> None:
    engine.repository.deploy({"approval.bpmn": approval()}, "ada")
    engine.repository.deploy({"approval.bpmn": approval("approved_by = 'y'")}, "ada")
    starter = AuthClient(app.test_client(),
                         engine.identity.create_api_key("shop", ["processes:start"]))
    refused = starter.post("/api/v1/process-definitions/approval/rollback", json={"version": 1})
    assert refused.status_code == 403
    assert starter.get("/api/v1/process-definitions/approval/diff?from=1").status_code == 200
    assert len(engine.repository.definition_versions("approval")) == 2


def test_an_analyst_compares_and_rolls_back_in_the_console(people: People,
                                                           engine: Engine) -> None:
    engine.repository.deploy({"approval.bpmn": approval()}, "ana", comment="first cut")
    engine.repository.deploy({"approval.bpmn": approval("approved_by = 'y'")}, "ana",
                             comment="who approved changes")
    ana = people["ana"]

    page = text_of(ana.get("/admin/definitions/approval"))
    assert "who approved changes" in page and "first cut" in page

    diff = ana.get("/admin/definitions/approval/diff?from=1&to=2")
    assert diff.status_code == 200
    shown = text_of(diff)
    assert "version 1 → 2" in shown and "0 added · 1 changed · 0 removed" in shown
    assert "approved_by = 'x'" in shown and "approved_by = 'y'" in shown

    assert ana.post("/admin/definitions/approval/1/rollback", csrf=False).status_code == 400
    done = ana.post("/admin/definitions/approval/1/rollback")
    assert done.status_code == 302
    assert "Version 1 of approval is deployed again as version 3." in \
        text_of(ana.get(done.headers["Location"]))
    assert engine.repository.definition("approval").deployed_by == "ana"


def test_a_finance_user_may_not_compare_or_roll_back(people: People, engine: Engine) -> None:
    engine.repository.deploy({"approval.bpmn": approval()}, "ana")
    engine.repository.deploy({"approval.bpmn": approval("approved_by = 'y'")}, "ana")
    fiona = people["fiona"]
    assert fiona.get("/admin/definitions/approval/diff?from=1").status_code == 403
    assert fiona.post("/admin/definitions/approval/1/rollback").status_code == 403
    assert len(engine.repository.definition_versions("approval")) == 2
