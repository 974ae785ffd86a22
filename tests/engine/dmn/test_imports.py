"""DMN imports across files: deployed together or one after the other, used by a prefix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine import Engine
from engine.errors import DefinitionError
from tests.engine.dmn.builders import DMN13

LIBRARY_NS = "http://t/pricing-library"

LIBRARY = f"""<definitions xmlns="{DMN13}" id="lib" name="Library" namespace="{LIBRARY_NS}">
  <itemDefinition name="tCustomer">
    <itemComponent name="name"><typeRef>string</typeRef></itemComponent>
    <itemComponent name="orders"><typeRef>number</typeRef></itemComponent>
  </itemDefinition>
  <inputData id="base_rate_in" name="Base rate"><variable name="Base rate" typeRef="number"/>
  </inputData>
  <businessKnowledgeModel id="discount_bkm" name="Loyalty discount">
    <encapsulatedLogic>
      <formalParameter name="orders" typeRef="number"/>
      <literalExpression><text>if orders &gt; 10 then 0.1 else 0</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <decision id="base_rate" name="Rate">
    <informationRequirement><requiredInput href="#base_rate_in"/></informationRequirement>
    <literalExpression><text>Base rate * 2</text></literalExpression>
  </decision>
</definitions>""".encode()

PRICING = f"""<definitions xmlns="{DMN13}" id="pricing" name="Pricing" namespace="http://t/p">
  <import namespace="{LIBRARY_NS}" name="lib" importType="{DMN13}"/>
  <inputData id="customer_in" name="Customer"><variable name="Customer" typeRef="lib.tCustomer"/>
  </inputData>
  <decision id="loyalty_discount" name="Discount">
    <informationRequirement><requiredInput href="#customer_in"/></informationRequirement>
    <knowledgeRequirement><requiredKnowledge href="{LIBRARY_NS}#discount_bkm"/>
    </knowledgeRequirement>
    <literalExpression><text>lib.Loyalty discount(Customer.orders)</text></literalExpression>
  </decision>
  <decision id="list_price" name="Price">
    <informationRequirement><requiredDecision href="{LIBRARY_NS}#base_rate"/>
    </informationRequirement>
    <literalExpression><text>lib.Rate + 1</text></literalExpression>
  </decision>
</definitions>""".encode()


def test_files_deployed_together_use_each_others_models_by_prefix(engine: Engine) -> None:
    deployed = engine.repository.deploy({"pricing.dmn": PRICING, "library.dmn": LIBRARY})
    assert {d.key for d in deployed} == {"loyalty_discount", "list_price", "base_rate"}
    assert all(d.available for d in deployed)
    customer = {"Customer": {"name": "Ann", "orders": 12}}
    evaluate = engine.repository.evaluate_decision
    assert evaluate("loyalty_discount", customer).outputs == Decimal("0.1")
    # the imported model's input data is named under the import: lib.Base rate
    assert evaluate("list_price", {"lib": {"Base rate": 4}}).outputs == 9


def test_an_import_of_a_file_deployed_before_is_found(engine: Engine) -> None:
    engine.repository.deploy({"library.dmn": LIBRARY})
    engine.repository.deploy({"pricing.dmn": PRICING})
    customer = {"Customer": {"name": "Ann", "orders": 3}}
    assert engine.repository.evaluate_decision("loyalty_discount", customer).outputs == 0


def test_an_import_that_is_not_deployed_refuses_the_file_naming_the_namespace(
        engine: Engine) -> None:
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"pricing.dmn": PRICING})
    [problem] = caught.value.problems
    assert problem.file == "pricing.dmn"
    assert f"imports namespace '{LIBRARY_NS}' as 'lib'" in problem.message
    assert "loyalty_discount" not in {d.key for d in engine.repository.list_definitions()}
