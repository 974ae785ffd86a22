"""POST /engine-rest/deployment/create: Camunda's multipart deployment over our deploy checks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask

from engine import Engine

from .camunda import CamundaClient
from .processes import approval

DMN = (Path(__file__).resolve().parent.parent / "fixtures" / "processes"
       / "discount.dmn").read_bytes()


@pytest.fixture
def camunda(app: Flask, api_key: str) -> CamundaClient:
    return CamundaClient(app.test_client(), api_key)


def deploy(client: CamundaClient, **parts: object) -> object:
    return client.post("/deployment/create", content_type="multipart/form-data",
                       data={"deployment-name": "release-7", "deployment-source": "ci",
                             "enable-duplicate-filtering": "true", **parts})


def test_a_deployment_answers_camundas_shape(camunda: CamundaClient, engine: Engine) -> None:
    resp = deploy(camunda, process=(io.BytesIO(approval()), "approval.bpmn"),
                  rules=(io.BytesIO(DMN.replace(b'id="discount"', b'id="discount2"')),
                         "discount2.dmn"))
    assert resp.status_code == 200, resp.get_json()  # type: ignore[attr-defined]
    body = resp.get_json()  # type: ignore[attr-defined]
    assert body["name"] == "release-7" and body["source"] == "ci"
    assert body["deploymentTime"].endswith("+0000")
    [(definition_id, process)] = body["deployedProcessDefinitions"].items()
    assert process["key"] == "approval" and process["version"] == 1
    assert process["resource"] == "approval.bpmn" and process["deploymentId"] == body["id"]
    assert engine.repository.definition("approval").id == definition_id
    assert len(body["deployedDecisionDefinitions"]) >= 1


def test_an_unchanged_file_makes_no_new_version(camunda: CamundaClient,
                                                engine: Engine) -> None:
    deploy(camunda, process=(io.BytesIO(approval()), "approval.bpmn"))
    again = deploy(camunda, process=(io.BytesIO(approval()), "approval.bpmn"))
    assert again.get_json()["deployedProcessDefinitions"] is None  # type: ignore[attr-defined]
    assert [d.version for d in engine.repository.definition_versions("approval")] == [1]


def test_a_refused_file_is_a_parse_exception_with_the_problems_and_nothing_is_deployed(
        camunda: CamundaClient, engine: Engine) -> None:
    broken = approval().replace(b'targetRef="after"', b'targetRef="nowhere"')
    resp = deploy(camunda, process=(io.BytesIO(broken), "approval.bpmn"))
    assert resp.status_code == 400  # type: ignore[attr-defined]
    body = resp.get_json()  # type: ignore[attr-defined]
    assert body["type"] == "ParseException" and "approval.bpmn" in body["message"]
    [error, *_] = body["details"]["approval.bpmn"]["errors"]
    assert error["message"]
    assert "approval" not in {d.key for d in engine.repository.list_definitions()}


@pytest.mark.parametrize("parts", [
    {},
    {"tenant-id": "t1", "process": (io.BytesIO(approval()), "approval.bpmn")},
    {"process": (io.BytesIO(b"not xml"), "approval.bpmn")},
    {"process": (io.BytesIO(b"x"), "notes.txt")},
])
def test_bad_deployments_are_400s(camunda: CamundaClient, engine: Engine,
                                  parts: dict[str, object]) -> None:
    before = len(engine.repository.list_definitions())
    resp = deploy(camunda, **parts)
    assert resp.status_code == 400, resp.get_json()  # type: ignore[attr-defined]
    assert resp.get_json()["type"] in ("ParseException",  # type: ignore[attr-defined]
                                       "InvalidRequestException")
    assert len(engine.repository.list_definitions()) == before
