"""SQL statements and transactions per engine operation: pinned, so a regression fails.

The operations and the counting are those of ``bench/round_trips.py``; the figures are
exact, since they do not depend on the machine. When a change makes an operation cheaper,
lower its figure here; when one makes it dearer, say why in the commit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from engine import Engine
from engine.config import Settings
from engine.db import Database
from tests.conftest import DATABASES

BENCH = Path(__file__).resolve().parents[2] / "bench" / "round_trips.py"

# (statements, transactions) per operation, on SQLite and on PostgreSQL
EXPECTED: dict[str, dict[str, tuple[int, int]]] = {
    "sqlite": {
        "start, all automatic (wait)": (2, 1),  # the version check rides on the insert
        # the version check rides on the insert; the forms are read once per version
        "start to a user task (wait)": (4, 1),
        "claim": (3, 1),
        "complete, no wait": (4, 1),
        "  then the worker's advance": (15, 5),
        "complete (wait), to the next user task": (7, 2),
        "message correlation (wait)": (18, 6),
        "timer firing (worker poll)": (13, 4),
        "external task fetch_and_lock": (2, 1),
        "external task complete": (16, 4),
    },
}
EXPECTED["postgresql"] = dict(EXPECTED["sqlite"])


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("round_trips_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_each_operation_costs_what_it_cost(database: Database, database_url: str) -> None:
    bench = _bench()
    engine = Engine(database, Settings(database_url=database_url))
    bench.prepare(engine)
    measured = bench.measure(engine)
    expected = EXPECTED[database.sql_engine.dialect.name]
    got = {name: (seen.statements, seen.transactions) for name, seen in measured.items()}
    detail = "\n".join(f"{name}: {seen}\n    " + "\n    ".join(seen.sql)
                       for name, seen in measured.items() if got[name] != expected.get(name))
    assert got == expected, detail
