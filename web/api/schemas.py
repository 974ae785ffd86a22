"""Marshmallow schemas for every request body, query string and response of the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import RAISE, Schema, fields, post_load, validate

from engine import IncidentStatus, InstanceStatus, TaskStatus

# A task filter's name for ready-or-claimed, the word incidents use for theirs.
OPEN = "open"
# Bounds that keep a query's numbers inside the database's integers (OFFSET, version).
MAX_PAGE = 1_000_000
MAX_INT32 = 2**31 - 1


class UtcDateTime(fields.DateTime):
    """A naive UTC datetime from the database, written as ISO 8601 with ``Z``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return str(value.isoformat(timespec="milliseconds")) + "Z"


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# -- requests -------------------------------------------------------------------------------

class StartInstanceSchema(StrictSchema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    business_key = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    variables = fields.Dict(keys=fields.String(), allow_none=True)


class ClaimSchema(StrictSchema):
    # The person acted for: required with a service account's key, implied by a personal token.
    user = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))


class UnclaimSchema(StrictSchema):
    user = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))


class CompleteTaskSchema(StrictSchema):
    user = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    variables = fields.Dict(keys=fields.String(), allow_none=True)


class MessageSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    business_key = fields.String(allow_none=True)
    correlation_keys = fields.Dict(keys=fields.String(), allow_none=True)
    variables = fields.Dict(keys=fields.String(), allow_none=True)
    all_ = fields.Boolean(data_key="all", load_default=False)


class EraseSchema(StrictSchema):
    business_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    terminate = fields.Boolean(load_default=False)


class ErasureSchema(Schema):
    business_key = fields.String()
    instances = fields.Integer()
    terminated = fields.Integer()
    rows = fields.Integer()
    removed = fields.Dict(keys=fields.String(), values=fields.Integer())


class SignalSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    variables = fields.Dict(keys=fields.String(), allow_none=True)


class EvaluateDecisionSchema(StrictSchema):
    variables = fields.Dict(keys=fields.String(), load_default=dict)


# -- query strings (an unknown parameter or a wrong value is a 422 naming what is allowed) ---

class NoArgsSchema(StrictSchema):
    """An endpoint that takes no query parameter: any one it is sent is refused."""


class PageArgsSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class WaitArgsSchema(StrictSchema):
    wait = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=30))


class DefinitionArgsSchema(PageArgsSchema):
    kind = fields.String(load_default="process",
                         validate=validate.OneOf(["process", "decision", "library", "all"]))


class VersionArgsSchema(StrictSchema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT32))


class DeployArgsSchema(StrictSchema):
    dry_run = fields.Boolean(load_default=False)


class DiffArgsSchema(StrictSchema):
    from_ = fields.Integer(required=True, data_key="from",
                           validate=validate.Range(min=1, max=MAX_INT32))
    to = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT32))


class RollbackSchema(StrictSchema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT32))


class ChangeDetailSchema(Schema):
    what = fields.Function(lambda d: d[0])
    before = fields.Function(lambda d: d[1])
    after = fields.Function(lambda d: d[2])


class ChangeSchema(Schema):
    element_id = fields.String()
    kind = fields.String()
    type = fields.String()
    name = fields.String(allow_none=True)
    details = fields.List(fields.Nested(ChangeDetailSchema))


class ModelDiffSchema(Schema):
    key = fields.String()
    from_ = fields.Integer(data_key="from")
    to = fields.Integer()
    changes = fields.List(fields.Nested(ChangeSchema))
    moved = fields.List(fields.String())


class InstanceArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in InstanceStatus]))
    process_key = fields.String()
    business_key = fields.String()
    parent_instance_id = fields.String()


class TaskArgsSchema(PageArgsSchema):
    candidate_group = fields.String()
    assignee = fields.String()
    status = fields.String(validate=validate.OneOf(
        [OPEN, *(s.value for s in TaskStatus)]))

    @post_load
    def open_means_the_default(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """``open`` is what incidents call it: ready or claimed, the engine's default."""
        if data.get("status") == OPEN:
            del data["status"]
        return data


class IncidentArgsSchema(PageArgsSchema):
    status = fields.String(load_default=IncidentStatus.OPEN.value, validate=validate.OneOf(
        [*(s.value for s in IncidentStatus), "all"]))


# -- responses ------------------------------------------------------------------------------

def _is_available(definition: Any) -> bool:
    """Whether a decision can be evaluated (a process always: one it calls is checked)."""
    return getattr(definition, "unavailable_reason", None) is None


class DeployedSchema(Schema):
    id = fields.String()
    key = fields.String()
    version = fields.Integer()
    kind = fields.String()
    name = fields.String(allow_none=True)
    new_version = fields.Boolean()
    external_topics = fields.List(fields.String())
    warnings = fields.List(fields.String())
    available = fields.Function(_is_available)
    unavailable_reason = fields.String(allow_none=True)


class DeploymentSchema(Schema):
    definitions = fields.List(fields.Nested(DeployedSchema))


class WouldDeploySchema(Schema):
    """One definition a deployment would touch; a would-be new version has no id yet."""

    key = fields.String()
    version = fields.Integer()
    kind = fields.String()
    name = fields.String(allow_none=True)
    new_version = fields.Boolean()
    external_topics = fields.List(fields.String())
    warnings = fields.List(fields.String())
    available = fields.Function(_is_available)
    unavailable_reason = fields.String(allow_none=True)


class DryRunSchema(Schema):
    dry_run = fields.Constant(True)
    definitions = fields.List(fields.Nested(WouldDeploySchema))


class DefinitionSchema(Schema):
    id = fields.String()
    key = fields.String()
    version = fields.Integer()
    kind = fields.String()
    name = fields.String(allow_none=True)
    filename = fields.String()
    content_hash = fields.String()
    deployed_at = UtcDateTime()
    deployed_by = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    available = fields.Function(_is_available)
    unavailable_reason = fields.String(allow_none=True)
    # a DMN file's imports, pinned at deploy: namespace -> the id, key, version it uses
    imports = fields.Dict(keys=fields.String(), values=fields.Dict(), allow_none=True)


class DefinitionPageSchema(Schema):
    items = fields.List(fields.Nested(DefinitionSchema))
    total = fields.Integer()
    page = fields.Integer()


class DefinitionVersionsSchema(Schema):
    key = fields.String()
    versions = fields.List(fields.Nested(DefinitionSchema))


class InstanceSchema(Schema):
    id = fields.String()
    process_key = fields.String()
    version = fields.Integer()
    business_key = fields.String(allow_none=True)
    status = fields.String()
    variables = fields.Dict()
    active_elements = fields.List(fields.String())
    # a called instance: the caller and its call activity (Camunda: superProcessInstanceId)
    parent_instance_id = fields.String(allow_none=True)
    parent_element_id = fields.String(allow_none=True)
    created_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)
    updated_at = UtcDateTime()


class TaskSchema(Schema):
    id = fields.String()
    process_instance_id = fields.String(attribute="instance_id")
    element_id = fields.String()
    name = fields.String(allow_none=True)
    process_key = fields.String()
    business_key = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    candidate_users = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    status = fields.String()
    priority = fields.Integer()
    due_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    claimed_at = UtcDateTime(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    form = fields.Dict(allow_none=True)


class IncidentSchema(Schema):
    id = fields.String()
    process_instance_id = fields.String(attribute="instance_id")
    process_key = fields.String()
    element_id = fields.String(allow_none=True)
    error_type = fields.String()
    message = fields.String()
    details = fields.Dict()
    status = fields.String()
    created_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)


class CalledInstanceSchema(Schema):
    id = fields.String()
    process_key = fields.String()
    version = fields.Integer()
    status = fields.String()
    element_id = fields.String(attribute="parent_element_id")


class InstanceDetailSchema(InstanceSchema):
    called_instances = fields.List(fields.Nested(CalledInstanceSchema))
    open_tasks = fields.List(fields.Nested(TaskSchema))
    open_incidents = fields.List(fields.Nested(IncidentSchema))


class EventSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    element_id = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    data = fields.Dict()
    created_at = UtcDateTime()


class PageSchema(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class InstancePageSchema(PageSchema):
    items = fields.List(fields.Nested(InstanceSchema))


class TaskPageSchema(PageSchema):
    items = fields.List(fields.Nested(TaskSchema))


class IncidentPageSchema(PageSchema):
    items = fields.List(fields.Nested(IncidentSchema))


class EventListSchema(Schema):
    items = fields.List(fields.Nested(EventSchema))


class MessageResultSchema(Schema):
    delivered_to = fields.List(fields.String())
    started = fields.List(fields.String())


class MatchedRuleSchema(Schema):
    id = fields.String(allow_none=True)
    number = fields.Integer()


class DecisionResultSchema(Schema):
    outputs = fields.Raw(allow_none=True)
    matched_rules = fields.List(fields.Nested(MatchedRuleSchema))
    errors = fields.List(fields.String())  # FEEL errors that gave null on the way


class ErrorSchema(Schema):
    error = fields.String()
    message = fields.String()
    details = fields.Dict()
