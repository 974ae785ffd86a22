"""Instances: find them, look inside one, and repair it (each repair confirmed and audited)."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import (
    FINAL_STATUSES,
    ConflictError,
    ExternalTaskQuery,
    Incident,
    Instance,
    NotFoundError,
    utcnow,
)
from web.auth import roles_required

from ..common import (
    STATUSES,
    day_start,
    display_variables,
    engine,
    me,
    page_number,
    parse_day,
)
from . import bp

PER_PAGE = 25
EVENTS_SHOWN = 1000

# What each repair does, as the confirmation page explains it.
ACTIONS: dict[str, dict[str, Any]] = {
    "suspend": {"title": "Suspend this instance?", "button": "Suspend",
                "allowed": ("running", "waiting", "incident"),
                "effect": "No step of this instance runs until someone resumes it. People can "
                          "still complete its open tasks; the instance moves on after the "
                          "resume."},
    "resume": {"title": "Resume this instance?", "button": "Resume", "allowed": ("suspended",),
               "effect": "The instance carries on from where it was suspended."},
    "terminate": {"title": "Terminate this instance?", "button": "Terminate",
                  "allowed": ("running", "waiting", "incident", "suspended"), "danger": True,
                  "effect": "The instance ends now and cannot be started again. Its open tasks "
                            "are cancelled, its timers and awaited messages dropped, and its "
                            "open incidents closed."},
    "erase": {"title": "Erase this customer's data?", "button": "Erase",
              "allowed": STATUSES, "danger": True,
              "effect": "Every instance with this business key (this one and any other), and "
                        "the instances they called, is removed with its variables, tasks and "
                        "form data, audit trail, incidents and webhook receipts. It cannot be "
                        "undone. Only an audit event stays, naming you, the business key and "
                        "how many rows were removed. Instances that are still running are "
                        "not erased: terminate them first."},
    "move": {"title": "Move the token back?", "button": "Move the token",
             "allowed": ("running", "waiting", "incident", "suspended"), "danger": True,
             "effect": "The instance goes back to the chosen task, and every step after it "
                       "runs again, service calls to the ERP and CRM included."},
}


def _filters() -> dict[str, Any]:
    args = request.args
    status = args.get("status") or ""
    return {"process": args.get("process") or "",
            "status": status if status in STATUSES else "",
            "business_key": (args.get("business_key") or "").strip(),
            "from": args.get("from") or "", "to": args.get("to") or "",
            "page": page_number(args.get("page"))}


@bp.get("/instances")
@roles_required("admin")
def instances() -> str:
    """List instances, filtered by process, status, business key and when they started."""
    filters = _filters()
    problems = {name: "use a date like 2026-01-31" for name in ("from", "to")
                if filters[name] and parse_day(filters[name]) is None}
    eng = engine()
    page = eng.history.search_instances(
        process_key=filters["process"] or None, status=filters["status"] or None,
        business_key=filters["business_key"] or None,
        started_from=day_start(parse_day(filters["from"])),
        started_before=day_start(parse_day(filters["to"]), plus_days=1),
        page=filters["page"], per_page=PER_PAGE)
    names = {d.key: d.name or d.key for d in eng.repository.list_definitions("process")}
    pages = max(1, -(-page.total // PER_PAGE))
    if page.total_capped:  # there are more than counted: a next page at least
        pages = max(pages, page.page + 1)

    def query(**changes: Any) -> dict[str, Any]:
        merged = {**filters, **changes}
        return {k: v for k, v in merged.items() if v and not (k == "page" and v == 1)}

    return render_template("admin/instances.html", page=page, pages=pages, filters=filters,
                           statuses=STATUSES, process_names=names, problems=problems,
                           query=query)


def _instance_context(instance: Instance) -> dict[str, Any]:
    eng = engine()
    definition = eng.repository.definition(instance.process_key, instance.version)
    incidents = eng.management.incidents_of(instance.id, status=None)
    open_incidents = [i for i in incidents if i.status == "open"]
    visited = eng.history.path_taken(instance.id)
    events = eng.history.events_of(instance.id, limit=EVENTS_SHOWN)
    return {
        "instance": instance, "definition": definition,
        "open_incidents": open_incidents,
        "resolved_incidents": [i for i in incidents if i.status != "open"],
        "open_tasks": eng.tasks.open_tasks_of(instance.id),
        "external_tasks": eng.external_tasks.list_tasks(
            ExternalTaskQuery(process_instance_id=instance.id)),
        "now": utcnow(),
        "called_instances": eng.runtime.called_instances(instance.id, live_only=False),
        "visited": [v.element_id for v in visited],
        "active": list(instance.active_elements or []),
        "incident_elements": sorted({i.element_id for i in open_incidents if i.element_id}),
        "element_names": {v.element_id: v.name or v.element_id for v in visited},
        "variables": display_variables(me(), instance.variables),
        "events": events, "events_capped": len(events) >= EVENTS_SHOWN,
        "actions": [a for a, spec in ACTIONS.items()
                    if instance.status in spec["allowed"] and a != "move"
                    and (a != "erase" or instance.business_key)],
        "move_targets": ([] if instance.status in FINAL_STATUSES
                         else eng.history.earlier_tasks(instance.id)),
    }


@bp.get("/instances/<instance_id>")
@roles_required("admin")
def show_instance(instance_id: str) -> str:
    """Show an instance: diagram with path, tokens and incidents, variables, audit trail."""
    instance = engine().runtime.instance(instance_id)
    return render_template("admin/instance.html", **_instance_context(instance))


@bp.get("/instances/<instance_id>/diagram.bpmn")
@roles_required("admin")
def instance_diagram(instance_id: str) -> ResponseReturnValue:
    """The BPMN of the version this instance runs on."""
    instance = engine().runtime.instance(instance_id)
    definition = engine().repository.definition(instance.process_key, instance.version)
    return Response(definition.source, mimetype="application/xml")


# -- repairs --------------------------------------------------------------------------------

@bp.post("/instances/<instance_id>/external-tasks/<task_id>/unlock")
@roles_required("admin")
def unlock_external_task(instance_id: str, task_id: str) -> ResponseReturnValue:
    """Free an external task a worker holds (it died, or hangs) for any worker at once."""
    eng = engine()
    task = eng.external_tasks.get(task_id)
    if task.instance_id != instance_id:
        raise NotFoundError(f"instance {instance_id} has no external task {task_id}")
    eng.external_tasks.unlock(task_id, me().name)
    flash(f"The task of topic {task.topic} is unlocked: the next worker to ask gets it.",
          "success")
    return redirect(url_for("admin.show_instance", instance_id=instance_id))


def _confirm_page(instance: Instance, action: str, element_id: str | None = None,
                  status: int = 200, message: str | None = None) -> tuple[str, int]:
    spec = ACTIONS[action]
    targets = {t.element_id: t for t in engine().history.earlier_tasks(instance.id)}
    return render_template("admin/confirm.html", instance=instance, action=action, spec=spec,
                           open_tasks=engine().tasks.open_tasks_of(instance.id),
                           element_id=element_id, target=targets.get(element_id or ""),
                           message=message), status


@bp.get("/instances/<instance_id>/confirm/<action>")
@roles_required("admin")
def confirm_action(instance_id: str, action: str) -> tuple[str, int]:
    """Ask the admin to confirm a repair, saying what it will do."""
    if action not in ACTIONS:
        raise NotFoundError(f"there is no action '{action}'")
    instance = engine().runtime.instance(instance_id)
    element_id = request.args.get("element_id") or None
    if action == "move" and element_id is None:
        return _confirm_page(instance, action, status=400,
                             message="Choose the task to move the token back to.")
    return _confirm_page(instance, action, element_id)


@bp.post("/instances/<instance_id>/<action>")
@roles_required("admin")
def act(instance_id: str, action: str) -> ResponseReturnValue:
    """Carry out a confirmed repair; without the confirmation, ask for it first."""
    if action not in ACTIONS:
        raise NotFoundError(f"there is no action '{action}'")
    eng = engine()
    instance = eng.runtime.instance(instance_id)
    element_id = request.form.get("element_id") or None
    if request.form.get("confirmed") != "yes":
        return _confirm_page(instance, action, element_id, status=400,
                             message="Nothing was done yet: confirm with the button below.")
    actor = me().name
    if action == "suspend":
        eng.management.suspend(instance_id, actor)
        flash("The instance is suspended.", "success")
    elif action == "resume":
        eng.management.resume(instance_id, actor)
        flash("The instance is resumed.", "success")
    elif action == "terminate":
        eng.management.terminate(instance_id, actor)
        flash("The instance is terminated.", "success")
    elif action == "erase":
        return _erase(instance, actor)
    else:
        if element_id is None:
            return _confirm_page(instance, action, status=400,
                                 message="Choose the task to move the token back to.")
        eng.management.move_token(instance_id, element_id, actor)
        flash(f"The token is moving back to {element_id}; the page shows it once a worker "
              "has moved it.", "success")
    return redirect(url_for("admin.show_instance", instance_id=instance_id))


def _erase(instance: Instance, actor: str) -> ResponseReturnValue:
    if not instance.business_key:
        return _confirm_page(instance, "erase", status=400,
                             message="This instance has no business key: nothing names a "
                                     "customer to erase.")
    try:
        report = engine().management.erase(instance.business_key, actor)
    except ConflictError as exc:
        return _confirm_page(instance, "erase", status=409, message=exc.message)
    flash(f"The data of business key {report.business_key} is erased: {report.instances} "
          f"instance(s), {report.rows} row(s) removed.", "success")
    return redirect(url_for("admin.instances"))


def _incident(incident_id: str) -> Incident:
    return engine().management.incident(incident_id)


@bp.get("/incidents/<incident_id>/confirm-retry")
@roles_required("admin")
def confirm_retry(incident_id: str) -> str:
    """Ask the admin to confirm retrying the failed step of an incident."""
    incident = _incident(incident_id)
    instance = engine().runtime.instance(incident.instance_id)
    return render_template("admin/confirm_retry.html", incident=incident, instance=instance)


@bp.post("/incidents/<incident_id>/retry")
@roles_required("admin")
def retry(incident_id: str) -> ResponseReturnValue:
    """Retry the failed step of a confirmed incident."""
    incident = _incident(incident_id)
    instance = engine().runtime.instance(incident.instance_id)
    if request.form.get("confirmed") != "yes":
        return render_template("admin/confirm_retry.html", incident=incident,
                               instance=instance,
                               message="Nothing was done yet: confirm with the button below."
                               ), 400
    engine().management.retry_incident(incident_id, me().name)
    flash(f"The step {incident.element_id or ''} is being tried again.", "success")
    return redirect(url_for("admin.show_instance", instance_id=incident.instance_id))
