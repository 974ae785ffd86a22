"""Start an instance of a process definition by its key."""

from __future__ import annotations

from typing import Any

from engine import NotFoundError

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

# How long a start runs the new instance on before it answers (Camunda answers at the first
# wait state; a longer run goes on in a worker).
START_WAIT_SECONDS = 5.0


@bp.post("/process-definition/key/<key>/start")
def start_by_key(key: str) -> dict[str, Any]:
    """Start the latest version of ``key`` with typed ``variables`` and a ``businessKey``."""
    body = json_body()
    variables = decode_variables(body.get("variables"))
    business_key = text_field(body, "businessKey")
    with_variables = bool_field(body, "withVariablesInReturn")
    try:
        instance = engine().runtime.start(key, business_key, variables, started_by=actor(),
                                          wait=START_WAIT_SECONDS)
    except NotFoundError as exc:
        if exc.details.get("process_key") != key:
            raise
        raise CamundaError(404, f"No matching process definition with key: {key} and no "
                                "tenant-id", "RestException") from exc
    out = instance_dto(instance)
    if with_variables:
        out["variables"] = encode_variables(instance.variables or {})
    return out
