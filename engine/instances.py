"""Creating instances: check the variables, write the row and its first job together."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import jobs
from .bpmn.serializer import to_json_value
from .definitions import Definitions
from .errors import InvalidInputError
from .models import Event, Instance, Job
from .vocabulary import InstanceStatus, JobKind


def check_variables(variables: Any) -> dict[str, Any]:
    """Refuse variables a process could not use; say which name is wrong and why."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInputError("variables must be a JSON object of name → value",
                                {"fields": {"variables": f"got {type(variables).__name__}"}})
    bad = {name: "must be a name made of letters, digits and _, not starting with a digit "
                 "or _" for name in variables
           if not isinstance(name, str) or not name.isidentifier() or name.startswith("_")}
    if bad:
        raise InvalidInputError(f"invalid variable name(s): {', '.join(sorted(map(str, bad)))}",
                                {"fields": bad})
    return dict(to_json_value(variables))


def check_business_key(business_key: Any) -> None:
    """A business key is optional, but when given it is a short, non-blank string."""
    if business_key is not None and (not isinstance(business_key, str)
                                     or not business_key.strip() or len(business_key) > 200):
        raise InvalidInputError("business_key must be a non-empty string of at most 200 "
                                "characters", {"fields": {"business_key": "invalid"}})


def create_instance(session: Session, definitions: Definitions, process_key: str,
                    business_key: str | None, variables: dict[str, Any],
                    started_by: str | None = None, start_message: str | None = None,
                    start_signal: str | None = None,
                    start_timer: bool = False) -> tuple[Instance, Job]:
    """Add an instance of the latest version of ``process_key`` and the job that runs it."""
    definition = definitions.latest_process(session, process_key)
    variables = check_variables(variables)
    check_business_key(business_key)
    instance = Instance(definition_id=definition.id, process_key=definition.key,
                        version=definition.version, business_key=business_key,
                        status=InstanceStatus.RUNNING, variables=variables, started_by=started_by)
    session.add(instance)
    session.flush()
    payload: dict[str, Any] = {}
    if start_message:
        payload = {"start_message": start_message, "variables": variables}
    if start_signal:
        payload = {"start_signal": start_signal, "variables": variables}
    if start_timer:
        payload = {"start_timer": True}
    job = jobs.enqueue(session, JobKind.ADVANCE, instance.id, payload)
    session.add(Event(instance_id=instance.id, type="instance_created", actor=started_by,
                      data={"process_key": definition.key, "version": definition.version,
                            "business_key": business_key}))
    session.flush()
    return instance, job
