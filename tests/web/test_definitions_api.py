"""Deploying files and reading definitions through the API."""

from __future__ import annotations

import io
from typing import Any

from engine import Engine

from .conftest import AuthClient
from .processes import approval

URL = "/api/v1/deployments"


def upload(client: AuthClient, *files: tuple[str, bytes]) -> object:
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(URL, data=data, content_type="multipart/form-data")


def test_deploying_a_new_file_creates_version_1_once(client: AuthClient) -> None:
    resp = upload(client, ("approval.bpmn", approval()))
    assert resp.status_code == 201
    [deployed] = resp.get_json()["definitions"]
    assert deployed["key"] == "approval" and deployed["version"] == 1
    assert deployed["new_version"] is True and deployed["kind"] == "process"
    again = upload(client, ("approval.bpmn", approval())).get_json()["definitions"]
    assert again[0]["version"] == 1 and again[0]["new_version"] is False
    versions = client.get("/api/v1/process-definitions/approval").get_json()["versions"]
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["deployed_by"] == "order-system"


def test_a_changed_file_creates_version_2(client: AuthClient) -> None:
    upload(client, ("approval.bpmn", approval()))
    resp = upload(client, ("approval.bpmn", approval("approved_by = 'y'")))
    assert resp.get_json()["definitions"][0]["version"] == 2
    xml = client.get("/api/v1/process-definitions/approval/xml?version=1")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b"approved_by = 'x'" in xml.data
    latest = client.get("/api/v1/process-definitions/approval/xml")
    assert b"approved_by = 'y'" in latest.data


def test_file_that_is_not_xml_is_422(client: AuthClient, engine: Engine) -> None:
    resp = upload(client, ("broken.bpmn", b"this is not XML"))
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_definition"
    [problem] = body["details"]["problems"]
    assert problem["file"] == "broken.bpmn" and problem["message"]
    assert set(problem) == {"file", "line", "element_id", "message"}
    assert [d.key for d in engine.repository.list_definitions()] == ["auto_steps", "discount"]


def test_script_importing_os_is_422_with_line_and_element(client: AuthClient,
                                                          engine: Engine) -> None:
    resp = upload(client, ("approval.bpmn", approval("import os")))
    assert resp.status_code == 422
    problems = resp.get_json()["details"]["problems"]
    assert any(p["element_id"] == "after" and p["file"] == "approval.bpmn"
               and p["line"] is not None for p in problems), problems
    assert "approval.bpmn" in resp.get_json()["message"]
    assert [d.key for d in engine.repository.list_definitions()] == ["auto_steps", "discount"]


def test_deployment_without_files_is_400(client: AuthClient) -> None:
    resp = client.post(URL, data={}, content_type="multipart/form-data")
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "malformed_request" and "'files'" in body["message"]


def test_list_definitions_is_paged(client: AuthClient) -> None:
    upload(client, ("approval.bpmn", approval()))
    page = client.get("/api/v1/process-definitions?per_page=1").get_json()
    assert page["total"] == 2 and page["page"] == 1
    assert [d["key"] for d in page["items"]] == ["approval"]
    second = client.get("/api/v1/process-definitions?per_page=1&page=2").get_json()
    assert [d["key"] for d in second["items"]] == ["auto_steps"]
    decisions = client.get("/api/v1/process-definitions?kind=decision").get_json()
    assert [d["key"] for d in decisions["items"]] == ["discount"]


def test_unknown_definition_is_404(client: AuthClient) -> None:
    resp = client.get("/api/v1/process-definitions/nope/xml")
    assert resp.status_code == 404
    assert "nope" in resp.get_json()["message"]


def test_decision_evaluate_returns_outputs_and_rules(client: AuthClient) -> None:
    resp = client.post("/api/v1/decisions/discount/evaluate",
                       json={"variables": {"size": "large", "total": 6000}})
    assert resp.status_code == 200
    assert resp.get_json() == {"outputs": 10, "matched_rules": [{"id": "r1", "number": 1}]}


def test_decision_evaluate_rejects_unknown_fields(client: AuthClient) -> None:
    resp = client.post("/api/v1/decisions/discount/evaluate", json={"vars": {}})
    assert resp.status_code == 422
    assert "vars" in resp.get_json()["details"]["fields"]


def dry_run(client: AuthClient, *files: tuple[str, bytes]) -> Any:
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"{URL}?dry_run=true", data=data, content_type="multipart/form-data")


def stored(engine: Engine) -> list[tuple[str, str, int]]:
    return [(d.kind, d.key, d.version) for d in engine.repository.list_definitions()]


def test_dry_run_answers_what_would_be_deployed_and_stores_nothing(client: AuthClient,
                                                                   engine: Engine) -> None:
    before = stored(engine)
    resp = dry_run(client, ("approval.bpmn", approval()))
    assert resp.status_code == 200
    assert resp.get_json() == {"dry_run": True, "definitions": [
        {"key": "approval", "kind": "process", "name": "Approval", "version": 1,
         "new_version": True, "external_topics": [], "warnings": []}]}
    assert stored(engine) == before
    assert client.get("/api/v1/process-definitions/approval").status_code == 404
    real: Any = upload(client, ("approval.bpmn", approval()))
    assert real.get_json()["definitions"][0]["version"] == 1


def test_dry_run_tells_a_new_version_from_an_unchanged_file(client: AuthClient,
                                                            engine: Engine) -> None:
    upload(client, ("approval.bpmn", approval()))
    before = stored(engine)
    [same] = dry_run(client, ("approval.bpmn", approval())).get_json()["definitions"]
    assert (same["version"], same["new_version"]) == (1, False)
    [changed] = dry_run(client, ("approval.bpmn",
                                 approval("approved_by = 'y'"))).get_json()["definitions"]
    assert (changed["version"], changed["new_version"]) == (2, True)
    assert stored(engine) == before
    versions = client.get("/api/v1/process-definitions/approval").get_json()["versions"]
    assert [v["version"] for v in versions] == [1]


def test_dry_run_of_broken_files_is_422_with_every_problem(client: AuthClient,
                                                           engine: Engine) -> None:
    before = stored(engine)
    resp = dry_run(client, ("broken.bpmn", b"this is not XML"),
                   ("approval.bpmn", approval("import os")))
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_definition"
    assert {p["file"] for p in body["details"]["problems"]} == {"broken.bpmn", "approval.bpmn"}
    assert stored(engine) == before


def test_decision_evaluate_past_the_step_limit_is_422_naming_it(client: AuthClient) -> None:
    loops = " ".join(f"for {v} in L return" for v in "abcdefgh") + " 1"
    dmn = (
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" '
        'namespace="http://t"><decision id="loops" name="Loops"><literalExpression>'
        f"<text>{loops}</text></literalExpression></decision></definitions>"
    ).encode()
    assert upload(client, ("loops.dmn", dmn)).status_code == 201
    resp = client.post("/api/v1/decisions/loops/evaluate",
                       json={"variables": {"L": list(range(10))}})
    assert resp.status_code == 422
    assert "200,000 steps" in resp.get_json()["message"]


def test_decision_outputs_with_far_dates_are_iso_text() -> None:
    from engine.dmn.feel_far_dates import make_date
    from web.api.common import json_safe

    # FEEL dates reach ±999,999,999; the evaluate API answers them as ISO text like others
    assert json_safe({"d": make_date(-2017, 12, 31), "n": [make_date(12345, 1, 2)]}) == {
        "d": "-2017-12-31", "n": ["12345-01-02"]}
