"""The shipped reconciliation over fake systems: each run keeps its report as a stored
report (differences found, repairs made, conflicts handed to people) before it e-mails it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from engine import Engine, JobKind, NotFoundError, ReportStatus
from engine.config import Settings
from engine.db import Database
from engine.models import Job, utcnow
from engine.registry import CallContext, RetryPolicy
from service_tasks.reconcile import compare, render
from tests.service_tasks.test_reconcile import (
    TO_CRM,
    TO_ERP,
    crm_order,
    erp_order,
    snapshot,
)

from .conftest import PROCESSES, Driver
from .fakes import Systems

FILES = ("reconciliation.bpmn", "reconciliation_nightly.bpmn",
         "forms/reconciliation_conflicts.json")


class FakeReconciler:
    """reconcile.* over a fixed snapshot: compared for real, every safe fix applied."""

    def __init__(self, snap: dict[str, Any]) -> None:
        self.snap = snap
        self.repairs = 0

    def read(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return {**self.snap, "since": params.get("since")}

    def compare(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return compare(params["snapshot"], TO_ERP, TO_CRM)

    def repair(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.repairs += 1
        report = params["report"]
        fixed = list(report["safe_fixes"])
        subject, text = render(report, fixed, [])
        return {"repaired": fixed, "failed": [], "to_resolve": len(report["conflicts"]),
                "subject": subject, "text": text}


def reconciliation_engine(database: Database, systems: Systems,
                          reconciler: FakeReconciler) -> Engine:
    registry = systems.registry()
    fast = RetryPolicy(attempts=3, backoff_seconds=0.05, factor=1.0)
    for name in ("read", "compare", "repair"):
        registry.register(f"reconcile.{name}", getattr(reconciler, name), retry=fast)
    eng = Engine(database, Settings(checkpoint_every_step=True, job_lease_seconds=5), registry)
    eng.repository.deploy({Path(n).name: (PROCESSES / n).read_bytes() for n in FILES})
    eng.identity.ensure_demo_users()
    return eng


@pytest.fixture
def reconciler() -> FakeReconciler:
    # an ERP number missing on the CRM order (repaired) and other prices (a conflict)
    return FakeReconciler(snapshot(
        crm=crm_order(erp_order_number=None, erp_status=None, status="Activated"),
        erp=erp_order(untaxed="840.00", lines=[
            {"product_code": "BF-100", "quantity": 2.0, "unit_price": "400.00"},
            {"product_code": "BF-310", "quantity": 1.0, "unit_price": "40.00"}])))


@pytest.fixture
def engine(database: Database, systems: Systems,
           reconciler: FakeReconciler) -> Iterator[Engine]:
    eng = reconciliation_engine(database, systems, reconciler)
    yield eng
    eng.close()


def test_a_run_keeps_its_report_before_it_mails_it(engine: Engine, systems: Systems) -> None:
    driver = Driver(engine)
    started = engine.runtime.start("reconciliation", variables={"since": None})
    driver.run()
    assert driver.open_tasks(started.id).keys() == {"resolve_conflicts"}
    report, content = engine.reports.reconciliation(started.id)
    assert report.instance_id == started.id and report.started_by == f"instance:{started.id}"
    assert report.status == ReportStatus.COMPLETE and report.period_from is None
    assert [f.name for f in report.files] == ["differences.csv", "reconciliation.json",
                                              "report.txt"]
    [mail] = systems.mail.sent
    assert report.title == mail["subject"]
    assert engine.reports.file(report.id, "report.txt").content.decode() == mail["body"]
    assert content["counts"] == {"differences": 5, "repaired": 3, "repairs_failed": 0,
                                 "conflicts": 2, "to_resolve": 2}
    rows = list(csv.DictReader(io.StringIO(
        engine.reports.file(report.id, "differences.csv").content.decode())))
    assert {(r["field"], r["outcome"]) for r in rows} == {
        ("ERP_Order_Number__c", "repaired"), ("ERP_Status__c", "repaired"),
        ("Status", "repaired"), ("lines", "handed to people"), ("amount", "handed to people")}
    amount = next(r for r in rows if r["field"] == "amount")
    assert (amount["crm"], amount["erp"]) == ("880.00", "840.00")
    variables = driver.instance(started.id).variables
    assert variables["stored_report"]["report_id"] == report.id


def test_a_run_with_nothing_found_keeps_an_empty_report(database: Database, systems: Systems
                                                       ) -> None:
    eng = reconciliation_engine(database, systems, FakeReconciler(snapshot()))
    try:
        started = eng.runtime.start("reconciliation", variables={"since": None})
        Driver(eng).run()
        assert eng.runtime.instance(started.id).status == "completed"
        report, content = eng.reports.reconciliation(started.id)
        assert report.status == ReportStatus.EMPTY and content["differences"] == []
        assert "No differences." in eng.reports.file(report.id, "report.txt").content.decode()
    finally:
        eng.close()


def test_the_nightly_run_is_found_by_its_own_instance_id(engine: Engine) -> None:
    driver = Driver(engine)
    with engine._core.db.write() as s:  # its time has come
        fired = s.execute(update(Job).where(
            Job.kind == JobKind.START_TIMER,
            Job.payload["process_key"].as_string() == "reconciliation_nightly")
            .values(due_at=utcnow()))
        assert fired.rowcount == 1  # type: ignore[attr-defined]
    driver.run()
    [nightly] = engine.runtime.list_instances(process_key="reconciliation_nightly").items
    [called] = engine.runtime.called_instances(nightly.id)
    report, _ = engine.reports.reconciliation(nightly.id)
    assert report.instance_id == called.id
    assert engine.reports.list_reports(kind="reconciliation").total == 1
    with pytest.raises(NotFoundError, match="no reconciliation report"):
        engine.reports.reconciliation("no-such-run")
