"""Analysts' process tests: a case passes, each kind of broken expectation is reported with
what was expected, what happened and where, and a malformed file says which line is wrong."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine import FileResult, report, run_test_file

PROCESSES = Path(__file__).resolve().parents[2] / "processes"

SERVICES = """
    services:
      crm.get_contract:
        returns:
          contract_number: "00000100"
          amount: 12000
          term_months: 12
          owner: {name: Sam Seller, email: sam@example.com}
          account: {id: "001000000000001AAA", name: Acme, tier: gold}
      erp.get_credit:
        returns: {limit: "50000.00", exposure: "10000.00", available: "40000.00"}
      crm.update_contract: {returns: {updated: [Status]}}
      crm.create_task: {returns: {task_id: "00T1", created: true}}
      notify.email: {returns: {message_id: "<1@example.org>"}}
"""


def sources() -> dict[str, bytes]:
    names = ("credit_approval.bpmn", "credit_decision.dmn", "forms/credit_review.json")
    return {Path(n).name: (PROCESSES / n).read_bytes() for n in names}


def run(text: str) -> FileResult:
    return run_test_file("credit_approval.test.yaml", text.encode(), sources())


def case(name: str, expect: str, start: str = "message: contract_submitted") -> str:
    return f"""
  - name: {name}
    start:
      {start}
      variables: {{record_id: "800000000000001AAA"}}
{SERVICES}
    expect:
{expect}
"""


@pytest.fixture(scope="module")
def broken() -> FileResult:
    """One file: a passing case, then one case per kind of expectation, each wrong."""
    cases = [
        case("passes", "      status: completed\n      end: contract_decided"),
        case("wrong status", "      status: waiting"),
        case("wrong end", "      end: review_chased"),
        case("path out of order", "      path: [record_decision, decide_credit]"),
        case("not passed", "      passed: [review_credit]"),
        case("passed but should not", "      not_passed: [decide_credit]"),
        case("wrong variable", "      variables: {credit_decision: {decision: reject}}"),
        case("wrong call", "      calls: {crm.update_contract: [{fields: {Status: X}}]}"),
        case("wrong count", "      calls: {notify.email: 2}"),
        case("open tasks", "      tasks: [review_credit]"),
        case("stands at", "      at: review_credit"),
    ]
    return run("process: credit_approval\ncases:\n" + "".join(cases))


def failures(result: FileResult, name: str) -> list[tuple[str, object, object, object]]:
    (found,) = [c for c in result.cases if c.name == name]
    return [(f.expectation, f.expected, f.actual, f.element_id) for f in found.failures]


def test_a_case_that_holds_passes(broken: FileResult) -> None:
    assert broken.error is None
    assert failures(broken, "passes") == []
    assert "PASS passes" in report([broken])


def test_each_broken_expectation_says_expected_actual_and_where(broken: FileResult) -> None:
    assert failures(broken, "wrong status") == [("status", "waiting", "completed", None)]
    assert failures(broken, "wrong end") == [
        ("end event", "review_chased", ["contract_decided"], None)]
    ((what, _, actual, element),) = failures(broken, "path out of order")
    assert (what, element) == ("path (in order)", "decide_credit")
    assert actual[:3] == ["contract_submitted", "read_contract", "read_credit"]
    assert failures(broken, "not passed") == [
        ("passed", "review_credit", "not passed", "review_credit")]
    assert failures(broken, "passed but should not") == [
        ("not passed", "decide_credit", "passed", "decide_credit")]
    ((what, expected, actual, _),) = failures(broken, "wrong variable")
    assert (what, expected) == ("variable credit_decision", {"decision": "reject"})
    assert actual["decision"] == "auto_approve"
    ((what, _, actual, element),) = failures(broken, "wrong call")
    assert (what, element) == ("calls of crm.update_contract", "record_decision")
    assert actual[0]["fields"]["Status"] == "Activated"
    assert failures(broken, "wrong count") == [
        ("calls of notify.email", 2, 1, "email_owner")]
    assert failures(broken, "open tasks") == [("open tasks", ["review_credit"], [], None)]
    assert failures(broken, "stands at")[0][:3] == ("stands at", "review_credit", [])
    text = report([broken])
    assert "FAIL wrong status\n       status: expected 'waiting', got 'completed'" in text
    assert text.endswith("1 passed, 10 failed, 0 file(s) with errors")


def test_a_call_without_a_scripted_answer_fails_the_case_at_its_element() -> None:
    result = run("process: credit_approval\ncases:\n" + case("x", "      status: completed")
                 .replace("      notify.email: {returns: {message_id: \"<1@example.org>\"}}\n",
                          ""))
    assert failures(result, "x") == [
        ("an answer for notify.email", "scripted in services", "none given", "email_owner"),
        ("status", "completed", "incident", "email_owner")]


@pytest.mark.parametrize(("text", "message"), [
    ("process: credit_approval\ncases: [\n", "credit_approval.test.yaml, line 3: is not "
                                             "valid YAML"),
    ("- a list\n", "line 1: must be a mapping with 'process' or 'decision'"),
    ("cases: []\n", "names neither a process nor a decision"),
    ("process: credit_approval\n", "cases: is required"),
    ("process: credit_approval\ncases: []\n", "line 2: cases: must list at least one case"),
    ("process: nope\ncases: [{}]\n", "process: no deployed BPMN file defines process 'nope'"),
    ("process: credit_approval\ncolour: red\ncases: []\n",
     "line 2: colour: unknown field; expected one of cases, process, users"),
    ("process: credit_approval\ncases:\n  - name: x\n    expect:\n      status: done\n",
     "line 5: cases[0].expect.status: must be one of completed, waiting, incident"),
    ("process: credit_approval\ncases:\n  - name: x\n    expect:\n"
     "      passed: [decide_credit, nowhere]\n",
     "line 5: cases[0].expect.passed[1]: the process has no element 'nowhere'"),
    ("process: credit_approval\ncases:\n  - name: x\n    services:\n      erp.nothing: {}\n"
     "    expect: {}\n", "line 5: cases[0].services.erp.nothing: the process has no "
                        "operation 'erp.nothing'"),
    ("process: credit_approval\ncases:\n  - name: x\n    services:\n"
     "      erp.get_credit: {returns: 1, fails: x}\n    expect: {}\n",
     "cases[0].services.erp.get_credit: an answer is a mapping with one of returns, error"),
    ("process: credit_approval\ncases:\n  - name: x\n    steps:\n      - complete: read_credit\n"
     "    expect: {}\n", "'read_credit' is a serviceTask, not a user task"),
    ("process: credit_approval\ncases:\n  - name: x\n    steps:\n      - message: hello\n"
     "    expect: {}\n", "line 5: cases[0].steps[0].message: the process has no message "
                        "'hello' (it has: contract_submitted)"),
    ("process: credit_approval\ncases:\n  - name: 7\n    expect: {}\n",
     "line 3: cases[0].name: must be a text, not whole number"),
    ("process: credit_approval\ncases:\n  - name: x\n    steps:\n"
     "      - {complete: review_credit, as: zoe}\n    expect: {}\n",
     "cases[0].steps[0].as: 'zoe' is not among the file's users"),
])
def test_a_malformed_file_names_its_line_and_field(text: str, message: str) -> None:
    result = run(text)
    assert result.error is not None
    assert message in result.error.message
    assert result.cases == []
    assert f"ERROR {result.error.message}" in report([result])


def test_a_file_too_large_is_refused_unread() -> None:
    result = run("# x\n" * 70_000)
    assert result.error is not None
    assert "at most 262144 are accepted" in result.error.message


def alias_bomb(levels: int) -> str:
    """A few hundred bytes of YAML whose aliases stand for 10 ** ``levels`` values."""
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 10)
                     + "]")
    return "process: credit_approval\n" + "\n".join(lines) + "\ncases: []\n"


def test_aliases_that_expand_past_the_limit_are_refused_at_once() -> None:
    started = time.monotonic()
    result = run(alias_bomb(9))  # a billion values: before, gigabytes and many seconds
    assert result.error is not None
    assert "has more than 200000 values once its aliases (*name) are expanded" in \
        result.error.message
    assert time.monotonic() - started < 5


def test_a_file_nested_too_deeply_is_refused() -> None:
    result = run("process: credit_approval\ncases: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert result.error is not None
    assert "is nested too deeply to read" in result.error.message


def test_a_timer_that_is_not_waiting_fails_the_step() -> None:
    result = run("process: credit_approval\ncases:\n" + case(
        "no timer", "      status: completed").replace(
        "    expect:", "    steps:\n      - timer: review_overdue\n    expect:"))
    assert failures(result, "no timer") == [
        ("a timer is waiting", "review_overdue", "no timer", "review_overdue")]
