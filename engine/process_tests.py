"""Running an analyst's process test file: named cases against the real engine, in isolation.

Each file gets a temporary SQLite database of its own and an ``Engine`` whose operations
answer what the case scripts (no ERP or CRM is called); every case starts its own instance,
drives it (task completions, messages, timers) and checks what must be true after.
"""

from __future__ import annotations

import base64
import secrets
import tempfile
from pathlib import Path
from typing import Any

from .config import Settings
from .decision_tests import parse_xml
from .errors import EngineError
from .facade import Engine
from .instances import create_instance
from .process_checks import check_case, check_expect
from .process_script import Script, scripted_registry
from .test_files import CaseResult, Failure, FileResult, TestDocument
from .timer_firing import fire_timer
from .worker import Worker

MAX_JOBS_PER_STEP = 2000


class Model:
    """What a test may name: the process's elements, its operations, its messages."""

    def __init__(self, key: str, sources: dict[str, bytes]) -> None:
        self.key = key
        self.elements: dict[str, str] = {}  # element id → tag (userTask, endEvent, …)
        self.operations: set[str] = set()
        self.messages: set[str] = set()
        self.found = False
        self.timer_start = False  # started by a timer start event (started by hand here)
        for name, source in sources.items():
            if not name.endswith(".bpmn"):
                continue
            root = parse_xml(source)
            for el in root.iter("{*}message"):
                if el.get("name"):
                    self.messages.add(el.get("name"))
            for el in root.iter():
                topic = el.get("{http://camunda.org/schema/1.0/bpmn}topic")
                if topic:
                    self.operations.add(topic)
            for process in root.iter("{*}process"):
                if process.get("id") == key:
                    self.found = True
                    self.timer_start = any(
                        next(start.iter("{*}timerEventDefinition"), None) is not None
                        for start in process.iterfind("{*}startEvent"))
                    for el in process.iter():
                        if isinstance(el.tag, str) and el.get("id") and _is_node(el.tag):
                            self.elements[el.get("id")] = etree_local(el.tag)


def etree_local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _is_node(tag: str) -> bool:
    """Tell whether an element is one a token passes: a task, event, gateway or subprocess
    (not a flow, a definition or an extension)."""
    name = etree_local(tag)
    return (name.endswith(("Task", "Event", "Gateway"))
            or name in ("task", "subProcess", "callActivity", "transaction"))


def run_process_tests(doc: TestDocument, sources: dict[str, bytes]) -> FileResult:
    """Check the whole file first (an error stops it), then run every case."""
    data = doc.data
    doc.only(data, (), {"process", "cases", "users"})
    key = doc.get(data, (), "process", str, required=True)
    model = Model(key, sources)
    if not model.found:
        raise doc.fail(("process",), f"no deployed BPMN file defines process '{key}'")
    users = doc.get(data, (), "users", dict, default={})
    for name, groups in users.items():
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise doc.fail(("users", name), "must be a list of group names")
    cases = doc.get(data, (), "cases", list, required=True)
    if not cases:
        raise doc.fail(("cases",), "must list at least one case")
    checked = [check_case(doc, model, i, case, set(users)) for i, case in enumerate(cases)]
    deployable = {n: s for n, s in sources.items()
                  if n.endswith((".bpmn", ".dmn", ".json")) and ".test." not in n}
    with tempfile.TemporaryDirectory(prefix="bridgeflow-tests-") as tmp:
        script = Script()
        engine = Engine(f"sqlite:///{Path(tmp) / 'tests.db'}",
                        Settings(checkpoint_every_step=True, job_lease_seconds=30,
                                 processes_dir=tmp, secret_key=secrets.token_hex(32),
                                 # a throw-away key: the database goes when the run ends
                                 encryption_keys="t1:" + base64.b64encode(
                                     secrets.token_bytes(32)).decode()),
                        scripted_registry(model.operations, script))
        try:
            engine._core.db.upgrade()
            engine.repository.deploy(deployable, deployed_by="bridgeflow test")
            for name, groups in users.items():
                _add_user(engine, name, groups)
            results = [CaseResult(name, Runner(engine, model, script).run(case))
                       for name, case in checked]
        finally:
            engine.close()
    return FileResult(doc.filename, "process", key, results)


def _add_user(engine: Engine, name: str, groups: list[str]) -> None:
    engine.identity.create_user(name, secrets.token_urlsafe(24) + "aA1!", groups=groups,
                                role="user")


class Runner:
    """Drives one case's instance and collects the expectations that fail."""

    def __init__(self, engine: Engine, model: Model, script: Script) -> None:
        self.engine = engine
        self.model = model
        self.script = script
        self.worker = Worker(engine, "bridgeflow-test")
        self.instance_id = ""
        self.failures: list[Failure] = []

    def run(self, case: dict[str, Any]) -> list[Failure]:
        self.script.reset(case.get("services") or {})
        try:
            self._start(case.get("start") or {})
            for step in case.get("steps") or []:
                self._step(step)
                if self.failures:
                    break
            if not self.failures:
                self.failures.extend(check_expect(self, case.get("expect") or {}))
        except EngineError as exc:
            self.failures.append(Failure("the case runs", "no error", exc.message,
                                         self.where()))
        self.failures[:0] = self.script.problems
        return self.failures

    def drain(self) -> None:
        for _ in range(MAX_JOBS_PER_STEP):
            if not self.worker.poll_once():
                return
        self.failures.append(Failure("the process waits or ends", "it stops",
                                     f"still running after {MAX_JOBS_PER_STEP} jobs",
                                     self.where()))

    def where(self) -> str | None:
        """The element the instance stands at (an incident's first), for the diagram."""
        if not self.instance_id:
            return None
        incidents = self.engine.management.incidents_of(self.instance_id)
        if incidents:
            return incidents[0].element_id
        tasks = self.engine.tasks.open_tasks_of(self.instance_id)
        if tasks:
            return tasks[0].element_id
        active = self.engine.runtime.instance(self.instance_id).active_elements
        return active[0] if active else None

    def _start(self, start: dict[str, Any]) -> None:
        variables = start.get("variables") or {}
        business_key = start.get("business_key")
        if start.get("message"):
            result = self.engine.runtime.send_message(start["message"], business_key,
                                                      variables=variables)
            if not result.started:
                raise EngineError(f"message '{start['message']}' started no instance")
            self.instance_id = result.started[0]
        elif self.model.timer_start:
            core = self.engine._core
            with core.db.write() as s:
                row, _ = create_instance(s, core.definitions, self.model.key, business_key,
                                         variables, started_by="bridgeflow test",
                                         start_timer=True)
                self.instance_id = row.id
        else:
            self.instance_id = self.engine.runtime.start(self.model.key, business_key,
                                                         variables).id
        self.drain()

    def _step(self, step: dict[str, Any]) -> None:
        if "complete" in step:
            self._complete(step)
        elif "message" in step:
            self.engine.runtime.send_message(step["message"], step.get("business_key"),
                                             step.get("correlation_keys"),
                                             step.get("variables") or {})
            self.drain()
        elif "timer" in step:
            if not fire_timer(self.engine, self.instance_id, step["timer"]):
                self.failures.append(Failure("a timer is waiting", step["timer"],
                                             self.where() or "no timer", step["timer"]))
                return
            self.drain()
        if "expect" in step:
            self.failures.extend(check_expect(self, step["expect"]))

    def _complete(self, step: dict[str, Any]) -> None:
        element = step["complete"]
        tasks = {t.element_id: t for t in self.engine.tasks.open_tasks_of(self.instance_id)}
        task = tasks.get(element)
        if task is None:
            self.failures.append(Failure("an open task", element, sorted(tasks) or "none",
                                         self.where() or element))
            return
        user = step.get("as") or self._tester(task.candidate_groups or [])
        try:
            self.engine.tasks.claim(task.id, user)
            self.engine.tasks.complete(task.id, user, step.get("data") or {})
        except EngineError as exc:
            if step.get("refused"):
                return
            self.failures.append(Failure(f"{user} completes the task", "accepted",
                                         exc.message, element))
            return
        if step.get("refused"):
            self.failures.append(Failure(f"{user} completes the task", "refused", "accepted",
                                         element))
            return
        self.drain()

    def _tester(self, groups: list[str]) -> str:
        name = f"tester-{secrets.token_hex(4)}"
        _add_user(self.engine, name, groups)
        return name

    def variables(self) -> dict[str, Any]:
        return dict(self.engine.runtime.instance(self.instance_id).variables or {})





def run_test_file(filename: str, content: bytes, sources: dict[str, bytes]) -> FileResult:
    """Run one process or decision test file against ``sources`` (file name → bytes of the
    BPMN, DMN and form files); a malformed file gives a result whose ``error`` says why."""
    from .decision_tests import run_decision_tests
    from .test_files import TestFileError, load_test_file
    try:
        doc = load_test_file(filename, content)
        if "decision" in doc.data:
            return run_decision_tests(doc, sources)
        if "process" not in doc.data:
            raise doc.fail((), "names neither a process nor a decision")
        return run_process_tests(doc, sources)
    except TestFileError as exc:
        key = ""
        return FileResult(filename, "", key, [], exc)
