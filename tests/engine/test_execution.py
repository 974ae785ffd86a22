"""Running processes end to end through the engine, with state saved and restored at every step."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from engine import Engine
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import Instance

from .conftest import FIXTURES, FakeSystem


def _types(engine: Engine, instance_id: str) -> list[tuple[str, str | None]]:
    return [(e.type, e.element_id) for e in engine.history.events_of(instance_id)]


def test_automatic_process_runs_to_the_end_with_its_rule(engine: Engine) -> None:
    inst = engine.runtime.start("auto_steps", "order-1", {"lines": [{"qty": 3, "price": 500.0}]},
                                wait=5)
    assert inst.status == "completed"
    assert inst.variables["size"] == "large"
    assert inst.variables["discount"] == 5
    assert inst.variables["net"] == 1425.0
    steps = [el for t, el in _types(engine, inst.id) if t == "step"]
    assert steps == ["start_event", "compute_total", "is_large", "mark_large", "merge",
                     "choose_discount", "apply_discount", "summarize", "end_event"]


def test_the_default_flow_is_taken_when_no_condition_holds(engine: Engine) -> None:
    inst = engine.runtime.start("auto_steps", None, {"lines": [{"qty": 1, "price": 10.0}]}, wait=5)
    assert (inst.status, inst.variables["size"], inst.variables["net"]) == ("completed",
                                                                              "small", 10.0)


def test_unknown_process_and_bad_variables_are_refused_and_store_nothing(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no process with key 'nope'"):
        engine.runtime.start("nope")
    with pytest.raises(InvalidInputError, match="variables must be a JSON object"):
        engine.runtime.start("auto_steps", None, ["not", "a", "dict"])
    with pytest.raises(InvalidInputError) as err:
        engine.runtime.start("auto_steps", None, {"1x": 1, "ok": 2})
    assert "1x" in err.value.details["fields"]
    assert engine.runtime.list_instances().total == 0


def test_user_task_waits_with_its_form_group_and_due_date(engine: Engine,
                                                          drain: Callable[..., None],
                                                          system: FakeSystem) -> None:
    inst = engine.runtime.start("review", "contract-7", {"amount_requested": 900}, wait=5)
    assert inst.status == "waiting"
    assert inst.active_elements == ["review_request"]
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.candidate_groups == ["finance"]
    assert task.due_at is not None and (task.due_at - task.created_at).total_seconds() == 4 * 3600
    assert task.form is not None
    assert task.form["required"] == ["decision", "amount"]
    assert task.form["properties"]["decision"]["enum"] == ["approve", "reject"]

    with pytest.raises(InvalidInputError) as err:
        engine.tasks.complete(task.id, "fiona", {"decision": "maybe", "amount": -5})
    assert set(err.value.details["fields"]) == {"decision", "amount"}
    assert engine.tasks.task(task.id).status == "ready"

    engine.tasks.claim(task.id, "fiona")
    with pytest.raises(ConflictError, match="claimed by fiona"):
        engine.tasks.complete(task.id, "bob", {"decision": "approve", "amount": 900})
    engine.tasks.complete(task.id, "fiona", {"decision": "approve", "amount": 900}, wait=5)
    with pytest.raises(ConflictError, match="already completed"):
        engine.tasks.complete(task.id, "fiona", {"decision": "approve", "amount": 900})

    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables["record"] == {"saved": True, "decision": "approve"}
    [(op, params, ctx)] = system.calls
    assert (op, params) == ("test.record", {"decision": "approve", "source": "review"})
    assert ctx.idempotency_key.startswith(f"{inst.id}:record_decision:")
    actors = [(e.type, e.actor) for e in engine.history.events_of(inst.id)
              if e.type.startswith("task_")]
    assert ("task_claimed", "fiona") in actors and ("task_completed", "fiona") in actors


def test_two_people_completing_one_task_at_once_one_gets_a_conflict(engine: Engine) -> None:
    inst = engine.runtime.start("review", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def complete(user: str) -> None:
        barrier.wait()
        try:
            engine.tasks.complete(task.id, user, {"decision": "reject", "amount": 0})
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=complete, args=(u,)) for u in ("ann", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]


def test_transient_failures_are_retried_then_succeed(engine: Engine, drain: Callable[..., None],
                                                     system: FakeSystem) -> None:
    system.fail_times = 2
    inst = engine.runtime.start("review", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {"decision": "approve", "amount": 1}, wait=1)
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    outcomes = [e.data["outcome"] for e in engine.history.events_of(inst.id)
                if e.type == "service_call"]
    assert outcomes == ["failed", "failed", "ok"]


def test_retries_run_out_into_an_incident_and_an_admin_retry_resumes(
        engine: Engine, drain: Callable[..., None], system: FakeSystem) -> None:
    system.fail_times = 3
    inst = engine.runtime.start("review", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {"decision": "approve", "amount": 1}, wait=1)
    drain(lambda: engine.runtime.instance(inst.id).status == "incident")
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "record_decision"
    assert incident.error_type == "service_failed"
    assert "connection refused" in incident.message
    engine.management.retry_incident(incident.id, actor="admin")
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(inst.id).variables["record"]["saved"] is True
    assert len(system.calls) == 4
    # every retry, the admin's included, is the same call to the connector
    assert len({ctx.idempotency_key for _, _, ctx in system.calls}) == 1
    assert engine.management.incidents_of(inst.id) == []


def test_business_error_takes_the_error_boundary_path(engine: Engine) -> None:
    enough = engine.runtime.start("stock_check", None, {"qty": 3}, wait=5)
    assert (enough.status, enough.variables["outcome"]) == ("completed", "reserved")
    short = engine.runtime.start("stock_check", None, {"qty": 50}, wait=5)
    assert (short.status, short.variables["outcome"]) == ("completed", "awaiting restock")
    assert short.variables["error_code"] == "stock_short"


def test_script_failure_opens_an_incident_naming_element_and_line(engine: Engine) -> None:
    inst = engine.runtime.start("escape", None, {"divisor": 0}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "divide"
    assert incident.details["line"] == 2
    assert "division by zero" in incident.message


def test_fixing_data_is_not_possible_but_retry_reruns_the_script(engine: Engine,
                                                                 drain: Callable[..., None],
                                                                 ) -> None:
    inst = engine.runtime.start("escape", None, {"divisor": 0}, wait=5)
    [incident] = engine.management.incidents_of(inst.id)
    engine.management.retry_incident(incident.id, "admin")
    drain()
    # The data did not change, so the script fails again: a new incident, same element.
    again = engine.management.incidents_of(inst.id)
    assert [i.element_id for i in again] == ["divide"]
    assert again[0].id != incident.id


def test_suspended_instance_does_not_move_until_resumed(engine: Engine,
                                                        drain: Callable[..., None]) -> None:
    inst = engine.runtime.start("wait_for_restock", "o-1", {}, wait=5)
    engine.management.suspend(inst.id, "admin")
    with pytest.raises(ConflictError):
        engine.management.suspend(inst.id, "admin")
    engine.runtime.send_message("stock_replenished", business_key="o-1")
    drain()
    assert engine.runtime.instance(inst.id).status == "suspended"
    engine.management.resume(inst.id, "admin")
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    audited = [(e.type, e.actor) for e in engine.history.events_of(inst.id)
               if e.type.startswith("instance_") and e.actor == "admin"]
    assert audited == [("instance_suspended", "admin"), ("instance_resumed", "admin")]


def test_terminate_cancels_open_tasks(engine: Engine) -> None:
    inst = engine.runtime.start("review", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.management.terminate(inst.id, "admin")
    assert engine.runtime.instance(inst.id).status == "terminated"
    assert engine.tasks.task(task.id).status == "cancelled"
    with pytest.raises(ConflictError, match="already cancelled"):
        engine.tasks.complete(task.id, "fiona", {"decision": "approve", "amount": 1})


def test_instances_keep_their_version_after_a_new_deployment(engine: Engine) -> None:
    first = engine.runtime.start("review", None, {}, wait=5)
    source = engine.repository.definition("review").source.replace(
        'name="Review the request"', 'name="Review the request (v2)"')
    [deployed] = engine.repository.deploy({"review.bpmn": source.encode()})
    assert (deployed.version, deployed.new_version) == (2, True)
    [again] = engine.repository.deploy({"review.bpmn": source.encode()})
    assert (again.version, again.new_version) == (2, False)
    second = engine.runtime.start("review", None, {}, wait=5)
    assert (engine.runtime.instance(first.id).version, second.version) == (1, 2)
    assert engine.tasks.open_tasks_of(first.id)[0].name == "Review the request"
    assert engine.tasks.open_tasks_of(second.id)[0].name == "Review the request (v2)"


def test_instance_rows_do_not_embed_the_process_spec(engine: Engine, database) -> None:  # type: ignore[no-untyped-def]
    inst = engine.runtime.start("review", None, {}, wait=5)
    with database.read() as s:
        row = s.get(Instance, inst.id)
        assert row is not None and row.state is not None
        assert b'"task_specs"' not in row.state
        assert b"review_request" in row.state


def test_an_ended_instance_keeps_its_variables_and_history_but_no_workflow_state(
        engine: Engine, database, drain: Callable[..., None]) -> None:  # type: ignore[no-untyped-def]
    automatic = engine.runtime.start("auto_steps", None, {"lines": [{"qty": 1, "price": 9.0}]},
                                     wait=5)
    reviewed = engine.runtime.start("review", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(reviewed.id)
    engine.tasks.complete(task.id, "ann", {"decision": "reject", "amount": 0})
    drain()
    for inst in (automatic, reviewed):
        with database.read() as s:
            row = s.get(Instance, inst.id)
            assert row is not None and row.status == "completed"
            assert row.state is None  # never advanced again: nothing to restore
        again = engine.runtime.instance(inst.id)
        assert again.variables == row.variables and again.active_elements == []
        assert [t for t, _ in _types(engine, inst.id)][-1] == "instance_completed"
    assert engine.runtime.instance(automatic.id).variables["net"] == 9.0


def test_each_round_of_a_loop_is_a_new_call_for_the_connector(engine: Engine,
                                                              system: FakeSystem) -> None:
    # Connectors de-duplicate by the idempotency key: a loop's second round must not look
    # like a retry of the first, or its side effect would be skipped.
    inst = engine.runtime.start("loop_call", None, {"rounds": 0}, wait=5)
    assert engine.runtime.instance(inst.id).status == "completed"
    keys = [ctx.idempotency_key for op, _, ctx in system.calls if op == "test.record"]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert all(k.startswith(f"{inst.id}:record_round:") for k in keys)


def test_stats_count_every_call_and_completed_instance_for_metrics(
        engine: Engine, drain: Callable[..., None], system: FakeSystem) -> None:
    system.fail_times = 1
    inst = engine.runtime.start("review", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {"decision": "approve", "amount": 1}, wait=1)
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    stats = engine.management.stats()
    calls = {(op, outcome): n for op, outcome, n, _ms in stats["service_calls"]}
    assert calls == {("test.record", "failed"): 1, ("test.record", "ok"): 1}
    [(key, count, seconds)] = [d for d in stats["completed_durations"] if d[0] == "review"]
    assert count == 1 and 0 <= seconds < 60
    assert ("review", "completed", 1) in stats["instances"]


def test_a_start_uses_a_version_another_process_deployed_meanwhile(engine: Engine) -> None:
    from engine.config import Settings

    first = engine.runtime.start("auto_steps", None, {"lines": []}, wait=5)  # remembers version 1
    other = Engine(engine._core.db, Settings(), engine._core.registry)  # e.g. another web process
    xml = (FIXTURES / "processes" / "auto_steps.bpmn").read_bytes()
    [deployed] = [d for d in other.repository.deploy({"auto_steps.bpmn": xml.replace(
        b'name="Apply discount"', b'name="Apply the discount"')}) if d.key == "auto_steps"]
    assert deployed.version == first.version + 1
    second = engine.runtime.start("auto_steps", None, {"lines": []}, wait=5)
    assert second.version == deployed.version and second.status == "completed"
