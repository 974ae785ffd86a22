"""Test files deploy with what they test: stored with that version, a changed test makes a
new version, and a test file that cannot be read or tests nothing deployed is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import DefinitionError, Engine
from engine.db import Database

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
ROWS = """decision: refund_approval
cases:
  - name: gold, exactly 1000
    inputs: {refund_amount: 1000, case: {account: {tier: gold}}}
    rules: [gold_small]
"""


@pytest.fixture
def engine(database: Database) -> Engine:
    return Engine(database)


def refund(test_text: str | None) -> dict[str, bytes]:
    files = {"refund_approval.dmn": (PROCESSES / "refund_approval.dmn").read_bytes()}
    if test_text is not None:
        files["refund_approval.test.yaml"] = test_text.encode()
    return files


def test_a_test_file_is_stored_with_its_decision_and_runs_from_there(engine: Engine) -> None:
    (deployed,) = engine.repository.deploy(refund(ROWS))
    definition = engine.repository.definition("refund_approval")
    (result,) = engine.repository.run_tests(definition)
    assert result.passed and [c.name for c in result.cases] == ["gold, exactly 1000"]
    assert engine.repository.deploy(refund(ROWS))[0].version == deployed.version
    changed = engine.repository.deploy(refund(ROWS.replace("gold_small", "gold_large")))
    assert changed[0].version == deployed.version + 1
    newest = engine.repository.definition("refund_approval")
    (failing,) = engine.repository.run_tests(newest)
    assert not failing.passed
    assert failing.cases[0].failures[0].actual == ["gold_small"]


def test_a_decision_deployed_without_tests_has_none_to_run(engine: Engine) -> None:
    engine.repository.deploy(refund(None))
    assert engine.repository.run_tests(engine.repository.definition("refund_approval")) == []


@pytest.mark.parametrize(("name", "text", "message"), [
    ("refund_approval.test.yaml", "decision: [\n",
     "refund_approval.test.yaml:2: is not valid YAML"),
    ("credit_decision.test.yaml", ROWS, "tests 'credit_decision', which this deployment "
                                        "does not contain"),
    ("refund_approval.test.yaml", ROWS + 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
     + "".join(f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 10) + "]\n"
               for i in range(1, 9)),
     "has more than 200000 values once its aliases (*name) are expanded"),
])
def test_a_broken_or_orphan_test_file_is_refused_and_nothing_deploys(
        engine: Engine, name: str, text: str, message: str) -> None:
    files = refund(None) | {name: text.encode()}
    with pytest.raises(DefinitionError) as refused:
        engine.repository.deploy(files)
    (problem,) = refused.value.problems
    assert problem.file == name
    assert message in str(problem)
    assert engine.repository.list_definitions() == []


def test_an_unknown_kind_of_file_is_refused_with_every_kind_deploy_takes(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as refused:
        engine.repository.deploy(refund(ROWS) | {"notes.txt": b"hello"})
    (problem,) = refused.value.problems
    assert problem.file == "notes.txt"
    assert problem.message == (
        "unknown kind of file: deploy processes (.bpmn, .bpmn20.xml), decisions (.dmn, "
        ".dmn11.xml), forms (.json) or process and decision tests (.test.yaml, .test.yml, "
        ".test.json)")
    assert engine.repository.list_definitions() == []


def test_rolling_back_and_exporting_keep_the_test_file(engine: Engine, tmp_path: Path) -> None:
    engine.repository.deploy(refund(ROWS))
    engine.repository.deploy(refund(ROWS.replace("gold, exactly", "gold, a full")))
    (back,) = engine.repository.rollback("refund_approval", 1, "ana")
    assert back.version == 3
    (result,) = engine.repository.run_tests(engine.repository.definition("refund_approval"))
    assert [c.name for c in result.cases] == ["gold, exactly 1000"]
    written = engine.repository.export(tmp_path)
    assert tmp_path / "refund_approval.test.yaml" in written
    assert (tmp_path / "refund_approval.test.yaml").read_text() == ROWS
    assert not (tmp_path / "forms" / "tests").exists()
