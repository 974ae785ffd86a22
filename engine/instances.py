"""Creating instances: check the variables, write the row and its first job together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import jobs
from .bpmn.serializer import to_json_value
from .definitions import DefinitionRef, Definitions
from .errors import InvalidInputError
from .forms import start_variables
from .models import (
    Event,
    ExternalTask,
    HumanTask,
    Incident,
    Instance,
    Job,
    MessageSubscription,
    utcnow,
)
from .users import close_candidates
from .vocabulary import (
    LIVE_STATUSES,
    OPEN_TASK_STATUSES,
    IncidentStatus,
    InstanceStatus,
    JobKind,
    TaskStatus,
)


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


def check_start(session: Session | None, definitions: Definitions, definition: DefinitionRef,
                variables: dict[str, Any], check: bool = True) -> dict[str, Any]:
    """The variables of a start with its start form's defaults; with ``check`` (a plain
    start), refused unless they fill the form in."""
    form = definitions.start_form(session, definition.id)
    if form is None:
        return variables
    return start_variables(form, definition.key, variables, check)


def create_instance(session: Session, definitions: Definitions, process_key: str,
                    business_key: str | None, variables: dict[str, Any],
                    started_by: str | None = None, start_message: str | None = None,
                    start_signal: str | None = None, start_timer: bool = False,
                    definition: DefinitionRef | None = None,
                    caller: tuple[str, str, str] | None = None) -> tuple[Instance, Job]:
    """Add an instance of ``process_key`` and the job that runs it.

    The version is ``definition`` if given, else the latest; ``caller`` is (instance id,
    task id, element id) of the call activity that starts a called instance.
    """
    if definition is None:
        definition = definitions.latest_process(session, process_key)
    variables = check_variables(variables)
    check_business_key(business_key)
    if caller is None:
        variables = check_start(session, definitions, definition, variables,
                                check=not (start_message or start_signal or start_timer))
    parent, task, element = caller or (None, None, None)
    instance = Instance(definition_id=definition.id, process_key=definition.key,
                        version=definition.version, business_key=business_key,
                        status=InstanceStatus.RUNNING, variables=variables, started_by=started_by,
                        parent_instance_id=parent, parent_task_id=task, parent_element_id=element)
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
                            "business_key": business_key,
                            **({"called_by": parent, "element_id": element} if parent else {})}))
    session.flush()
    return instance, job


def clear_open_work(session: Session, instance_id: str) -> None:
    """An instance ends for good: drop its jobs and waits, cancel its tasks, close incidents."""
    session.execute(delete(Job).where(Job.instance_id == instance_id))
    session.execute(delete(ExternalTask).where(ExternalTask.instance_id == instance_id))
    session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id
                                                      == instance_id))
    closing = list(session.scalars(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.status.in_(OPEN_TASK_STATUSES))))
    session.execute(update(HumanTask).where(HumanTask.id.in_(closing))
                    .values(status=TaskStatus.CANCELLED, completed_at=utcnow()))
    close_candidates(session, closing)
    session.execute(update(Incident).where(Incident.instance_id == instance_id,
                                           Incident.status == IncidentStatus.OPEN)
                    .values(status=IncidentStatus.RESOLVED, resolved_at=utcnow(),
                            resolution="terminated"))


def terminate_called(session: Session, parent_id: str, reason: str,
                     keep_tasks: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Terminate the live instances ``parent_id`` called, except those its call activities
    ``keep_tasks`` still wait for, and theirs in turn; return their ids.

    A caller that ends, or whose call activity is interrupted (a boundary event, a
    terminate end event), takes what it called with it, as in Camunda.
    """
    live = (*LIVE_STATUSES, InstanceStatus.SUSPENDED)
    rows = session.execute(select(Instance.id, Instance.parent_task_id).where(
        Instance.parent_instance_id == parent_id, Instance.status.in_(live))).all()
    ended = []
    for child_id, task_id in rows:
        if task_id in keep_tasks:
            continue
        session.execute(update(Instance).where(Instance.id == child_id).values(
            status=InstanceStatus.TERMINATED, ended_at=utcnow(), updated_at=utcnow(),
            revision=Instance.revision + 1))
        clear_open_work(session, child_id)
        session.add(Event(instance_id=child_id, type="instance_terminated",
                          data={"reason": reason, "caller": parent_id}))
        ended.append(child_id)
        ended.extend(terminate_called(session, child_id, reason))
    return ended
