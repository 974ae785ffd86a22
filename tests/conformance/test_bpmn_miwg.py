"""Every BPMN MIWG reference model deploys or is refused in words (runner: miwg.py)."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.db import Database
from tests.conformance import miwg

# Raise this when the engine deploys more models; never lower it to make a change green.
EXPECTED_DEPLOYED = 2


def test_bpmn_miwg_models_deploy_or_are_refused_with_a_clear_reason(
        database: Database) -> None:
    try:
        report = miwg.run(Engine(database))
    except FileNotFoundError as exc:
        pytest.fail(f"cannot run the BPMN MIWG models: {exc}")
    for outcome in report.outcomes:
        print("\n".join(outcome.lines()))
    print(report.totals())
    failed = [line for o in report.outcomes if o.outcome == "failed" for line in o.lines()]
    assert not failed, "unexpected exceptions:\n" + "\n".join(failed)
    assert not report.raw_messages(), "\n".join(report.raw_messages())
    refused = [o for o in report.outcomes if o.outcome == "refused"]
    assert all(o.problems and all(p.message for p in o.problems) for o in refused)
    assert report.count("deployed") >= EXPECTED_DEPLOYED, report.totals()
    assert len(report.outcomes) == 21


def test_a_model_that_is_not_executable_is_refused_for_that_reason(database: Database) -> None:
    report = miwg.run(Engine(database))
    [a10] = [o for o in report.outcomes if o.model == "A.1.0.bpmn"]
    assert a10.outcome == "refused"
    [problem] = a10.problems
    assert 'isExecutable="false"' in problem.message and "WFP-6-" in problem.message
