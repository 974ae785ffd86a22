"""Marshmallow schemas of the instance-migration API: plans, checks, outcomes, batches."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from .schemas import StrictSchema, UtcDateTime

_ID = validate.Length(min=1, max=200)


class InstructionSchema(StrictSchema):
    source = fields.String(required=True, validate=_ID)
    target = fields.String(required=True, validate=_ID)


class PlanSchema(StrictSchema):
    source_definition_id = fields.String(required=True, validate=_ID)
    target_definition_id = fields.String(required=True, validate=_ID)
    instructions = fields.List(fields.Nested(InstructionSchema), required=True,
                               validate=validate.Length(max=10_000))


class GeneratePlanSchema(StrictSchema):
    source_definition_id = fields.String(required=True, validate=_ID)
    target_definition_id = fields.String(required=True, validate=_ID)


class SelectionSchema(StrictSchema):
    """A plan and the instances it is for: ids, a filter, or all of the source version."""

    plan = fields.Nested(PlanSchema, required=True)
    instance_ids = fields.List(fields.String(validate=_ID),
                               validate=validate.Length(min=1, max=1000))
    filter = fields.Dict(keys=fields.String(), values=fields.String())
    all = fields.Boolean()

    @validates_schema
    def one_selection(self, data: dict[str, object], **_: object) -> None:
        chosen = [k for k in ("instance_ids", "filter", "all") if data.get(k)]
        if len(chosen) != 1:
            raise ValidationError("give exactly one of instance_ids, filter or all=true",
                                  "instance_ids")


class MigrateSchema(SelectionSchema):
    dry_run = fields.Boolean(load_default=False)


class HistoryArgsSchema(StrictSchema):
    instance_id = fields.String(validate=_ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class ElementSchema(Schema):
    element_id = fields.String()
    name = fields.String(allow_none=True)
    kind = fields.String()
    scope = fields.String()


class GeneratedPlanSchema(Schema):
    plan = fields.Nested(PlanSchema)
    source_elements = fields.List(fields.Nested(ElementSchema))
    target_elements = fields.List(fields.Nested(ElementSchema))


class ProblemSchema(Schema):
    code = fields.String()
    message = fields.String()
    element_id = fields.String(allow_none=True)


class CheckSchema(Schema):
    instance_id = fields.String()
    ok = fields.Boolean()
    problems = fields.List(fields.Nested(ProblemSchema))
    active_elements = fields.List(fields.String())


class ValidationReportSchema(Schema):
    ok = fields.Boolean()
    plan_problems = fields.List(fields.Nested(ProblemSchema))
    instances = fields.List(fields.Nested(CheckSchema))


class OutcomeSchema(Schema):
    instance_id = fields.String()
    outcome = fields.String()
    problems = fields.List(fields.Nested(ProblemSchema))
    from_version = fields.Integer(allow_none=True)
    to_version = fields.Integer(allow_none=True)


class MigrationResultSchema(Schema):
    dry_run = fields.Boolean()
    results = fields.List(fields.Nested(OutcomeSchema))


class BatchSchema(Schema):
    id = fields.String()
    source_definition_id = fields.String()
    target_definition_id = fields.String()
    instructions = fields.List(fields.Dict())
    dry_run = fields.Boolean()
    status = fields.String()
    total = fields.Integer()
    done = fields.Integer()
    failed = fields.Integer()
    failures = fields.List(fields.Dict())
    actor = fields.String(allow_none=True)
    created_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)


class RecordSchema(Schema):
    id = fields.String()
    instance_id = fields.String()
    process_key = fields.String()
    source_definition_id = fields.String()
    target_definition_id = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    instructions = fields.List(fields.Dict())
    actor = fields.String(allow_none=True)
    batch_id = fields.String(allow_none=True)
    created_at = UtcDateTime()


class RecordListSchema(Schema):
    items = fields.List(fields.Nested(RecordSchema))
