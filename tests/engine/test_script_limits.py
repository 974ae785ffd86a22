"""No analyst's file takes the server down: the attacks that once froze or exhausted a process.

Each attack runs in a script worker under the operating system's CPU and memory limits; it
ends as an incident naming the limit and the element, its worker is replaced, and the engine
goes on serving other instances.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, jobs
from engine.config import Settings
from engine.db import Database
from engine.registry import OperationRegistry
from engine.worker import Worker

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="t">
"""


def _script_process(key: str, script: str) -> bytes:
    body = f"""
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="attack"/>
  <bpmn:scriptTask id="attack" scriptFormat="python"><bpmn:script>{script}</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="attack" targetRef="end"/>
  <bpmn:endEvent id="end"/>"""
    return (HEAD + f'<bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process>'
            "</bpmn:definitions>").encode()


# A loop: never in the bounded subset, so it always runs in a worker.
HEALTHY = _script_process("healthy", "total = 0\nfor x in items:\n    total = total + x")

NESTED_LISTS = """a = []
b = []
for _ in range(40):
    a = [a, a]
    b = [b, b]
same = a == b"""
# The same without a loop: straight-line code is not enough to run in the engine's process.
STRAIGHT_NESTED_LISTS = "a = []\nb = []\n" + "a = [a, a]\nb = [b, b]\n" * 40 + "same = a == b"
DECIMAL_FSTRING = "text = f\"{Decimal('1e1000000000'):f}\""
DISTINCT_STRINGS = """pad = "x" * 999990
keep = []
i = 0
while True:
    keep.append(str(i) + pad)
    i = i + 1"""
TIGHT_LOOP = "n = 0\nwhile True:\n    n += 1"

ENDLESS_CONDITION = HEAD + """<bpmn:process id="endless_condition" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
  <bpmn:exclusiveGateway id="split" default="no"/>
  <bpmn:sequenceFlow id="yes" sourceRef="split" targetRef="end">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
      sum(1 for _ in range(10**6) for _ in range(10**6)) &gt; 0</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="no" sourceRef="split" targetRef="end"/>
  <bpmn:endEvent id="end"/>
</bpmn:process></bpmn:definitions>"""


@pytest.fixture
def engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine with tight limits and one script worker, so a replacement is visible.

    An attack on memory gets time and CPU limits it cannot reach first: filling 256 MB takes
    longer than half a second on a loaded machine, and on this VM touching that much new
    memory once used more than a second of CPU time; the test is about the memory limit.
    """
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    database = Database(url)
    database.upgrade()
    callspec = getattr(request.node, "callspec", None)
    memory_attack = callspec is not None and callspec.params.get("limit") == "memory limit"
    settings = Settings(database_url=url, script_time_limit=20.0 if memory_attack else 0.5,
                        script_cpu_limit=20.0 if memory_attack else 1.0,
                        script_memory_mb=256, script_max_output_bytes=2_000_000,
                        script_workers=1)
    eng = Engine(database, settings, OperationRegistry())
    eng.repository.deploy({"healthy.bpmn": HEALTHY})
    yield eng
    eng.close()


def _worker_pids(engine: Engine) -> list[int]:
    return engine._core.sandbox.pool.pids()


def _serves(engine: Engine) -> int:
    """Run a healthy instance to its end and return the pid of the worker that ran it."""
    inst = engine.runtime.start("healthy", None, {"items": [1, 2, 3]}, wait=10)
    assert inst.status == "completed"
    assert inst.variables["total"] == 6
    [pid] = _worker_pids(engine)
    return pid


@pytest.mark.parametrize(("script", "limit"), [
    pytest.param(NESTED_LISTS, "CPU limit", id="nested-list-comparison"),
    pytest.param(STRAIGHT_NESTED_LISTS, "CPU limit", id="straight-line-nested-lists"),
    pytest.param(DECIMAL_FSTRING, "memory limit", id="decimal-f-string"),
    pytest.param(DISTINCT_STRINGS, "memory limit", id="distinct-strings"),
    pytest.param(TIGHT_LOOP, "time limit", id="tight-loop"),
])
def test_an_attack_becomes_an_incident_and_the_engine_keeps_serving(
        engine: Engine, script: str, limit: str) -> None:
    before = _serves(engine)
    engine.repository.deploy({"attacker.bpmn": _script_process("attacker", script)})

    inst = engine.runtime.start("attacker", None, {}, wait=30)

    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "attack"
    assert limit in incident.message
    assert incident.message.startswith("script 'attack'")
    assert before not in _worker_pids(engine)  # the worker that hit the limit is gone
    assert _serves(engine) != before  # a new one took its place, and other work goes on


def test_an_endless_condition_is_stopped_at_its_gateway(engine: Engine) -> None:
    before = _serves(engine)
    engine.repository.deploy({"endless_condition.bpmn": ENDLESS_CONDITION.encode()})

    inst = engine.runtime.start("endless_condition", None, {}, wait=30)

    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert "time limit" in incident.message and "expression" in incident.message
    assert _serves(engine) != before


def test_a_result_too_big_to_hand_back_is_refused(engine: Engine) -> None:
    # three variables, each under the size limit, 2.7 MB together: over the 2 MB output limit
    script = 'a = "a" * 900000\nb = "b" * 900000\nc = "c" * 900000\nfor _ in [1]:\n    pass'
    engine.repository.deploy({"attacker.bpmn": _script_process("attacker", script)})

    inst = engine.runtime.start("attacker", None, {}, wait=30)

    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert "output size limit" in incident.message
    assert _serves(engine)


def test_bounded_conditions_and_small_scripts_need_no_worker(engine: Engine) -> None:
    small = _script_process("small", 'label = f"{count} item(s)" if count &gt; 1 else "one"')
    engine.repository.deploy({"small.bpmn": small})
    sent = engine._core.sandbox.pool.calls

    inst = engine.runtime.start("small", None, {"count": 3}, wait=10)

    assert inst.variables["label"] == "3 item(s)"
    assert engine._core.sandbox.pool.calls == sent  # ran in-process, with no round trip


def test_a_job_whose_runs_keep_dying_becomes_an_incident(database: Database) -> None:
    settings = Settings(retry_attempts=3, job_lease_seconds=60)
    eng = Engine(database, settings, OperationRegistry())
    eng.repository.deploy({"healthy.bpmn": HEALTHY})
    inst = eng.runtime.start("healthy", None, {"items": [1]})
    for run in range(3):  # three workers took the job and died before finishing it
        assert jobs.acquire(database, f"dead-worker-{run}", 10, lease_seconds=0.0)

    Worker(eng, "survivor").poll_once()

    assert eng.runtime.instance(inst.id).status == "incident"
    [incident] = eng.management.incidents_of(inst.id)
    assert "runs never finished" in incident.message
    assert "total" not in eng.runtime.instance(inst.id).variables
