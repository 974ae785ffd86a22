"""The engine's own service-task operations for reports: ``reports.store`` keeps a report.

A process names ``reports.store`` like any connector's operation; the engine provides it
(a connector of the same name, such as a test's scripted one, takes its place). Each kind of
report has a builder here that turns the process's variables into the report's files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import report_reads, report_render, stored_reports
from .config import Settings
from .db import Database
from .errors import EngineError, InvalidInputError
from .models import utcnow
from .registry import CallContext, OperationRegistry, RegisteredOperation, RetryPolicy
from .report_delivery import deliver_operation
from .stored_reports import NewReportFile
from .vocabulary import ReportKind

FAMILY = "reports"
DIFFERENCE_COLUMNS = ("record", "id", "label", "field", "crm", "erp", "authority", "action",
                      "outcome")


class ReportParameterError(EngineError):
    """The process passed what no report can be built from: retrying cannot help."""

    retryable = False


@dataclass(frozen=True)
class Built:
    """What a builder makes of a process's variables."""

    title: str
    period_from: datetime | None
    period_to: datetime | None
    summary: dict[str, Any]
    files: list[NewReportFile]
    empty: bool


def _as_time(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ReportParameterError(f"'{name}' is not an ISO date-time: {value!r}") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return "; ".join(map(str, value)) if isinstance(value, list) else str(value)


def reconciliation(params: Mapping[str, Any], now: datetime) -> Built:
    """A reconciliation run: ``report`` (reconcile.compare's) and ``outcome`` (repair's)."""
    report, outcome = params.get("report"), params.get("outcome") or {}
    if not isinstance(report, dict) or not isinstance(report.get("differences"), list) \
            or not isinstance(outcome, dict):
        raise ReportParameterError("a reconciliation report needs 'report' (from "
                                   "reconcile.compare) and 'outcome' (from reconcile.repair)")
    repaired = {r.get("label") for r in outcome.get("repaired") or []}
    failed = {f.get("label"): f.get("error") for f in outcome.get("failed") or []}
    rows = []
    for d in report["differences"]:
        if d.get("action") == "conflict":
            done = "handed to people"
        elif d.get("label") in failed:
            done = f"repair failed: {failed[d.get('label')]}"
        elif d.get("label") in repaired:
            done = "repaired"
        else:
            done = "not repaired"
        rows.append({**{c: d.get(c) for c in DIFFERENCE_COLUMNS[:-1]}, "outcome": done})
    counts = {"differences": len(rows),
              "repaired": sum(r["outcome"] == "repaired" for r in rows),
              "repairs_failed": len(outcome.get("failed") or []),
              "conflicts": len(report.get("conflicts") or []),
              "to_resolve": int(outcome.get("to_resolve") or 0)}
    since = _as_time(report.get("since"), "report.since")
    document = {"since": report.get("since"), "run_at": now.isoformat() + "Z",
                "counts": counts, "differences": rows,
                "repairs_made": outcome.get("repaired") or [],
                "repairs_failed": outcome.get("failed") or [],
                "conflicts": report.get("conflicts") or []}
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\r\n")
    writer.writerow(DIFFERENCE_COLUMNS)
    for r in rows:
        writer.writerow([_cell(r[c]) for c in DIFFERENCE_COLUMNS])
    files = [NewReportFile("reconciliation.json", "application/json",
                     json.dumps(document, indent=2, ensure_ascii=False).encode()),
             NewReportFile("differences.csv", "text/csv; charset=utf-8", table.getvalue().encode())]
    if outcome.get("text"):
        files.append(NewReportFile("report.txt", "text/plain; charset=utf-8",
                             str(outcome["text"]).encode()))
    title = str(outcome.get("subject") or f"Reconciliation: {len(rows)} difference(s)")
    return Built(title, since, now, counts, files, empty=not rows)


def business(params: Mapping[str, Any], now: datetime) -> Built:
    """A sales, inventory or customer report: ``report``, the report document (see
    ``engine/report_render``), rendered to JSON, XLSX, PDF and one CSV per section."""
    doc = report_render.validate(params.get("report"))
    if doc["kind"] != params.get("kind"):
        raise ReportParameterError(f"'kind' is {params.get('kind')!r} but the report document "
                                   f"is a {doc['kind']!r} report")
    files = report_render.render_validated(doc)
    period = doc["period"]
    start = datetime.fromisoformat(period["from"])
    end = datetime.fromisoformat(period["to"]) + timedelta(days=1)  # the end is exclusive
    summary = {"period": period["key"], "period_label": period["label"],
               "data_as_of": doc["data_as_of"], "currency": doc["currency"],
               "rows": {s["key"]: len(s["rows"]) for s in doc["sections"]},
               "figures": {f["label"]: f["value"] for f in doc["summary"]}}
    return Built(f"{doc['title']}: {period['label']}", start, end, summary, files,
                 empty=report_render.is_empty(doc))


BUILDERS: dict[ReportKind, Callable[[Mapping[str, Any], datetime], Built]] = {
    ReportKind.RECONCILIATION: reconciliation,
    ReportKind.SALES: business,
    ReportKind.INVENTORY: business,
    ReportKind.CUSTOMER: business,
}


def store_operation(db: Database, settings: Settings) -> Callable[..., dict[str, Any]]:
    """``reports.store``: params ``kind`` and what that kind's builder reads; result
    ``{report_id, files: [{name, sha256, size}]}``. A retried call stores nothing twice."""
    def store(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        kind = params.get("kind")
        builder = BUILDERS.get(ReportKind(kind)) if kind in set(ReportKind) else None
        if builder is None:
            known = ", ".join(k.value for k in BUILDERS)
            raise ReportParameterError(f"reports.store cannot build a report of kind {kind!r}; "
                                       f"it builds {known}")
        built = builder(params, utcnow())
        try:
            report = _keep(built, str(kind), ctx)
        except InvalidInputError as exc:
            raise ReportParameterError(exc.message, exc.details) from exc
        return {"report_id": report.id,
                "files": [{"name": f.name, "sha256": f.sha256, "size": f.size}
                          for f in report.files]}

    def _keep(built: Built, kind: str, ctx: CallContext) -> stored_reports.Report:
        return stored_reports.store(
            db, kind=ReportKind(kind), title=built.title, started_by=f"instance:{ctx.instance_id}",
            files=built.files, max_bytes=settings.report_max_bytes,
            period_from=built.period_from, period_to=built.period_to, summary=built.summary,
            instance_id=ctx.instance_id, source_key=f"{FAMILY}.store:{ctx.idempotency_key}",
            empty=built.empty)
    return store


class WithBuiltins(OperationRegistry):
    """A registry that adds the engine's own operations to a connectors' registry: the
    connectors' come first, so a test may script ``reports.store`` like any other."""

    def __init__(self, base: OperationRegistry, own: dict[str, RegisteredOperation]) -> None:
        super().__init__()
        self._base = base
        self._own = own

    def reserve(self, *families: str) -> None:
        self._base.reserve(*families)

    def is_external(self, name: str) -> bool:
        if name in self._own or name.partition(".")[0] == FAMILY:
            return False
        return self._base.is_external(name)

    def accepts(self, name: str) -> bool:
        return name in self._own or self._base.accepts(name)

    def register(self, name: str, fn: Any, *, retry: RetryPolicy | None = None,
                 description: str = "") -> None:
        self._base.register(name, fn, retry=retry, description=description)

    def get(self, name: str) -> RegisteredOperation | None:
        return self._base.get(name) or self._own.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._own or name in self._base

    def names(self) -> list[str]:
        return sorted(set(self._base.names()) | set(self._own))


def with_builtins(registry: OperationRegistry, db: Database,
                  settings: Settings) -> OperationRegistry:
    """``registry`` with the engine's own operations (``reports.store``,
    ``reports.deliver``) added."""
    if isinstance(registry, WithBuiltins):
        registry = registry._base
    base = registry

    def own_op(name: str, fn: Callable[..., dict[str, Any]], text: str) -> RegisteredOperation:
        return RegisteredOperation(f"{FAMILY}.{name}", fn, None,
                                   f"{text} (built into the engine)")
    own = {op.name: op for op in (
        own_op("store", store_operation(db, settings), "keep a report of this run"),
        own_op("deliver", deliver_operation(db, lambda: base),
               "e-mail a kept report's files to groups"),
        own_op("period", report_reads.period, "the period a report covers, and the one before"),
        own_op("waiting_orders", report_reads.waiting_operation(db),
               "orders and contracts waiting in Bridgeflow on stock, credit or a person"))}
    return WithBuiltins(registry, own)
