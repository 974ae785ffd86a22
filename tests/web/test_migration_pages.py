"""The migration page: two versions side by side, the mapping, checks, dry run and run."""

from __future__ import annotations

from engine import Engine
from tests.engine.bpmn_files import process_file
from tests.engine.migration_files import chain, script, user_task
from tests.web.test_pages import People, app, engine, erp, people, text_of  # noqa: F401

URL = "/admin/migrations"


def _versions(engine: Engine) -> list[str]:  # noqa: F811
    engine.repository.deploy({"mig_page.bpmn": process_file(
        "mig_page", chain(user_task("review")))})
    ids = [engine.runtime.start("mig_page", f"P-{n}", {}, wait=5).id for n in range(2)]
    engine.repository.deploy({"mig_page.bpmn": process_file(
        "mig_page", chain(user_task("check"), script("after", "a = 1")))})
    return ids


def test_an_admin_maps_checks_dry_runs_and_migrates(engine: Engine,  # noqa: F811
                                                    people: People) -> None:  # noqa: F811
    ids = _versions(engine)
    admin = people["admin"]
    page = admin.get(f"{URL}?key=mig_page&from=1&to=2")
    assert page.status_code == 200
    body = text_of(page)
    assert "Version 1 (from)" in body and "Version 2 (to)" in body and "P-0" in body
    form = {"key": "mig_page", "from": "1", "to": "2", "instance": ids, "map-review": ""}
    checked = admin.post(URL, {**form, "action": "validate"})
    assert "has no instruction" in text_of(checked)
    form["map-review"] = "check"
    dry = admin.post(URL, {**form, "action": "dry_run"})
    assert "Dry run: 2 instance(s) would migrate" in text_of(dry)
    assert {engine.runtime.instance(i).version for i in ids} == {1}
    done = admin.post(URL, {**form, "instance": ids[:1], "action": "migrate"})
    assert "1 instance(s) migrated to version 2" in text_of(done)
    assert [engine.runtime.instance(i).version for i in ids] == [2, 1]
    assert [t.element_id for t in engine.tasks.open_tasks_of(ids[0])] == ["check"]
    history = text_of(admin.get(URL))
    assert "Recent migrations" in history and "mig_page" in history


def test_the_page_is_for_admins_and_needs_the_csrf_token(engine: Engine,  # noqa: F811
                                                         people: People) -> None:  # noqa: F811
    ids = _versions(engine)
    assert people["ana"].get(URL).status_code == 403
    refused = people["admin"].post(URL, {"key": "mig_page", "from": "1", "to": "2",
                                         "instance": ids, "map-review": "check",
                                         "action": "migrate"}, csrf=False)
    assert refused.status_code in (400, 403)
    assert {engine.runtime.instance(i).version for i in ids} == {1}
    link = text_of(people["admin"].get("/admin/definitions/mig_page"))
    assert "Migrate instances…" in link
