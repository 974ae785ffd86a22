"""Schemathesis over the OpenAPI document: no request the document allows (or almost allows)
may make the API answer 5xx. Slow: a fixed number of examples per operation, derandomized.

Run it: ``pytest -m slow tests/fuzz -s`` (prints the figures); BRIDGEFLOW_FUZZ_EXAMPLES sets
the examples per operation and mode (40: 21 operations x 2 modes x 40 = 1,680 requests, about
a minute). Before the fixes of issue 12 it found ``GET /incidents?page=1152921504606846977``
(an OFFSET beyond the database's integers) answering 500.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from ..web.conftest import ALL_SCOPES, FIXTURES, prepared_app
from ..web.processes import approval, waits_for_message

EXAMPLES = int(os.environ.get("BRIDGEFLOW_FUZZ_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for the whole run, with a user task and a message wait to find."""
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    app = prepared_app({"database_url": f"sqlite:///{path}", "run_worker_in_web": False,
                        "processes_dir": str(FIXTURES)})
    app.config["TESTING"] = True
    engine = app.extensions["bridgeflow"]
    app.config["FUZZ_KEY"] = engine.identity.create_api_key("fuzzer", ALL_SCOPES)
    engine.repository.deploy({"approval.bpmn": approval(), "payment.bpmn": waits_for_message()})
    inst = engine.runtime.start("approval", "PO-1", {}, wait=5)
    engine.runtime.start("payment", "INV-1", {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    app.config["FUZZ_IDS"] = {"/process-definitions": "approval", "/decisions": "discount",
                              "/process-instances": inst.id, "/tasks": task.id}
    yield app
    engine.close()


def fuzz_operation(app: Flask, operation: Any, mode: GenerationMode,
                   counts: Counter[str]) -> None:
    """Send ``EXAMPLES`` generated requests to one operation; fail on the first 5xx."""
    headers = {"Authorization": f"Bearer {app.config['FUZZ_KEY']}"}

    ids = app.config["FUZZ_IDS"]
    known = {name: value for prefix, value in ids.items() if operation.path.startswith(prefix)
             for name in ("id", "key") if "{" + name + "}" in operation.path}
    # valid requests reach a real definition, instance or task; invalid ones anything
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=(
        known if mode is GenerationMode.POSITIVE and known else None))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        if case.query and "wait" in case.query:
            case.query["wait"] = 0  # a bounded wait is tested elsewhere; here it only slows
        response = case.call(headers=headers)
        counts[f"{response.status_code}"] += 1
        case.validate_response(response, checks=[not_a_server_error])

    run()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_no_request_makes_the_api_fail(fuzz_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    counts: Counter[str] = Counter()
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    # every route of the API is in the document, so every route is fuzzed
    assert _routes(fuzz_app) <= {_shape(op.label) for op in operations}
    for operation in operations:
        for mode in GenerationMode:  # valid requests, then ones the document does not allow
            try:
                fuzz_operation(fuzz_app, operation, mode, counts)
            except Exception as exc:  # noqa: BLE001 - collected: every operation is fuzzed
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:3000]
    print(f"fuzzed {counts.total()} requests over {len(operations)} operations; "
          f"statuses: {dict(sorted(counts.items()))}")
    assert failures == {}
    assert not any(status.startswith("5") for status in counts)


def _shape(label: str) -> str:
    """``POST /tasks/{id}/claim`` with its parameters unnamed: ``POST /tasks/{}/claim``."""
    return re.sub(r"\{[^}]*\}", "{}", label)


def _routes(app: Flask) -> set[str]:
    """The API's routes as the document's labels name them (parameters unnamed)."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        if rule.rule.startswith("/api/v1/webhooks/"):
            continue  # signed by the sender (HMAC), not an API: tests/web/test_webhooks.py
        path = re.sub(r"<[^>]*>", "{}", rule.rule.removeprefix("/api/v1"))
        out |= {f"{method} {path}" for method in rule.methods or ()
                if method not in ("HEAD", "OPTIONS")}
    return out
