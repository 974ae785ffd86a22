"""Business rule tasks: mapDecisionResult shapes, and hit-policy violations as incidents."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.dmn.results import DecisionEvaluationError
from engine.errors import DefinitionError

from .conftest import FIXTURES


def test_each_result_mapping_stores_the_shape_camunda_gives(engine: Engine) -> None:
    inst = engine.runtime.start("ship_parcel", None, {"weight": 30, "fragile": True}, wait=5)
    assert inst.status == "completed"
    # singleResult: one dict by output name; the cost is computed by the rule (30 * 2)
    assert inst.variables["shipping"] == {"method": "freight", "cost": 60}
    # collectEntries: the single output's values, in rule order
    assert inst.variables["notes"] == ["this side up", "two-person lift"]
    # resultList: one dict per matched rule
    assert inst.variables["rows"] == [{"note": "this side up"}, {"note": "two-person lift"}]


def test_no_matching_rule_gives_empty_and_none_shapes(engine: Engine) -> None:
    inst = engine.runtime.start("ship_parcel", None, {"weight": 1, "fragile": False}, wait=5)
    assert inst.variables["shipping"] == {"method": "parcel", "cost": 5}
    assert inst.variables["notes"] == [] and inst.variables["rows"] == []


def test_a_unique_table_with_two_matches_opens_an_incident_naming_both_rules(
        engine: Engine) -> None:
    inst = engine.runtime.start("ship_parcel", None, {"weight": 7, "fragile": False}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "choose_method"
    assert "UNIQUE" in incident.message and "1, 2" in incident.message
    assert incident.details["decision_id"] == "shipping"
    assert incident.details["matched_rules"] == [{"id": "parcel", "number": 1},
                                                 {"id": "freight", "number": 2}]
    # the instance stopped before the task: nothing after it ran
    assert "notes" not in inst.variables


def test_single_entry_refuses_a_result_with_two_outputs(engine: Engine) -> None:
    with pytest.raises(DecisionEvaluationError, match="singleEntry.*one output.*method, cost"):
        engine._core.definitions.decide("shipping", {"weight": 1}, "singleEntry")
    assert engine._core.definitions.decide("handling", {"weight": 50, "fragile": False},
                                     "singleEntry") == "two-person lift"


def test_an_unknown_result_mapping_is_refused_at_deploy(engine: Engine) -> None:
    xml = (FIXTURES / "engine" / "shipping.bpmn").read_bytes().replace(
        b'mapDecisionResult="singleResult"', b'mapDecisionResult="firstRow"')
    before = len(engine.repository.definition_versions("ship_parcel"))
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"shipping.bpmn": xml})
    [problem] = caught.value.problems
    assert problem.element_id == "choose_method"
    assert "firstRow" in problem.message and "singleResult" in problem.message
    assert len(engine.repository.definition_versions("ship_parcel")) == before


def test_a_rule_past_the_number_limit_is_an_incident_at_the_task(engine: Engine) -> None:
    dmn = (FIXTURES / "engine" / "shipping.dmn").read_bytes().replace(
        b"weight * 2", b"weight ** 999999")
    engine.repository.deploy({"shipping.dmn": dmn})  # deploying does not compute the rule
    inst = engine.runtime.start("ship_parcel", None, {"weight": 30, "fragile": True}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "choose_method"
    assert "numbers are limited" in incident.message
    assert "shipping" not in inst.variables
