"""External tasks in the engine: a topic no connector provides waits for an outside worker.

How each bad report is answered: a worker that does not hold the lock gets a ConflictError
naming who does, and nothing changes; an unknown task id is a NotFoundError; a negative
retries, a lock duration of 0 or no topic at all is an InvalidInputError naming the field.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from engine import (
    ConflictError,
    Engine,
    ExternalTaskQuery,
    InstanceStatus,
    InvalidInputError,
    NotFoundError,
    TopicRequest,
)

from .bpmn_files import process_file, steps

ORDER = process_file("ext_order", """
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge"/>
  <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="payments.charge"
      camunda:taskPriority="${urgency}">
    <bpmn:extensionElements>
      <camunda:properties><camunda:property name="gateway" value="acme"/></camunda:properties>
      <camunda:inputOutput>
        <camunda:inputParameter name="cents">${amount * 100}</camunda:inputParameter>
        <camunda:outputParameter name="receipt">${receipt_no}</camunda:outputParameter>
      </camunda:inputOutput>
    </bpmn:extensionElements>
  </bpmn:serviceTask>
  <bpmn:boundaryEvent id="declined" attachedToRef="charge">
    <bpmn:errorEventDefinition errorRef="card_declined"/>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="paid"/>
  <bpmn:endEvent id="paid"/>
  <bpmn:sequenceFlow id="f3" sourceRef="declined" targetRef="refused"/>
  <bpmn:endEvent id="refused"/>
""").replace(b"</bpmn:definitions>",
             b'<bpmn:error id="card_declined" errorCode="DECLINED"/></bpmn:definitions>')


def topic(name: str = "payments.charge", **kwargs: object) -> TopicRequest:
    return TopicRequest(name=name, lock_duration_ms=kwargs.pop("lock", 60_000),  # type: ignore[arg-type]
                        **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def shop(engine: Engine) -> Engine:
    engine.repository.deploy({"order.bpmn": ORDER})
    return engine


def start(engine: Engine, amount: int = 12, urgency: int = 5, key: str | None = None) -> str:
    inst = engine.runtime.start("ext_order", key, {"amount": amount, "urgency": urgency},
                                wait=5)
    assert inst.status == InstanceStatus.WAITING
    return inst.id


def test_a_topic_no_connector_provides_deploys_and_waits_for_a_worker(shop: Engine) -> None:
    deployed = shop.repository.deploy({"order2.bpmn": ORDER.replace(b"ext_order",
                                                                      b"ext_order2")})
    assert deployed[0].external_topics == ("payments.charge",)
    assert deployed[0].warnings == ("no worker has asked for topic 'payments.charge' yet: its "
                                    "external tasks wait until a worker fetches them",)
    inst_id = start(shop, amount=12, urgency=7)
    [row] = shop.external_tasks.list_tasks(ExternalTaskQuery(process_instance_id=inst_id))
    assert (row.topic, row.element_id, row.priority, row.retries, row.lock_owner) == (
        "payments.charge", "charge", 7, None, None)
    assert row.properties == {"gateway": "acme"}
    assert "charge" in shop.runtime.instance(inst_id).active_elements


def test_fetch_lock_complete_moves_the_instance_on_with_the_worker_s_variables(
        shop: Engine) -> None:
    inst_id = start(shop, amount=12)
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic()])
    assert locked.variables["cents"] == 1200  # the task's own input, with the process's
    assert locked.variables["amount"] == 12
    assert locked.task.lock_owner == "w1" and locked.task.lock_expires_at is not None
    assert shop.external_tasks.fetch_and_lock("w2", [topic()]) == []  # held by w1

    # only the worker holding the lock may complete it; the refusal changes nothing
    with pytest.raises(ConflictError, match="cannot be completed by worker 'w2'. It is "
                                            "locked by worker 'w1'"):
        shop.external_tasks.complete(locked.task.id, "w2", {"receipt_no": "X"})
    shop.external_tasks.complete(locked.task.id, "w1", {"receipt_no": "R-1"},
                                 {"scratch": 1})
    inst = shop.runtime.instance(inst_id)
    assert inst.status == InstanceStatus.COMPLETED
    assert inst.variables["receipt"] == "R-1" and inst.variables["receipt_no"] == "R-1"
    assert "scratch" not in inst.variables and "cents" not in inst.variables  # locals
    assert steps(shop, inst_id)[-2:] == ["charge", "paid"]
    with pytest.raises(NotFoundError, match="does not exist"):  # a second completion
        shop.external_tasks.complete(locked.task.id, "w1", {})
    types = [e.type for e in shop.history.events_of(inst_id)]
    assert "external_task_created" in types and "external_task_completed" in types


def test_a_bpmn_error_is_caught_by_the_boundary_event(shop: Engine) -> None:
    inst_id = start(shop)
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic()])
    shop.external_tasks.handle_bpmn_error(locked.task.id, "w1", "DECLINED", "card refused",
                                          {"reason": "stolen"})
    inst = shop.runtime.instance(inst_id)
    assert inst.status == InstanceStatus.COMPLETED
    assert steps(shop, inst_id)[-1] == "refused"
    assert inst.variables["reason"] == "stolen"


def test_an_uncaught_bpmn_error_opens_an_incident_and_a_retry_hands_the_task_out_again(
        shop: Engine) -> None:
    inst_id = start(shop)
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic()])
    shop.external_tasks.handle_bpmn_error(locked.task.id, "w1", "UNKNOWN", "odd")
    inst = shop.runtime.instance(inst_id)
    assert inst.status == InstanceStatus.INCIDENT
    [incident] = shop.management.incidents_of(inst_id)
    assert "reported BPMN error 'UNKNOWN'" in incident.message
    assert shop.external_tasks.count(ExternalTaskQuery(process_instance_id=inst_id)) == 0
    shop.management.retry_incident(incident.id, "admin")
    shop.runtime.wait_for(inst_id, 5)
    [again] = shop.external_tasks.fetch_and_lock("w1", [topic()])
    shop.external_tasks.complete(again.task.id, "w1", {"receipt_no": "R-2"})
    assert shop.runtime.instance(inst_id).status == InstanceStatus.COMPLETED


def test_failures_retry_after_the_timeout_then_open_an_incident_at_zero(shop: Engine) -> None:
    inst_id = start(shop)
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic()])
    shop.external_tasks.handle_failure(locked.task.id, "w1", "gateway down", "trace…", 1, 200)
    assert shop.external_tasks.fetch_and_lock("w1", [topic()]) == []  # not before 200 ms
    time.sleep(0.25)
    [again] = shop.external_tasks.fetch_and_lock("w2", [topic()])
    assert (again.task.retries, again.task.error_message) == (1, "gateway down")
    shop.external_tasks.handle_failure(again.task.id, "w2", "still down", None, 0, 0)
    inst = shop.runtime.instance(inst_id)
    assert inst.status == InstanceStatus.INCIDENT
    [incident] = shop.management.incidents_of(inst_id)
    assert incident.error_type == "failed_external_task" and "still down" in incident.message
    assert shop.external_tasks.fetch_and_lock("w1", [topic()]) == []  # no retries left
    assert shop.external_tasks.count(ExternalTaskQuery(with_retries_left=False)) == 1

    shop.management.retry_incident(incident.id, "admin")  # one more try, as Camunda's
    shop.runtime.wait_for(inst_id, 5)
    [last] = shop.external_tasks.fetch_and_lock("w1", [topic()])
    assert last.task.retries == 1
    shop.external_tasks.complete(last.task.id, "w1", {"receipt_no": "R-3"})
    assert shop.runtime.instance(inst_id).status == InstanceStatus.COMPLETED


def test_priority_topics_business_key_and_process_variable_filters(shop: Engine) -> None:
    low = start(shop, urgency=1, key="A")
    high = start(shop, urgency=9, key="B")
    [first] = shop.external_tasks.fetch_and_lock("w", [topic()], use_priority=True)
    assert first.task.instance_id == high
    assert shop.external_tasks.fetch_and_lock("w", [topic("other.topic")]) == []
    assert shop.external_tasks.fetch_and_lock("w", [topic(business_key="B")]) == []  # held
    [by_var] = shop.external_tasks.fetch_and_lock(
        "w", [topic(process_variables={"urgency": 1}, variables=("amount",))])
    assert by_var.task.instance_id == low and by_var.variables == {"amount": 12}


def test_extend_lock_unlock_and_an_expired_lock(shop: Engine) -> None:
    start(shop)
    # a second: long enough for the extension to come first on a busy machine
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic(lock=1000)])
    task_id = locked.task.id
    with pytest.raises(ConflictError):
        shop.external_tasks.extend_lock(task_id, "w2", 60_000)
    shop.external_tasks.extend_lock(task_id, "w1", 60_000)
    time.sleep(1.1)  # past the first lock's second
    assert shop.external_tasks.fetch_and_lock("w2", [topic()]) == []  # extended
    shop.external_tasks.unlock(task_id, "admin")
    [taken] = shop.external_tasks.fetch_and_lock("w2", [topic(lock=50)])
    time.sleep(0.1)
    with pytest.raises(ConflictError, match="expired"):
        shop.external_tasks.extend_lock(task_id, "w2", 60_000)
    [retaken] = shop.external_tasks.fetch_and_lock("w3", [topic()])  # the lock ran out
    assert retaken.task.id == taken.task.id == task_id
    with pytest.raises(ConflictError, match="locked by worker 'w3'"):
        shop.external_tasks.complete(task_id, "w2", {})


@pytest.mark.parametrize("call, field", [
    (lambda e: e.external_tasks.fetch_and_lock("", [topic()]), "workerId"),
    (lambda e: e.external_tasks.fetch_and_lock("w", []), "topics"),
    (lambda e: e.external_tasks.fetch_and_lock("w", [topic(lock=0)]), "lockDuration"),
    (lambda e: e.external_tasks.fetch_and_lock("w", [topic()], max_tasks=-1), "maxTasks"),
    (lambda e: e.external_tasks.fetch_and_lock("w", [topic()], wait_seconds=99999),
     "asyncResponseTimeout"),
])
def test_bad_fetches_are_refused_naming_the_field(shop: Engine,
                                                  call: Callable[[Engine], object],
                                                  field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        call(shop)


def test_bad_reports_change_nothing(shop: Engine) -> None:
    inst_id = start(shop)
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic()])
    task_id = locked.task.id
    with pytest.raises(InvalidInputError, match="retries"):
        shop.external_tasks.handle_failure(task_id, "w1", "x", None, -1, 0)
    with pytest.raises(InvalidInputError, match="invalid variable name"):
        shop.external_tasks.complete(task_id, "w1", {"1bad": 1})
    with pytest.raises(InvalidInputError, match="errorCode"):
        shop.external_tasks.handle_bpmn_error(task_id, "w1", "")
    with pytest.raises(NotFoundError):
        shop.external_tasks.complete("no-such-task", "w1", {})
    row = shop.external_tasks.get(task_id)
    assert (row.lock_owner, row.retries) == ("w1", None)
    assert shop.runtime.instance(inst_id).status == InstanceStatus.WAITING


def test_a_suspended_instance_s_task_is_not_handed_out_nor_completed(shop: Engine) -> None:
    inst_id = start(shop)
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic(lock=50)])
    shop.management.suspend(inst_id, "admin")
    with pytest.raises(ConflictError, match="suspended"):
        shop.external_tasks.complete(locked.task.id, "w1", {})
    time.sleep(0.1)
    assert shop.external_tasks.fetch_and_lock("w1", [topic()]) == []
    shop.management.resume(inst_id, "admin")
    assert len(shop.external_tasks.fetch_and_lock("w1", [topic()])) == 1


def test_terminating_the_instance_removes_its_external_task(shop: Engine) -> None:
    inst_id = start(shop)
    shop.management.terminate(inst_id, "admin")
    assert shop.external_tasks.count(ExternalTaskQuery(process_instance_id=inst_id)) == 0


def test_a_waiting_fetch_is_answered_as_soon_as_a_task_appears(shop: Engine) -> None:
    got: list[object] = []

    def worker() -> None:
        got.extend(shop.external_tasks.fetch_and_lock("w1", [topic()], wait_seconds=10))
        got.append(time.monotonic())

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.3)  # the fetch is waiting now
    started = time.monotonic()
    start(shop)
    thread.join(10)
    assert len(got) == 2, "the waiting fetch got no task"
    # woken by the new task, not by the end of its 10 s wait (how fast: bench/external_bench.py)
    assert got[1] - started < 5  # type: ignore[operator]


def test_a_waiting_fetch_gives_up_after_its_timeout(shop: Engine) -> None:
    began = time.monotonic()
    assert shop.external_tasks.fetch_and_lock("w1", [topic()], wait_seconds=0.3) == []
    assert 0.3 <= time.monotonic() - began < 5


def test_a_waiting_fetch_gets_a_task_whose_retry_timeout_or_lock_runs_out(
        shop: Engine) -> None:
    start(shop)
    [locked] = shop.external_tasks.fetch_and_lock("w1", [topic(lock=400)])
    began = time.monotonic()  # nothing rings when a lock runs out: the probe finds it
    [again] = shop.external_tasks.fetch_and_lock("w2", [topic()], wait_seconds=10)
    assert again.task.id == locked.task.id and 0.35 < time.monotonic() - began < 8
    shop.external_tasks.handle_failure(again.task.id, "w2", "busy", None, 2, 400)
    began = time.monotonic()
    [third] = shop.external_tasks.fetch_and_lock("w3", [topic()], wait_seconds=10)
    assert third.task.retries == 2 and 0.35 < time.monotonic() - began < 8
