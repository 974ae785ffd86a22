"""Starting by key, correlating messages and throwing signals through /engine-rest."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from engine import Engine
from tests.engine.test_bpmn_constructs import STARTS_ON_RECALL, WAITS_FOR_RECALL

from .camunda import CamundaClient, settle, string
from .processes import waits_for_message

ORDER = {"lines": {"type": "Json", "value": '[{"qty": 2, "price": 600}]'},
         "customer": string("ACME"), "rush": {"value": True, "type": "Boolean"}}


@pytest.fixture
def camunda(app: Flask, api_key: str) -> CamundaClient:
    return CamundaClient(app.test_client(), api_key)


def test_start_by_key_answers_camundas_instance(camunda: CamundaClient,
                                                engine: Engine) -> None:
    body = camunda.start("auto_steps", variables=ORDER, businessKey="ORD-1",
                         withVariablesInReturn=True)
    assert set(body) >= {"id", "definitionId", "businessKey", "ended", "suspended", "links",
                         "variables"}
    assert body["businessKey"] == "ORD-1" and body["suspended"] is False
    assert body["links"][0]["href"].endswith(f"/engine-rest/process-instance/{body['id']}")
    assert body["variables"]["customer"] == {"type": "String", "value": "ACME",
                                             "valueInfo": {}}
    assert body["variables"]["lines"]["type"] == "Json"
    instance = engine.runtime.instance(body["id"])
    assert instance.variables["lines"] == [{"qty": 2, "price": 600}]
    assert instance.business_key == "ORD-1" and instance.started_by == "order-system"
    plain = camunda.start("auto_steps", variables=ORDER)
    assert "variables" not in plain


@pytest.mark.parametrize(("body", "status", "type_", "words"), [
    ({"variables": {"n": {"value": "abc", "type": "Integer"}}}, 400,
     "InvalidRequestException", "'n'"),
    ({"variables": {"o": {"value": "x", "type": "Object", "valueInfo": {
        "serializationDataFormat": "application/x-java-serialized-object"}}}}, 400,
     "InvalidRequestException", "Java-serialized"),
    ({"variables": {"1bad": {"value": 1}}}, 400, "InvalidRequestException", "1bad"),
    ({"businessKey": 12}, 400, "InvalidRequestException", "businessKey"),
    ({"withVariablesInReturn": "yes"}, 400, "InvalidRequestException", "withVariables"),
])
def test_a_bad_start_is_a_400_and_starts_nothing(camunda: CamundaClient, engine: Engine,
                                                 body: dict[str, Any], status: int,
                                                 type_: str, words: str) -> None:
    resp = camunda.post("/process-definition/key/auto_steps/start", json=body)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["type"] == type_ and words in resp.get_json()["message"]
    assert engine.runtime.list_instances().total == 0


def test_starting_an_unknown_key_is_camundas_404(camunda: CamundaClient) -> None:
    resp = camunda.post("/process-definition/key/nope/start", json={})
    assert resp.status_code == 404
    assert resp.get_json() == {"type": "RestException", "message": "No matching process "
                               "definition with key: nope and no tenant-id"}
    not_json = camunda.post("/process-definition/key/auto_steps/start", data="{oops",
                            content_type="application/json")
    assert not_json.status_code == 400 and not_json.get_json()["type"] == \
        "InvalidRequestException"


def test_a_message_reaches_the_instance_by_business_key_and_correlation_keys(
        camunda: CamundaClient, engine: Engine) -> None:
    camunda.deploy("payment.bpmn", waits_for_message())
    first = camunda.start("payment", businessKey="INV-1", variables={"region": string("eu")})
    second = camunda.start("payment", businessKey="INV-2", variables={"region": string("us")})
    resp = camunda.post("/message", json={
        "messageName": "paid", "correlationKeys": {"region": string("us")},
        "processVariables": {"amount": {"value": 12.5, "type": "Double"}}})
    assert resp.status_code == 204 and resp.data == b""
    assert settle(engine, second["id"]).status == "completed"
    assert engine.runtime.instance(second["id"]).variables["amount"] == 12.5
    assert engine.runtime.instance(first["id"]).status == "waiting"
    resp = camunda.post("/message", json={"messageName": "paid", "businessKey": "INV-1",
                                          "resultEnabled": True,
                                          "variablesInResultEnabled": True})
    assert resp.status_code == 200
    [result] = resp.get_json()
    assert result["resultType"] == "Execution"
    assert result["execution"]["processInstanceId"] == first["id"]
    assert result["variables"]["region"]["value"] == "eu"
    assert settle(engine, first["id"]).status == "completed"


def test_a_message_nobody_waits_for_is_camundas_400_and_changes_nothing(
        camunda: CamundaClient, engine: Engine) -> None:
    camunda.deploy("payment.bpmn", waits_for_message())
    waiting = camunda.start("payment", businessKey="INV-1")
    for body in ({"messageName": "paid", "businessKey": "INV-9"},
                 {"messageName": "paid", "correlationKeys": {"region": string("mars")}},
                 {"messageName": "unknown"}):
        resp = camunda.post("/message", json=body)
        assert resp.status_code == 400, resp.get_json()
        assert resp.get_json() == {
            "type": "RestException",
            "message": f"Cannot correlate message '{body['messageName']}': No process "
                       "definition or execution matches the parameters"}
    assert settle(engine, waiting["id"]).status == "waiting"


def test_several_waiting_need_all(camunda: CamundaClient, engine: Engine) -> None:
    camunda.deploy("payment.bpmn", waits_for_message())
    ids = [camunda.start("payment")["id"] for _ in range(2)]
    resp = camunda.post("/message", json={"messageName": "paid"})
    assert resp.status_code == 400 and "Cannot correlate message 'paid'" in \
        resp.get_json()["message"]
    assert {settle(engine, i).status for i in ids} == {"waiting"}
    resp = camunda.post("/message", json={"messageName": "paid", "all": True,
                                          "resultEnabled": True})
    assert sorted(r["execution"]["id"] for r in resp.get_json()) == sorted(ids)
    assert {settle(engine, i).status for i in ids} == {"completed"}


@pytest.mark.parametrize("body", [
    {}, {"messageName": ""}, {"messageName": 5},
    {"messageName": "paid", "correlationKeys": {"k": {"value": "x", "type": "Long"}}},
    {"messageName": "paid", "processVariables": {"v": {"value": "{", "type": "Json"}}},
    {"messageName": "paid", "processInstanceId": "abc"},
    {"messageName": "paid", "all": "yes"},
    {"messageName": "paid", "resultEnabled": "yes"},
    {"messageName": "paid", "variablesInResultEnabled": 1},
])
def test_a_bad_message_is_a_400(camunda: CamundaClient, engine: Engine,
                                body: dict[str, Any]) -> None:
    camunda.deploy("payment.bpmn", waits_for_message())
    waiting = camunda.start("payment")
    resp = camunda.post("/message", json=body)
    assert resp.status_code == 400 and resp.get_json()["type"] == "InvalidRequestException"
    assert settle(engine, waiting["id"]).status == "waiting"


def test_a_signal_reaches_every_waiting_instance(camunda: CamundaClient,
                                                 engine: Engine) -> None:
    engine.repository.deploy({"order_watch.bpmn": WAITS_FOR_RECALL,
                              "recall_report.bpmn": STARTS_ON_RECALL})
    waiting = [engine.runtime.start("order_watch", key, {}, wait=5).id for key in ("A", "B")]
    resp = camunda.post("/signal", json={"name": "product_recall",
                                         "variables": {"batch": string("B-17")}})
    assert resp.status_code == 204  # answered once they moved on, as Camunda does
    assert {engine.runtime.instance(i).status for i in waiting} == {"completed"}
    assert camunda.post("/signal", json={"name": "nobody_listens"}).status_code == 204
    for bad in ({}, {"name": "x", "executionId": "e"},
                {"name": "x", "variables": {"v": {"value": 1, "type": "Date"}}}):
        assert camunda.post("/signal", json=bad).status_code == 400
