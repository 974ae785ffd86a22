"""REST start->end latency and throughput: POST /api/v1/process-instances?wait=5, one script.

Run: .venv/bin/python bench/rest_bench.py [--seconds S] [--clients 1,4]

Writes a one-script BPMN (start -> script ``y = x * 2`` -> end) into a temp processes dir and
runs the real ``bridgeflow serve`` on a fresh temp SQLite database (gunicorn, --workers W,
in-process job workers, as users run it), with an API key made by ``bridgeflow api-keys
create``.  Client threads keep one HTTP/1.1 connection each (``http.client``, lighter than
requests, so that the client on this 2-core machine leaves the server its share) and post for a
fixed duration at each concurrency.  Every answer must be 201 with status ``completed`` and
y == 2x.  Prints p50 / p95 / p99 / p99.9 / max latency (ms), requests per second and the
count of bad answers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROCESS_KEY = "double_it"
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs_double_it" targetNamespace="http://bridgeflow.dev/bench">
  <bpmn:process id="double_it" name="Double it" isExecutable="true">
    <bpmn:startEvent id="request_received">
      <bpmn:outgoing>flow_in</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="double_x" name="Double x" scriptFormat="python">
      <bpmn:incoming>flow_in</bpmn:incoming>
      <bpmn:outgoing>flow_out</bpmn:outgoing>
      <bpmn:script>y = x * 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="answer_ready">
      <bpmn:incoming>flow_out</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_in" sourceRef="request_received" targetRef="double_x"/>
    <bpmn:sequenceFlow id="flow_out" sourceRef="double_x" targetRef="answer_ready"/>
  </bpmn:process>
</bpmn:definitions>
"""
# A fixed figure from an earlier measurement elsewhere: spiff-arena is not installed here, so
# this run never measures it, and it is printed as published, not as measured.
SPIFF_ARENA = ("spiff-arena: NOT measured in this run (not installed); its published figure "
               "is ~14 req/s at 65 ms p50 on this machine kind. The target below (140 req/s, "
               "10x that figure) is checked against this run's Bridgeflow figure only")
TARGET_RPS = 140.0


# -- clients ----------------------------------------------------------------------------------

def post(conn: http.client.HTTPConnection, key: str, x: int) -> tuple[int, Any]:
    payload = json.dumps({"process_key": PROCESS_KEY, "variables": {"x": x}})
    conn.request("POST", "/api/v1/process-instances?wait=5", body=payload,
                 headers={"Authorization": f"Bearer {key}",
                          "Content-Type": "application/json"})
    response = conn.getresponse()
    raw = response.read()
    return response.status, json.loads(raw) if raw else None


def client(port: int, key: str, deadline: float, out: list[float], bad: list[str],
           seed: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = seed
    try:
        while time.perf_counter() < deadline:
            i += 1
            t0 = time.perf_counter()
            try:
                status, body = post(conn, key, i)
            except Exception as exc:  # noqa: BLE001 - a benchmark counts every failure
                bad.append(f"error {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            out.append(time.perf_counter() - t0)
            if status != 201 or not isinstance(body, dict) or body.get("status") != "completed":
                bad.append(f"{status} {str(body)[:200]}")
            elif body.get("variables", {}).get("y") != 2 * i:
                bad.append(f"wrong y {body.get('variables')} for x={i}")
    finally:
        conn.close()


def load(port: int, key: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    bad: list[str] = []
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(port, key, deadline, latencies, bad,
                                                      1_000_000 * (c + 1)))
               for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for line in bad[:5]:
        print(f"  bad answer: {line}")
    ms = sorted(x * 1000 for x in latencies)

    def rank(q: float) -> float:
        return ms[min(len(ms) - 1, int(round(q * (len(ms) - 1))))] if ms else float("nan")

    return {"n": len(latencies), "rps": len(latencies) / elapsed,
            "p50": statistics.median(ms) if ms else float("nan"), "p95": rank(0.95),
            "p99": rank(0.99), "p999": rank(0.999), "max": ms[-1] if ms else float("nan"),
            "bad": len(bad)}


# -- server -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: str, workers: int) -> tuple[subprocess.Popen[bytes], int, str]:
    bridgeflow = str(Path(sys.executable).with_name("bridgeflow"))
    env = dict(os.environ, BRIDGEFLOW_DATABASE_URL=f"sqlite:///{tmp}/rest.db",
               BRIDGEFLOW_PROCESSES_DIR=f"{tmp}/processes")
    subprocess.run([bridgeflow, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run([bridgeflow, "api-keys", "create", "rest-bench", "--scope",
                          "processes:start"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(f"{tmp}/server.log", "wb")  # noqa: SIM115 - closed with the directory
    child = subprocess.Popen([bridgeflow, "serve", "--port", str(port), "--workers",
                              str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.exit(f"the server stopped (exit {child.returncode}):\n"
                     + Path(f"{tmp}/server.log").read_text()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return child, port, key
        except OSError:
            time.sleep(0.2)
    child.kill()
    sys.exit("the server did not answer within 60 s")


def stop_server(child: subprocess.Popen[bytes]) -> None:
    """Stop a server this benchmark started: politely, then for sure."""
    child.terminate()
    try:
        child.wait(timeout=20)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="duration per level (10)")
    ap.add_argument("--clients", default="1,4", help="comma-separated concurrency levels")
    ap.add_argument("--workers", type=int, default=2, help="bridgeflow serve --workers (2)")
    args = ap.parse_args()

    print(f"python {platform.python_version()}, Flask {version('Flask')}, "
          f"gunicorn {version('gunicorn')}, SpiffWorkflow {version('SpiffWorkflow')}, "
          f"SQLAlchemy {version('SQLAlchemy')}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bf-rest-bench-") as tmp:
        (Path(tmp) / "processes").mkdir()
        (Path(tmp) / "processes" / f"{PROCESS_KEY}.bpmn").write_text(BPMN, encoding="utf-8")
        child, port, key = start_server(tmp, args.workers)
        try:
            # warm-up: imports, first parse of the definition, connections, in every worker
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for i in range(40):
                status, body = post(conn, key, i)
                if status != 201 or body.get("status") != "completed":
                    sys.exit(f"warm-up answered {status}: {str(body)[:300]}")
            conn.close()
            print(f"POST /api/v1/process-instances?wait=5 (start -> script -> end), "
                  f"{args.seconds:g} s per level, server: bridgeflow serve --workers "
                  f"{args.workers} (gunicorn gthread), SQLite")
            best = 0.0
            for c in (int(x) for x in args.clients.split(",")):
                res = load(port, key, c, args.seconds)
                best = max(best, res["rps"])
                print(f"clients={c}: {res['n']:5d} requests  {res['rps']:7.1f} req/s  "
                      f"p50 {res['p50']:7.1f} ms  p95 {res['p95']:7.1f} ms  "
                      f"p99 {res['p99']:7.1f} ms  p99.9 {res['p999']:7.1f} ms  "
                      f"max {res['max']:7.1f} ms  non-201/not-completed {res['bad']}")
            print(SPIFF_ARENA)
            print(f"target: best {best:.1f} req/s >= {TARGET_RPS:g} -> "
                  f"{'PASS' if best >= TARGET_RPS else 'FAIL'}")
        finally:
            stop_server(child)


if __name__ == "__main__":
    main()
