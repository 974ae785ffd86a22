"""Query latency with a large history on PostgreSQL: inbox, lists, statistics, health checks.

Run: .venv/bin/python bench/scale_bench.py [--database-url postgresql://…]
         [--tasks 100000] [--groups 50] [--instances 1000000] [--runs 50] [--no-seed]

Seeds the database named by ``--database-url`` (created when missing, its tables dropped
first; default ``postgresql://postgres@127.0.0.1:5432/bridgeflow_scale``) with COPY: ``--tasks``
open human tasks (one waiting instance each) offered to ``--groups`` groups (one group each,
every 20th also a second group, every 100th also a candidate user, every 10th claimed), and
``--instances`` ended instances (90 % completed, 10 % terminated, started over the last year)
with three audit events each (started, one service call, ended). Indexes are dropped during
the COPY and rebuilt after it, then ``VACUUM ANALYZE``; the trigger of migration 0011 copies
each task's keys onto its candidate rows as they are copied in.

Then it prints p50 / p95 / max over ``--runs`` runs of each query, through the engine's
services (what the pages and the REST API call), and /healthz and /readyz through the Flask
test client of ``web.create_app`` (routing, JSON, the real endpoints).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from engine import Engine  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import User  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bridgeflow_scale"
SEEDED = ("human_tasks", "task_candidates", "instances", "events")
PROCESSES = [f"process_{i:02d}" for i in range(10)]
NOW = datetime(2026, 12, 1, 12, 0)
CHUNK = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--no-seed", action="store_true", help="measure what is there")
    args = parser.parse_args()
    url = args.database_url
    if not args.no_seed:
        seed(url, args.tasks, args.groups, args.instances)
    measure(url, args.groups, args.runs)


# -- seeding ----------------------------------------------------------------------------------

def seed(url: str, tasks: int, groups: int, ended: int) -> None:
    create_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    db = Database(url)
    db.upgrade()
    db.dispose()
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        definitions = add_definitions(conn)
        indexes = drop_indexes(conn)
        copy(conn, "instances", INSTANCE_COLUMNS,
             live_instances(tasks, definitions), ended_instances(ended, definitions))
        copy(conn, "human_tasks", TASK_COLUMNS, open_tasks(tasks, groups))
        copy(conn, "task_candidates", ("task_id", "kind", "name"), candidates(tasks, groups))
        copy(conn, "events", EVENT_COLUMNS, events(ended))
        conn.commit()
        copied = time.perf_counter() - started
        for _name, ddl in indexes:
            conn.execute(ddl.replace(" ON ONLY ", " ON "))  # partitions too, not left INVALID
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in SEEDED:
            conn.execute(f"VACUUM ANALYZE {table}")
    print(f"seeded {tasks} open tasks over {groups} groups, {ended} ended instances and "
          f"{3 * ended} events: COPY {copied:.1f} s, with indexes and VACUUM ANALYZE "
          f"{time.perf_counter() - started:.1f} s")


def create_database(url: str) -> None:
    name = make_url(url).database
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{name}"')


def add_definitions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    out = {}
    for key in PROCESSES:
        out[key] = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO definitions (id, key, version, kind, name, content_hash, filename,"
            " source, extra_files, deployed_at) VALUES (%s, %s, 1, 'process', %s, %s, %s,"
            " '<definitions/>', '{}', %s)",
            (out[key], key, key.replace("_", " "), key, f"{key}.bpmn", NOW))
    return out


def drop_indexes(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Drop the seeded tables' secondary indexes (rebuilt after the COPY: much faster)."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(SEEDED),)).fetchall()
    for name, _ddl in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [(str(n), str(d)) for n, d in rows]


def copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...],
         *streams: Iterator[tuple[Any, ...]]) -> None:
    started, n = time.perf_counter(), 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        lines: list[str] = []
        for stream in streams:
            for row in stream:
                lines.append("\t".join(r"\N" if v is None else str(v) for v in row))
                if len(lines) >= CHUNK:
                    cp.write("\n".join(lines) + "\n")
                    n += len(lines)
                    lines = []
        if lines:
            cp.write("\n".join(lines) + "\n")
            n += len(lines)
    print(f"  {table}: {n} rows in {time.perf_counter() - started:.1f} s", flush=True)


INSTANCE_COLUMNS = ("id", "definition_id", "process_key", "version", "business_key", "status",
                    "variables", "active_elements", "revision", "created_at", "updated_at",
                    "ended_at")
TASK_COLUMNS = ("id", "instance_id", "spiff_task_id", "element_id", "name", "process_key",
                "business_key", "candidate_groups", "candidate_users", "assignee", "status",
                "priority", "due_at", "created_at")
EVENT_COLUMNS = ("instance_id", "type", "element_id", "actor", "data", "created_at")


def task_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def live_id(i: int) -> str:
    return f"00000000-0000-4000-9000-{i:012d}"


def ended_id(i: int) -> str:
    return f"00000000-0000-4000-a000-{i:012d}"


def group(i: int) -> str:
    return f"group-{i:02d}"


def task_groups(i: int, groups: int) -> list[str]:
    if i % 20:
        return [group(i % groups)]
    return [group(i % groups), group((i + 1 + (i // 20) % (groups - 1)) % groups)]


def live_instances(n: int, definitions: dict[str, str]) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        key = PROCESSES[i % len(PROCESSES)]
        created = NOW - timedelta(minutes=i % 100_000)
        yield (live_id(i), definitions[key], key, 1, f"LIVE-{i}", "waiting", "{}",
               '["review"]', 1, created, created, None)


def ended_instances(n: int, definitions: dict[str, str]) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(7)
    for i in range(n):
        key = PROCESSES[i % len(PROCESSES)]
        created = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        ended = created + timedelta(seconds=rng.randrange(1, 7200))
        status = "terminated" if i % 10 == 0 else "completed"
        yield (ended_id(i), definitions[key], key, 1, f"BK-{i}", status, "{}", "[]", 3,
               created, ended, ended)


def open_tasks(n: int, groups: int) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        key = PROCESSES[i % len(PROCESSES)]
        users = [f"user-{i % 500}"] if i % 100 == 0 else []
        assignee = f"user-{i % 500}" if i % 10 == 0 else None
        created = NOW - timedelta(minutes=i % 100_000)
        due = created + timedelta(days=2) if i % 3 else None
        yield (task_id(i), live_id(i), f"spiff-{i}", "review", "Review", key, f"LIVE-{i}",
               json.dumps(task_groups(i, groups)), json.dumps(users), assignee,
               "claimed" if assignee else "ready", 40 + i % 30, due, created)


def candidates(n: int, groups: int) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        for name in task_groups(i, groups):
            yield (task_id(i), "group", name)
        if i % 100 == 0:
            yield (task_id(i), "user", f"user-{i % 500}")


def events(n: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(7)
    call = ['{"operation": "erp.check_stock", "outcome": "ok", "duration_ms": %d}',
            '{"operation": "crm.update_order", "outcome": "ok", "duration_ms": %d}',
            '{"operation": "erp.check_stock", "outcome": "transient_error", "duration_ms": %d}']
    for i in range(n):
        created = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        iid = ended_id(i)
        yield (iid, "instance_started", None, "crm", "{}", created)
        yield (iid, "service_call", "call", None, call[i % 3] % (5 + i % 200),
               created + timedelta(seconds=1))
        yield (iid, "instance_completed", None, None, "{}", created + timedelta(seconds=2))


# -- measuring --------------------------------------------------------------------------------

def measure(url: str, groups: int, runs: int) -> None:
    from web import create_app

    eng = Engine(Database(url), Settings(database_url=url))
    app = create_app({"database_url": url, "run_worker_in_web": False})
    client = app.test_client()
    three = User(name="user-7", role="user", groups=[group(1), group(2), group(3)],
                 password_hash="!", active=True)
    admin = User(name="ada", role="admin", groups=[], password_hash="!", active=True)
    rng = random.Random(11)
    # a page in the middle of the inbox, as someone paging through it asks for
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("inbox page 1, user in 3 groups (counts + page)", lambda: eng.tasks.queue(three)),
        ("inbox page 20, user in 3 groups, by priority",
         lambda: eng.tasks.queue(three, sort="priority", page=20)),
        ("REST task list of that user, page 1", lambda: eng.tasks.list_tasks(
            visible_to=three)),
        ("task search by process (service account)", lambda: eng.tasks.list_tasks(
            process_key=rng.choice(PROCESSES))),
        ("task search by process and candidate group", lambda: eng.tasks.list_tasks(
            process_key=rng.choice(PROCESSES), candidate_group=group(rng.randrange(groups)))),
        ("admin inbox page 1 (every task)", lambda: eng.tasks.queue(admin)),
        ("instance search by business key", lambda: eng.history.search_instances(
            business_key=f"BK-{rng.randrange(1000)}")),
        ("instance list, completed, page 1", lambda: eng.history.search_instances(
            status="completed")),
        ("instance list by process and start day", lambda: eng.history.search_instances(
            process_key=rng.choice(PROCESSES), started_from=NOW - timedelta(days=30),
            started_before=NOW - timedelta(days=29))),
        ("dashboard statistics (management.stats)", eng.management.stats),
        ("dashboard figures (history.process_figures, 14 days)",
         lambda: eng.history.process_figures(14)),
        ("GET /healthz (Flask test client)", lambda: _ok(client.get("/healthz"))),
        ("GET /readyz (Flask test client)", lambda: _ok(client.get("/readyz"))),
    ]
    # the statistics' first call adds up the whole history once (then only what is new)
    started = time.perf_counter()
    eng.management.stats()
    print(f"first statistics call (rolls the history up once): "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    print(f"{'query':56} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, call in cases:
        eng.management.heartbeat("scale-bench")  # (untimed) so /readyz sees a live worker
        call()  # warm: the first run pays for connections and compiled statements
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        print(f"{name:56} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}",
              flush=True)


def _ok(resp: Any) -> None:
    if resp.status_code != 200:
        raise SystemExit(f"{resp.request.path} answered {resp.status_code}: {resp.get_json()}")


if __name__ == "__main__":
    main()
