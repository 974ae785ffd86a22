"""Stored reports: kept whole with their files, listed, read back by hash, and removed with
the history; the reconciliation's run stores its report through ``reports.store``; the
dashboard's figures per process over any period up to 366 days."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, update

from engine import (
    Engine,
    InvalidInputError,
    NewReportFile,
    NotFoundError,
    ReportKind,
    ReportStatus,
    period_figures,
)
from engine.config import Settings
from engine.models import Base, Instance, utcnow
from engine.registry import CallContext
from engine.report_operations import ReportParameterError, store_operation
from engine.stored_reports import Report, ReportFile

CSV = NewReportFile("differences.csv", "text/csv; charset=utf-8", b"record,id\r\norder,801\r\n")
JSON = NewReportFile("reconciliation.json", "application/json", b'{"differences": []}')

QUICK = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_quick"
    targetNamespace="http://t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""

REPORT = {"since": "2026-11-30T02:00:00+00:00", "differences": [
    {"record": "order", "id": "801A", "label": "CRM order 00001", "field": "ERP_Status__c",
     "crm": None, "erp": "Confirmed", "authority": "erp", "action": "repair"},
    {"record": "order", "id": "801B", "label": "CRM order 00002", "field": "lines",
     "crm": ["BF-120 × 3 at 38.50"], "erp": ["BF-120 × 3 at 35.00"], "authority": "crm",
     "action": "conflict"}],
    "conflicts": [{"record": "order", "id": "801B", "label": "CRM order 00002",
                   "field": "lines", "action": "conflict"}],
    "counts": {"differences": 2, "safe": 1, "conflicts": 1}}
OUTCOME = {"repaired": [{"kind": "update_crm_order", "label": "CRM order 00001"}],
           "failed": [], "to_resolve": 1, "subject": "Reconciliation: 2 difference(s), "
           "1 repaired, 1 to resolve", "text": "The ERP and the CRM were compared.\n"}


def keep(engine: Engine, **extra: object) -> Report:
    values: dict[str, object] = {
        "kind": ReportKind.RECONCILIATION, "title": "Nightly reconciliation",
        "started_by": "instance:abc", "files": [CSV, JSON],
        "period_from": datetime(2026, 11, 1), "period_to": datetime(2026, 11, 30)}
    return engine.reports.store(**(values | extra))  # type: ignore[arg-type]


def count(engine: Engine, model: type) -> int:
    with engine._core.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_report_is_kept_with_its_files_and_their_hashes(engine: Engine) -> None:
    report = keep(engine)
    again = engine.reports.get(report.id)
    assert (again.kind, again.title, again.status) == ("reconciliation",
                                                       "Nightly reconciliation", "complete")
    assert [(f.name, f.media_type, f.size) for f in again.files] == [
        ("differences.csv", "text/csv; charset=utf-8", len(CSV.content)),
        ("reconciliation.json", "application/json", len(JSON.content))]
    stored = engine.reports.file(report.id, "differences.csv")
    assert stored.content == CSV.content
    assert stored.sha256 == hashlib.sha256(CSV.content).hexdigest()


def test_unknown_reports_and_files_are_not_found(engine: Engine) -> None:
    report = keep(engine)
    with pytest.raises(NotFoundError, match="no report with id 'nope'"):
        engine.reports.get("nope")
    with pytest.raises(NotFoundError, match="no file named 'other.csv'"):
        engine.reports.file(report.id, "other.csv")
    with pytest.raises(NotFoundError, match="no report with id 'nope'"):
        engine.reports.file("nope", "differences.csv")


@pytest.mark.parametrize(("files", "message"), [
    ([NewReportFile("../etc/passwd", "text/plain", b"x")], "are not allowed"),
    ([CSV, CSV], "the same name"),
    ([NewReportFile("big.csv", "text/csv", b"x" * 2001)], "2001 bytes; at most 2000"),
])
def test_a_bad_report_is_refused_and_nothing_is_kept(engine: Engine, files: list[NewReportFile],
                                                     message: str) -> None:
    small = Engine(engine._core.db, Settings(report_max_bytes=2000))
    with pytest.raises(InvalidInputError, match=message):
        keep(small, files=files)
    assert (count(engine, Report), count(engine, ReportFile)) == (0, 0)


def test_an_unknown_kind_or_a_backwards_period_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match="unknown kind of report 'weather'"):
        keep(engine, kind="weather")
    with pytest.raises(InvalidInputError, match="ends before it starts"):
        keep(engine, period_from=datetime(2026, 11, 30), period_to=datetime(2026, 11, 1))
    assert count(engine, Report) == 0


def test_the_same_source_stores_one_report(engine: Engine) -> None:
    first = keep(engine, source_key="reports.store:i1:keep_report")
    second = keep(engine, source_key="reports.store:i1:keep_report")
    assert second.id == first.id and count(engine, Report) == 1


def test_reports_are_listed_newest_first_by_kind_and_period(engine: Engine) -> None:
    october = keep(engine, period_from=datetime(2026, 10, 1), period_to=datetime(2026, 10, 31))
    november = keep(engine)
    sales = keep(engine, kind="sales", title="Sales November")
    page = engine.reports.list_reports()
    assert [r.id for r in page.items] == [sales.id, november.id, october.id]
    assert page.total == 3
    only = engine.reports.list_reports(kind="reconciliation", period_from=datetime(2026, 11, 5))
    assert [r.id for r in only.items] == [november.id]
    before = engine.reports.list_reports(period_to=datetime(2026, 10, 15))
    assert [r.id for r in before.items] == [october.id]
    assert engine.reports.list_reports(per_page=1, page=2).items[0].id == november.id
    with pytest.raises(InvalidInputError, match="in the future"):
        engine.reports.list_reports(period_from=utcnow() + timedelta(days=2))


def test_the_history_cleanup_removes_reports_past_the_time_to_live(engine: Engine) -> None:
    old, new = keep(engine), keep(engine)
    with engine._core.db.write() as s:
        s.execute(update(Report).where(Report.id == old.id).values(
            created_at=utcnow() - timedelta(days=engine._core.settings.history_ttl_days + 1)))
    assert engine.history.cleanup(dry_run=True).removed["reports"] == 1
    assert count(engine, Report) == 2
    assert engine.history.cleanup().removed["reports"] == 1
    with pytest.raises(NotFoundError):
        engine.reports.get(old.id)
    assert engine.reports.get(new.id).files[0].name == "differences.csv"
    assert count(engine, ReportFile) == 2  # the old report's files went with it


def test_reports_store_keeps_a_reconciliation_run_once(engine: Engine) -> None:
    store = store_operation(engine._core.db, engine._core.settings)
    ctx = CallContext("inst-1", None, "keep_report", 1, "task-1")
    result = store({"kind": "reconciliation", "report": REPORT, "outcome": OUTCOME}, ctx)
    assert store({"kind": "reconciliation", "report": REPORT, "outcome": OUTCOME},
                 CallContext("inst-1", None, "keep_report", 2, "task-1")) == result
    report, content = engine.reports.reconciliation("inst-1")
    assert report.id == result["report_id"]
    assert engine.reports.reconciliation(report.id)[0].id == report.id
    assert report.title == OUTCOME["subject"]
    assert report.started_by == "instance:inst-1"
    assert report.period_from == datetime(2026, 11, 30, 2)
    assert report.summary == {"differences": 2, "repaired": 1, "repairs_failed": 0,
                              "conflicts": 1, "to_resolve": 1}
    assert [d["outcome"] for d in content["differences"]] == ["repaired", "handed to people"]
    rows = list(csv.DictReader(io.StringIO(
        engine.reports.file(report.id, "differences.csv").content.decode())))
    assert [(r["id"], r["field"], r["crm"], r["erp"], r["outcome"]) for r in rows] == [
        ("801A", "ERP_Status__c", "", "Confirmed", "repaired"),
        ("801B", "lines", "BF-120 × 3 at 38.50", "BF-120 × 3 at 35.00", "handed to people")]
    assert engine.reports.file(report.id, "report.txt").content == OUTCOME["text"].encode()
    assert json.loads(engine.reports.file(report.id, "reconciliation.json").content)[
        "counts"]["conflicts"] == 1


def test_reports_store_with_nothing_found_keeps_an_honest_empty_report(engine: Engine) -> None:
    store = store_operation(engine._core.db, engine._core.settings)
    empty = {"since": None, "differences": [], "conflicts": [], "counts": {}}
    result = store({"kind": "reconciliation", "report": empty,
                    "outcome": {"repaired": [], "failed": [], "to_resolve": 0}},
                   CallContext("inst-2", None, "keep_report", 1, "t"))
    report = engine.reports.get(result["report_id"])
    assert report.status == ReportStatus.EMPTY and report.period_from is None
    assert engine.reports.file(report.id, "differences.csv").content == \
        b"record,id,label,field,crm,erp,authority,action,outcome\r\n"


def test_reports_store_refuses_what_it_cannot_build(engine: Engine) -> None:
    store = store_operation(engine._core.db, engine._core.settings)
    ctx = CallContext("inst-3", None, "keep_report", 1, "t")
    with pytest.raises(ReportParameterError, match="kind 'weather'"):
        store({"kind": "weather"}, ctx)
    with pytest.raises(ReportParameterError, match="needs 'report'"):
        store({"kind": "reconciliation", "report": "nothing"}, ctx)
    assert count(engine, Report) == 0
    with pytest.raises(NotFoundError, match="no reconciliation report"):
        engine.reports.reconciliation("inst-3")


def test_process_figures_cover_exactly_the_period_asked(engine: Engine) -> None:
    engine.repository.deploy({"quick.bpmn": QUICK.replace(b"{key}", b"quick")})
    ids = [engine.runtime.start("quick", wait=5).id for _ in range(3)]
    times = [datetime(2026, 11, 2, 9), datetime(2026, 11, 3, 9), datetime(2026, 10, 20, 9)]
    with engine._core.db.write() as s:
        for i, at in zip(ids, times, strict=True):
            s.execute(update(Instance).where(Instance.id == i).values(
                created_at=at, ended_at=at + timedelta(seconds=30)))
    period = engine.reports.process_figures(datetime(2026, 11, 1), datetime(2026, 12, 1))
    assert period.durations_capped is False
    [quick] = period.processes
    assert (quick.process_key, quick.started, quick.completed) == ("quick", 2, 2)
    assert quick.avg_seconds == 30.0
    assert len(quick.days) == 30
    assert [d.completed for d in quick.days[:3]] == [0, 1, 1]
    assert engine.reports.process_figures(datetime(2026, 9, 1),
                                          datetime(2026, 10, 1)).processes == []
    with pytest.raises(InvalidInputError, match="at most 366 days"):
        engine.reports.process_figures(datetime(2025, 1, 1), datetime(2026, 11, 1))
    with pytest.raises(InvalidInputError, match="after 'to'"):
        engine.reports.process_figures(datetime(2026, 11, 2), datetime(2026, 11, 1))


def test_the_migration_makes_the_tables_as_the_models_say(engine: Engine) -> None:
    with engine._core.db.sql_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "report" in repr(d)] == []


def test_counts_stay_exact_when_durations_are_sampled(engine: Engine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    engine.repository.deploy({"quick.bpmn": QUICK.replace(b"{key}", b"quick")})
    ids = [engine.runtime.start("quick", wait=5).id for _ in range(2)]
    with engine._core.db.write() as s:
        for i, (at, took) in zip(ids, [(datetime(2026, 11, 2, 9), 10),
                                        (datetime(2026, 11, 3, 9), 30)], strict=True):
            s.execute(update(Instance).where(Instance.id == i).values(
                created_at=at, ended_at=at + timedelta(seconds=took)))
    monkeypatch.setattr(period_figures, "MAX_REPORT_ROWS", 1)
    period = engine.reports.process_figures(datetime(2026, 11, 1), datetime(2026, 12, 1))
    [quick] = period.processes
    assert period.durations_capped is True
    assert (quick.completed, [d.completed for d in quick.days[1:3]]) == (2, [1, 1])
    assert quick.avg_seconds == 30.0  # the newest one only, as durations_capped says
