"""HistoryService: what happened to instances: audit events, the path taken, the figures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from . import archive, reporting, retention
from .core import Core
from .models import Event
from .paging import Page
from .partitions import written_since
from .reporting import ProcessFigures, VisitedElement
from .retention import CleanupReport

COUNT_LIMIT = 10_000  # the console's instance list counts this far, then says "10,000+"


class HistoryService:
    """The audit trail and what is computed from it (Camunda's HistoryService)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.db = core.db

    def events_of(self, instance_id: str, after_id: int = 0, limit: int = 500) -> list[Event]:
        """An instance's audit events after ``after_id``, oldest first."""
        instance = self._core.instance(instance_id)
        with self.db.read() as s:
            return list(s.scalars(select(Event).where(Event.instance_id == instance_id,
                                                      Event.id > after_id,
                                                      Event.created_at >= written_since(
                                                          instance.created_at))
                                  .order_by(Event.id).limit(limit)))

    def path_taken(self, instance_id: str) -> list[VisitedElement]:
        """The elements the instance has passed, in the order each was first reached."""
        return reporting.path_taken(self.db, instance_id)

    def earlier_tasks(self, instance_id: str) -> list[VisitedElement]:
        """Tasks on the path taken that a token could be moved back to."""
        return reporting.earlier_tasks(self.db, instance_id)

    def search_instances(self, *, process_key: str | None = None, status: str | None = None,
                         business_key: str | None = None, started_from: datetime | None = None,
                         started_before: datetime | None = None, page: int = 1,
                         per_page: int = 25) -> Page:
        """Instances, running or ended, matching every filter given, newest first; counted up
        to ``COUNT_LIMIT`` past the page (``Page.total_capped`` says when there are more)."""
        return reporting.search_instances(
            self.db, process_key=process_key, status=status, business_key=business_key,
            started_from=started_from, started_before=started_before, page=page,
            per_page=per_page, count_limit=COUNT_LIMIT)

    def process_figures(self, days: int = 14) -> list[ProcessFigures]:
        """Per process, what started and completed in the last ``days`` days, by day."""
        return reporting.process_figures(self.db, days)

    def cleanup(self, dry_run: bool = False) -> CleanupReport:
        """Remove ended instances past their process's history time-to-live, in batches.

        With ``dry_run`` nothing is removed: the report says what would be. On PostgreSQL
        every past month of the audit trail is swept too (the worker's periodic cleanup
        sweeps only the months of what it removed), and ended instances past
        ``history_archive_after_seconds`` move to the history table (``report.archived``).
        """
        report = retention.cleanup(self.db, self._core.settings, dry_run=dry_run,
                                   sweep_all=True)
        if not dry_run:  # then what ended a while ago leaves the live table, as the job does
            report.archived = archive.archive(self.db, self._core.settings).instances
        return report
