"""Human tasks through /engine-rest: query, count, show, claim, unclaim, complete."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask import Flask

from engine import Engine

from .camunda import CamundaClient, string
from .processes import approval

pytestmark = pytest.mark.usefixtures("finance_people")
CAMUNDA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
FORM = {"type": "object", "required": ["approved"],
        "properties": {"approved": {"type": "boolean"},
                       "amount": {"type": "integer", "maximum": 100}}}


def with_form() -> bytes:
    return approval().replace(b'camunda:candidateGroups="finance"',
                              b'camunda:candidateGroups="finance" camunda:formKey="review.json"')


@pytest.fixture
def camunda(app: Flask, api_key: str) -> CamundaClient:
    client = CamundaClient(app.test_client(), api_key)
    resp = client.post("/deployment/create", content_type="multipart/form-data", data={
        "deployment-name": "approval",
        "process": (io.BytesIO(with_form()), "approval.bpmn"),
        "form": (io.BytesIO(json.dumps(FORM).encode()), "review.json")})
    assert resp.status_code == 200, resp.get_json()
    return client


@pytest.fixture
def task(camunda: CamundaClient) -> dict[str, Any]:
    instance = camunda.start("approval", businessKey="PO-7")
    [found] = camunda.get(f"/task?processInstanceId={instance['id']}").get_json()
    return dict(found)


def test_a_task_is_listed_shown_and_counted_in_camundas_shape(
        camunda: CamundaClient, task: dict[str, Any], engine: Engine) -> None:
    assert task["name"] == "Approve" and task["taskDefinitionKey"] == "approve"
    assert CAMUNDA_DATE.match(task["created"]) and task["due"] is None
    instance = engine.runtime.instance(task["processInstanceId"])
    assert task["processDefinitionId"] == instance.definition_id
    assert camunda.get(f"/task/{task['id']}").get_json() == task
    for query, count in [("candidateGroup=finance", 1), ("candidateGroup=sales", 0),
                         ("candidateUser=ann", 1), ("candidateUser=nobody", 0),
                         ("processDefinitionKey=approval", 1),
                         ("processInstanceBusinessKey=PO-7", 1),
                         ("processInstanceBusinessKey=PO-8", 0),
                         ("taskDefinitionKey=approve", 1), ("assignee=ann", 0),
                         ("firstResult=1", 0), ("maxResults=0", 0)]:
        assert len(camunda.get(f"/task?{query}").get_json()) == count, query
    assert camunda.get("/task/count?candidateGroup=finance").get_json() == {"count": 1}


def test_claim_unclaim_and_complete_move_the_instance_on(
        camunda: CamundaClient, task: dict[str, Any], engine: Engine) -> None:
    task_id = task["id"]
    assert camunda.post(f"/task/{task_id}/claim", json={"userId": "ann"}).status_code == 204
    assert camunda.get("/task?assignee=ann").get_json()[0]["id"] == task_id
    # Camunda leaves a claimed task out of a candidate query unless asked to include it
    assert camunda.get("/task?candidateGroup=finance").get_json() == []
    assert len(camunda.get("/task?candidateGroup=finance&includeAssignedTasks=true")
               .get_json()) == 1
    again = camunda.post(f"/task/{task_id}/claim", json={"userId": "bob"})
    assert again.status_code == 500
    assert again.get_json() == {"type": "TaskAlreadyClaimedException",
                                "message": f"Task '{task_id}' is already claimed by someone "
                                           "else."}
    assert camunda.post(f"/task/{task_id}/unclaim").status_code == 204
    assert engine.tasks.task(task_id).assignee is None
    assert camunda.post(f"/task/{task_id}/claim", json={"userId": "bob"}).status_code == 204
    resp = camunda.post(f"/task/{task_id}/complete", json={
        "variables": {"approved": {"value": True, "type": "Boolean"},
                      "amount": {"value": 40, "type": "Integer"}},
        "withVariablesInReturn": True})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["approved"] == {"type": "Boolean", "value": True, "valueInfo": {}}
    instance = engine.runtime.instance(task["processInstanceId"])
    assert instance.status == "completed" and instance.variables["approved_by"] == "x"
    assert engine.tasks.task(task_id).completed_by == "bob"
    assert camunda.get(f"/task/{task_id}").status_code == 404


def test_completing_an_unclaimed_task_acts_as_the_basic_user(
        app: Flask, api_key: str, camunda: CamundaClient, task: dict[str, Any],
        engine: Engine) -> None:
    as_nobody = camunda.post(f"/task/{task['id']}/complete",
                             json={"variables": {"approved": {"value": True}}})
    assert as_nobody.status_code == 403 and "no user named 'demo'" in \
        as_nobody.get_json()["message"]
    assert engine.tasks.task(task["id"]).status == "ready"
    as_ann = CamundaClient(app.test_client(), api_key, user="ann")
    resp = as_ann.post(f"/task/{task['id']}/complete",
                       json={"variables": {"approved": {"value": False}}})
    assert resp.status_code == 204, resp.get_json()
    assert engine.tasks.task(task["id"]).completed_by == "ann"


@pytest.mark.parametrize(("variables", "words"), [
    ({}, "approved"),
    ({"approved": {"value": True}, "amount": {"value": 500, "type": "Integer"}}, "amount"),
    ({"approved": string("yes")}, "approved"),
])
def test_a_form_refusal_is_a_400_listing_the_fields_and_the_task_stays_open(
        camunda: CamundaClient, task: dict[str, Any], engine: Engine,
        variables: dict[str, Any], words: str) -> None:
    camunda.post(f"/task/{task['id']}/claim", json={"userId": "ann"})
    resp = camunda.post(f"/task/{task['id']}/complete", json={"variables": variables})
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["type"] == "InvalidRequestException" and words in json.dumps(body)
    assert engine.tasks.task(task["id"]).status == "claimed"


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("get", "/task/nope", None, 404),
    ("post", "/task/nope/claim", {"userId": "ann"}, 404),
    ("post", "/task/nope/complete", {}, 404),
    ("post", "/task/nope/unclaim", None, 404),
    ("post", "/task/{id}/claim", {}, 400),
    ("post", "/task/{id}/claim", {"userId": 5}, 400),
    ("post", "/task/{id}/complete", {"variables": {"a": {"value": "x", "type": "Long"}}},
     400),
    ("post", "/task/{id}/complete", {"variables": []}, 400),
    ("get", "/task?firstResult=-1", None, 400),
    ("get", "/task?maxResults=ten", None, 400),
    ("get", "/task?sortBy=name", None, 400),
    ("get", "/task?includeAssignedTasks=maybe&candidateGroup=x", None, 400),
])
def test_bad_task_requests_answer_camundas_errors_and_change_nothing(
        camunda: CamundaClient, task: dict[str, Any], engine: Engine, method: str,
        path: str, body: Any, status: int) -> None:
    kwargs = {"json": body} if body is not None else {}
    resp = getattr(camunda, method)(path.replace("{id}", task["id"]), **kwargs)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["type"] in ("InvalidRequestException", "RestException")
    row = engine.tasks.task(task["id"])
    assert (row.status, row.assignee) == ("ready", None)


def test_a_personal_token_sees_and_works_only_its_persons_tasks(
        app: Flask, camunda: CamundaClient, task: dict[str, Any], engine: Engine) -> None:
    engine.identity.create_user("sam", "correct horse battery", groups=["sales"], role="user")
    sam = engine.identity.user_by_name("sam")
    ann = engine.identity.user_by_name("ann")
    assert sam is not None and ann is not None
    sams = CamundaClient(app.test_client(), engine.identity.create_personal_token(sam, "t"))
    anns = CamundaClient(app.test_client(), engine.identity.create_personal_token(ann, "t"))
    assert sams.get("/task").get_json() == []
    assert sams.get(f"/task/{task['id']}").status_code == 403
    assert sams.post(f"/task/{task['id']}/claim", json={}).status_code == 403
    assert sams.post(f"/task/{task['id']}/complete",
                     json={"variables": {"approved": {"value": True}}}).status_code == 403
    assert engine.tasks.task(task["id"]).status == "ready"
    assert anns.post(f"/task/{task['id']}/claim", json={"userId": "bob"}).status_code == 403
    assert anns.post(f"/task/{task['id']}/claim", json={}).status_code == 204
    assert anns.post(f"/task/{task['id']}/complete",
                     json={"variables": {"approved": {"value": True}}}).status_code == 204
    assert engine.tasks.task(task["id"]).completed_by == "ann"
