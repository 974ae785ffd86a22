"""``bridgeflow start`` of a report: a bad period is refused on the command line, nothing made."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from web.cli import main

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def test_a_report_with_a_bad_period_is_refused_and_a_good_one_starts(tmp_path: Path) -> None:
    # connectors named but never called: building them does no I/O, and no worker runs
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "BRIDGEFLOW_PROCESSES_DIR": str(PROCESSES),
           "BRIDGEFLOW_MAPPINGS_DIR": str(PROCESSES / "mappings"),
           "BRIDGEFLOW_ERP_URL": "http://127.0.0.1:9", "BRIDGEFLOW_CRM_URL": "http://127.0.0.1:9",
           "BRIDGEFLOW_CRM_CLIENT_SECRET": "s", "BRIDGEFLOW_SMTP_HOST": "127.0.0.1"}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    deployed = runner.invoke(main, ["deploy", str(PROCESSES)], env=env)
    assert deployed.exit_code == 0 and "process sales_report version 1" in deployed.output
    for period, says in (("2026-13", "'2026-13' is not a period; use a month like 2026-11, "
                                     "an ISO week like 2026-W47, a quarter like 2026-Q4 or a "
                                     "year like 2026"),
                         ("2999-Q1", "2999-Q1 (Q1 2999) is in the future; a report covers a period "
                                     "that is over, such as 20")):
        refused = runner.invoke(main, ["start", "sales_report", "--var", f"period={period}"],
                                env=env)
        assert refused.exit_code == 1
        assert refused.output.startswith("error: sales_report cannot start with these "
                                         "variables: 'period': ") and says in refused.output
    assert "0 instance(s)" in runner.invoke(main, ["instances"], env=env).output
    started = runner.invoke(main, ["start", "sales_report", "--var", "period=2025-06"],
                            env=env)
    assert started.exit_code == 0, started.output
    assert json.loads(started.output)["variables"] == {"period": "2025-06"}
