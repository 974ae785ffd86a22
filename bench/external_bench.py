"""External tasks: how fast workers get them, how many they finish, what waiting costs.

Run: .venv/bin/python bench/external_bench.py [--workers 1,4] [--tasks 400]
     [--database-url postgresql://postgres@127.0.0.1:5432/bridgeflow_bench]

Runs the real ``bridgeflow serve`` (gunicorn, 2 processes with their job workers) on a fresh
SQLite database, or on the PostgreSQL database given (emptied first), with a one-task process
(start -> external task ``bench.work`` -> end) and a key holding the ``external-tasks`` and
``processes:start`` scopes. Worker processes speak Camunda's REST API with ``requests``, as
the Camunda client does: ``fetchAndLock`` with ``asyncResponseTimeout`` (long polling), then
``complete``.

Prints three figures:

1. **due -> received**: idle workers wait in long polls; instances start one at a time; the
   time from the task's ``createTime`` to the worker holding it (median and p95 over 40).
   Target: median under 50 ms.
2. **throughput**: ``--tasks`` instances are started with no worker around, then N worker
   processes finish them; tasks per second at each N; every instance must have ended, each
   task completed exactly once.
3. **statements per waiting request per second**: in this process, an engine on the same
   kind of database, K threads wait in ``fetch_and_lock`` for T seconds with nothing to
   fetch; every SQL statement is counted (SQLite's BEGIN too). Target: at most 1 per waiting
   request per second.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rest_bench import free_port, stop_server  # noqa: E402  (bench/ is the script's folder)

from tests.conftest import reset_postgres  # noqa: E402

TOPIC = "bench.work"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="bench">
  <bpmn:process id="ext_bench" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="{TOPIC}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


# -- the server ---------------------------------------------------------------------------

def start_server(tmp: str, database_url: str) -> tuple[subprocess.Popen[bytes], str, str]:
    bridgeflow = str(Path(sys.executable).with_name("bridgeflow"))
    env = dict(os.environ, BRIDGEFLOW_DATABASE_URL=database_url,
               BRIDGEFLOW_PROCESSES_DIR=f"{tmp}/processes")
    subprocess.run([bridgeflow, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run([bridgeflow, "api-keys", "create", "ext-bench", "--scope",
                          "external-tasks", "--scope", "processes:start"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(f"{tmp}/server.log", "wb")  # noqa: SIM115 - closed with the directory
    child = subprocess.Popen([bridgeflow, "serve", "--port", str(port), "--workers", "2",
                              "--threads", "16"], env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.exit(f"the server stopped (exit {child.returncode}):\n"
                     + Path(f"{tmp}/server.log").read_text()[-2000:])
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return child, base, key
        except requests.RequestException:
            time.sleep(0.2)
    child.kill()
    sys.exit("the server did not answer within 60 s")


def auth(key: str) -> dict[str, str]:
    token = base64.b64encode(f"bench:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def start_instances(base: str, key: str, count: int) -> list[str]:
    session = requests.Session()
    ids = []
    for _ in range(count):
        resp = session.post(f"{base}/engine-rest/process-definition/key/ext_bench/start",
                            json={}, headers=auth(key), timeout=30)
        resp.raise_for_status()
        ids.append(resp.json()["id"])
    return ids


def parse_camunda_date(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).timestamp()


# -- workers ------------------------------------------------------------------------------

def worker(base: str, key: str, name: str, stop_after: float, done: Any,
           received: Any) -> None:
    """Fetch and complete until nothing came for ``stop_after`` seconds."""
    session = requests.Session()
    headers = auth(key)
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < stop_after:
        resp = session.post(f"{base}/engine-rest/external-task/fetchAndLock", headers=headers,
                            json={"workerId": name, "maxTasks": 1, "asyncResponseTimeout": 1000,
                                  "topics": [{"topicName": TOPIC, "lockDuration": 60000}]},
                            timeout=30)
        got = time.time()
        resp.raise_for_status()
        for task in resp.json():
            received.put(got - parse_camunda_date(task["createTime"]))
            answer = session.post(f"{base}/engine-rest/external-task/{task['id']}/complete",
                                  json={"workerId": name}, headers=headers, timeout=30)
            if answer.status_code != 204:
                raise SystemExit(f"complete answered {answer.status_code}: {answer.text}")
            done.put(task["processInstanceId"])
            idle_since = time.monotonic()


def drain(queue: Any) -> list[Any]:
    out = []
    while True:
        try:
            out.append(queue.get(timeout=0.2))
        except Exception:  # noqa: BLE001 - queue.Empty
            return out


def latency(base: str, key: str) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    done, received = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(base, key, f"idle-{i}", 8.0, done, received))
             for i in range(2)]
    for p in procs:
        p.start()
    time.sleep(3)  # the workers are waiting in their long polls now
    for _ in range(40):
        start_instances(base, key, 1)
        time.sleep(0.1)
    times = [received.get(timeout=30) for _ in range(40)]
    for p in procs:
        p.join()
    return times


def throughput(base: str, key: str, workers: int, tasks: int) -> tuple[float, int, int]:
    ids = start_instances(base, key, tasks)
    ctx = multiprocessing.get_context("spawn")
    done, received = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(base, key, f"w{workers}-{i}", 2.0, done,
                                              received)) for i in range(workers)]
    began = time.perf_counter()
    for p in procs:
        p.start()
    finished: list[str] = []
    while len(finished) < tasks and any(p.is_alive() for p in procs):
        try:
            finished.append(done.get(timeout=0.5))
        except Exception:  # noqa: BLE001 - queue.Empty
            continue
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    finished += drain(done)
    twice = len(finished) - len(set(finished))
    missing = len(set(ids) - set(finished))
    return len(finished) / elapsed, twice, missing


# -- queries per waiting request ----------------------------------------------------------

def queries_while_waiting(database_url: str, waiting: int,
                          seconds: float) -> tuple[float, float]:
    """Statements per waiting request and second: all of them, and queries alone (without
    SQLite's BEGIN, which PostgreSQL's driver does not send as a statement)."""
    from sqlalchemy import event

    from engine import Engine, TopicRequest

    eng = Engine(database_url)
    eng.management.upgrade_database()
    counted = [0, 0]

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counted[0] += 1
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            counted[1] += 1

    def count_begin(_conn: Any) -> None:
        # SQLite's BEGIN goes straight to the driver (engine.db): count it from the event
        if sqlite:
            counted[0] += 1

    sql_engine = eng._core.db.sql_engine
    sqlite = sql_engine.dialect.name == "sqlite"
    event.listen(sql_engine, "before_cursor_execute", count)
    event.listen(sql_engine, "begin", count_begin)
    topic = TopicRequest(name="nobody.sends.this", lock_duration_ms=1000)
    eng.external_tasks.fetch_and_lock("warm", [topic])  # topics seen: written once
    counted[:] = [0, 0]
    threads = [threading.Thread(target=eng.external_tasks.fetch_and_lock,
                                args=(f"idle-{i}", [topic], 1, False, seconds))
               for i in range(waiting)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eng.close()
    return counted[0] / (waiting * seconds), counted[1] / (waiting * seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="1,4", help="worker processes per run (1,4)")
    ap.add_argument("--tasks", type=int, default=400, help="instances per throughput run")
    ap.add_argument("--database-url", default=None, help="PostgreSQL (emptied); else SQLite")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bf-ext-bench-") as tmp:
        (Path(tmp) / "processes").mkdir()
        (Path(tmp) / "processes" / "ext_bench.bpmn").write_text(BPMN, encoding="utf-8")
        url = args.database_url or f"sqlite:///{tmp}/ext.db"
        if args.database_url:
            reset_postgres(url)
        kind = "PostgreSQL" if args.database_url else "SQLite"
        child, base, key = start_server(tmp, url)
        try:
            times = sorted(t * 1000 for t in latency(base, key))
            p95 = times[int(0.95 * (len(times) - 1))]
            median = statistics.median(times)
            print(f"{kind}, bridgeflow serve --workers 2 --threads 16")
            print(f"due -> received (2 idle workers in long polls, 40 tasks): median "
                  f"{median:.1f} ms, p95 {p95:.1f} ms; target median < 50 ms -> "
                  f"{'PASS' if median < 50 else 'FAIL'}")
            for n in (int(x) for x in args.workers.split(",")):
                rate, twice, missing = throughput(base, key, n, args.tasks)
                print(f"throughput, {n} worker process(es), {args.tasks} tasks: {rate:.1f} "
                      f"tasks/s; completed twice: {twice}; not completed: {missing}")
        finally:
            stop_server(child)
        if args.database_url:
            reset_postgres(url)
        every, queries = queries_while_waiting(args.database_url or f"sqlite:///{tmp}/idle.db",
                                               8, 5.0)
        print(f"statements per waiting request per second (8 waiting, 5 s, nothing to "
              f"fetch): {every:.2f} in all, {queries:.2f} queries without BEGIN; target "
              f"<= 1 -> {'PASS' if every <= 1 else 'FAIL'}")


if __name__ == "__main__":
    main()
