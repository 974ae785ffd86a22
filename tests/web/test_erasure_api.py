"""Erasing a customer's data and cleaning up history through the REST API and the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import update

from engine import Engine
from engine.models import Instance, utcnow
from web.cli import main

from .conftest import AuthClient, start_order


def test_post_erasures_removes_a_customers_instances_and_reports_the_rows(
        client: AuthClient, engine: Engine) -> None:
    started = start_order(client, business_key="CUST-1").get_json()
    other = start_order(client, business_key="CUST-2").get_json()
    answer = client.post("/api/v1/erasures", json={"business_key": "CUST-1"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["business_key"] == "CUST-1" and body["instances"] == 1
    assert body["rows"] >= 2 and body["removed"]["events"] >= 1
    assert client.get(f"/api/v1/process-instances/{started['id']}").status_code == 404
    assert client.get(f"/api/v1/process-instances/{other['id']}").status_code == 200


def test_post_erasures_answers_bad_input_clearly(client: AuthClient) -> None:
    unknown = client.post("/api/v1/erasures", json={"business_key": "NOBODY"})
    assert unknown.status_code == 404
    assert "nothing was erased" in unknown.get_json()["message"]
    for body in ({"business_key": ""}, {}, {"business_key": "   "}, {"business_key": 7}):
        assert client.post("/api/v1/erasures", json=body).status_code == 422, body
    anonymous = client.raw.post("/api/v1/erasures", json={"business_key": "X"})
    assert anonymous.status_code == 401


def test_post_erasures_refuses_a_running_instance_unless_told_to_terminate(
        client: AuthClient, engine: Engine) -> None:
    started = engine.runtime.start("auto_steps", "CUST-RUN", {"lines": []})  # not run yet
    refused = client.post("/api/v1/erasures", json={"business_key": "CUST-RUN"})
    assert refused.status_code == 409
    assert refused.get_json()["details"]["running_instances"] == [started.id]
    done = client.post("/api/v1/erasures", json={"business_key": "CUST-RUN", "terminate": True})
    assert done.status_code == 200 and done.get_json()["terminated"] == 1


QUICK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="http://t">
  <bpmn:process id="quick" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none"),
           "BRIDGEFLOW_HISTORY_TTL_DAYS": "30"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    return env


def test_the_cli_cleans_up_history_and_erases_a_customer(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "quick.bpmn").write_text(QUICK)
    runner = CliRunner()
    deployed = runner.invoke(main, ["deploy", str(tmp_path / "quick.bpmn")], env=env)
    assert deployed.exit_code == 0, deployed.output
    engine = Engine(env["BRIDGEFLOW_DATABASE_URL"])
    try:
        old = engine.runtime.start("quick", "OLD", {"name": "Old Customer"}, wait=5)
        engine.runtime.start("quick", "KEEP", {"name": "Kept Customer"}, wait=5)
        with engine._core.db.write() as s:
            s.execute(update(Instance).where(Instance.id == old.id)
                      .values(ended_at=utcnow() - timedelta(days=31)))
    finally:
        engine.close()

    dry = runner.invoke(main, ["history", "cleanup", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would remove 1 instance(s) in 1 batch(es)" in dry.output
    done = runner.invoke(main, ["history", "cleanup"], env=env)
    assert "removed 1 instance(s)" in done.output and "events:" in done.output
    again = runner.invoke(main, ["history", "cleanup"], env=env)
    assert "removed 0 instance(s)" in again.output

    erased = runner.invoke(main, ["erase", "--business-key", "KEEP"], env=env)
    assert erased.exit_code == 0, erased.output
    assert "erased business key KEEP: 1 instance(s)" in erased.output
    missing = runner.invoke(main, ["erase", "--business-key", "KEEP"], env=env)
    assert missing.exit_code == 1 and "nothing was erased" in missing.output
