"""What a process test case may say, checked before it runs, and its expectations checked
after: status, where it waits, the end event, the path, variables, calls and open tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .test_files import Failure, TestDocument, matches, plain

if TYPE_CHECKING:
    from .process_tests import Model, Runner

CASE = {"name", "start", "services", "steps", "expect"}
START = {"variables", "business_key", "message"}
ANSWER = {"returns", "error", "fails"}
STEP_KINDS = ("complete", "message", "timer")
STEP = {"complete": {"complete", "as", "data", "refused", "expect"},
        "message": {"message", "business_key", "correlation_keys", "variables", "expect"},
        "timer": {"timer", "expect"}, "": {"expect"}}
EXPECT = {"status", "at", "end", "path", "passed", "not_passed", "variables",
          "variables_exact", "calls", "tasks"}
STATUSES = ("completed", "waiting", "incident", "terminated")

Path = tuple[str | int, ...]


def check_case(doc: TestDocument, model: Model, i: int, case: Any,
               users: set[str]) -> tuple[str, dict[str, Any]]:
    """Refuse a malformed case, or one naming an element, operation or message that the
    process does not have; return its name and the case."""
    path: Path = ("cases", i)
    if not isinstance(case, dict):
        raise doc.fail(path, "must be a mapping with a name, start, steps and expect")
    doc.only(case, path, CASE)
    name = doc.get(case, path, "name", str, required=True)
    start = doc.get(case, path, "start", dict, default={})
    doc.only(start, (*path, "start"), START)
    doc.get(start, (*path, "start"), "variables", dict)
    doc.get(start, (*path, "start"), "business_key", str)
    message = doc.get(start, (*path, "start"), "message", str)
    if message is not None:
        _known(doc, (*path, "start", "message"), message, model.messages, "message")
    services = doc.get(case, path, "services", dict, default={})
    for op, given in services.items():
        where = (*path, "services", op)
        _known(doc, where, op, model.operations, "operation")
        for j, answer in enumerate(given if isinstance(given, list) else [given]):
            _check_answer(doc, where if not isinstance(given, list) else (*where, j), answer)
    for j, step in enumerate(doc.get(case, path, "steps", list, default=[])):
        _check_step(doc, model, (*path, "steps", j), step, users)
    _check_expect(doc, model, (*path, "expect"), doc.get(case, path, "expect", dict,
                                                         required=True))
    return name, case


def _known(doc: TestDocument, path: Path, name: Any, known: set[str] | dict[str, str],
           what: str) -> None:
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise doc.fail(path, f"the process has no {what} '{name}' (it has: {listed})")


def _check_answer(doc: TestDocument, path: Path, answer: Any) -> None:
    if not isinstance(answer, dict) or len(set(answer) & ANSWER) != 1:
        raise doc.fail(path, "an answer is a mapping with one of returns, error or fails")
    doc.only(answer, path, ANSWER)
    if "error" in answer:
        error = doc.get(answer, path, "error", dict, required=True)
        doc.only(error, (*path, "error"), {"code", "message"})
        doc.get(error, (*path, "error"), "code", str, required=True)
        doc.get(error, (*path, "error"), "message", str)
    if "fails" in answer:
        doc.get(answer, path, "fails", str, required=True)


def _check_step(doc: TestDocument, model: Model, path: Path, step: Any,
                users: set[str]) -> None:
    if not isinstance(step, dict):
        raise doc.fail(path, "a step is a mapping: complete, message, timer or expect")
    kinds = [k for k in STEP_KINDS if k in step]
    if len(kinds) > 1:
        raise doc.fail(path, f"a step does one thing, not {' and '.join(kinds)}")
    kind = kinds[0] if kinds else ""
    doc.only(step, path, STEP[kind])
    if not step:
        raise doc.fail(path, "an empty step")
    if kind == "complete":
        element = doc.get(step, path, "complete", str, required=True)
        _known(doc, (*path, "complete"), element, model.elements, "element")
        if model.elements[element] != "userTask":
            raise doc.fail((*path, "complete"), f"'{element}' is a {model.elements[element]}, "
                                                "not a user task")
        who = doc.get(step, path, "as", str)
        if who is not None and who not in users:
            raise doc.fail((*path, "as"), f"'{who}' is not among the file's users")
        doc.get(step, path, "data", dict)
        doc.get(step, path, "refused", bool)
    elif kind == "message":
        _known(doc, (*path, "message"), doc.get(step, path, "message", str, required=True),
               model.messages, "message")
        doc.get(step, path, "business_key", str)
        doc.get(step, path, "correlation_keys", dict)
        doc.get(step, path, "variables", dict)
    elif kind == "timer":
        _known(doc, (*path, "timer"), doc.get(step, path, "timer", str, required=True),
               model.elements, "element")
    if "expect" in step:
        _check_expect(doc, model, (*path, "expect"), doc.get(step, path, "expect", dict))


def _check_expect(doc: TestDocument, model: Model, path: Path, expect: dict[str, Any]) -> None:
    doc.only(expect, path, EXPECT)
    status = doc.get(expect, path, "status", str)
    if status is not None and status not in STATUSES:
        raise doc.fail((*path, "status"), f"must be one of {', '.join(STATUSES)}")
    for key in ("at", "end"):
        element = doc.get(expect, path, key, str)
        if element is not None:
            _known(doc, (*path, key), element, model.elements, "element")
    for key in ("path", "passed", "not_passed", "tasks"):
        for j, element in enumerate(doc.get(expect, path, key, list, default=[])):
            _known(doc, (*path, key, j), element, model.elements, "element")
    doc.get(expect, path, "variables", dict)
    doc.get(expect, path, "variables_exact", dict)
    for op, want in doc.get(expect, path, "calls", dict, default={}).items():
        _known(doc, (*path, "calls", op), op, model.operations, "operation")
        if not isinstance(want, int | list) or isinstance(want, bool):
            raise doc.fail((*path, "calls", op),
                           "must be a number of calls or a list of the parameters of each")


def check_expect(runner: Runner, expect: dict[str, Any]) -> list[Failure]:
    """The expectations of ``expect`` that do not hold for the runner's instance."""
    failures: list[Failure] = []
    engine, where = runner.engine, runner.where()
    inst = engine.runtime.instance(runner.instance_id)
    visited = engine.history.path_taken(runner.instance_id)
    passed = [v.element_id for v in visited]
    if "status" in expect and inst.status != expect["status"]:
        failures.append(Failure("status", expect["status"], inst.status, where))
    if "at" in expect:
        here = [i.element_id for i in engine.management.incidents_of(runner.instance_id)] \
            if inst.status == "incident" else list(inst.active_elements or [])
        if expect["at"] not in here:
            failures.append(Failure("stands at", expect["at"], here, where or expect["at"]))
    if "end" in expect:
        ends = [e for e in passed if runner.model.elements.get(e) == "endEvent"]
        if expect["end"] not in ends:
            failures.append(Failure("end event", expect["end"], ends or None, where))
    if "path" in expect:
        missing = _first_missing_in_order(expect["path"], passed)
        if missing is not None:
            failures.append(Failure("path (in order)", expect["path"], passed, missing))
    for element in expect.get("passed") or []:
        if element not in passed:
            failures.append(Failure("passed", element, "not passed", element))
    for element in expect.get("not_passed") or []:
        if element in passed:
            failures.append(Failure("not passed", element, "passed", element))
    if "tasks" in expect:
        open_ = sorted(t.element_id for t in engine.tasks.open_tasks_of(runner.instance_id))
        if open_ != sorted(expect["tasks"]):
            failures.append(Failure("open tasks", sorted(expect["tasks"]), open_, where))
    variables = plain(runner.variables())
    for partial, key in ((True, "variables"), (False, "variables_exact")):
        for name, want in (expect.get(key) or {}).items():
            if not matches(want, variables.get(name), partial) or name not in variables:
                failures.append(Failure(f"variable {name}", want,
                                        variables.get(name, "(not set)"), where))
    failures.extend(_check_calls(runner, expect.get("calls") or {}, where))
    return failures


def _first_missing_in_order(expected: list[str], passed: list[str]) -> str | None:
    """The first element of ``expected`` not found in ``passed`` after the one before it."""
    position = 0
    for element in expected:
        try:
            position = passed.index(element, position) + 1
        except ValueError:
            return element
    return None


def _check_calls(runner: Runner, calls: dict[str, Any], where: str | None) -> list[Failure]:
    failures = []
    for op, want in calls.items():
        made = [c for c in runner.script.calls if c.operation == op]
        if isinstance(want, int):
            if len(made) != want:
                failures.append(Failure(f"calls of {op}", want, len(made),
                                        made[-1].element_id if made else where))
            continue
        params = [plain(c.params) for c in made]
        if not matches(want, params):
            failures.append(Failure(f"calls of {op}", want, params,
                                    made[0].element_id if made else where))
    return failures
