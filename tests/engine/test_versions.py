"""Versions an analyst can trust: comments, comparing two versions, rolling back, and the
processes folder living beside browser edits (export; start-up never goes backwards)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import ConflictError, Engine, NotFoundError
from engine.errors import DefinitionError
from engine.model_diff import diff_models

from .bpmn_files import process_file

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "processes"


def review(groups: str = "finance", extra: str = "", form: str = "") -> bytes:
    form_key = f' camunda:formKey="{form}"' if form else ""
    return process_file("versioned", f"""
  <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look"/>
  <bpmn:userTask id="look" name="Look" camunda:candidateGroups="{groups}"{form_key}/>
  <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="end"/>{extra}
  <bpmn:endEvent id="end"/>""")


def test_every_version_keeps_its_author_time_and_comment(engine: Engine) -> None:
    engine.repository.deploy({"v.bpmn": review()}, "ada", comment="first cut")
    engine.repository.deploy({"v.bpmn": review("finance,managers")}, "ada",
                             comment="  managers may review too  ")
    engine.repository.deploy({"v.bpmn": review("finance,managers")}, "bob",
                             comment="unchanged, so no version")
    v2, v1 = engine.repository.definition_versions("versioned")
    assert (v1.version, v1.deployed_by, v1.comment) == (1, "ada", "first cut")
    assert (v2.version, v2.deployed_by) == (2, "ada")
    assert v2.comment == "  managers may review too  "  # kept as written (the web trims)
    assert v2.deployed_at >= v1.deployed_at


def test_a_comment_too_long_is_refused_and_nothing_is_deployed(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as refused:
        engine.repository.deploy({"v.bpmn": review()}, "ada", comment="x" * 2001)
    assert "the comment is 2001 characters long; at most 2000 are kept" in str(refused.value)
    with pytest.raises(NotFoundError):
        engine.repository.definition("versioned")


def test_rolling_back_deploys_the_old_file_and_forms_as_the_newest_version(
        engine: Engine) -> None:
    old_form = {"type": "object", "properties": {"ok": {"type": "boolean"}},
                "x-bridgeflow-figures": [{"label": "Amount", "path": "amount"}]}
    engine.repository.deploy({"v.bpmn": review(form="look.json"),
                              "look.json": json.dumps(old_form).encode()}, "ada")
    running = engine.runtime.start("versioned", "B-1", {"amount": 5})
    engine.repository.deploy({"v.bpmn": review("managers", form="look.json"),
                              "look.json": b'{"type": "object"}'}, "ada")

    deployed = engine.repository.rollback("versioned", 1, "bob")

    assert [(d.key, d.version, d.new_version) for d in deployed] == [("versioned", 3, True)]
    v3 = engine.repository.definition("versioned")
    v1 = engine.repository.definition("versioned", 1)
    assert v3.source == v1.source and v3.extra_files == v1.extra_files
    assert (v3.deployed_by, v3.comment) == ("bob", "rolled back to version 1 (from 2)")
    started = engine.runtime.start("versioned", "B-2", {"amount": 7}, wait=5)
    [task] = engine.tasks.open_tasks_of(started.id)
    assert task.candidate_groups == ["finance"] and task.form == old_form
    assert engine.runtime.instance(running.id).version == 1  # running instances keep theirs


def test_rolling_back_to_the_newest_or_a_missing_version_is_refused(engine: Engine) -> None:
    engine.repository.deploy({"v.bpmn": review()}, "ada")
    with pytest.raises(ConflictError, match="version 1 of 'versioned' is already the newest"):
        engine.repository.rollback("versioned", 1, "ada")
    with pytest.raises(NotFoundError, match="'versioned' has no version 7"):
        engine.repository.rollback("versioned", 7, "ada")
    assert len(engine.repository.definition_versions("versioned")) == 1


def test_a_diff_names_each_element_added_removed_and_changed(engine: Engine) -> None:
    engine.repository.deploy({"v.bpmn": review()}, "ada")
    engine.repository.deploy({"v.bpmn": review("finance,managers", extra="""
  <bpmn:scriptTask id="note" name="Note it"><bpmn:script>noted = True</bpmn:script>
  </bpmn:scriptTask>""")}, "ada")

    diff = engine.repository.diff("versioned", 1, 2)

    assert diff.ids("added") == ["note"]
    [change] = [c for c in diff.changes if c.kind == "changed"]
    assert (change.element_id, change.type, change.name) == ("look", "userTask", "Look")
    assert change.details == (("camunda:candidateGroups", "finance", "finance,managers"),)
    back = engine.repository.diff("versioned", 2, 1)
    assert back.ids("removed") == ["note"]


def test_a_decision_table_is_compared_rule_by_rule_with_its_column_names() -> None:
    old = (SHIPPED / "credit_decision.dmn").read_text()
    new = old.replace('<rule id="no_credit_limit">', '<rule id="no_credit_limit_x">') \
        .replace("<text>&gt; 0</text>", "<text>&gt;= 100</text>", 1)
    new = new.replace('"Over the limit, gold"', '"Over the limit (gold)"')

    diff = diff_models(old, new)

    assert diff.ids("added") == ["no_credit_limit_x"]
    assert diff.ids("removed") == ["no_credit_limit"]
    changed = {c.element_id: c.details for c in diff.changes if c.kind == "changed"}
    assert changed == {"over_limit_gold": (
        ("output: Rule", '"Over the limit, gold"', '"Over the limit (gold)"'),)}
    first_input = next(c for c in diff.changes if c.element_id == "no_credit_limit_x")
    assert first_input.type == "rule"


def test_an_element_only_moved_on_the_diagram_is_listed_apart() -> None:
    old = (SHIPPED / "credit_approval.bpmn").read_text()
    new = old.replace('<dc:Bounds x="940" y="300"', '<dc:Bounds x="960" y="320"')
    diff = diff_models(old, new)
    assert diff.changes == [] and diff.moved == ["review_credit"]


def test_a_file_that_is_not_xml_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="not an XML file"):
        diff_models("<definitions>", "<definitions/>")


def write_folder(folder: Path, bpmn: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v.bpmn").write_bytes(bpmn)
    return folder


def test_start_up_never_puts_an_older_folder_file_over_a_console_version(
        engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "processes", review())
    engine.repository.deploy_directory(folder)  # version 1, from the folder
    engine.repository.deploy({"v.bpmn": review("managers")}, "ada")  # version 2, console

    [again] = engine.repository.deploy_directory(folder)  # a restart: the folder holds v1

    assert (again.version, again.new_version) == (2, False)
    assert "the processes folder holds version 1; version 2, deployed by ada" in \
        again.warnings[0]
    assert "`bridgeflow export`" in again.warnings[0]
    assert engine.repository.definition("versioned").version == 2


def test_a_folder_file_changed_since_is_deployed_over_a_console_version_with_a_warning(
        engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "processes", review())
    engine.repository.deploy_directory(folder)
    engine.repository.deploy({"v.bpmn": review("managers")}, "ada")
    write_folder(folder, review("auditors"))  # someone edited the folder as well

    [deployed] = engine.repository.deploy_directory(folder)

    assert (deployed.version, deployed.new_version) == (3, True)
    assert "differs from version 2, deployed by ada" in deployed.warnings[0]


def test_export_writes_the_newest_versions_so_the_folder_and_the_database_agree(
        engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "processes", review())
    engine.repository.deploy_directory(folder)
    form = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    engine.repository.deploy({"v.bpmn": review("managers", form="look.json"),
                              "look.json": json.dumps(form).encode()}, "ada")

    written = engine.repository.export(folder)

    assert folder / "v.bpmn" in written and folder / "forms" / "look.json" in written
    assert (folder / "v.bpmn").read_bytes() == review("managers", form="look.json")
    assert json.loads((folder / "forms" / "look.json").read_text()) == form
    assert folder / "v.bpmn" not in engine.repository.export(folder)  # nothing new now
    [same] = [d for d in engine.repository.deploy_directory(folder) if d.key == "versioned"]
    assert (same.version, same.new_version, same.warnings) == (2, False, ())
