"""Bridgeflow (persisted on SQLite) vs bare SpiffWorkflow (in memory) on an all-automatic process.

Run: .venv/bin/python bench/engine_bench.py [--n N]

Process: tests/fixtures/processes/auto_steps.bpmn + discount.dmn (5 script tasks, an exclusive
split and merge, a business rule task; ~10 steps, no waits).

(a) bare SpiffWorkflow: parse once with CamundaParser, then N x BpmnWorkflow(spec, subs),
    seed data on the first READY task, do_engine_steps(), assert completed.  Bare Spiff cannot
    evaluate the Camunda JUEL condition, so the in-memory copy of the XML uses the Python
    equivalent; Spiff stores the DMN result under the output name (``percent``) rather than the
    Camunda resultVariable, so the copy's script reads ``percent`` instead of ``discount``.
(b) Bridgeflow: a fresh temp-file SQLite database, ``runtime.start(..., wait=5)`` N times, each
    instance checked completed with the same ``net``.

Both are warmed up first, then run in alternating rounds (so that load from other work on a
shared machine hits both alike).  Prints rates, per-instance ms, the ratio Bridgeflow/bare of
every round, and their median, which is the figure compared with the target.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.camunda.parser import CamundaParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import Engine  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "processes"
BPMN = FIXTURES / "auto_steps.bpmn"
DMN = FIXTURES / "discount.dmn"
VARIABLES = {"lines": [{"qty": 3, "price": 500.0}]}
EXPECTED_NET = 1425.0  # total 1500 -> "large" -> 5 % discount
TARGET_RATIO = 0.5
WARMUP = 20
ROUNDS = 7

JUEL = "${total &gt; 1000 &amp;&amp; count &gt;= 1}"
PYTHON_CONDITION = "total &gt; 1000 and count &gt;= 1"
CAMUNDA_SCRIPT = "net = round(total * (100 - discount) / 100, 2)"
SPIFF_SCRIPT = "net = round(total * (100 - percent) / 100, 2)"


def bare_spec() -> tuple[Any, dict[str, Any]]:
    xml = BPMN.read_text(encoding="utf-8")
    assert JUEL in xml and CAMUNDA_SCRIPT in xml, "the fixture changed; update the bare copy"
    xml = xml.replace(JUEL, PYTHON_CONDITION).replace(CAMUNDA_SCRIPT, SPIFF_SCRIPT)
    parser = CamundaParser()
    parser.add_bpmn_xml(etree.fromstring(xml.encode("utf-8")), filename=BPMN.name)
    parser.add_dmn_file(str(DMN))  # Spiff's DMN engine reads this table as is
    return parser.get_spec("auto_steps"), parser.get_subprocess_specs("auto_steps")


def run_bare(spec: Any, subs: dict[str, Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(spec, subs)
        wf.get_tasks(state=TaskState.READY)[0].set_data(
            lines=[dict(line) for line in VARIABLES["lines"]])
        wf.do_engine_steps()
        assert wf.is_completed(), "bare workflow did not complete"
        assert wf.data["net"] == EXPECTED_NET, wf.data
    return time.perf_counter() - start


def run_bridgeflow(engine: Engine, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        inst = engine.runtime.start("auto_steps", None, VARIABLES, wait=5)
        assert inst.status == "completed", f"instance {inst.id} is {inst.status}"
        assert inst.variables["net"] == EXPECTED_NET, inst.variables
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1500, help="instances per engine (default 1500)")
    args = ap.parse_args()
    n = args.n

    print(f"python {platform.python_version()} ({platform.python_implementation()}), "
          f"SpiffWorkflow {version('SpiffWorkflow')}, SQLAlchemy {version('SQLAlchemy')}, "
          f"sqlite {__import__('sqlite3').sqlite_version}")
    print(f"process auto_steps (5 scripts, xor split+merge, DMN), N={n}, warm-up {WARMUP}")

    spec, subs = bare_spec()
    run_bare(spec, subs, WARMUP)

    with tempfile.TemporaryDirectory(prefix="bf-bench-") as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        engine = Engine(db, Settings(database_url=f"sqlite:///{tmp}/bench.db"))
        engine.repository.deploy_directory(FIXTURES)
        run_bridgeflow(engine, WARMUP)
        # Alternate short rounds, so that a burst of load from other work on a shared
        # machine hits both sides alike; the median round is the figure.
        per_round = max(1, n // ROUNDS)
        bare_times, bridge_times, ratios = [], [], []
        for _ in range(ROUNDS):
            bare_s = run_bare(spec, subs, per_round)
            bridge_s = run_bridgeflow(engine, per_round)
            bare_times.append(bare_s)
            bridge_times.append(bridge_s)
            ratios.append(bare_s / bridge_s)
        db.dispose()

    bare, bridge = sum(bare_times), sum(bridge_times)
    total = per_round * ROUNDS
    ratio = statistics.median(ratios)
    print(f"bare SpiffWorkflow (in memory):   {total / bare:8.1f} inst/s  "
          f"{bare / total * 1000:7.3f} ms/inst")
    print(f"Bridgeflow (SQLite, wait=5):      {total / bridge:8.1f} inst/s  "
          f"{bridge / total * 1000:7.3f} ms/inst")
    print(f"ratio Bridgeflow/bare per round ({ROUNDS} rounds of {per_round}): "
          + " ".join(f"{r:.3f}" for r in ratios))
    print(f"ratio Bridgeflow/bare: {ratio:.3f} (median of the rounds; "
          f"min {min(ratios):.3f}, max {max(ratios):.3f})")
    print(f"target: ratio >= {TARGET_RATIO} -> {'PASS' if ratio >= TARGET_RATIO else 'FAIL'}")


if __name__ == "__main__":
    main()
