"""A console test run is a job: queued at once, run by a worker in a child process, and held
to the limits the engine sets (wall clock, memory, size of the results, runs queued)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from engine import ConflictError, Engine, InvalidInputError, NotFoundError, Settings, Worker
from engine.db import Database
from engine.models import Base, Job
from tests.processes.conftest import shipped_files
from tests.web.test_definition_tests_page import CREDIT_TESTS

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
ROWS = """decision: refund_approval
cases:
  - name: gold, exactly 1000
    inputs: {refund_amount: 1000, case: {account: {tier: gold}}}
    rules: [gold_small]
  - name: a wrong rule
    inputs: {refund_amount: 1000, case: {account: {tier: gold}}}
    rules: [gold_large]
"""


def engine_with(database: Database, **settings: object) -> Engine:
    engine = Engine(database, Settings(**settings))  # type: ignore[arg-type]
    engine.repository.deploy({
        "refund_approval.dmn": (PROCESSES / "refund_approval.dmn").read_bytes(),
        "refund_approval.test.yaml": ROWS.encode()})
    return engine


def settle(engine: Engine) -> None:
    worker = Worker(engine, "test-worker")
    while worker.poll_once():
        pass


def jobs_queued(engine: Engine) -> int:
    with engine._core.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Job)) or 0)


def test_a_run_is_queued_then_a_worker_writes_its_results(database: Database) -> None:
    engine = engine_with(database)
    definition = engine.repository.definition("refund_approval")
    run = engine.repository.start_test_run(definition, "ana")
    assert (run.status, run.pending, run.results) == ("queued", True, None)
    assert jobs_queued(engine) == 1
    settle(engine)
    done = engine.repository.test_run(run.id)
    assert (done.status, done.pending, done.error) == ("finished", False, None)
    assert done.results is not None
    (result,) = done.results
    assert [(c.name, c.passed) for c in result.cases] == [("gold, exactly 1000", True),
                                                          ("a wrong rule", False)]
    assert result.cases[1].failures[0].actual == ["gold_small"]
    assert jobs_queued(engine) == 0


def test_a_person_may_queue_only_so_many_runs_of_a_version(database: Database) -> None:
    engine = engine_with(database, test_run_max_queued=2)
    definition = engine.repository.definition("refund_approval")
    engine.repository.start_test_run(definition, "ana")
    engine.repository.start_test_run(definition, "ana")
    with pytest.raises(ConflictError, match=r"you already have 2 test run\(s\) of "
                                            r"refund_approval version 1 waiting \(at most 2\)"):
        engine.repository.start_test_run(definition, "ana")
    assert jobs_queued(engine) == 2
    engine.repository.start_test_run(definition, "bob")  # another person's count is theirs
    settle(engine)
    engine.repository.start_test_run(definition, "ana")  # ended runs no longer count


@pytest.mark.parametrize(("limits", "message"), [
    ({"test_run_seconds": 0.3}, "the tests ran longer than 0.3 seconds and were stopped"),
    ({"test_run_max_output_bytes": 200},
     "the tests' results are larger than 200 bytes and were dropped"),
])
def test_a_run_past_a_limit_is_stopped_and_says_which(database: Database,
                                                      limits: dict[str, object],
                                                      message: str) -> None:
    engine = engine_with(database, **limits)
    run = engine.repository.start_test_run(engine.repository.definition("refund_approval"),
                                           "ana")
    settle(engine)
    stopped = engine.repository.test_run(run.id)
    assert stopped.status == "stopped"
    assert stopped.error is not None and message in stopped.error
    assert stopped.results is None
    assert jobs_queued(engine) == 0, "a stopped run leaves no job behind"


def test_a_run_needing_more_memory_than_allowed_is_stopped(database: Database) -> None:
    engine = Engine(database, Settings(test_run_memory_mb=20))
    # a process test builds an engine of its own: far more than 20 MB
    engine.repository.deploy(shipped_files() | {
        "credit_approval.test.yaml": CREDIT_TESTS.encode()})
    run = engine.repository.start_test_run(engine.repository.definition("credit_approval"),
                                           "ana")
    settle(engine)
    stopped = engine.repository.test_run(run.id)
    assert stopped.status == "stopped"
    assert stopped.error is not None and "more than 20 MB of memory" in stopped.error


def test_a_version_without_tests_has_nothing_to_queue(database: Database) -> None:
    engine = Engine(database)
    engine.repository.deploy({
        "refund_approval.dmn": (PROCESSES / "refund_approval.dmn").read_bytes()})
    with pytest.raises(InvalidInputError, match="refund_approval version 1 was deployed "
                                                "without tests"):
        engine.repository.start_test_run(engine.repository.definition("refund_approval"),
                                         "ana")
    assert jobs_queued(engine) == 0


def test_an_unknown_run_is_not_found(database: Database) -> None:
    engine = engine_with(database)
    with pytest.raises(NotFoundError, match="no test run 'nope'"):
        engine.repository.test_run("nope")


def test_the_migration_makes_the_test_runs_table_as_the_model_says(database: Database) -> None:
    with database.sql_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "test_runs" in repr(d)] == []
