"""The editor's check and deploy endpoints: the same checks as a deploy, who may, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from engine import Engine

from .processes import approval
from .test_pages import PASSWORD, People, text_of


@pytest.fixture
def people(app: Flask, engine: Engine) -> People:
    engine.identity.create_user("ana", PASSWORD, groups=[], role="analyst")
    engine.identity.create_user("fiona", PASSWORD, groups=["finance"], role="user")
    return People(app)


def call(people: People, who: str, action: str, body: Any, csrf: bool = True) -> Any:
    person = people[who]
    headers = {"X-CSRF-Token": person.token} if csrf else {}
    return person.client.post(f"/admin/editor/{action}", json=body, headers=headers)


def test_a_check_lists_the_problems_a_deploy_would_and_stores_nothing(
        people: People, engine: Engine) -> None:
    broken = call(people, "ana", "check",
                  {"kind": "process", "xml": approval("import os").decode()})
    assert broken.status_code == 200
    [problem] = broken.get_json()["problems"]
    assert problem["file"] == "approval.bpmn" and "import" in problem["message"]
    fine = call(people, "ana", "check", {"kind": "process", "xml": approval().decode()})
    assert fine.get_json() == {"problems": [], "definitions": [
        {"key": "approval", "version": 1, "kind": "process", "new_version": True,
         "warnings": []}]}
    assert "approval" not in {d.key for d in engine.repository.list_definitions()}


def test_deploying_from_the_editor_keeps_the_comment_and_refuses_a_broken_file(
        people: People, engine: Engine) -> None:
    refused = call(people, "ana", "deploy",
                   {"kind": "process", "xml": approval("import os").decode()})
    assert refused.status_code == 422 and refused.get_json()["problems"]
    assert "approval" not in {d.key for d in engine.repository.list_definitions()}
    done = call(people, "ana", "deploy", {"kind": "process", "xml": approval().decode(),
                                          "comment": " first "})
    assert done.status_code == 201
    assert done.get_json()["location"] == "/admin/definitions/approval"
    row = engine.repository.definition("approval")
    assert (row.version, row.deployed_by, row.comment) == (1, "ana", "first")
    edited = call(people, "ana", "deploy", {"kind": "process", "base_key": "approval",
                                            "xml": approval("approved_by = 'y'").decode()})
    assert edited.get_json()["definitions"][0]["version"] == 2
    assert engine.repository.definition("approval").filename == "approval.bpmn"


@pytest.mark.parametrize(("body", "message"), [
    ("not an object", "send JSON"),
    ({"kind": "script", "xml": "<x/>"}, "'kind' must be 'process' or 'decision'"),
    ({"kind": "process", "xml": ""}, "'xml' must be the file's text"),
    ({"kind": "process", "xml": 5}, "'xml' must be the file's text"),
    ({"kind": "process", "xml": "<x/>", "base_key": "../etc"}, "'base_key' is not a"),
    ({"kind": "process", "xml": "<x/>", "comment": 5}, "'comment' must be a text"),
])
def test_a_bad_request_is_answered_400_saying_what_is_wrong(
        people: People, engine: Engine, body: Any, message: str) -> None:
    before = [(d.key, d.version) for d in engine.repository.list_definitions()]
    answer = call(people, "ana", "deploy", body)
    assert answer.status_code == 400 and message in answer.get_json()["message"]
    assert [(d.key, d.version) for d in engine.repository.list_definitions()] == before


def test_only_analysts_and_admins_edit_and_only_with_the_form_token(
        people: People, engine: Engine) -> None:
    before = {d.key for d in engine.repository.list_definitions()}
    assert call(people, "fiona", "deploy",
                {"kind": "process", "xml": approval().decode()}).status_code == 403
    assert call(people, "ana", "deploy", {"kind": "process", "xml": approval().decode()},
                csrf=False).status_code == 400
    assert {d.key for d in engine.repository.list_definitions()} == before
    assert people["fiona"].get("/admin/definitions/new").status_code == 403
    page = people["ana"].get("/admin/definitions/new?kind=decision")
    assert page.status_code == 200 and "New decision" in text_of(page)
    template = people["ana"].get("/admin/definitions/templates/decision")
    assert template.mimetype == "application/xml" and b'id="new_decision"' in template.data
