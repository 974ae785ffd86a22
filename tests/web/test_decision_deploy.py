"""DMN files with an unavailable decision, and FEEL errors, through the API."""

from __future__ import annotations

import io
from typing import Any

from engine import Engine
from tests.engine.dmn.test_deploy_decisions import BROKEN, process, rules

from .conftest import AuthClient

URL = "/api/v1/deployments"


def deploy(client: Any, *files: tuple[str, bytes], query: str = "") -> Any:
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(URL + query, data=data, content_type="multipart/form-data")


def by_key(resp: Any) -> dict[str, dict[str, Any]]:
    return {d["key"]: d for d in resp.get_json()["definitions"]}


def test_the_deploy_answer_marks_the_broken_decision_with_its_reason(client: AuthClient) -> None:
    for query, status in (("?dry_run=true", 200), ("", 201)):
        resp = deploy(client, ("rules.dmn", BROKEN), query=query)
        assert resp.status_code == status
        answer = by_key(resp)
        assert answer["fee"]["available"] is True and answer["fee"]["warnings"] == []
        assert answer["risk"]["available"] is False
        assert "cannot read '>> 50'" in answer["risk"]["unavailable_reason"]
        assert "decision 'Risk' is unavailable" in answer["risk"]["warnings"][0]
        assert answer["advice"]["available"] is False
    listed = client.get("/api/v1/process-definitions?kind=decision&per_page=100").get_json()
    rows = {d["key"]: d for d in listed["items"]}
    assert rows["fee"]["available"] is True and rows["fee"]["unavailable_reason"] is None
    assert rows["risk"]["available"] is False and "cannot read" in rows["risk"][
        "unavailable_reason"]


def test_evaluating_an_unavailable_decision_is_422_with_the_reason(client: AuthClient) -> None:
    deploy(client, ("rules.dmn", BROKEN))
    resp = client.post("/api/v1/decisions/risk/evaluate", json={"variables": {"score": 70}})
    assert resp.status_code == 422
    assert "cannot be evaluated" in resp.get_json()["message"]
    assert "cannot read '>> 50'" in resp.get_json()["message"]
    good = client.post("/api/v1/decisions/fee/evaluate", json={"variables": {"amount": 500}})
    assert good.status_code == 200 and good.get_json()["outputs"] == 50


def test_the_evaluate_answer_carries_the_feel_errors(client: AuthClient) -> None:
    deploy(client, ("rules.dmn", rules(fee='amount + "x"')))
    resp = client.post("/api/v1/decisions/fee/evaluate", json={"variables": {"amount": 20}})
    assert resp.status_code == 200
    assert resp.get_json()["outputs"] is None
    assert resp.get_json()["errors"] == [
        "decision 'Fee' rule 1, output 'fee': number + string is not defined: null"]


def test_a_process_calling_the_broken_decision_is_422_naming_task_decision_and_reason(
        client: AuthClient, engine: Engine) -> None:
    before = [(d.key, d.version) for d in engine.repository.list_definitions()]
    resp = deploy(client, ("rules.dmn", BROKEN), ("pricing.bpmn", process("advice")))
    assert resp.status_code == 422
    [problem] = resp.get_json()["details"]["problems"]
    assert problem["element_id"] == "decide_it" and problem["file"] == "pricing.bpmn"
    assert "calls decision 'advice', which is unavailable" in problem["message"]
    assert "requires decision 'Risk'" in problem["message"]
    assert [(d.key, d.version) for d in engine.repository.list_definitions()] == before
