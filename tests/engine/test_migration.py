"""Instance migration: waiting instances move to a new version and go on along its path."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import Engine, MigrationInstruction, MigrationPlan
from engine.models import Event, Instance, Job, MessageSubscription, MigrationRecord
from tests.engine.migration_files import (
    MESSAGE_HEAD,
    chain,
    deploy,
    message,
    script,
    timer,
    user_task,
)
from tests.engine.test_workers import _spawn, _wait

V1 = chain(user_task("review"))
V2 = chain(user_task("review"), script("after", "after = 'v2'"))


def _open(engine: Engine, instance_id: str) -> list[tuple[str, str | None, str]]:
    return [(t.element_id, t.assignee, t.status) for t in engine.tasks.open_tasks_of(instance_id)]


def _ids(engine: Engine, instance_id: str) -> list[str]:
    return [t.id for t in engine.tasks.open_tasks_of(instance_id)]


def test_a_claimed_user_task_keeps_its_id_and_claim_and_goes_on_on_the_new_path(
        engine: Engine) -> None:
    v1 = deploy(engine, "mig_user", V1)
    inst = engine.runtime.start("mig_user", "b-1", {"amount": 5}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.claim(task.id, "fiona")
    v2 = deploy(engine, "mig_user", V2)
    plan = engine.management.generate_migration_plan(v1, v2)
    assert MigrationInstruction("review", "review") in plan.instructions
    report = engine.management.validate_migration(plan, [inst.id])
    assert report.ok, report
    [outcome] = engine.management.migrate(plan, [inst.id], actor="ann")
    assert (outcome.outcome, outcome.from_version, outcome.to_version) == ("migrated", 1, 2)
    moved = engine.runtime.instance(inst.id)
    assert (moved.definition_id, moved.version, moved.revision) == (v2, 2, inst.revision + 1)
    assert _ids(engine, inst.id) == [task.id]
    assert _open(engine, inst.id) == [("review", "fiona", "claimed")]
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables["after"], done.variables["amount"]) == (
        "completed", "v2", 5)
    [event] = [e for e in engine.history.events_of(inst.id) if e.type == "instance_migrated"]
    assert (event.actor, event.data["from_version"], event.data["to_version"]) == ("ann", 1, 2)
    [record] = engine.management.migrations(inst.id)
    assert (record.from_version, record.to_version, record.actor) == (1, 2, "ann")
    assert {"source": "review", "target": "review"} in record.instructions


def test_a_renamed_task_follows_its_instruction(engine: Engine) -> None:
    v1 = deploy(engine, "mig_rename", V1)
    inst = engine.runtime.start("mig_rename", None, {}, wait=5)
    v2 = deploy(engine, "mig_rename", chain(user_task("check"), script("after", "after = 2")))
    plan = engine.management.generate_migration_plan(v1, v2)
    assert plan.instructions == ()
    report = engine.management.validate_migration(plan, [inst.id])
    [check] = report.instances
    assert [p.code for p in check.problems] == ["unmapped_active_element"]
    plan = MigrationPlan(v1, v2, (MigrationInstruction("review", "check"),))
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert outcome.outcome == "migrated"
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert (task.element_id, task.name) == ("check", "Check")
    assert engine.runtime.instance(inst.id).active_elements == ["check"]
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    assert engine.runtime.instance(inst.id).variables["after"] == 2


def test_a_timer_keeps_its_due_time_and_fires_on_the_new_version(
        engine: Engine, drain: Callable[..., None]) -> None:
    v1 = deploy(engine, "mig_timer", chain(timer("pause", "PT2S")))
    inst = engine.runtime.start("mig_timer", None, {}, wait=5)
    with engine._core.db.read() as s:  # noqa: SLF001 - the timer's job row
        [due] = [j.due_at for j in s.scalars(select(Job).where(Job.instance_id == inst.id))]
    v2 = deploy(engine, "mig_timer", chain(timer("pause", "PT2S"), script("after", "x = 1")))
    plan = engine.management.generate_migration_plan(v1, v2)
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert outcome.outcome == "migrated"
    with engine._core.db.read() as s:  # noqa: SLF001
        [job] = list(s.scalars(select(Job).where(Job.instance_id == inst.id)))
    assert (job.due_at, job.payload["element_id"]) == (due, "pause")
    drain(lambda: engine.runtime.instance(inst.id).status == "completed", timeout=10)
    assert engine.runtime.instance(inst.id).variables["x"] == 1


def test_a_message_subscription_follows_and_the_message_continues_on_the_new_version(
        engine: Engine, drain: Callable[..., None]) -> None:
    v1 = deploy(engine, "mig_msg", chain(message("hear")), MESSAGE_HEAD)
    inst = engine.runtime.start("mig_msg", "order-7", {}, wait=5)
    v2 = deploy(engine, "mig_msg", chain(message("listen"), script("after", "y = 1")),
                MESSAGE_HEAD)
    plan = MigrationPlan(v1, v2, (MigrationInstruction("hear", "listen"),))
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert outcome.outcome == "migrated"
    with engine._core.db.read() as s:  # noqa: SLF001
        [sub] = list(s.scalars(select(MessageSubscription).where(
            MessageSubscription.instance_id == inst.id)))
        assert (sub.element_id, sub.message_name) == ("listen", "go_on")
    engine.runtime.send_message("go_on", business_key="order-7", variables={"z": 3})
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(inst.id).variables["y"] == 1


PARALLEL = """<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
<bpmn:parallelGateway id="fork"><bpmn:incoming>f0</bpmn:incoming>
  <bpmn:outgoing>pa</bpmn:outgoing><bpmn:outgoing>pb</bpmn:outgoing></bpmn:parallelGateway>
<bpmn:userTask id="a" camunda:candidateGroups="finance"><bpmn:incoming>pa</bpmn:incoming>
  <bpmn:outgoing>ja</bpmn:outgoing></bpmn:userTask>
<bpmn:userTask id="b" camunda:candidateGroups="finance"><bpmn:incoming>pb</bpmn:incoming>
  <bpmn:outgoing>jb</bpmn:outgoing></bpmn:userTask>
<bpmn:parallelGateway id="join"><bpmn:incoming>ja</bpmn:incoming><bpmn:incoming>jb
  </bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:parallelGateway>
{after}
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
<bpmn:sequenceFlow id="pa" sourceRef="fork" targetRef="a"/>
<bpmn:sequenceFlow id="pb" sourceRef="fork" targetRef="b"/>
<bpmn:sequenceFlow id="ja" sourceRef="a" targetRef="join"/>
<bpmn:sequenceFlow id="jb" sourceRef="b" targetRef="join"/>"""
PARALLEL_V1 = PARALLEL.format(after='<bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming>'
                              '</bpmn:endEvent><bpmn:sequenceFlow id="f1x" sourceRef="join" '
                              'targetRef="end"/>').replace('id="f1x"', 'id="f1"')
PARALLEL_V2 = PARALLEL.format(
    after='<bpmn:scriptTask id="after" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>'
          "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>after = 1</bpmn:script>"
          '</bpmn:scriptTask><bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming>'
          '</bpmn:endEvent><bpmn:sequenceFlow id="f1" sourceRef="join" targetRef="after"/>'
          '<bpmn:sequenceFlow id="f2" sourceRef="after" targetRef="end"/>')


def test_both_tokens_of_parallel_branches_are_mapped(engine: Engine) -> None:
    v1 = deploy(engine, "mig_par", PARALLEL_V1)
    inst = engine.runtime.start("mig_par", None, {}, wait=5)
    first = {t.element_id: t for t in engine.tasks.open_tasks_of(inst.id)}
    engine.tasks.complete(first["a"].id, "fiona", {}, wait=5)  # one token waits at the join
    v2 = deploy(engine, "mig_par", PARALLEL_V2)
    plan = engine.management.generate_migration_plan(v1, v2)
    check = engine.management.validate_migration(plan, [inst.id]).instances[0]
    assert check.ok and check.active_elements == ["b", "join"]
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert outcome.outcome == "migrated"
    assert _ids(engine, inst.id) == [first["b"].id]
    engine.tasks.complete(first["b"].id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables.get("after")) == ("completed", 1)


MI = ('<bpmn:userTask id="sign" camunda:candidateGroups="finance">{io}'
      '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${signers}" '
      'camunda:elementVariable="signer"/></bpmn:userTask>')


def test_a_multi_instance_task_half_done_moves_with_all_its_instances(engine: Engine) -> None:
    v1 = deploy(engine, "mig_mi", chain(("sign", MI)))
    inst = engine.runtime.start("mig_mi", None, {"signers": ["a", "b", "c"]}, wait=5)
    tasks = engine.tasks.open_tasks_of(inst.id)
    assert len(tasks) == 3
    engine.tasks.complete(tasks[0].id, "fiona", {}, wait=5)
    v2 = deploy(engine, "mig_mi", chain(("sign", MI), script("after", "after = 1")))
    [outcome] = engine.management.migrate(
        engine.management.generate_migration_plan(v1, v2), [inst.id])
    assert outcome.outcome == "migrated"
    left = engine.tasks.open_tasks_of(inst.id)
    assert sorted(t.id for t in left) == sorted(t.id for t in tasks[1:])
    for task in left:
        engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables.get("after")) == ("completed", 1)


def _sub(*inner: tuple[str, str]) -> tuple[str, str]:
    body = chain(*inner).replace('id="start"', 'id="sub_start"').replace(
        'id="end"', 'id="sub_end"').replace('sourceRef="start"', 'sourceRef="sub_start"') \
        .replace('targetRef="end"', 'targetRef="sub_end"')
    for n in range(9):
        body = body.replace(f'"f{n}"', f'"s{n}"').replace(f">f{n}<", f">s{n}<")
    return "sub", f'<bpmn:subProcess id="sub">{{io}}{body}</bpmn:subProcess>'


def test_a_token_inside_an_embedded_subprocess_moves_with_it(engine: Engine) -> None:
    v1 = deploy(engine, "mig_sub", chain(_sub(user_task("inner"))))
    inst = engine.runtime.start("mig_sub", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    v2 = deploy(engine, "mig_sub", chain(_sub(user_task("inner"), script("in_after", "p = 1")),
                                         script("after", "q = 2")))
    plan = engine.management.generate_migration_plan(v1, v2)
    assert {i.source for i in plan.instructions} >= {"sub", "inner"}
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert outcome.outcome == "migrated", outcome
    assert _ids(engine, inst.id) == [task.id]
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables.get("p"), done.variables.get("q")) == (
        "completed", 1, 2)


def test_a_refused_plan_changes_nothing(engine: Engine) -> None:
    v1 = deploy(engine, "mig_refuse", V1)
    inst = engine.runtime.start("mig_refuse", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.claim(task.id, "fiona")
    before = engine.runtime.instance(inst.id)
    v2 = deploy(engine, "mig_refuse", chain(timer("review", "PT1H")))
    plan = MigrationPlan(v1, v2, (MigrationInstruction("review", "review"),))
    report = engine.management.validate_migration(plan, [inst.id])
    assert [p.code for p in report.plan_problems] == ["kind_changed"]
    assert "waits change kind" in report.plan_problems[0].message
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert outcome.outcome == "refused"
    after = engine.runtime.instance(inst.id)
    assert (after.definition_id, after.revision, after.state, after.locked_by) == (
        before.definition_id, before.revision, before.state, None)
    assert _open(engine, inst.id) == [("review", "fiona", "claimed")]
    assert engine.management.migrations(inst.id) == []
    assert not [e for e in engine.history.events_of(inst.id) if e.type == "instance_migrated"]


def test_an_ended_instance_is_not_migrated(engine: Engine) -> None:
    v1 = deploy(engine, "mig_ended", V1)
    inst = engine.runtime.start("mig_ended", None, {}, wait=5)
    engine.management.terminate(inst.id)
    v2 = deploy(engine, "mig_ended", V2)
    plan = engine.management.generate_migration_plan(v1, v2)
    [check] = engine.management.validate_migration(plan, [inst.id]).instances
    assert [p.code for p in check.problems] == ["ended"]


def test_a_dry_run_reports_and_changes_nothing(engine: Engine) -> None:
    v1 = deploy(engine, "mig_dry", V1)
    inst = engine.runtime.start("mig_dry", None, {}, wait=5)
    v2 = deploy(engine, "mig_dry", V2)
    [outcome] = engine.management.migrate(engine.management.generate_migration_plan(v1, v2),
                                          [inst.id], dry_run=True)
    assert outcome.outcome == "would_migrate"
    assert engine.runtime.instance(inst.id).definition_id == v1


def test_an_instance_migrates_back_by_the_reversed_plan(engine: Engine) -> None:
    v1 = deploy(engine, "mig_back", V1)
    inst = engine.runtime.start("mig_back", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    v2 = deploy(engine, "mig_back", V2)
    engine.management.migrate(engine.management.generate_migration_plan(v1, v2), [inst.id])
    [record] = engine.management.migrations(inst.id)
    back = engine.management.reverse_migration_plan(record.id)
    assert (back.source_definition_id, back.target_definition_id) == (v2, v1)
    [outcome] = engine.management.migrate(back, [inst.id], actor="ben")
    assert (outcome.outcome, outcome.to_version) == ("migrated", 1)
    assert [r.to_version for r in engine.management.migrations(inst.id)] == [1, 2]
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.version, "after" in done.variables) == ("completed", 1, False)


def test_a_batch_migrates_the_instances_a_filter_selects(
        engine: Engine, drain: Callable[..., None]) -> None:
    v1 = deploy(engine, "mig_batch", V1)
    ids = [engine.runtime.start("mig_batch", f"k{n}", {}, wait=5).id for n in range(5)]
    engine.management.terminate(ids[4])
    v2 = deploy(engine, "mig_batch", V2)
    plan = engine.management.generate_migration_plan(v1, v2)
    chosen = engine.management.migration_candidates(v1, {"status": "waiting"})
    assert sorted(chosen) == sorted(ids[:4])
    batch = engine.management.start_migration_batch(plan, chosen, actor="ann")
    assert (batch.total, batch.status) == (4, "running")
    drain(lambda: engine.management.migration_batch(batch.id).status == "completed")
    done = engine.management.migration_batch(batch.id)
    assert (done.done, done.failed) == (4, 0)
    assert [engine.runtime.instance(i).version for i in ids] == [2, 2, 2, 2, 1]


def test_a_chunk_that_keeps_failing_ends_its_batch_naming_the_instances_left(
        engine: Engine, drain: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.migration import Migrator

    v1 = deploy(engine, "mig_bad", V1)
    ids = [engine.runtime.start("mig_bad", f"k{n}", {}, wait=5).id for n in range(4)]
    v2 = deploy(engine, "mig_bad", V2)
    real = Migrator.migrate_one

    def broken(self: Migrator, plan: MigrationPlan, problems: object, instance_id: str,
               *args: object, **kwargs: object) -> object:
        if instance_id == ids[1]:
            raise RuntimeError("disk full")
        return real(self, plan, problems, instance_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Migrator, "migrate_one", broken)
    batch = engine.management.start_migration_batch(
        engine.management.generate_migration_plan(v1, v2), ids, actor="ann")
    drain(lambda: engine.management.migration_batch(batch.id).status == "completed")
    done = engine.management.migration_batch(batch.id)
    assert (done.done, done.failed) == (1, 3)  # the first was migrated before it failed
    assert [f["instance_id"] for f in done.failures] == ids[1:]
    assert "disk full" in done.failures[0]["problems"][0]
    assert [engine.runtime.instance(i).version for i in ids] == [2, 1, 1, 1]


@pytest.mark.parametrize("filters", [{"colour": "red"}])
def test_an_unknown_filter_is_refused(engine: Engine, filters: dict[str, str]) -> None:
    from engine import InvalidInputError

    with pytest.raises(InvalidInputError, match="colour"):
        engine.management.migration_candidates("x", filters)


@pytest.mark.slow
def test_a_batch_of_1000_survives_a_killed_worker_each_instance_migrated_once(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    v1 = deploy(engine, "mig_many", V1)
    ids = [engine.runtime.start("mig_many", f"m{n}", {}, wait=5).id for n in range(1000)]
    tasks_before = {i: _ids(engine, i) for i in ids[:50]}
    v2 = deploy(engine, "mig_many", V2)
    plan = engine.management.generate_migration_plan(v1, v2)
    batch = engine.management.start_migration_batch(
        plan, engine.management.migration_candidates(v1), actor="ann")
    assert batch.total == 1000
    log = tmp_path / "calls.log"
    log.touch()
    first = _spawn(database_url, log, TEST_LEASE="2")
    try:
        _wait(lambda: engine.management.migration_batch(batch.id).done >= 150, 120)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    half = engine.management.migration_batch(batch.id)
    assert half.status == "running" and 150 <= half.done < 1000
    second = _spawn(database_url, log, TEST_LEASE="2")
    try:
        _wait(lambda: engine.management.migration_batch(batch.id).status == "completed", 240)
    finally:
        second.terminate()
        second.wait(20)
    done = engine.management.migration_batch(batch.id)
    assert (done.done, done.failed) == (1000, 0)
    with engine._core.db.read() as s:  # noqa: SLF001
        records = Counter(s.scalars(select(MigrationRecord.instance_id)))
        events = Counter(s.scalars(select(Event.instance_id).where(
            Event.type == "instance_migrated")))
        versions = Counter(s.scalars(select(Instance.version).where(Instance.id.in_(ids))))
    assert set(records) == set(ids) and set(records.values()) == {1}
    assert set(events) == set(ids) and set(events.values()) == {1}
    assert versions == {2: 1000}
    assert {i: _ids(engine, i) for i in ids[:50]} == tasks_before


def test_an_instance_a_worker_holds_is_refused_and_left_alone(engine: Engine) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from engine import utcnow

    v1 = deploy(engine, "mig_locked", V1)
    inst = engine.runtime.start("mig_locked", None, {}, wait=5)
    v2 = deploy(engine, "mig_locked", V2)
    with engine._core.db.write() as s:  # noqa: SLF001 - as a worker's lease does
        s.execute(update(Instance).where(Instance.id == inst.id).values(
            locked_by="worker-1", locked_until=utcnow() + timedelta(seconds=30)))
    plan = engine.management.generate_migration_plan(v1, v2)
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert [p.code for p in outcome.problems] == ["locked"]
    row = engine.runtime.instance(inst.id)
    assert (row.version, row.revision, row.locked_by) == (1, inst.revision, "worker-1")


BOUNDARY = ('<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:outgoing>fl'
            '</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration xsi:type='
            '"bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
            '</bpmn:boundaryEvent><bpmn:endEvent id="too_late"><bpmn:incoming>fl'
            '</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="fl" sourceRef="late" targetRef="too_late"/>')


def test_a_task_with_a_boundary_timer_moves_with_its_timer(engine: Engine) -> None:
    v1 = deploy(engine, "mig_bound", chain(user_task("review")) + BOUNDARY)
    inst = engine.runtime.start("mig_bound", None, {}, wait=5)
    with engine._core.db.read() as s:  # noqa: SLF001
        [due] = [j.due_at for j in s.scalars(select(Job).where(Job.instance_id == inst.id))]
    v2 = deploy(engine, "mig_bound", chain(user_task("review"), script("after", "b = 1"))
                + BOUNDARY)
    plan = engine.management.generate_migration_plan(v1, v2)
    assert {i.source for i in plan.instructions} == {"review", "late"}
    [outcome] = engine.management.migrate(plan, [inst.id])
    assert outcome.outcome == "migrated", outcome
    with engine._core.db.read() as s:  # noqa: SLF001
        assert [j.due_at for j in s.scalars(select(Job).where(Job.instance_id == inst.id))] \
            == [due]
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables.get("b")) == ("completed", 1)
    with engine._core.db.read() as s:  # noqa: SLF001 - the boundary timer went with the task
        assert list(s.scalars(select(Job).where(Job.instance_id == inst.id))) == []


def test_an_external_task_keeps_its_lock_and_its_worker_completes_it_on_the_new_version(
        engine: Engine) -> None:
    from engine import TopicRequest

    work = ("charge", '<bpmn:serviceTask id="charge" camunda:type="external" '
                      'camunda:topic="pay.charge">{io}</bpmn:serviceTask>')
    v1 = deploy(engine, "mig_ext", chain(work))
    inst = engine.runtime.start("mig_ext", None, {}, wait=5)
    [locked] = engine.external_tasks.fetch_and_lock("w1", [TopicRequest("pay.charge", 60_000)])
    v2 = deploy(engine, "mig_ext", chain(work, script("after", "after = 'v2'")))
    [outcome] = engine.management.migrate(engine.management.generate_migration_plan(v1, v2),
                                          [inst.id])
    assert outcome.outcome == "migrated"
    row = engine.external_tasks.get(locked.task.id)  # the same task, still held by w1
    assert (row.definition_id, row.element_id, row.lock_owner) == (v2, "charge", "w1")
    engine.external_tasks.complete(locked.task.id, "w1", {"paid": True})
    done = engine.runtime.instance(inst.id)
    assert (done.status, done.variables["after"], done.variables["paid"]) == (
        "completed", "v2", True)
