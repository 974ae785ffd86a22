"""Stored reports in the console: the list, one report with its files, a reconciliation's."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue

from engine import InvalidInputError, ReportKind
from web.auth import roles_required

from ..common import day_start, engine, page_number, parse_day
from ..report_charts import report_chart
from . import bp

PER_PAGE = 25
DIFFERENCES_SHOWN = 500
ROWS_SHOWN = 500
BUSINESS_KINDS = {ReportKind.SALES, ReportKind.INVENTORY, ReportKind.CUSTOMER}


@bp.get("/reports")
@roles_required("admin")
def reports() -> tuple[str, int]:
    """List stored reports, newest first, by kind and period."""
    args = request.args
    kind = args.get("kind") or ""
    filters: dict[str, Any] = {"kind": kind if kind in set(ReportKind) else "",
                               "from": args.get("from") or "", "to": args.get("to") or "",
                               "page": page_number(args.get("page"))}
    problems = {name: "use a date like 2026-01-31" for name in ("from", "to")
                if filters[name] and parse_day(filters[name]) is None}
    page, status = None, 200
    if not problems:
        try:
            page = engine().reports.list_reports(
                kind=filters["kind"] or None, period_from=day_start(parse_day(filters["from"])),
                period_to=day_start(parse_day(filters["to"]), 1), page=filters["page"],
                per_page=PER_PAGE)
        except InvalidInputError as exc:
            problems = {name: text for name, text in exc.details.get("fields", {}).items()}
    if problems:
        status = 422
    pages = max(1, -(-page.total // PER_PAGE)) if page is not None else 1

    def query(**changes: Any) -> dict[str, Any]:
        return {k: v for k, v in {**filters, **changes}.items() if v}

    return render_template("admin/reports.html", nav_section="reports", page=page,
                           pages=pages, filters=filters, problems=problems,
                           kinds=[k.value for k in ReportKind], query=query), status


@bp.get("/reports/<report_id>")
@roles_required("admin")
def show_report(report_id: str) -> str:
    """Show a report: its period, who started it, its files; a reconciliation's findings, or a
    business report's figures, charts and tables."""
    eng = engine()
    report = eng.reports.get(report_id)
    content = view = None
    if report.kind == ReportKind.RECONCILIATION:
        content = eng.reports.reconciliation(report.id)[1]
    elif report.kind in BUSINESS_KINDS:
        view = eng.reports.view(report.id, ROWS_SHOWN)
    return render_template("admin/report.html", nav_section="reports", report=report,
                           content=content, view=view, shown=DIFFERENCES_SHOWN,
                           report_chart=report_chart)


@bp.get("/reports/<report_id>/files/<name>")
@roles_required("admin")
def download_report_file(report_id: str, name: str) -> ResponseReturnValue:
    """Download one file of a report (its ETag is its SHA-256)."""
    stored = engine().reports.file(report_id, name)
    response = Response(stored.content, content_type=stored.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{stored.name}"'
    response.set_etag(stored.sha256)
    return response.make_conditional(request)
