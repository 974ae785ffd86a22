"""Start, list, inspect and administer process instances."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import actor, dump, engine, load_args, load_body, shared, wait_arg
from .schemas import (
    EventListSchema,
    InstanceArgsSchema,
    InstanceDetailSchema,
    InstancePageSchema,
    InstanceSchema,
    NoArgsSchema,
    StartInstanceSchema,
)


@bp.post("/process-instances")
def start_instance() -> tuple[dict[str, Any], int]:
    """Start an instance; with ``?wait=S`` run it until it waits or ends (at most S seconds)."""
    wait = wait_arg()
    body = load_body(StartInstanceSchema)
    instance = engine().runtime.start(body["process_key"], body.get("business_key"),
                              body.get("variables"), started_by=actor(), wait=wait)
    return dump(InstanceSchema, instance), 201


@bp.get("/process-instances")
def list_instances() -> dict[str, Any]:
    """List instances, filtered by status, process or business key, newest first."""
    args = load_args(InstanceArgsSchema)
    page = engine().runtime.list_instances(**args)
    return dump(InstancePageSchema, page)


@bp.get("/process-instances/<instance_id>")
def show_instance(instance_id: str) -> dict[str, Any]:
    """Show one instance with the instances it called, its open tasks and open incidents."""
    detail = engine().runtime.instance_detail(instance_id)
    view = {name: getattr(detail.instance, name) for name in shared(InstanceSchema).fields}
    view["called_instances"] = detail.called_instances
    view["open_tasks"] = detail.open_tasks
    view["open_incidents"] = detail.open_incidents
    return dump(InstanceDetailSchema, view)


@bp.post("/process-instances/<instance_id>/suspend")
def suspend_instance(instance_id: str) -> dict[str, Any]:
    """Suspend an instance: no step runs until it is resumed."""
    return dump(InstanceSchema, engine().management.suspend(instance_id, actor()))


@bp.post("/process-instances/<instance_id>/resume")
def resume_instance(instance_id: str) -> dict[str, Any]:
    """Resume a suspended instance."""
    return dump(InstanceSchema, engine().management.resume(instance_id, actor()))


@bp.post("/process-instances/<instance_id>/terminate")
def terminate_instance(instance_id: str) -> dict[str, Any]:
    """End an instance now, cancelling its tasks and jobs."""
    return dump(InstanceSchema, engine().management.terminate(instance_id, actor()))


@bp.get("/process-instances/<instance_id>/events")
def instance_events(instance_id: str) -> dict[str, Any]:
    """Return the instance's audit trail, oldest first."""
    load_args(NoArgsSchema)
    return dump(EventListSchema, {"items": engine().history.events_of(instance_id)})
