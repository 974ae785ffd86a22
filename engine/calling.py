"""Call activities between instances: the caller's side and the called instance's side.

A call activity waits in its caller like a service task waiting for its operation. The
executor asks this module to pick the version it calls (``choose_version``), writes the
called instance with the caller (``write_called``), and, whenever the called instance is
saved, tells the caller by jobs what its call activity must know (``hand_back``): an
escalation, an error nothing caught, or that it ended and with which variables. The caller
takes those jobs in ``on_call_ended`` and ``on_call_escalated``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import jobs
from .advance import Advance
from .bpmn.reports import CalledProcess, TaskFailure
from .db import Database
from .definitions import Definitions
from .errors import NotFoundError
from .instances import create_instance, terminate_called
from .vocabulary import JobKind


def choose_version(db: Database, definitions: Definitions, adv: Advance,
                   call: CalledProcess) -> None:
    """Pick the version a call activity calls; the instance is written with the caller.

    What keeps it from being called (a failed ``camunda:in`` expression, no such version)
    is an incident on the call activity, which a retry calls again.
    """
    adv.runner.park_service_call(call.task_id)
    if call.error is not None:
        adv.incident(call.element_id, call.task_id, "call_error", call.error,
                     {"process_key": call.process_key})
        return
    try:
        with db.read() as session:
            ref = definitions.called_process(session, call.process_key, call.binding,
                                             call.version, adv.inst.definition_id)
    except NotFoundError as exc:
        adv.incident(call.element_id, call.task_id, "called_process_missing",
                     f"{exc}; deploy it, then retry", exc.details)
        return
    adv.called.append((call, ref))


def write_called(session: Session, definitions: Definitions, adv: Advance) -> None:
    """Start the instances call activities call; end those whose call was interrupted."""
    for call, ref in adv.called:
        child, _ = create_instance(session, definitions, ref.key, call.business_key,
                                   call.variables, started_by=f"instance:{adv.inst.id}",
                                   definition=ref,
                                   caller=(adv.inst.id, call.task_id, call.element_id))
        adv.event("call_started", call.element_id, called_instance=child.id,
                  process_key=ref.key, version=ref.version)
    adv.called.clear()
    if adv.runner.calls_processes:
        keep = set() if adv.runner.completed else adv.runner.open_calls()
        for child_id in terminate_called(session, adv.inst.id, "its call activity was "
                                         "interrupted or its caller ended", keep):
            adv.event("called_instance_terminated", called_instance=child_id)


def hand_back(session: Session, adv: Advance, errors: list[tuple[str, str]],
              escalations: list[str]) -> None:
    """Tell a called instance's caller, by jobs, what its call activity must know: an
    escalation, an error nothing caught, or that the instance ended (and its variables)."""
    assert adv.inst.caller is not None
    parent, task_id, element = adv.inst.caller
    about = {"task_id": task_id, "element_id": element, "called_instance": adv.inst.id}
    for code in escalations:
        jobs.enqueue(session, JobKind.CALL_ESCALATED, parent, {**about, "code": code})
    if errors or adv.runner.completed:
        variables = adv.runner.variables() if adv.runner.completed else {}
        jobs.enqueue(session, JobKind.CALL_ENDED, parent,
                     {**about, "variables": variables, "errors": errors})


def on_call_ended(_executor: Any, adv: Advance, payload: dict[str, Any]) -> TaskFailure | None:
    """The caller's side: the called instance ended (or was terminated, or threw an error
    nothing in it caught); the call activity goes on, catches the error, or has an incident."""
    task_id, called = payload["task_id"], payload["called_instance"]
    element = payload.get("element_id")
    if payload.get("terminated"):
        adv.incident(element, task_id, "called_instance_terminated",
                     f"the instance this call activity started ({called}) was terminated; "
                     "retry to call the process again",
                     {"called_instance": called, "terminated_by": payload.get("actor")})
        return None
    adv.event("call_ended", element, called_instance=called)
    for code, message in payload.get("errors") or []:
        if not adv.runner.throw_error(task_id, code, message):
            adv.incident(element, task_id, "business_error",
                         f"the called instance {called} ended with error '{code}'"
                         f"{': ' + message if message else ''}; no error boundary event "
                         "of the call activity catches it",
                         {"called_instance": called, "error_code": code})
        return None
    try:
        adv.runner.complete_call(task_id, payload.get("variables") or {})
    except LookupError:
        adv.event("call_result_ignored", element, called_instance=called)
    return None


def on_call_escalated(_executor: Any, adv: Advance,
                      payload: dict[str, Any]) -> TaskFailure | None:
    """The caller's side: the called instance threw an escalation it did not catch."""
    caught = adv.runner.throw_escalation(payload["task_id"], payload["code"])
    adv.event("escalation_from_called_instance", payload.get("element_id"),
              code=payload["code"], called_instance=payload["called_instance"], caught=caught)
    return None
