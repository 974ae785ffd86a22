"""Instance migration over REST: plan, validate, migrate now or as a batch, history."""

from __future__ import annotations

from engine import Engine, Scope, Worker
from tests.engine.migration_files import chain, deploy, script, timer, user_task

from .conftest import AuthClient

URL = "/api/v1/migrations"
V1 = chain(user_task("review"))
V2 = chain(user_task("review"), script("after", "after = 'v2'"))


def _two_versions(engine: Engine, key: str = "mig_api") -> tuple[str, str, list[str]]:
    v1 = deploy(engine, key, V1)
    ids = [engine.runtime.start(key, f"b{n}", {}, wait=5).id for n in range(3)]
    v2 = deploy(engine, key, V2)
    return v1, v2, ids


def _plan(client: AuthClient, v1: str, v2: str) -> dict[str, object]:
    resp = client.post(f"{URL}/plan", json={"source_definition_id": v1,
                                            "target_definition_id": v2})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert {"source": "review", "target": "review"} in body["plan"]["instructions"]
    assert "after" in [e["element_id"] for e in body["target_elements"]]
    plan: dict[str, object] = body["plan"]
    return plan


def test_plan_validate_and_migrate_listed_instances(client: AuthClient, engine: Engine) -> None:
    v1, v2, ids = _two_versions(engine)
    plan = _plan(client, v1, v2)
    report = client.post(f"{URL}/validate", json={"plan": plan, "instance_ids": ids})
    assert report.status_code == 200
    assert report.get_json()["ok"] is True
    assert [i["active_elements"] for i in report.get_json()["instances"]] == [["review"]] * 3
    dry = client.post(URL, json={"plan": plan, "instance_ids": ids[:1], "dry_run": True})
    assert [r["outcome"] for r in dry.get_json()["results"]] == ["would_migrate"]
    assert engine.runtime.instance(ids[0]).version == 1
    resp = client.post(URL, json={"plan": plan, "instance_ids": ids[:2]})
    assert resp.status_code == 200
    assert [r["outcome"] for r in resp.get_json()["results"]] == ["migrated", "migrated"]
    assert [engine.runtime.instance(i).version for i in ids] == [2, 2, 1]
    history = client.get(f"{URL}?instance_id={ids[0]}").get_json()["items"]
    assert [(h["from_version"], h["to_version"], h["actor"]) for h in history] == [
        (1, 2, "order-system")]


def test_all_instances_migrate_as_a_batch(client: AuthClient, engine: Engine) -> None:
    v1, v2, ids = _two_versions(engine, "mig_api_all")
    resp = client.post(URL, json={"plan": _plan(client, v1, v2), "all": True})
    assert resp.status_code == 202
    batch = resp.get_json()
    assert (batch["total"], batch["status"], batch["done"]) == (3, "running", 0)
    Worker(engine, "api-test").poll_once()
    done = client.get(f"{URL}/batches/{batch['id']}").get_json()
    assert (done["status"], done["done"], done["failed"]) == ("completed", 3, 0)
    assert {engine.runtime.instance(i).version for i in ids} == {2}


def test_a_plan_whose_wait_changes_kind_is_refused_with_400_and_nothing_changes(
        client: AuthClient, engine: Engine) -> None:
    v1 = deploy(engine, "mig_api_bad", V1)
    inst = engine.runtime.start("mig_api_bad", None, {}, wait=5)
    v2 = deploy(engine, "mig_api_bad", chain(timer("review", "PT1H")))
    plan = {"source_definition_id": v1, "target_definition_id": v2,
            "instructions": [{"source": "review", "target": "review"}]}
    report = client.post(f"{URL}/validate", json={"plan": plan, "instance_ids": [inst.id]})
    assert report.get_json()["ok"] is False
    assert report.get_json()["plan_problems"][0]["code"] == "kind_changed"
    resp = client.post(URL, json={"plan": plan, "instance_ids": [inst.id]})
    assert resp.status_code == 400
    assert "waits change kind" in resp.get_json()["message"]
    after = engine.runtime.instance(inst.id)
    assert (after.version, after.revision) == (1, inst.revision)


def test_bad_bodies_are_400_with_the_reason(client: AuthClient, engine: Engine) -> None:
    v1, v2, ids = _two_versions(engine, "mig_api_body")
    plan = {"source_definition_id": v1, "target_definition_id": v2, "instructions": []}
    for body, field in [({"plan": plan}, "instance_ids"),
                        ({"plan": plan, "instance_ids": ids, "all": True}, "instance_ids"),
                        ({"plan": {"source_definition_id": v1}, "all": True}, "plan"),
                        ({"plan": plan, "all": True, "colour": 1}, "colour")]:
        resp = client.post(URL, json=body)
        assert resp.status_code == 400, body
        assert field in resp.get_json()["details"]["fields"]
    assert {engine.runtime.instance(i).version for i in ids} == {1}
    assert client.get(f"{URL}/batches/nope").status_code == 404


def test_migration_routes_need_the_admin_scope(client: AuthClient, engine: Engine) -> None:
    key = engine.identity.create_api_key("starter", [Scope.PROCESSES_START.value])
    resp = client.raw.get(URL, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 403
