"""ReportService: stored reports, their files, and the figures reports are made of."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from . import period_figures, report_render, stored_reports
from .core import Core
from .errors import NotFoundError
from .models import Instance
from .paging import Page
from .period_figures import PeriodFigures
from .report_render import ReportView
from .stored_reports import NewReportFile, Report, ReportFile
from .vocabulary import ReportKind

LONGEST_PERIOD = timedelta(days=366)
BUSINESS_KINDS = frozenset({ReportKind.SALES, ReportKind.INVENTORY, ReportKind.CUSTOMER})


class ReportService:
    """Keep, list and read reports; compute the process figures of a period."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.db = core.db

    def store(self, *, kind: ReportKind | str, title: str, started_by: str,
              files: Sequence[NewReportFile], period_from: datetime | None = None,
              period_to: datetime | None = None, summary: dict[str, Any] | None = None,
              instance_id: str | None = None, source_key: str | None = None,
              empty: bool = False) -> Report:
        """Keep a report and its files in one transaction (``InvalidInputError`` if too large
        or badly named); ``started_by`` is ``user:<name>``, ``api-key:<account>`` or
        ``instance:<id>``."""
        return stored_reports.store(
            self.db, kind=kind, title=title, started_by=started_by, files=files,
            max_bytes=self._core.settings.report_max_bytes, period_from=period_from,
            period_to=period_to, summary=summary, instance_id=instance_id,
            source_key=source_key, empty=empty)

    def list_reports(self, *, kind: str | None = None, period_from: datetime | None = None,
             period_to: datetime | None = None, page: int = 1, per_page: int = 25) -> Page:
        """Reports newest first; with a period, those whose period overlaps it."""
        stored_reports.check_period(period_from, period_to)
        return stored_reports.search(self.db, kind=kind, period_from=period_from,
                                     period_to=period_to, page=page, per_page=per_page)

    def get(self, report_id: str) -> Report:
        """One report with its files' names, media types, sizes and hashes."""
        return stored_reports.get(self.db, report_id)

    def file(self, report_id: str, name: str) -> ReportFile:
        """One file of a report, with its bytes."""
        return stored_reports.file(self.db, report_id, name)

    def document(self, report_id: str) -> dict[str, Any]:
        """The document of a sales, inventory or customer report (its ``report.json``)."""
        report = stored_reports.get(self.db, report_id)
        if report.kind not in BUSINESS_KINDS:
            raise NotFoundError(f"report '{report_id}' is a {report.kind} report, which has no "
                                "report document", {"id": report_id})
        content = stored_reports.file(self.db, report.id, report_render.DOCUMENT_FILE).content
        return report_render.validate(json.loads(content))

    def view(self, report_id: str, rows_shown: int = 500) -> ReportView:
        """A sales, inventory or customer report formatted for a page: cards, charts, the
        first ``rows_shown`` rows of each section."""
        return report_render.view_of(self.document(report_id), rows_shown)

    def reconciliation(self, run: str) -> tuple[Report, dict[str, Any]]:
        """A reconciliation run's report and its content, by the report's id or by the id of
        the instance that ran it (the reconciliation, or the nightly run that called it)."""
        try:
            report = stored_reports.get(self.db, run)
        except NotFoundError:
            report = self._of_run(run)
        if report.kind != ReportKind.RECONCILIATION:
            raise NotFoundError(f"report '{run}' is a {report.kind} report, not a "
                                "reconciliation's", {"id": run})
        content = stored_reports.file(self.db, report.id, "reconciliation.json").content
        return report, json.loads(content)

    def _of_run(self, instance_id: str) -> Report:
        try:
            return stored_reports.latest_of_instance(self.db, instance_id,
                                                     ReportKind.RECONCILIATION)
        except NotFoundError:
            with self.db.read() as s:
                called = list(s.scalars(select(Instance.id).where(
                    Instance.parent_instance_id == instance_id)))
            for child in called:
                try:
                    return stored_reports.latest_of_instance(self.db, child,
                                                             ReportKind.RECONCILIATION)
                except NotFoundError:
                    continue
        raise NotFoundError(f"no reconciliation report with id '{instance_id}', nor one "
                            "stored by an instance of that id", {"id": instance_id})

    def process_figures(self, start: datetime, end: datetime) -> PeriodFigures:
        """Per process, the dashboard's figures over ``[start, end)`` (at most 366 days);
        counts are exact, durations of at most the newest 100,000 completed instances."""
        stored_reports.check_period(start, end, longest=LONGEST_PERIOD)
        return period_figures.figures_between(self.db, start, end)
