"""Camunda's external task API at /engine-rest: shapes, status codes, and every refusal.

How each bad call is answered: no key or a key without the ``external-tasks`` scope, 401 and
403; a body that is not Camunda's (no topics, no lockDuration, a string for maxTasks, an
unknown topic field), 400 InvalidRequestException naming the field; a report from a worker
that does not hold the lock, 400 with Camunda's message; a task id that does not exist (or
was completed already), 404. None of them changes the task or its instance.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask

from engine import Engine, InstanceStatus, Scope

from .camunda import CamundaClient, string

PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="invoice" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="archive"/>
    <bpmn:serviceTask id="archive" camunda:type="external" camunda:topic="invoice.archive"
        camunda:taskPriority="20">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="store" value="s3"/></camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="lost" attachedToRef="archive">
      <bpmn:errorEventDefinition errorRef="e1"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="archive" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f3" sourceRef="lost" targetRef="missing"/>
    <bpmn:endEvent id="missing"/>
  </bpmn:process>
  <bpmn:error id="e1" errorCode="NOT_FOUND"/>
</bpmn:definitions>"""

TOPIC = {"topicName": "invoice.archive", "lockDuration": 60000}


@pytest.fixture
def worker(app: Flask, engine: Engine) -> CamundaClient:
    engine.repository.deploy({"invoice.bpmn": PROCESS})
    key = engine.identity.create_api_key("archive-worker", [Scope.EXTERNAL_TASKS])
    return CamundaClient(app.test_client(), key, user="archive-worker")


def start(engine: Engine, number: str = "INV-1") -> str:
    return engine.runtime.start("invoice", number, {"number": number, "total": 120.5},
                                wait=5).id


def fetch(worker: CamundaClient, **body: Any) -> Any:
    payload = {"workerId": "w1", "maxTasks": 5, "topics": [TOPIC], **body}
    return worker.post("/external-task/fetchAndLock", json=payload)


def test_fetch_and_lock_answers_camundas_locked_tasks(worker: CamundaClient,
                                                      engine: Engine) -> None:
    inst_id = start(engine)
    resp = fetch(worker, topics=[{**TOPIC, "variables": ["number", "total"],
                                  "includeExtensionProperties": True}], usePriority=True)
    assert resp.status_code == 200
    [task] = resp.get_json()
    assert set(task) >= {"id", "topicName", "workerId", "lockExpirationTime", "activityId",
                         "activityInstanceId", "executionId", "processInstanceId",
                         "processDefinitionId", "processDefinitionKey", "businessKey",
                         "retries", "errorMessage", "errorDetails", "priority", "variables",
                         "tenantId", "extensionProperties"}
    assert (task["topicName"], task["workerId"], task["activityId"], task["processInstanceId"],
            task["processDefinitionKey"], task["businessKey"], task["priority"],
            task["retries"]) == ("invoice.archive", "w1", "archive", inst_id, "invoice",
                                 "INV-1", 20, None)
    assert task["variables"] == {"number": {"type": "String", "value": "INV-1",
                                            "valueInfo": {}},
                                 "total": {"type": "Double", "value": 120.5, "valueInfo": {}}}
    assert task["extensionProperties"] == {"store": "s3"}
    assert task["lockExpirationTime"].endswith("+0000")
    listed = worker.get("/external-task?topicName=invoice.archive&locked=true").get_json()
    assert [t["id"] for t in listed] == [task["id"]]
    assert worker.get("/external-task/count?notLocked=true").get_json() == {"count": 0}
    assert worker.get(f"/external-task/{task['id']}").get_json()["workerId"] == "w1"


def test_complete_moves_the_instance_on_before_answering(worker: CamundaClient,
                                                         engine: Engine) -> None:
    inst_id = start(engine)
    [task] = fetch(worker).get_json()
    resp = worker.post(f"/external-task/{task['id']}/complete",
                       json={"workerId": "w1", "variables": {"archived_as": string("A-9")}})
    assert resp.status_code == 204
    inst = engine.runtime.instance(inst_id)
    assert (inst.status, inst.variables["archived_as"]) == (InstanceStatus.COMPLETED, "A-9")
    again = worker.post(f"/external-task/{task['id']}/complete", json={"workerId": "w1"})
    assert again.status_code == 404
    assert again.get_json() == {"type": "InvalidRequestException", "message":
                                f"External task with id {task['id']} does not exist",
                                "details": {"id": task["id"]}}


def test_failure_bpmn_error_extend_and_unlock(worker: CamundaClient, engine: Engine) -> None:
    first, second = start(engine, "INV-1"), start(engine, "INV-2")
    tasks = {t["processInstanceId"]: t["id"] for t in fetch(worker).get_json()}
    failed = worker.post(f"/external-task/{tasks[first]}/failure",
                         json={"workerId": "w1", "errorMessage": "store down",
                               "errorDetails": "timeout", "retries": 0, "retryTimeout": 0})
    assert failed.status_code == 204
    assert engine.runtime.instance(first).status == InstanceStatus.INCIDENT
    assert worker.get("/external-task/count?noRetriesLeft=true").get_json() == {"count": 1}

    assert worker.post(f"/external-task/{tasks[second]}/extendLock",
                       json={"workerId": "w1", "newDuration": 120000}).status_code == 204
    assert worker.post(f"/external-task/{tasks[second]}/unlock").status_code == 204
    [again] = fetch(worker, workerId="w2").get_json()
    assert again["id"] == tasks[second]
    error = worker.post(f"/external-task/{tasks[second]}/bpmnError",
                        json={"workerId": "w2", "errorCode": "NOT_FOUND",
                              "errorMessage": "no such invoice",
                              "variables": {"why": string("gone")}})
    assert error.status_code == 204
    inst = engine.runtime.instance(second)
    assert (inst.status, inst.variables["why"]) == (InstanceStatus.COMPLETED, "gone")


def test_a_fetch_waits_and_is_answered_when_a_task_appears(worker: CamundaClient,
                                                           engine: Engine) -> None:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(
        fetch(worker, asyncResponseTimeout=10000)))
    thread.start()
    time.sleep(0.3)
    began = time.monotonic()
    start(engine)
    thread.join(10)
    assert len(answers[0].get_json()) == 1
    assert time.monotonic() - began < 5  # woken by the task, not by the end of its 10 s wait
    began = time.monotonic()
    assert fetch(worker, asyncResponseTimeout=300).get_json() == []  # nothing: waits, empty
    assert time.monotonic() - began >= 0.3


def test_a_tenant_s_or_version_tag_s_tasks_are_none_of_ours(worker: CamundaClient,
                                                          engine: Engine) -> None:
    start(engine)
    for extra in ({"tenantIdIn": ["acme"]}, {"processDefinitionVersionTag": "1.0"}):
        assert fetch(worker, topics=[{**TOPIC, **extra}]).get_json() == []
    assert len(fetch(worker, topics=[{**TOPIC, "withoutTenantId": True}]).get_json()) == 1


@pytest.mark.parametrize("body, message", [
    ({"workerId": "w1", "topics": [{"topicName": "invoice.archive"}]}, "lockDuration"),
    ({"workerId": "w1", "topics": "invoice.archive"}, "'topics' must be a list"),
    ({"workerId": "w1", "maxTasks": "5", "topics": [TOPIC]}, "'maxTasks' must be a whole"),
    ({"workerId": "", "topics": [TOPIC]}, "workerId"),
    ({"workerId": "w1", "topics": [{**TOPIC, "withoutTenantId": True, "bogus": 1}]},
     "unknown topic field(s): bogus"),
    ({"workerId": "w1", "topics": [TOPIC], "asyncResponseTimeout": 99_999_999},
     "asyncResponseTimeout"),
    ({"workerId": "w1", "topics": [{**TOPIC, "variables": "number"}]}, "list of names"),
])
def test_bad_fetches_are_refused_and_lock_nothing(worker: CamundaClient, engine: Engine,
                                                  body: dict[str, Any], message: str) -> None:
    start(engine)
    resp = worker.post("/external-task/fetchAndLock", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["type"] == "InvalidRequestException"
    assert message in resp.get_json()["message"]
    assert worker.get("/external-task/count?locked=true").get_json() == {"count": 0}


def test_reports_by_another_worker_or_in_bad_shape_change_nothing(worker: CamundaClient,
                                                                   engine: Engine) -> None:
    inst_id = start(engine)
    [task] = fetch(worker).get_json()
    url = f"/external-task/{task['id']}"
    stolen = worker.post(f"{url}/complete", json={"workerId": "intruder"})
    assert stolen.status_code == 400
    assert stolen.get_json()["message"] == (f"External Task {task['id']} cannot be completed "
                                            "by worker 'intruder'. It is locked by worker 'w1'.")
    for path, body in [("complete", {}),  # no workerId
                       ("complete", {"workerId": "w1", "variables": {"x": {"value": "a",
                                                                           "type": "Integer"}}}),
                       ("failure", {"workerId": "w1", "retries": -1}),
                       ("failure", {"workerId": "w1", "retries": "3"}),
                       ("bpmnError", {"workerId": "w1"}),
                       ("extendLock", {"workerId": "w1", "newDuration": 0}),
                       ("extendLock", {"workerId": "intruder", "newDuration": 1000})]:
        resp = worker.post(f"{url}/{path}", json=body)
        assert resp.status_code == 400, (path, body, resp.get_json())
    row = engine.external_tasks.get(task["id"])
    assert (row.lock_owner, row.retries, row.error_message) == ("w1", None, None)
    assert engine.runtime.instance(inst_id).status == InstanceStatus.WAITING


def test_keys_without_the_scope_cannot_work_external_tasks(app: Flask, engine: Engine,
                                                           worker: CamundaClient) -> None:
    start(engine)
    starter = CamundaClient(app.test_client(), engine.identity.create_api_key(
        "starter", [Scope.PROCESSES_START, Scope.TASKS_ACT]))
    refused = starter.post("/external-task/fetchAndLock",
                           json={"workerId": "w", "topics": [TOPIC]})
    assert refused.status_code == 403
    assert app.test_client().post("/engine-rest/external-task/fetchAndLock",
                                  json={"workerId": "w", "topics": [TOPIC]}).status_code == 401
    # an administrator may look and unlock, but not work the tasks
    admin = CamundaClient(app.test_client(), engine.identity.create_api_key("ops", [
        Scope.ADMIN]))
    assert admin.get("/external-task/count").get_json() == {"count": 1}
    assert admin.post("/external-task/fetchAndLock",
                      json={"workerId": "w", "topics": [TOPIC]}).status_code == 403
    assert worker.put("/external-task/x/retries", json={"retries": 3}).status_code == 403
    assert worker.get("/external-task/count?locked=true").get_json() == {"count": 0}
