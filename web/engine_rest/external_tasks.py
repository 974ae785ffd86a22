"""Camunda 7's external task API: workers fetch and lock tasks, then report on them.

``fetchAndLock`` waits up to ``asyncResponseTimeout`` when there is nothing to lock and answers
as soon as a task appears (long polling). Reports by a worker that does not hold the lock, and
reports on a task that is gone, are refused as Camunda refuses them (400 and 404).
"""

from __future__ import annotations

import time
from typing import Any

from flask import request

from engine import ConflictError, ExternalTask, ExternalTaskQuery, LockedTask, TopicRequest

from . import bp
from .common import CamundaError, actor, engine, flag, format_date, json_body, paging
from .variables import decode_variables, encode_variables

_TOPIC_FIELDS = {"topicName", "lockDuration", "variables", "localVariables", "businessKey",
                 "processDefinitionId", "processDefinitionIdIn", "processDefinitionKey",
                 "processDefinitionKeyIn", "processVariables", "deserializeValues",
                 "includeExtensionProperties", "withoutTenantId", "tenantIdIn",
                 "processDefinitionVersionTag"}


@bp.post("/external-task/fetchAndLock")
def fetch_and_lock() -> tuple[Any, int]:
    body = json_body(optional=False)
    asked = [_topic(t) for t in _list(body, "topics")]
    topics = [t for t in asked if t is not None]
    wait_ms = _number(body, "asyncResponseTimeout", 0)
    if asked and not topics:  # only tenants or version tags, which no task here has
        time.sleep(min(max(wait_ms, 0), 60_000) / 1000)
        return [], 200
    locked = engine().external_tasks.fetch_and_lock(
        _required_text(body, "workerId"), topics, _number(body, "maxTasks", 1),
        _bool(body, "usePriority"), wait_ms / 1000)
    properties = {str(t.get("topicName")) for t in _list(body, "topics")
                  if t.get("includeExtensionProperties")}
    return [_locked_dto(task, task.task.topic in properties) for task in locked], 200


@bp.get("/external-task")
def list_external_tasks() -> tuple[Any, int]:
    first, limit = paging()
    rows = engine().external_tasks.list_tasks(_query(), first, limit)
    return [_dto(row) for row in rows], 200


@bp.get("/external-task/count")
def count_external_tasks() -> tuple[Any, int]:
    return {"count": engine().external_tasks.count(_query())}, 200


@bp.get("/external-task/<task_id>")
def show_external_task(task_id: str) -> tuple[Any, int]:
    return _dto(engine().external_tasks.get(task_id)), 200


@bp.post("/external-task/<task_id>/complete")
def complete_external_task(task_id: str) -> tuple[str, int]:
    body = json_body()
    _refused_as_camunda(lambda: engine().external_tasks.complete(
        task_id, _required_text(body, "workerId"), decode_variables(body.get("variables") or {}),
        decode_variables(body.get("localVariables") or {})))
    return "", 204


@bp.post("/external-task/<task_id>/failure")
def fail_external_task(task_id: str) -> tuple[str, int]:
    body = json_body()
    _refused_as_camunda(lambda: engine().external_tasks.handle_failure(
        task_id, _required_text(body, "workerId"), _text(body, "errorMessage"),
        _text(body, "errorDetails"), _number(body, "retries", None),
        _number(body, "retryTimeout", 0)))
    return "", 204


@bp.post("/external-task/<task_id>/bpmnError")
def bpmn_error_external_task(task_id: str) -> tuple[str, int]:
    body = json_body()
    _refused_as_camunda(lambda: engine().external_tasks.handle_bpmn_error(
        task_id, _required_text(body, "workerId"), _required_text(body, "errorCode"),
        _text(body, "errorMessage"), decode_variables(body.get("variables") or {})))
    return "", 204


@bp.post("/external-task/<task_id>/extendLock")
def extend_external_task_lock(task_id: str) -> tuple[str, int]:
    body = json_body()
    _refused_as_camunda(lambda: engine().external_tasks.extend_lock(
        task_id, _required_text(body, "workerId"), _number(body, "newDuration", None)))
    return "", 204


@bp.post("/external-task/<task_id>/unlock")
def unlock_external_task(task_id: str) -> tuple[str, int]:
    engine().external_tasks.unlock(task_id, actor())
    return "", 204


@bp.put("/external-task/<task_id>/retries")
def set_external_task_retries(task_id: str) -> tuple[str, int]:
    body = json_body(optional=False)
    engine().external_tasks.set_retries(task_id, _number(body, "retries", None), actor())
    return "", 204


# -- the request ------------------------------------------------------------------------------

def _topic(raw: Any) -> TopicRequest | None:
    """The topic asked for; None when it asks for tasks Bridgeflow never has (a tenant's,
    a version tag's)."""
    if not isinstance(raw, dict):
        raise CamundaError(400, "each of 'topics' must be a JSON object")
    unknown = sorted(set(raw) - _TOPIC_FIELDS)
    if unknown:
        raise CamundaError(400, f"unknown topic field(s): {', '.join(unknown)}")
    name = raw.get("topicName")
    if not isinstance(name, str) or not name:
        raise CamundaError(400, "every topic needs a 'topicName'")
    variables = raw.get("variables")
    if variables is not None and (not isinstance(variables, list)
                                  or not all(isinstance(v, str) for v in variables)):
        raise CamundaError(400, f"topic '{name}': 'variables' must be a list of names")
    keys = raw.get("processDefinitionKeyIn") or []
    if raw.get("processDefinitionKey"):
        keys = [*keys, raw["processDefinitionKey"]]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CamundaError(400, f"topic '{name}': 'processDefinitionKeyIn' must be a list")
    process_variables = raw.get("processVariables") or {}
    if not isinstance(process_variables, dict):
        raise CamundaError(400, f"topic '{name}': 'processVariables' must be an object")
    lock = raw.get("lockDuration")
    if not isinstance(lock, int) or isinstance(lock, bool):
        raise CamundaError(400, f"topic '{name}': 'lockDuration' (milliseconds) is required")
    definition_id = raw.get("processDefinitionId")
    if definition_id is not None and not isinstance(definition_id, str):
        raise CamundaError(400, f"topic '{name}': 'processDefinitionId' must be a string")
    business_key = raw.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise CamundaError(400, f"topic '{name}': 'businessKey' must be a string")
    if raw.get("tenantIdIn") or raw.get("processDefinitionVersionTag"):
        return None
    return TopicRequest(name=name, lock_duration_ms=lock,
                        variables=tuple(variables) if variables is not None else None,
                        local_variables=bool(raw.get("localVariables")),
                        business_key=business_key, process_definition_keys=tuple(keys),
                        process_definition_id=definition_id,
                        process_variables=dict(process_variables))


def _query() -> ExternalTaskQuery:
    locked, not_locked = flag("locked"), flag("notLocked")
    left, none_left = flag("withRetriesLeft"), flag("noRetriesLeft")
    return ExternalTaskQuery(
        topic=request.args.get("topicName"), worker_id=request.args.get("workerId"),
        locked=True if locked else False if not_locked else None,
        with_retries_left=True if left else False if none_left else None,
        process_instance_id=request.args.get("processInstanceId"),
        process_definition_key=request.args.get("processDefinitionKey"),
        activity_id=request.args.get("activityId"),
        business_key=request.args.get("businessKey"))


def _refused_as_camunda(call: Any) -> None:
    """A report the engine refuses (not the lock's worker, suspended) is Camunda's 400."""
    try:
        call()
    except ConflictError as exc:
        raise CamundaError(400, exc.message, "InvalidRequestException") from exc


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list):
        raise CamundaError(400, f"'{name}' must be a list")
    return value


def _number(body: dict[str, Any], name: str, default: int | None) -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        raise CamundaError(400, f"'{name}' is required")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise CamundaError(400, f"'{name}' must be a whole number")
    return value


def _bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name) or False
    if not isinstance(value, bool):
        raise CamundaError(400, f"'{name}' must be true or false")
    return value


def _required_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise CamundaError(400, f"'{name}' is required: a non-empty string")
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise CamundaError(400, f"'{name}' must be a string")
    return value


# -- the answer -------------------------------------------------------------------------------

def _dto(row: ExternalTask) -> dict[str, Any]:
    return {
        "id": row.id, "topicName": row.topic, "workerId": row.lock_owner,
        "lockExpirationTime": format_date(row.lock_expires_at),
        "createTime": format_date(row.created_at),
        "activityId": row.element_id, "activityInstanceId": f"{row.element_id}:{row.spiff_task_id}",
        "executionId": row.spiff_task_id, "processInstanceId": row.instance_id,
        "processDefinitionId": row.definition_id, "processDefinitionKey": row.process_key,
        "processDefinitionVersionTag": None, "businessKey": row.business_key,
        "retries": row.retries, "errorMessage": row.error_message,
        "priority": row.priority, "tenantId": None,
    }


def _locked_dto(locked: LockedTask, extension_properties: bool) -> dict[str, Any]:
    row = locked.task
    out = _dto(row)
    out["errorDetails"] = row.error_details
    out["variables"] = encode_variables(locked.variables)
    if extension_properties:
        out["extensionProperties"] = dict(row.properties or {})
    return out
