"""Stored reports: every generated report, its period, who started it and its files.

A report and its files are written in one transaction (nothing half-written is ever kept),
their bytes in the database beside the row: every web process and worker reads them without
a shared disk, a backup holds them, and the history cleanup removes a report and its files
in one statement. The size limit (``Settings.report_max_bytes``) keeps that cheap.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, defer, mapped_column, relationship, selectinload

from .db import Database
from .errors import InvalidInputError, NotFoundError
from .models import Base, JsonDict, new_id, utcnow
from .paging import Page
from .sealed_columns import SealedFile
from .vocabulary import ReportKind, ReportStatus

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MAX_PERIOD = timedelta(days=366)


class Report(Base):
    """One generated report: what it is of, its period, who or what started it, its files."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_kind_created", "kind", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    period_from: Mapped[datetime | None] = mapped_column()
    period_to: Mapped[datetime | None] = mapped_column()
    # "user:<name>", "api-key:<account>" or "instance:<id>"
    started_by: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # one report per call of the operation that stores it, however often it is retried
    source_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    summary: Mapped[JsonDict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    files: Mapped[list[ReportFile]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ReportFile.name")


class ReportFile(Base):
    """One file of a report: its bytes, media type, size and SHA-256 (the download's ETag)."""

    __tablename__ = "report_files"

    report_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(SealedFile)  # sealed whole (engine/protect.py)
    report: Mapped[Report] = relationship(back_populates="files")


@dataclass(frozen=True)
class NewReportFile:
    """A file to store with a report."""

    name: str
    media_type: str
    content: bytes


def check_period(start: datetime | None, end: datetime | None, now: datetime | None = None,
                 longest: timedelta | None = None) -> None:
    """Refuse a period that starts in the future, ends before it starts or is too long."""
    now = now or utcnow()
    fields: dict[str, str] = {}
    if start is not None and start > now:
        fields["from"] = f"{start.isoformat()} is in the future"
    elif start is not None and end is not None and start > end:
        fields["from"] = f"{start.isoformat()} is after 'to' ({end.isoformat()})"
    elif longest is not None and start is not None and end is not None \
            and end - start > longest:
        fields["to"] = (f"the period is {(end - start).days} days long; at most "
                        f"{longest.days} days are reported at once")
    if fields:
        raise InvalidInputError("; ".join(f"'{k}': {v}" for k, v in fields.items()),
                                {"fields": fields})


def store(db: Database, *, kind: ReportKind | str, title: str, started_by: str,
          files: Sequence[NewReportFile], max_bytes: int, period_from: datetime | None = None,
          period_to: datetime | None = None, summary: dict[str, Any] | None = None,
          instance_id: str | None = None, source_key: str | None = None,
          empty: bool = False) -> Report:
    """Keep a report with its files, all in one transaction; the same ``source_key`` again
    answers the report already kept (a retried call stores nothing twice)."""
    kind = _kind(kind)
    _check_files(files, max_bytes)
    if period_from is not None and period_to is not None and period_from > period_to:
        raise InvalidInputError("the report's period ends before it starts",
                                {"fields": {"period_from": "after period_to"}})
    if source_key is not None:
        existing = _by_source(db, source_key)
        if existing is not None:
            return existing
    report = Report(kind=kind, title=title[:300], started_by=started_by[:200],
                    period_from=period_from, period_to=period_to, summary=summary or {},
                    instance_id=instance_id, source_key=source_key,
                    status=ReportStatus.EMPTY if empty else ReportStatus.COMPLETE,
                    files=[ReportFile(name=f.name, media_type=f.media_type, size=len(f.content),
                                      sha256=hashlib.sha256(f.content).hexdigest(),
                                      content=f.content) for f in files])
    try:
        with db.write() as s:
            s.add(report)
            s.flush()
            report_id = report.id
    except IntegrityError:  # the same call stored it meanwhile, from another worker
        existing = _by_source(db, source_key) if source_key is not None else None
        if existing is None:
            raise
        return existing
    return get(db, report_id)


def _kind(kind: ReportKind | str) -> ReportKind:
    try:
        return ReportKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in ReportKind)
        raise InvalidInputError(f"unknown kind of report '{kind}'; use {known}",
                                {"fields": {"kind": "unknown"}}) from None


def _check_files(files: Sequence[NewReportFile], max_bytes: int) -> None:
    names = [f.name for f in files]
    bad = [n for n in names if not _FILE_NAME.match(n)]
    if bad:
        raise InvalidInputError(f"file name(s) {', '.join(map(repr, bad))} are not allowed: "
                                "use letters, digits, '.', '_' and '-'",
                                {"fields": {"files": "bad name"}})
    if len(set(names)) != len(names):
        raise InvalidInputError("two files of one report have the same name",
                                {"fields": {"files": "duplicate name"}})
    total = sum(len(f.content) for f in files)
    if total > max_bytes:
        raise InvalidInputError(f"the report's files take {total} bytes; at most {max_bytes} "
                                "are kept", {"fields": {"files": "too large"}})


def _by_source(db: Database, source_key: str) -> Report | None:
    with db.read() as s:
        found = s.scalar(select(Report.id).where(Report.source_key == source_key))
    return get(db, found) if found is not None else None


def _with_files() -> Any:
    return selectinload(Report.files).options(defer(ReportFile.content))


def get(db: Database, report_id: str) -> Report:
    """One report with its files' names, sizes and hashes (not their bytes)."""
    with db.read() as s:
        row = s.scalar(select(Report).where(Report.id == report_id).options(_with_files()))
    if row is None:
        raise NotFoundError(f"no report with id '{report_id}'", {"id": report_id})
    return row


def file(db: Database, report_id: str, name: str) -> ReportFile:
    """One file of a report, with its bytes."""
    with db.read() as s:
        row = s.get(ReportFile, (report_id, name))
        if row is None:
            get(db, report_id)  # an unknown report says so, before an unknown file
            raise NotFoundError(f"report '{report_id}' has no file named '{name}'",
                                {"id": report_id, "file": name})
        row.content  # noqa: B018 - loaded before the session closes
    return row


def latest_of_instance(db: Database, instance_id: str,
                       kind: ReportKind | None = None) -> Report:
    """The newest report an instance stored (of ``kind``, if given)."""
    query = select(Report.id).where(Report.instance_id == instance_id)
    if kind is not None:
        query = query.where(Report.kind == kind)
    with db.read() as s:
        found = s.scalar(query.order_by(Report.created_at.desc()).limit(1))
    if found is None:
        raise NotFoundError(f"no report was stored by instance '{instance_id}'",
                            {"id": instance_id})
    return get(db, found)


def search(db: Database, *, kind: str | None = None, period_from: datetime | None = None,
           period_to: datetime | None = None, page: int = 1, per_page: int = 25) -> Page:
    """Reports, newest first; ``period_from``/``period_to``: those whose period overlaps."""
    query = select(Report)
    if kind:
        query = query.where(Report.kind == _kind(kind))
    if period_from is not None:  # ends on or after the start (an open end: up to now)
        query = query.where(or_(Report.period_to.is_(None), Report.period_to >= period_from))
    if period_to is not None:  # starts on or before the end (an open start: always)
        query = query.where(or_(Report.period_from.is_(None), Report.period_from <= period_to))
    counted = query.with_only_columns(func.count(), maintain_column_froms=True)
    with db.read() as s:
        total = int(s.scalar(counted) or 0)
        items = list(s.scalars(query.options(_with_files())
                               .order_by(Report.created_at.desc(), Report.id.desc())
                               .offset((page - 1) * per_page).limit(per_page)))
    return Page(items, total, page, per_page)


def remove_expired(db: Database, ttl_days: int, now: datetime, dry_run: bool = False) -> int:
    """Remove reports older than the history time-to-live, with their files."""
    old = Report.created_at < now - timedelta(days=ttl_days)
    if dry_run:
        with db.read() as s:
            return int(s.scalar(select(func.count()).select_from(Report).where(old)) or 0)
    with db.write() as s:
        ids = list(s.scalars(select(Report.id).where(old)))
        for chunk in _chunks(ids, 500):
            s.execute(delete(ReportFile).where(ReportFile.report_id.in_(chunk)))
            s.execute(delete(Report).where(Report.id.in_(chunk)))
    return len(ids)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
