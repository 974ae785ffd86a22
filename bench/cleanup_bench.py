"""History cleanup throughput: ended instances removed per second while live work runs.

Run: .venv/bin/python bench/cleanup_bench.py [--n 3000] [--url postgresql://…]

Fills a fresh database (a temp SQLite file, or the PostgreSQL URL given, whose tables are
dropped first) with N completed instances of a small process (start → user task → script →
end, so each has a human task, its form data and ~8 audit events), ends them 200 days ago,
then runs ``history.cleanup()`` (batches of 500, the default) while a load thread keeps
starting and finishing instances of the same process. Prints instances and rows removed per
second, and the load's rate and worst latency before and during the cleanup.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from engine import Engine  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import Event, Instance, utcnow  # noqa: E402

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://t">
  <bpmn:process id="kept" isExecutable="true" camunda:historyTimeToLive="P180D">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="finance">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="note" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>greeting = "Dear " + customer_name</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="note"/>
    <bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def one_instance(engine: Engine, n: int) -> str:
    inst = engine.runtime.start("kept", f"C-{n}", {"customer_name": f"Customer {n}",
                                                   "email": f"c{n}@example.com"}, wait=5)
    task = engine.tasks.open_tasks_of(inst.id)[0]
    engine.tasks.complete(task.id, "fin", {"approved": True, "note": "fine"}, wait=5)
    return inst.id


class Load(threading.Thread):
    """Start and finish instances one after another, recording each one's latency."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.stop = threading.Event()
        self.samples: list[tuple[float, float]] = []  # (finished at, seconds taken)

    def run(self) -> None:
        n = 10_000_000
        while not self.stop.is_set():
            began = time.monotonic()
            one_instance(self.engine, n)
            self.samples.append((time.monotonic(), time.monotonic() - began))
            n += 1

    def between(self, start: float, end: float) -> list[float]:
        return [took for at, took in self.samples if start <= at <= end]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--url", default=None, help="a PostgreSQL URL (its tables are dropped)")
    args = parser.parse_args()
    if args.url:
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import reset_postgres  # type: ignore[import-not-found]

        reset_postgres(args.url)
        url = args.url
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    db = Database(url)
    db.upgrade()
    engine = Engine(db, Settings())
    engine.repository.deploy({"kept.bpmn": BPMN})

    began = time.monotonic()
    for n in range(args.n):
        one_instance(engine, n)
    print(f"filled {args.n} completed instances in {time.monotonic() - began:.1f} s "
          f"on {db.sql_engine.dialect.name}")
    with db.write() as s:
        s.execute(update(Instance).values(ended_at=utcnow() - timedelta(days=200)))
        events = s.scalar(select(func.count()).select_from(Event)) or 0

    load = Load(engine)
    load.start()
    time.sleep(5.0)
    before_end = time.monotonic()
    began = time.monotonic()
    report = engine.history.cleanup()
    took = time.monotonic() - began
    time.sleep(1.0)
    load.stop.set()
    load.join()

    assert report.instances == args.n, report
    rows = sum(report.removed.values())
    before = load.between(before_end - 5.0, before_end)
    during = load.between(began, began + took)
    print(f"removed {report.instances} instances ({rows} rows, {events} events before) in "
          f"{report.batches} batches in {took:.2f} s: {report.instances / took:.0f} "
          f"instances/s, {rows / took:.0f} rows/s")
    for label, lat, seconds in (("before", before, 5.0), ("during", during, took)):
        if lat:
            print(f"load {label} cleanup: {len(lat) / seconds:.1f} instances/s, "
                  f"p50 {statistics.median(lat) * 1000:.0f} ms, "
                  f"max {max(lat) * 1000:.0f} ms")
        else:
            print(f"load {label} cleanup: no instance finished in {seconds:.2f} s")
    engine.close()


if __name__ == "__main__":
    main()
