"""Marshmallow schemas of the reports API: its query strings and its answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine import ReportKind

from .schemas import PageArgsSchema, PageSchema, StrictSchema, UtcDateTime

FORMATS = ("json", "csv")


class ReportArgsSchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf([k.value for k in ReportKind]))
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class FormatArgsSchema(StrictSchema):
    format = fields.String(validate=validate.OneOf(FORMATS))


class PeriodArgsSchema(FormatArgsSchema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class ReportFileSchema(Schema):
    name = fields.String()
    media_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class ReportSchema(Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    status = fields.String()
    period_from = UtcDateTime(allow_none=True)
    period_to = UtcDateTime(allow_none=True)
    started_by = fields.String()
    instance_id = fields.String(allow_none=True)
    created_at = UtcDateTime()
    summary = fields.Dict()
    files = fields.List(fields.Nested(ReportFileSchema))


class ReportPageSchema(PageSchema):
    items = fields.List(fields.Nested(ReportSchema))


class ReconciliationSchema(Schema):
    report = fields.Nested(ReportSchema)
    since = fields.String(allow_none=True)
    run_at = fields.String()
    counts = fields.Dict()
    differences = fields.List(fields.Dict())
    repairs_made = fields.List(fields.Dict())
    repairs_failed = fields.List(fields.Dict())
    conflicts = fields.List(fields.Dict())


class DayFiguresSchema(Schema):
    day = fields.Date()
    completed = fields.Integer()
    avg_seconds = fields.Float(allow_none=True)
    p95_seconds = fields.Float(allow_none=True)


class ProcessFiguresSchema(Schema):
    process_key = fields.String()
    started = fields.Integer()
    started_completed = fields.Integer()
    completed = fields.Integer()
    share_completed = fields.Float(allow_none=True)
    avg_seconds = fields.Float(allow_none=True)
    p95_seconds = fields.Float(allow_none=True)
    days = fields.List(fields.Nested(DayFiguresSchema))


class ProcessReportSchema(Schema):
    period_from = fields.Date()
    period_to = fields.Date()
    processes = fields.List(fields.Nested(ProcessFiguresSchema))
    # durations (averages, percentiles) are of the newest 100,000 completed instances only
    durations_capped = fields.Boolean()
