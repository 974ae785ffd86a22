"""Scale-out: 1, 2 and 4 ``bridgeflow worker`` processes drain 5,000 due timers on PostgreSQL.

Run: .venv/bin/python bench/scaleout_bench.py [--n 5000] [--workers 1,2,4]
     [--url postgresql://postgres@127.0.0.1:5432/bridgeflow_scaleout]

The process (``scaleout_sync``): start -> a one-second timer -> ``crm.update_order`` (the real
CRM connector, ``SalesforceClient`` over ``requests``) -> end. The CRM is a stub HTTP server in
this process that answers the token request and ``PATCH …/sobjects/Order/<id>`` and counts the
calls per order.

1. **Seeding**: ``--n`` starts through ``RuntimeService.start(…, wait=5)`` into the database
   ``<name>_seed``: each runs to the timer and writes the instance and its timer job in one
   transaction (timed apart from the runs). After a second every timer is due.
2. **Runs**: for each N the seeded database is copied (``CREATE DATABASE … TEMPLATE``), its
   timer jobs are held an hour ahead, N real ``bridgeflow worker`` processes start, and once
   all N have announced themselves the jobs are made due (the clock starts) — so process
   start-up is not timed. The clock stops when every instance has completed. Checked: each
   instance completed, each order PATCHed exactly once, no incident, no job left.
3. **PostgreSQL**: per run, from ``pg_stat_database`` (transactions, server time spent running
   statements), ``pg_stat_wal`` (cluster-wide) and samples of ``pg_stat_activity``/``pg_locks``
   every 50 ms (lock waits: a hot row would show as ``Lock:transactionid``/``Lock:tuple``).
4. **Statements per job**: one in-process worker drains 200 of the jobs under
   ``engine.round_trips.count``; then the cost of ``SELECT 1`` and of a committed one-row
   INSERT with ``synchronous_commit`` on and off (the WAL flush).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from pg_probe import Sampler, commit_cost, counters, delta, recreate  # noqa: E402

KEY = "scaleout_sync"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="bench">
  <bpmn:process id="{KEY}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="settle"/>
    <bpmn:intermediateCatchEvent id="settle">
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="settle" targetRef="mark"/>
    <bpmn:serviceTask id="mark" camunda:type="external" camunda:topic="crm.update_order">
      <bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="order_id">${{order_id}}</camunda:inputParameter>
        <camunda:inputParameter name="fields">${{fields}}</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="mark" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def order_id(i: int) -> str:
    return f"801{i:015d}"  # 18 letters and digits: a CRM record id


# -- the CRM stub --------------------------------------------------------------------------

class Crm(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CrmHandler)
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _CrmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Crm

    def log_message(self, *_args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/services/oauth2/token":
            self._answer(200, json.dumps({"access_token": "stub-token",
                                          "instance_url": self.server.url}).encode())
        else:
            self._answer(404, b"[]")

    def do_PATCH(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        head, _, record = self.path.rpartition("/")
        if not head.endswith("/sobjects/Order"):
            self._answer(404, b"[]")
            return
        with self.server.lock:
            self.server.calls[record] = self.server.calls.get(record, 0) + 1
        self._answer(204)


# -- seeding and the runs ------------------------------------------------------------------

def settings_env(url: str, tmp: str, crm: Crm) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), BRIDGEFLOW_DATABASE_URL=url,
                BRIDGEFLOW_PROCESSES_DIR=f"{tmp}/processes", BRIDGEFLOW_CRM_URL=crm.url,
                BRIDGEFLOW_CRM_CLIENT_ID="bench", BRIDGEFLOW_CRM_CLIENT_SECRET="stub-secret")


def open_engine(url: str, tmp: str, crm: Crm) -> Any:
    """An engine with the same connectors as ``bridgeflow worker`` (read from the same env)."""
    from engine import Engine, Settings
    from web.connectors import build_registry

    settings = Settings.from_env(settings_env(url, tmp, crm))
    return Engine(url, settings, build_registry(settings))


def seed(url: str, tmp: str, crm: Crm, n: int) -> float:
    """Start ``n`` instances, each to its timer; return the seconds it took."""
    from engine.db import Database

    Database(url).upgrade()
    engine = open_engine(url, tmp, crm)
    engine.repository.deploy({f"{KEY}.bpmn": BPMN.encode()})
    started = time.perf_counter()
    for i in range(n):
        inst = engine.runtime.start(KEY, order_id(i), {"order_id": order_id(i),
                                                        "fields": {"Status": "Synced"}}, wait=5)
        assert inst.status == "waiting", inst.status
    seconds = time.perf_counter() - started
    engine.close()
    return seconds


def one_value(url: str, sql: str) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return None if row is None else row[0]


def run(base: str, seed_name: str, tmp: str, crm: Crm, n: int, workers: int) -> dict[str, Any]:
    name = f"{seed_name.removesuffix('_seed')}_run"
    url = f"{base}/{name}"
    recreate(base + "/postgres", name, seed_name)
    one_value(url, "UPDATE jobs SET due_at = now() + interval '1 hour' WHERE kind = 'timer' "
                   "RETURNING 1")
    bridgeflow = str(Path(sys.executable).with_name("bridgeflow"))
    env = settings_env(url, tmp, crm)
    logs = [open(f"{tmp}/worker-{workers}-{i}.log", "wb") for i in range(workers)]  # noqa: SIM115
    procs = [subprocess.Popen([bridgeflow, "worker"], env=env, stdout=log,
                              stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while one_value(url, "SELECT count(*) FROM workers") < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"workers did not start; see {tmp}/worker-{workers}-*.log")
            time.sleep(0.2)
        time.sleep(2.0)  # each has polled (every 0.2 s) and reported its start-up's counters
        crm.calls.clear()
        before = counters(base + "/postgres", name)
        polls = 0
        with Sampler(base + "/postgres", name) as sampler, \
                psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE jobs SET due_at = now() - interval '1 second' "
                         "WHERE kind = 'timer'")
            started = time.perf_counter()
            while True:
                polls += 1
                row = conn.execute("SELECT count(*) FROM instances "
                                   "WHERE status = 'completed'").fetchone()
                if row is not None and row[0] >= n:
                    break
                if time.perf_counter() - started > 1800:
                    raise SystemExit(f"not drained after 30 min: {row} of {n} completed")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        for log in logs:
            log.close()
    time.sleep(1.0)  # ended backends have reported their counters
    moved = delta(before, counters(base + "/postgres", name))
    checks = {
        "completed": one_value(url, "SELECT count(*) FROM instances WHERE status = 'completed'"),
        "incidents": one_value(url, "SELECT count(*) FROM incidents"),
        "timer jobs left": one_value(url, "SELECT count(*) FROM jobs WHERE kind = 'timer'"),
        "service_call events": one_value(url, "SELECT count(*) FROM events "
                                              "WHERE type = 'service_call'"),
        "timer_fired events": one_value(url, "SELECT count(*) FROM events "
                                             "WHERE type = 'timer_fired'"),
        "orders called": len(crm.calls),
        "orders called more than once": sum(1 for c in crm.calls.values() if c != 1),
    }
    ok = (checks["completed"] == n and checks["incidents"] == 0
          and checks["timer jobs left"] == 0 and checks["service_call events"] == n
          and checks["orders called"] == n and checks["orders called more than once"] == 0)
    return {"workers": workers, "seconds": seconds, "rate": n / seconds, "pg": moved,
            "own_polls": polls + 1, "waits": sampler.waits, "checks": checks, "ok": ok}


def statements_per_job(base: str, seed_name: str, tmp: str, crm: Crm, jobs: int) -> dict[str, Any]:
    """One in-process worker runs ``jobs`` of the seeded timers, every statement counted."""
    from sqlalchemy import event

    from engine.round_trips import count
    from engine.worker import Worker

    name = f"{seed_name.removesuffix('_seed')}_stmts"
    url = f"{base}/{name}"
    recreate(base + "/postgres", name, seed_name)
    one_value(url, "UPDATE jobs SET due_at = now() - interval '1 second' WHERE id IN "
                   f"(SELECT id FROM jobs WHERE kind = 'timer' ORDER BY id LIMIT {jobs + 20}) "
                   "RETURNING 1")
    engine = open_engine(url, tmp, crm)
    Worker(engine, "warm-up").poll_once()  # the spec parsed, the CRM token fetched
    engine.close()  # its sessions end and report their counters
    engine = open_engine(url, tmp, crm)
    worker = Worker(engine, "stmt-counter")
    time.sleep(1.0)
    server_before = counters(base + "/postgres", name)
    done = worker.jobs_done
    sql_engine = engine._core.db.sql_engine  # noqa: SLF001 - a bench reaches what it measures
    spent: list[float] = []

    def before(conn: Any, *_a: Any) -> None:
        conn.info["bench_t"] = time.perf_counter()

    def after(conn: Any, *_a: Any) -> None:
        spent.append(time.perf_counter() - conn.info.pop("bench_t"))

    event.listen(sql_engine, "before_cursor_execute", before)
    event.listen(sql_engine, "after_cursor_execute", after)
    started = time.perf_counter()
    with count(sql_engine) as seen:
        while worker.jobs_done - done < jobs and worker.poll_once():
            pass
    wall = time.perf_counter() - started
    event.remove(sql_engine, "before_cursor_execute", before)
    event.remove(sql_engine, "after_cursor_execute", after)
    ran = worker.jobs_done - done
    engine.close()
    time.sleep(1.0)
    server = delta(server_before, counters(base + "/postgres", name))
    return {"jobs": ran, "statements": seen.statements / ran,
            "transactions": seen.transactions / ran, "commits": seen.commits / ran,
            "stmt_ms_mean": statistics.fmean(spent) * 1000,
            "stmt_ms_median": statistics.median(spent) * 1000,
            "db_share": sum(spent) / wall, "ms_per_job": wall * 1000 / ran,
            "server_xacts": (server["xact_commit"] + server["xact_rollback"]) / ran,
            "server_ms": server["active_time"] / ran}


def report(results: list[dict[str, Any]], n: int, per_job: dict[str, Any]) -> None:
    base_rate = next((r["rate"] for r in results if r["workers"] == 1), None)
    print(f"\n{'workers':>7} {'seconds':>8} {'jobs/s':>8} {'inst/s':>8} {'efficiency':>10} "
          f"{'xact/job':>8} {'pg ms/job':>9} {'pg busy':>7} {'WAL B/job':>9}  correct")
    for r in results:
        pg, w = r["pg"], r["workers"]
        xacts = pg["xact_commit"] + pg["xact_rollback"] - r["own_polls"]
        eff = r["rate"] / (w * base_rate) if base_rate else float("nan")
        print(f"{w:7d} {r['seconds']:8.1f} {r['rate']:8.1f} {r['rate']:8.1f} {eff:10.2f} "
              f"{xacts / n:8.2f} {pg['active_time'] / n:9.2f} "
              f"{pg['active_time'] / 1000 / r['seconds']:7.2f} {pg['wal_bytes'] / n:9.0f}  "
              f"{'yes' if r['ok'] else 'NO'}")
    print("  (each instance is one job: its timer fires, the CRM call runs, it ends; "
          "'pg busy' = server seconds running statements per wall second, i.e. backends busy "
          "on average; WAL is cluster-wide, so other sessions on this server add to it)")
    for r in results:
        print(f"  {r['workers']} worker(s) checks: {r['checks']}")
        print(f"  {r['workers']} worker(s) PostgreSQL: {r['waits']}")
    print(f"\nstatements per job (one in-process worker, {per_job['jobs']} jobs): "
          f"{per_job['statements']:.1f} statements in {per_job['transactions']:.1f} "
          f"transactions ({per_job['commits']:.1f} committed); client-observed time per "
          f"statement mean {per_job['stmt_ms_mean']:.3f} ms, median "
          f"{per_job['stmt_ms_median']:.3f} ms; {per_job['ms_per_job']:.1f} ms per job, "
          f"{per_job['db_share'] * 100:.0f} % of it in statements; as PostgreSQL counted them: "
          f"{per_job['server_xacts']:.2f} transactions and {per_job['server_ms']:.2f} ms of "
          "statement time per job")
    for r in results:
        stmts = per_job["statements"] * n
        print(f"  {r['workers']} worker(s): server time per statement "
              f"{r['pg']['active_time'] / stmts:.3f} ms (active_time / "
              f"{per_job['statements']:.1f} x {n} statements)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="due timer jobs (instances)")
    ap.add_argument("--workers", default="1,2,4", help="worker process counts, e.g. 1,2,4")
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/bridgeflow_scaleout",
                    help="where the databases go: <name>_seed, _run and _stmts beside it")
    args = ap.parse_args()
    base, _, name = args.url.rpartition("/")
    seed_name = f"{name}_seed"
    print(f"CPUs: {os.cpu_count()}; load average {os.getloadavg()}; with 2 CPUs shared by the "
          "workers, PostgreSQL, this script's CRM stub and other users, 4 workers cannot scale "
          "linearly here: efficiency above 2 workers measures contention, not capacity")
    crm = Crm()
    threading.Thread(target=crm.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="bf-scaleout-") as tmp:
        os.makedirs(f"{tmp}/processes")
        Path(f"{tmp}/processes/{KEY}.bpmn").write_text(BPMN)
        recreate(args.url, seed_name)
        seconds = seed(f"{base}/{seed_name}", tmp, crm, args.n)
        print(f"seeding: {args.n} starts to the timer in {seconds:.1f} s "
              f"({args.n / seconds:.0f} starts/s, one process, one transaction each)")
        time.sleep(1.5)  # every timer is due
        results = []
        for workers in (int(w) for w in args.workers.split(",")):
            r = run(base, seed_name, tmp, crm, args.n, workers)
            results.append(r)
            print(f"{workers} worker(s): {args.n} jobs in {r['seconds']:.1f} s = "
                  f"{r['rate']:.1f} jobs/s; correct: {r['ok']}", flush=True)
        per_job = statements_per_job(base, seed_name, tmp, crm, 200)
        report(results, args.n, per_job)
        cost = commit_cost(f"{base}/{seed_name}")
        print(f"\nper statement and commit, one connection: SELECT 1 {cost['select_1_ms']:.3f} ms;"
              f" one-row INSERT committed {cost['insert_commit_sync_ms']:.3f} ms with "
              f"synchronous_commit on, {cost['insert_commit_async_ms']:.3f} ms off "
              f"(WAL flush ~{cost['insert_commit_sync_ms'] - cost['insert_commit_async_ms']:.3f}"
              f" ms); server settings {cost['settings']}")
        print(f"load average after: {os.getloadavg()}")
        if not all(r["ok"] for r in results):
            raise SystemExit("a run was not correct (see the checks above)")
    crm.shutdown()


if __name__ == "__main__":
    main()
