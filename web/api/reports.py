"""Reports: the stored ones and their files, a reconciliation run's, the process figures."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Response, request

from engine import utcnow

from . import bp
from .common import dump, engine, load_args
from .report_schemas import (
    FormatArgsSchema,
    PeriodArgsSchema,
    ProcessReportSchema,
    ReconciliationSchema,
    ReportArgsSchema,
    ReportPageSchema,
    ReportSchema,
)

FIGURE_COLUMNS = ("process_key", "started", "started_completed", "completed",
                  "share_completed", "avg_seconds", "p95_seconds")
DEFAULT_DAYS = 14  # the dashboard's window, when no period is asked for


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time()) if day is not None else None


def _end(day: date | None) -> datetime | None:
    """The end of a period given as its last day (inclusive): the next midnight."""
    return datetime.combine(day + timedelta(days=1), time()) if day is not None else None


def _wants_csv(args: dict[str, Any]) -> bool:
    if args.get("format"):
        return bool(args["format"] == "csv")
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv"


def _attachment(content: bytes, media_type: str, name: str, etag: str | None = None
                ) -> Response:
    response = Response(content, content_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    if etag is not None:
        response.set_etag(etag)
        response.make_conditional(request)
    return response


@bp.get("/reports")
def list_reports() -> dict[str, Any]:
    """List stored reports, newest first, by ``kind`` and a period (``from``/``to``, days)."""
    args = load_args(ReportArgsSchema)
    page = engine().reports.list_reports(
        kind=args.get("kind"), period_from=_start(args.get("from_")),
        period_to=_end(args.get("to")), page=args["page"], per_page=args["per_page"])
    return dump(ReportPageSchema, page)


@bp.get("/reports/<report_id>")
def show_report(report_id: str) -> dict[str, Any]:
    """Show a stored report: its period, who started it, its files with their hashes."""
    return dump(ReportSchema, engine().reports.get(report_id))


@bp.get("/reports/<report_id>/files/<name>")
def report_file(report_id: str, name: str) -> Response:
    """Download one file of a report; its ETag is the file's SHA-256."""
    stored = engine().reports.file(report_id, name)
    return _attachment(stored.content, stored.media_type, stored.name, stored.sha256)


@bp.get("/reports/reconciliation/<run>")
def reconciliation_report(run: str) -> Any:
    """A reconciliation run's report by the report's id or the run's instance id: JSON, or
    the differences as CSV (``Accept: text/csv`` or ``?format=csv``)."""
    args = load_args(FormatArgsSchema)
    report, content = engine().reports.reconciliation(run)
    if _wants_csv(args):
        stored = engine().reports.file(report.id, "differences.csv")
        return _attachment(stored.content, stored.media_type,
                           f"reconciliation-{report.created_at:%Y-%m-%d}-{report.id[:8]}.csv",
                           stored.sha256)
    return dump(ReconciliationSchema, {**content, "report": report})


@bp.get("/reports/processes")
def process_report() -> Any:
    """The dashboard's figures per process over ``from``..``to`` (days, both included; at
    most 366 days; by default the last 14), as JSON or CSV."""
    args = load_args(PeriodArgsSchema)
    today = utcnow().date()
    last = args.get("to") or today
    first = args.get("from_") or (last - timedelta(days=DEFAULT_DAYS - 1))
    start, end = _start(first), _end(last)
    assert start is not None and end is not None
    figures = engine().reports.process_figures(start, end)
    if not _wants_csv(args):
        return dump(ProcessReportSchema, {"period_from": first, "period_to": last,
                                          "processes": figures.processes,
                                          "durations_capped": figures.durations_capped})
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\r\n")
    writer.writerow(FIGURE_COLUMNS)
    for f in figures.processes:
        writer.writerow(["" if getattr(f, c) is None else getattr(f, c) for c in FIGURE_COLUMNS])
    return _attachment(table.getvalue().encode(), "text/csv; charset=utf-8",
                       f"process-figures-{first}-{last}.csv")
