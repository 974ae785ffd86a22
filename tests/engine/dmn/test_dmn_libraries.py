"""DMN libraries (business knowledge models without a decision) and imports pinned to the
version of the imported file the importer was deployed with."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine import Engine
from engine.errors import DefinitionError
from tests.engine.dmn.builders import DMN13

LIB_NS = "http://t/loyalty-library"


def library(rate: str) -> bytes:
    return f"""<definitions xmlns="{DMN13}" id="loyalty" name="Loyalty" namespace="{LIB_NS}">
  <itemDefinition name="tCustomer">
    <itemComponent name="orders"><typeRef>number</typeRef></itemComponent>
  </itemDefinition>
  <businessKnowledgeModel id="discount_bkm" name="Discount">
    <encapsulatedLogic>
      <formalParameter name="orders" typeRef="number"/>
      <literalExpression><text>if orders &gt; 10 then {rate} else 0</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
</definitions>""".encode()


IMPORTER = f"""<definitions xmlns="{DMN13}" id="shop" name="Shop" namespace="http://t/shop">
  <import namespace="{LIB_NS}" name="loyalty" importType="{DMN13}"/>
  <inputData id="customer_in" name="Customer">
    <variable name="Customer" typeRef="loyalty.tCustomer"/>
  </inputData>
  <decision id="shop_discount" name="Shop discount">
    <informationRequirement><requiredInput href="#customer_in"/></informationRequirement>
    <knowledgeRequirement><requiredKnowledge href="{LIB_NS}#discount_bkm"/>
    </knowledgeRequirement>
    <literalExpression><text>loyalty.Discount(Customer.orders)</text></literalExpression>
  </decision>
</definitions>""".encode()

LOYAL = {"Customer": {"orders": 12}}


def test_a_file_of_business_knowledge_models_alone_deploys_as_a_library(
        engine: Engine) -> None:
    [lib] = engine.repository.deploy({"loyalty.dmn": library("0.1")})
    assert (lib.kind, lib.key, lib.version, lib.new_version) == ("library", LIB_NS, 1, True)
    listed = {(d.kind, d.key) for d in engine.repository.list_definitions()}
    assert ("library", LIB_NS) in listed
    [importer] = engine.repository.deploy({"shop.dmn": IMPORTER})
    assert importer.key == "shop_discount" and importer.available
    assert engine.repository.evaluate_decision("shop_discount", LOYAL).outputs == Decimal("0.1")


def test_an_unchanged_library_makes_no_new_version_and_a_changed_one_does(
        engine: Engine) -> None:
    engine.repository.deploy({"loyalty.dmn": library("0.1")})
    [same] = engine.repository.deploy({"loyalty.dmn": library("0.1")})
    assert (same.version, same.new_version) == (1, False)
    [changed] = engine.repository.deploy({"loyalty.dmn": library("0.2")})
    assert (changed.version, changed.new_version) == (2, True)
    versions = engine.repository.definition_versions(LIB_NS)
    assert [v.version for v in versions] == [2, 1]


def test_a_file_that_defines_nothing_is_refused_saying_so(engine: Engine) -> None:
    empty = f'<definitions xmlns="{DMN13}" id="e" name="E" namespace="http://t/e"/>'.encode()
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"empty.dmn": empty})
    [problem] = caught.value.problems
    assert problem.file == "empty.dmn"
    assert "defines no decision, business knowledge model" in problem.message
    assert "http://t/e" not in {d.key for d in engine.repository.list_definitions()}


def test_an_importer_keeps_the_library_version_it_was_deployed_with(engine: Engine) -> None:
    engine.repository.deploy({"loyalty.dmn": library("0.1")})
    [v1] = engine.repository.deploy({"shop.dmn": IMPORTER})
    engine.repository.deploy({"loyalty.dmn": library("0.2")})
    # a later library version does not change the deployed importer
    assert engine.repository.evaluate_decision("shop_discount", LOYAL).outputs == Decimal("0.1")
    assert engine.repository.definition("shop_discount").imports[LIB_NS]["version"] == 1
    # deploying the unchanged importer again binds it to the newest library: a new version
    [v2] = engine.repository.deploy({"shop.dmn": IMPORTER})
    assert (v2.version, v2.new_version) == (v1.version + 1, True)
    assert engine.repository.evaluate_decision("shop_discount", LOYAL).outputs == Decimal("0.2")
    assert engine.repository.definition("shop_discount").imports[LIB_NS]["version"] == 2
    [again] = engine.repository.deploy({"shop.dmn": IMPORTER})
    assert again.new_version is False


def test_a_library_and_its_importer_deployed_together_are_pinned_to_each_other(
        engine: Engine) -> None:
    out = engine.repository.deploy({"shop.dmn": IMPORTER, "loyalty.dmn": library("0.3")})
    assert {(d.kind, d.key) for d in out} == {("library", LIB_NS), ("decision", "shop_discount")}
    lib_id = next(d.id for d in out if d.kind == "library")
    assert engine.repository.definition("shop_discount").imports[LIB_NS]["id"] == lib_id
    engine.repository.deploy({"loyalty.dmn": library("0.4")})
    assert engine.repository.evaluate_decision("shop_discount", LOYAL).outputs == Decimal("0.3")


def test_an_importer_without_its_library_is_refused_naming_the_namespace(
        engine: Engine) -> None:
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"shop.dmn": IMPORTER})
    [problem] = caught.value.problems
    assert f"imports namespace '{LIB_NS}'" in problem.message
    assert "shop_discount" not in {d.key for d in engine.repository.list_definitions()}


def test_a_rolled_back_importer_binds_the_library_version_it_was_deployed_with(
        engine: Engine) -> None:
    engine.repository.deploy({"loyalty.dmn": library("0.1")})
    engine.repository.deploy({"shop.dmn": IMPORTER})  # version 1, on library version 1
    engine.repository.deploy({"loyalty.dmn": library("0.2")})
    engine.repository.deploy({"shop.dmn": IMPORTER})  # version 2, on library version 2
    assert engine.repository.evaluate_decision("shop_discount", LOYAL).outputs == Decimal("0.2")
    [back] = engine.repository.rollback("shop_discount", 1, "ana")
    assert (back.version, back.new_version) == (3, True)
    assert engine.repository.evaluate_decision("shop_discount", LOYAL).outputs == Decimal("0.1")
    assert engine.repository.definition("shop_discount").imports[LIB_NS]["version"] == 1
    # the library itself is not rolled back: other importers still see its newest version
    assert engine.repository.definition(LIB_NS).version == 2


def test_a_rolled_back_library_importer_deployed_together_keeps_its_pin(
        engine: Engine) -> None:
    engine.repository.deploy({"shop.dmn": IMPORTER, "loyalty.dmn": library("0.3")})
    engine.repository.deploy({"loyalty.dmn": library("0.4")})
    engine.repository.deploy({"shop.dmn": IMPORTER})
    [back] = engine.repository.rollback("shop_discount", 1, "ana")
    assert back.version == 3
    assert engine.repository.evaluate_decision("shop_discount", LOYAL).outputs == Decimal("0.3")
