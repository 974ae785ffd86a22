"""Correlate a message to the instances waiting for it (or a start); throw a signal."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.typing import ResponseReturnValue

from engine import ConflictError, MessageResult, NotFoundError

from . import bp
from .common import (
    CamundaError,
    actor,
    bool_field,
    engine,
    instance_dto,
    json_body,
    text_field,
)
from .variables import decode_variables, encode_variables

# How long a correlation runs the instances it reached on before it answers (Camunda
# answers once they reached their next wait state; a longer run goes on in a worker)
CORRELATE_WAIT_SECONDS = 5.0
# Camunda's message options Bridgeflow does not act on: refused rather than ignored
_UNSUPPORTED = ("processInstanceId", "tenantId", "withoutTenantId", "localCorrelationKeys",
                "processVariablesLocal", "processVariablesToTriggeredScope")


@bp.post("/message")
def correlate_message() -> ResponseReturnValue:
    """Deliver ``messageName`` by business key and typed correlation keys."""
    body = json_body(optional=False)
    _refuse_unsupported(body, _UNSUPPORTED, "correlate by businessKey and correlationKeys")
    name = text_field(body, "messageName", required=True)
    assert name is not None
    business_key = text_field(body, "businessKey")
    keys = decode_variables(body.get("correlationKeys"), "correlation key")
    variables = decode_variables(body.get("processVariables"))
    all_, with_result = bool_field(body, "all"), bool_field(body, "resultEnabled")
    with_variables = bool_field(body, "variablesInResultEnabled")
    try:  # every field is checked before anything is delivered
        result = engine().runtime.send_message(name, business_key, keys or None, variables,
                                               all_=all_, sender=actor(),
                                               wait=CORRELATE_WAIT_SECONDS)
    except (NotFoundError, ConflictError) as exc:
        reason = ("No process definition or execution matches the parameters"
                  if isinstance(exc, NotFoundError) else exc.message)
        raise CamundaError(400, f"Cannot correlate message '{name}': {reason}",
                           "RestException") from exc
    if not with_result:
        return Response(status=204)
    return _results(result, with_variables)


def _results(result: MessageResult, with_variables: bool) -> ResponseReturnValue:
    """Camunda's MessageCorrelationResultWithVariableDto list, one per instance reached."""
    runtime = engine().runtime
    out: list[dict[str, Any]] = []
    for instance_id in result.delivered_to:
        instance = runtime.instance(instance_id)
        out.append({"resultType": "Execution", "processInstance": None,
                    "execution": {"id": instance.id, "processInstanceId": instance.id,
                                  "ended": False, "tenantId": None},
                    **_variables(instance.variables, with_variables)})
    for instance_id in result.started:
        instance = runtime.instance(instance_id)
        out.append({"resultType": "ProcessDefinition", "execution": None,
                    "processInstance": instance_dto(instance),
                    **_variables(instance.variables, with_variables)})
    return out


def _variables(values: dict[str, Any] | None, wanted: bool) -> dict[str, Any]:
    return {"variables": encode_variables(values or {})} if wanted else {}


@bp.post("/signal")
def throw_signal() -> Response:
    """Broadcast signal ``name`` with typed ``variables`` to every catch and start."""
    body = json_body(optional=False)
    _refuse_unsupported(body, ("executionId", "tenantId", "withoutTenantId"),
                        "a signal reaches every waiting instance")
    name = text_field(body, "name", required=True)
    assert name is not None
    engine().runtime.send_signal(name, decode_variables(body.get("variables")),
                                 sender=actor(), wait=CORRELATE_WAIT_SECONDS)
    return Response(status=204)


def _refuse_unsupported(body: dict[str, Any], names: tuple[str, ...], instead: str) -> None:
    given = [n for n in names if body.get(n) not in (None, False, {})]
    if given:
        raise CamundaError(400, f"Bridgeflow does not support {', '.join(given)} here; "
                                f"{instead}")
