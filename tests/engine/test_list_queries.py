"""Who sees which task when the database filters the inbox: groups, users, assignees, admins.

The inbox and the task lists ask SQL (``task_candidates`` rows) instead of filtering in
Python; these tests pin that the answer is the one ``can_see_task`` gives, that the counts
reveal nothing more, that pages never repeat or skip a task, and that tasks stored before
migration 0010 are found after it. A definition is read by key and version alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from engine import Engine, statistics
from engine.db import Database, _migrations_dir
from engine.models import Definition, Event, HumanTask, Instance, TaskCandidate, User
from engine.retention import delete_instances
from engine.task_queries import task_queue
from engine.users import can_see_task

T0 = datetime(2026, 1, 5, 9, 0)


def person(name: str, groups: list[str], role: str = "user", active: bool = True) -> User:
    return User(name=name, role=role, groups=groups, password_hash="!", active=active)


@pytest.fixture
def instance_id(engine: Engine) -> str:
    with engine._core.db.write() as s:
        definition = s.scalars(select(Definition).where(Definition.kind == "process")).first()
        assert definition is not None
        inst = Instance(definition_id=definition.id, process_key="review", version=1,
                        status="waiting")
        s.add(inst)
        s.flush()
        return inst.id


def add_task(engine: Engine, instance_id: str, name: str, *, groups: list[str] = (),  # type: ignore[assignment]
             users: list[str] = (), assignee: str | None = None,  # type: ignore[assignment]
             created: datetime = T0, due: datetime | None = None, priority: int = 50,
             process_key: str = "review") -> str:
    with engine._core.db.write() as s:
        row = HumanTask(instance_id=instance_id, spiff_task_id=name, element_id=name,
                        name=name, process_key=process_key, assignee=assignee,
                        status="claimed" if assignee else "ready", created_at=created,
                        due_at=due, priority=priority)
        row.set_candidates(list(groups), list(users))
        s.add(row)
        s.flush()
        return row.id


def names(page_items: list[HumanTask]) -> list[str]:
    return [t.name or "" for t in page_items]


def inbox(engine: Engine, user: User) -> list[str]:
    return sorted(names(engine.tasks.list_tasks(visible_to=user, per_page=100).items))


@pytest.fixture
def offered(engine: Engine, instance_id: str) -> None:
    add_task(engine, instance_id, "a-task", groups=["group-a"])
    add_task(engine, instance_id, "b-task", groups=["group-b"])
    add_task(engine, instance_id, "ab-task", groups=["group-a", "group-b"])
    add_task(engine, instance_id, "for-sam", users=["sam"])
    add_task(engine, instance_id, "b-claimed-by-sam", groups=["group-b"], assignee="sam")


def test_a_group_member_never_sees_another_groups_task(engine: Engine, offered: None) -> None:
    alice = person("alice", ["group-a"])
    assert inbox(engine, alice) == ["a-task", "ab-task"]
    queue = engine.tasks.queue(alice)
    assert sorted(names(queue.page.items)) == ["a-task", "ab-task"]
    assert queue.counts == {"all": 2, "mine": 0, "unclaimed": 2, "overdue": 0}
    # a filter naming the other group finds nothing more than the person may see
    assert engine.tasks.list_tasks(visible_to=alice, candidate_group="group-b").total == 1


def test_candidate_user_and_assignee_see_their_tasks(engine: Engine, offered: None) -> None:
    sam = person("sam", ["group-c"])
    assert inbox(engine, sam) == ["b-claimed-by-sam", "for-sam"]
    counts = engine.tasks.queue(sam).counts
    assert counts == {"all": 2, "mine": 1, "unclaimed": 1, "overdue": 0}
    assert names(engine.tasks.queue(sam, show="mine").page.items) == ["b-claimed-by-sam"]


def test_admins_see_every_task_and_deactivated_people_none(engine: Engine,
                                                           offered: None) -> None:
    assert len(inbox(engine, person("ada", [], role="admin"))) == 5
    assert inbox(engine, person("gone", ["group-a", "group-b"], active=False)) == []
    assert engine.tasks.queue(person("gone", ["group-a"], active=False)).counts["all"] == 0


def test_sql_filter_agrees_with_can_see_task(engine: Engine, offered: None) -> None:
    every = engine.tasks.list_tasks(per_page=100).items
    for user in (person("alice", ["group-a"]), person("bea", ["group-b"]),
                 person("sam", []), person("ada", [], role="admin"),
                 person("both", ["group-a", "group-b"]), person("none", [])):
        assert inbox(engine, user) == sorted(t.name for t in every if can_see_task(user, t))


def test_a_task_whose_groups_changed_moves_to_the_new_group(engine: Engine,
                                                           instance_id: str) -> None:
    task_id = add_task(engine, instance_id, "moving", groups=["group-a"])
    for _ in range(2):  # the second time the same rows again: replaced, not duplicated
        with engine._core.db.write() as s:
            row = s.get(HumanTask, task_id)
            assert row is not None
            row.set_candidates(["group-b"], [])
    assert inbox(engine, person("alice", ["group-a"])) == []
    assert inbox(engine, person("bea", ["group-b"])) == ["moving"]
    with engine._core.db.read() as s:
        assert s.scalars(select(TaskCandidate.name)
                         .where(TaskCandidate.task_id == task_id)).all() == ["group-b"]


def test_candidate_filters_of_the_rest_lists(engine: Engine, offered: None) -> None:
    with engine._core.db.write() as s:
        s.add(person("bea", ["group-b"]))
    by_group = engine.tasks.list_tasks(candidate_group="group-a", per_page=100).items
    assert sorted(names(by_group)) == ["a-task", "ab-task"]
    by_user = engine.tasks.list_tasks(candidate_user="bea", per_page=100).items
    assert sorted(names(by_user)) == ["ab-task", "b-claimed-by-sam", "b-task"]
    by_name = engine.tasks.list_tasks(candidate_user="sam", per_page=100).items
    assert names(by_name) == ["for-sam"]


def test_pages_never_repeat_or_skip_a_task(engine: Engine, instance_id: str) -> None:
    for i in range(7):  # the same creation time and due date: only the id tells them apart
        add_task(engine, instance_id, f"t{i}", groups=["group-a"], due=T0 + timedelta(days=1))
    add_task(engine, instance_id, "due-first", groups=["group-a"], due=T0)
    add_task(engine, instance_id, "no-due", groups=["group-a"], created=T0 - timedelta(days=1))
    alice = person("alice", ["group-a"])
    for sort in ("due", "priority", "age"):
        seen = [t.id for p in (1, 2, 3, 4)
                for t in engine.tasks.queue(alice, sort=sort, page=p, per_page=3).page.items]  # type: ignore[arg-type]
        assert len(seen) == len(set(seen)) == 9
        again = [t.id for p in (1, 2, 3)
                 for t in engine.tasks.queue(alice, sort=sort, page=p, per_page=3).page.items]  # type: ignore[arg-type]
        assert again == seen
    due = names(engine.tasks.queue(alice, sort="due", per_page=9).page.items)
    assert due[0] == "due-first" and due[-1] == "no-due"
    assert names(engine.tasks.queue(alice, sort="age", per_page=1).page.items) == ["no-due"]
    listed = engine.tasks.list_tasks(visible_to=alice, per_page=4)
    rest = engine.tasks.list_tasks(visible_to=alice, offset=4, per_page=100)
    assert listed.total == rest.total == 9
    assert len({t.id for t in listed.items + rest.items}) == 9


def test_counts_follow_the_process_filter(engine: Engine, instance_id: str) -> None:
    add_task(engine, instance_id, "late", groups=["group-a"], due=T0)
    add_task(engine, instance_id, "other", groups=["group-a"], process_key="other")
    queue = engine.tasks.queue(person("alice", ["group-a"]), process_key="review")
    assert queue.counts == {"all": 1, "mine": 0, "unclaimed": 1, "overdue": 1}
    assert queue.processes == ["other", "review"]
    assert names(queue.page.items) == ["late"]


def test_removing_an_instance_removes_its_candidate_rows(engine: Engine,
                                                        instance_id: str) -> None:
    add_task(engine, instance_id, "gone", groups=["group-a"], users=["sam"])
    with engine._core.db.write() as s:
        delete_instances(s, [[instance_id]])
    with engine._core.db.read() as s:
        assert s.scalar(select(sa.func.count()).select_from(TaskCandidate)) == 0


@pytest.fixture
def at_0009(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    with db.sql_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
    yield db
    db.dispose()


def test_tasks_stored_before_0010_are_found_in_the_inbox_after_it(at_0009: Database) -> None:
    with at_0009.sql_engine.begin() as c:
        c.execute(sa.text(
            "INSERT INTO definitions (id, key, version, kind, filename, source, content_hash,"
            " extra_files, deployed_at) VALUES ('d1', 'review', 1, 'process', 'r.bpmn', '',"
            " 'h', '{}', '2026-01-01 00:00:00')"))
        c.execute(sa.text(
            "INSERT INTO instances (id, definition_id, process_key, version, status,"
            " variables, active_elements, revision, created_at, updated_at) VALUES"
            " ('i1', 'd1', 'review', 1, 'waiting', '{}', '[]', 0,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        for task_id, groups, users, status in (("t1", '["finance", "sales"]', "[]", "ready"),
                                               ("t2", '["support"]', '["fiona"]', "ready"),
                                               ("t3", "[]", "[]", "ready"),
                                               ("t4", '["finance"]', "[]", "completed")):
            c.execute(sa.text(
                "INSERT INTO human_tasks (id, instance_id, spiff_task_id, element_id, name,"
                " process_key, candidate_groups, candidate_users, status, priority,"
                " created_at) VALUES (:id, 'i1', :id, 'review', :id, 'review', :groups,"
                " :users, :status, 50, '2026-01-01 00:00:00')"),
                {"id": task_id, "groups": groups, "users": users, "status": status})
    at_0009.upgrade()
    with at_0009.read() as s:
        rows = {tuple(r) for r in s.execute(select(TaskCandidate.task_id, TaskCandidate.kind,
                                                   TaskCandidate.name, TaskCandidate.is_open))}
    assert rows == {("t1", "group", "finance", True), ("t1", "group", "sales", True),
                    ("t2", "group", "support", True), ("t2", "user", "fiona", True),
                    ("t4", "group", "finance", False)}
    fiona = person("fiona", ["finance"])
    assert sorted(t.id for t in task_queue(at_0009, fiona).page.items) == ["t1", "t2"]
    assert [t.id for t in task_queue(at_0009, person("sue", ["support"])).page.items] == ["t2"]


def test_a_definition_is_looked_up_alone_and_lists_leave_the_files_out(
        engine: Engine) -> None:
    source = (Path(__file__).resolve().parent.parent / "fixtures" / "processes"
              / "auto_steps.bpmn").read_bytes()
    first = engine.repository.definition("auto_steps")
    engine.repository.deploy({"auto_steps.bpmn": source.replace(b"</bpmn:definitions>",
                                                                b"<!-- v2 --></bpmn:definitions>")})
    assert engine.repository.definition("auto_steps").version == first.version + 1
    old = engine.repository.definition("auto_steps", first.version)
    assert old.id == first.id and "<!-- v2 -->" not in old.source
    versions = engine.repository.definition_versions("auto_steps")
    assert [v.version for v in versions] == [first.version + 1, first.version]
    with pytest.raises(Exception, match="source"):  # deferred: never loaded for a list
        _ = versions[0].source
    with pytest.raises(Exception, match="has no version 99"):
        engine.repository.definition("auto_steps", 99)


def test_instance_pages_never_repeat_or_skip_one(engine: Engine, instance_id: str) -> None:
    with engine._core.db.write() as s:
        definition_id = s.get(Instance, instance_id).definition_id  # type: ignore[union-attr]
        for i in range(7):  # the same start time: only the id orders them
            s.add(Instance(definition_id=definition_id, process_key="review", version=1,
                           status="completed", business_key=f"bk-{i % 2}", created_at=T0,
                           parent_instance_id=instance_id))
    seen = [i.id for p in (1, 2, 3)
            for i in engine.history.search_instances(status="completed", page=p,
                                                     per_page=3).items]
    assert len(seen) == len(set(seen)) == 7
    by_key = engine.history.search_instances(business_key="bk-1", started_from=T0,
                                             started_before=T0 + timedelta(seconds=1))
    assert by_key.total == 3 and {i.business_key for i in by_key.items} == {"bk-1"}
    called = engine.runtime.list_instances(parent_instance_id=instance_id, per_page=2)
    assert called.total == 7 and len(called.items) == 2


def open_rows(engine: Engine, task_id: str) -> list[bool]:
    with engine._core.db.read() as s:
        return list(s.scalars(select(TaskCandidate.is_open)
                              .where(TaskCandidate.task_id == task_id)))


def test_a_finished_task_leaves_the_inbox_index_but_stays_in_its_groups_history(
        engine: Engine) -> None:
    inst = engine.runtime.start("two_steps", "offer-9", {}, wait=5)
    [prepare] = engine.tasks.open_tasks_of(inst.id)
    assert open_rows(engine, prepare.id) == [True]
    engine.tasks.complete(prepare.id, "sam", {}, wait=5)
    assert open_rows(engine, prepare.id) == [False]
    [approve] = engine.tasks.open_tasks_of(inst.id)
    sales, finance = person("sal", ["sales"]), person("fin", ["finance"])
    assert inbox(engine, sales) == [] and inbox(engine, finance) == [approve.name]
    done = engine.tasks.list_tasks(visible_to=sales, status="completed")
    assert [t.id for t in done.items] == [prepare.id]
    assert engine.tasks.list_tasks(visible_to=finance, status="completed").total == 0
    engine.management.terminate(inst.id, "ann")
    assert open_rows(engine, approve.id) == [False]
    assert inbox(engine, finance) == []


def test_the_total_matches_the_filters_shown(engine: Engine, instance_id: str) -> None:
    add_task(engine, instance_id, "late-mine", groups=["group-a"], assignee="alice", due=T0)
    add_task(engine, instance_id, "late-free", groups=["group-a"], due=T0)
    add_task(engine, instance_id, "free", groups=["group-a"])
    alice = person("alice", ["group-a"])
    for show, overdue, expected in (("all", False, 3), ("mine", False, 1),
                                    ("unclaimed", False, 2), ("all", True, 2),
                                    ("mine", True, 1), ("unclaimed", True, 1)):
        queue = engine.tasks.queue(alice, show=show, overdue=overdue)  # type: ignore[arg-type]
        assert queue.page.total == len(queue.page.items) == expected, (show, overdue)


def test_running_totals_count_each_ended_instance_and_call_once(engine: Engine,
                                                               instance_id: str) -> None:
    db = engine._core.db
    with db.write() as s:
        definition_id = s.get(Instance, instance_id).definition_id  # type: ignore[union-attr]
        for i, ended in enumerate((T0, T0 + timedelta(hours=1), T0 + timedelta(days=30))):
            s.add(Instance(id=f"done-{i}", definition_id=definition_id, process_key="review",
                           version=1, status="completed", created_at=ended - timedelta(
                               seconds=10), ended_at=ended))
            s.add(Event(instance_id=f"done-{i}", type="service_call", created_at=ended,
                        data={"operation": "erp.check_stock", "outcome": "ok",
                              "duration_ms": 5.0}))

    def figures(now: datetime) -> tuple[object, ...]:
        out = statistics.totals(db, now)
        return ([(k, n, round(t, 3)) for k, n, t in out["completed_durations"]],
                out["service_calls"],
                [r for r in out["instances"] if r[1] == "completed"])

    expected = ([("review", 3, 30.0)], [("erp.check_stock", "ok", 3, 15.0)],
                [("review", "completed", 3)])
    # the first: the day after the second instance ended (the third is the live tail)
    assert figures(T0 + timedelta(days=1)) == expected
    assert figures(T0 + timedelta(days=1)) == expected  # rolled up once, not twice
    assert figures(T0 + timedelta(days=60)) == expected  # everything rolled up now
    with db.write() as s:  # the history cleanup removes them: the counters keep them
        delete_instances(s, [["done-0", "done-1", "done-2"]])
    assert figures(T0 + timedelta(days=61)) == expected
    waiting = [r for r in statistics.totals(db, T0)["instances"] if r[1] == "waiting"]
    assert waiting == [("review", "waiting", 1)]  # live ones are counted as they are


def test_the_inbox_follows_claims_due_dates_and_completions_written_to_the_task(
        engine: Engine, instance_id: str) -> None:
    """Whatever writes the task row, its candidate rows' keys follow (migration 0011)."""
    task_id = add_task(engine, instance_id, "review-1", groups=["group-a", "group-b"],
                       due=T0 + timedelta(days=400))
    alice = person("alice", ["group-a", "group-b"])
    assert engine.tasks.queue(alice).counts == {"all": 1, "mine": 0, "unclaimed": 1,
                                                "overdue": 0}

    def write(**values: object) -> None:
        with engine._core.db.write() as s:
            s.execute(sa.update(HumanTask).where(HumanTask.id == task_id).values(**values))

    write(assignee="alice", status="claimed", due_at=T0, priority=90)
    queue = engine.tasks.queue(alice, sort="priority")
    assert queue.counts == {"all": 1, "mine": 1, "unclaimed": 0, "overdue": 1}
    assert names(engine.tasks.list_tasks(visible_to=alice, assignee="alice").items) == \
        ["review-1"]
    assert engine.tasks.list_tasks(visible_to=alice, unassigned=True).total == 0
    write(status="completed", completed_at=T0)
    assert engine.tasks.queue(alice).counts["all"] == 0 and inbox(engine, alice) == []
    assert open_rows(engine, task_id) == [False, False]


def test_the_console_counts_instances_up_to_a_limit_and_says_so(engine: Engine,
                                                                instance_id: str) -> None:
    from engine.reporting import search_instances

    with engine._core.db.write() as s:
        definition_id = s.get(Instance, instance_id).definition_id  # type: ignore[union-attr]
        for i in range(6):
            s.add(Instance(definition_id=definition_id, process_key="review", version=1,
                           status="completed", created_at=T0 + timedelta(minutes=i)))
    db = engine._core.db
    capped = search_instances(db, status="completed", per_page=2, count_limit=3)
    assert (capped.total, capped.total_capped, len(capped.items)) == (3, True, 2)
    deeper = search_instances(db, status="completed", page=2, per_page=2, count_limit=3)
    assert (deeper.total, deeper.total_capped) == (5, True)  # 3 past the page's start
    exact = search_instances(db, status="completed", per_page=2, count_limit=6)
    assert (exact.total, exact.total_capped) == (6, False)
    assert engine.runtime.list_instances(status="completed").total == 6  # the API: exact
