"""History tables at a million ended instances on PostgreSQL: one events table vs by month.

Run: .venv/bin/python bench/history_bench.py [--database-url postgresql://…/bridgeflow_history]
         [--instances 1000000] [--runs 50] [--ttl-days 335] [--no-seed]

Seeds ``<database>_plain`` at migration 0010 (events in one table, as before 0012) with COPY:
``--instances`` ended instances started over the year before 2026-12-01 12:00 (each ran for up
to two hours) with three audit events each, written while it ran, and 1,000 waiting instances
started this month. Copies it (``CREATE DATABASE … TEMPLATE``) to ``<database>_monthly`` and
times migration 0012 there (events partitioned by month). Then prints, for both databases:

- the size of the events table, and on the monthly one the size of the month new events go to;
- p50 / p95 of the affected reads and writes, alternating the two databases run by run: an
  ended instance's audit trail (what its page and ``GET …/events`` read), the path it took,
  the dashboard statistics (which add up the service calls since their last mark), appending
  one audit event;
- the history time-to-live cleanup with ``--ttl-days`` (335: the oldest month of history and
  a day of the next expire), its time and what it removed, and the events table size after.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from bench.scale_bench import add_definitions, copy, drop_indexes  # noqa: E402
from engine import Engine  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database, _migrations_dir  # noqa: E402
from engine.models import Event  # noqa: E402
from engine.retention import cleanup  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bridgeflow_history"
NOW = datetime(2026, 12, 1, 12, 0)
LIVE = 1000
INSTANCE_COLUMNS = ("id", "definition_id", "process_key", "version", "business_key", "status",
                    "variables", "active_elements", "revision", "created_at", "updated_at",
                    "ended_at")
EVENT_COLUMNS = ("instance_id", "type", "element_id", "actor", "data", "created_at")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--ttl-days", type=int, default=335)
    parser.add_argument("--no-seed", action="store_true", help="measure what is there")
    parser.add_argument("--no-measure", action="store_true", help="sizes and cleanup only")
    args = parser.parse_args()
    plain, monthly = args.database_url + "_plain", args.database_url + "_monthly"
    if not args.no_seed:
        seed(plain, args.instances)
        started = time.perf_counter()
        clone(plain, monthly)
        print(f"copied the database: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        Database(monthly).upgrade()
        print(f"migration 0012 (events by month) on {3 * args.instances + 3 * LIVE} events: "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        for url in (plain, monthly):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
    sizes(plain, monthly)
    if not args.no_measure:
        measure({"one table": plain, "by month": monthly}, args.instances, args.runs)
    for name, url in (("one table", plain), ("by month", monthly)):
        settings = Settings(database_url=url, history_ttl_days=args.ttl_days)
        db = Database(url)
        started = time.perf_counter()
        report = cleanup(db, settings, now=NOW)
        took = time.perf_counter() - started
        db.dispose()
        print(f"cleanup, {name}: {took:.1f} s, removed {report.instances} instances "
              f"({report.instances / took:.0f}/s), {report.removed.get('events', 0)} events "
              f"in {report.batches} batches", flush=True)
    sizes(plain, monthly)


# -- seeding ----------------------------------------------------------------------------------

def seed(url: str, n: int) -> None:
    fresh(url)
    db = Database(url)
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    with db.sql_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    db.dispose()
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        definitions = add_definitions(conn)
        indexes = drop_indexes(conn)
        copy(conn, "instances", INSTANCE_COLUMNS, instances(n, definitions))
        copy(conn, "events", EVENT_COLUMNS, events(n))
        conn.commit()
        for _name, ddl in indexes:
            conn.execute(ddl)
        conn.commit()
    print(f"seeded {n} ended and {LIVE} waiting instances, {3 * (n + LIVE)} events: "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def fresh(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def clone(source: str, target: str) -> None:
    with psycopg.connect(admin_url(source), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(target).database}"')
        conn.execute(f'CREATE DATABASE "{make_url(target).database}" TEMPLATE '
                     f'"{make_url(source).database}"')


def ended_id(i: int) -> str:
    return f"00000000-0000-4000-9000-{i:012d}"


def lifetime(i: int, n: int) -> tuple[datetime, datetime, bool]:
    """When instance ``i`` started and ended (the ended ones spread over the past year)."""
    rng = random.Random(i)
    if i >= n:  # the live ones, started this month
        return NOW - timedelta(seconds=rng.randrange(86400 * 30)), NOW, False
    started = NOW - timedelta(seconds=rng.randrange(365 * 86400))
    return started, started + timedelta(seconds=rng.randrange(1, 7200)), True


def instances(n: int, definitions: dict[str, str]) -> Iterator[tuple[Any, ...]]:
    keys = sorted(definitions)
    for i in range(n + LIVE):
        key = keys[i % len(keys)]
        started, ended, over = lifetime(i, n)
        status = ("terminated" if i % 10 == 0 else "completed") if over else "waiting"
        yield (ended_id(i), definitions[key], key, 1, f"BK-{i}", status, "{}",
               "[]" if over else '["review"]', 3, started, ended, ended if over else None)


def events(n: int) -> Iterator[tuple[Any, ...]]:
    call = '{"operation": "erp.check_stock", "outcome": "ok", "duration_ms": %d}'
    for i in range(n + LIVE):
        started, ended, over = lifetime(i, n)
        iid = ended_id(i)
        yield (iid, "instance_started", None, "crm", "{}", started)
        yield (iid, "service_call", "call", None, call % (5 + i % 200),
               started + (ended - started) / 2 if over else started)
        yield (iid, "instance_completed" if over else "step", None, None, "{}",
               ended if over else started)


# -- measuring --------------------------------------------------------------------------------

def sizes(plain: str, monthly: str) -> None:
    with psycopg.connect(plain) as conn:
        total = conn.execute("SELECT pg_total_relation_size('events')").fetchone()
    print(f"events, one table: {mb(total)} (table and indexes)")
    with psycopg.connect(monthly) as conn:
        parts = conn.execute(
            "SELECT k.relname, pg_total_relation_size(k.oid) FROM pg_inherits h JOIN pg_class k"
            " ON k.oid = h.inhrelid WHERE h.inhparent = 'events'::regclass ORDER BY 1"
        ).fetchall()
    current = f"events_y{datetime.utcnow():%Y}m{datetime.utcnow():%m}"  # noqa: DTZ003
    written = dict(parts).get(current, 0)
    print(f"events, by month: {mb((sum(p[1] for p in parts),))} in {len(parts)} partitions; "
          f"the month new events go to ({current}): {mb((written,))}; largest month "
          f"{mb((max((p[1] for p in parts), default=0),))}", flush=True)


def mb(row: Any) -> str:
    return f"{(row[0] or 0) / 1e6:.1f} MB"


def measure(urls: dict[str, str], n: int, runs: int) -> None:
    engines = {name: Engine(Database(url), Settings(database_url=url))
               for name, url in urls.items()}
    with psycopg.connect(next(iter(urls.values()))) as conn:  # ended, in both databases
        sample = [r[0] for r in conn.execute(
            "SELECT id FROM instances WHERE ended_at IS NOT NULL ORDER BY md5(id) LIMIT %s",
            (runs,))]

    def append(eng: Engine) -> None:
        with eng._core.db.write() as s:
            s.add(Event(instance_id=ended_id(n), type="bench_note", data={}))

    cases: list[tuple[str, Callable[[Engine, str], Any]]] = [
        ("audit trail of an ended instance (events_of)", lambda e, i: e.history.events_of(i)),
        ("path taken by an ended instance", lambda e, i: e.history.path_taken(i)),
        ("dashboard statistics (management.stats)", lambda e, i: e.management.stats()),
        ("append one audit event (commit)", lambda e, i: append(e)),
    ]
    for eng in engines.values():
        eng.management.stats()  # the first call adds the whole history up once
    print(f"{'query':48} {'database':10} {'p50 ms':>8} {'p95 ms':>8}")
    for name, call in cases:
        times: dict[str, list[float]] = {k: [] for k in engines}
        for eng in engines.values():
            call(eng, sample[-1])  # warm
        for run, instance in enumerate(sample):
            order = list(engines.items()) if run % 2 == 0 else list(engines.items())[::-1]
            for db_name, eng in order:
                started = time.perf_counter()
                call(eng, instance)
                times[db_name].append((time.perf_counter() - started) * 1000)
        for db_name, values in times.items():
            values.sort()
            p95 = values[max(0, int(round(0.95 * len(values))) - 1)]
            print(f"{name:48} {db_name:10} {statistics.median(values):8.2f} {p95:8.2f}",
                  flush=True)
    for eng in engines.values():
        eng._core.db.dispose()


if __name__ == "__main__":
    main()
