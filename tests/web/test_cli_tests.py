"""``bridgeflow test``: a readable report, and an exit status CI can act on (0 all pass,
1 a case fails, 2 a file is malformed), for process and decision test files."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner, Result

from web.cli import main

PROCESSES = Path(__file__).resolve().parents[2] / "processes"

REFUND_ROWS = """decision: refund_approval
cases:
  - name: gold, exactly 1000
    inputs: {refund_amount: 1000, case: {account: {tier: gold}}}
    outputs: {finance_approval: false}
    rules: [gold_small]
"""


def folder(tmp_path: Path, test_text: str) -> Path:
    """A processes folder with the refund table and one test file beside it."""
    shutil.copy(PROCESSES / "refund_approval.dmn", tmp_path)
    (tmp_path / "refund_approval.test.yaml").write_text(test_text)
    return tmp_path


def bridgeflow_test(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["test", *args], env=env)


def test_all_passing_exits_0_with_a_report(tmp_path: Path) -> None:
    result = bridgeflow_test(str(folder(tmp_path, REFUND_ROWS)))
    assert result.exit_code == 0, result.output
    assert "refund_approval.test.yaml (decision refund_approval)" in result.output
    assert "  PASS gold, exactly 1000" in result.output
    assert result.output.strip().endswith("1 passed, 0 failed, 0 file(s) with errors")


def test_a_failing_row_exits_1_and_says_what_differs(tmp_path: Path) -> None:
    wrong = REFUND_ROWS.replace("finance_approval: false", "finance_approval: true") \
        .replace("[gold_small]", "[gold_large]")
    result = bridgeflow_test(str(folder(tmp_path, wrong) / "refund_approval.test.yaml"))
    assert result.exit_code == 1
    assert "  FAIL gold, exactly 1000" in result.output
    assert "outputs: expected {'finance_approval': True}, got {'finance_approval': False" \
        in result.output
    assert "matched rules at gold_small: expected ['gold_large'], got ['gold_small']" \
        in result.output


def test_a_rule_the_table_does_not_have_is_an_error_exit_2(tmp_path: Path) -> None:
    result = bridgeflow_test(str(folder(tmp_path, REFUND_ROWS.replace(
        "[gold_small]", "[gold_tiny]"))))
    assert result.exit_code == 2
    assert ("refund_approval.test.yaml, line 6: cases[0].rules[0]: the decision has no rule "
            "'gold_tiny'; its rules are no_amount, gold_small") in result.output


def test_a_decision_that_does_not_exist_is_an_error_exit_2(tmp_path: Path) -> None:
    result = bridgeflow_test(str(folder(tmp_path, REFUND_ROWS.replace(
        "decision: refund_approval", "decision: refund_policy"))))
    assert result.exit_code == 2
    assert "line 1: decision: no deployed DMN file defines decision 'refund_policy'" \
        in result.output


def test_a_row_without_anything_to_check_is_an_error(tmp_path: Path) -> None:
    text = "decision: refund_approval\ncases:\n  - inputs: {refund_amount: 5}\n"
    result = bridgeflow_test(str(folder(tmp_path, text)))
    assert result.exit_code == 2
    assert "line 3: cases[0]: says nothing to check: give outputs, rules or error" \
        in result.output


def test_no_path_runs_the_configured_processes_folder(tmp_path: Path) -> None:
    folder(tmp_path, REFUND_ROWS)
    result = bridgeflow_test(env={"BRIDGEFLOW_PROCESSES_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output


def test_no_test_files_is_exit_2(tmp_path: Path) -> None:
    result = bridgeflow_test(str(tmp_path))
    assert result.exit_code == 2
    assert "no test files (*.test.yaml) under" in result.output


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = bridgeflow_test(str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
