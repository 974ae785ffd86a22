"""DMN 1.5's coercions where a value crosses a typed boundary: a business knowledge model's
parameters and result, a decision service's parameters and result, a FEEL function's
parameters (a one-item list stands for its item; a value of another type is null, with
an error the result lists)."""

from __future__ import annotations

from decimal import Decimal

from tests.engine.dmn.builders import DMN13, load

FILE = f"""<definitions xmlns="{DMN13}" id="c" name="c" namespace="http://t/c">
  <itemDefinition name="tPerson">
    <itemComponent name="name"><typeRef>string</typeRef></itemComponent>
    <itemComponent name="age"><typeRef>number</typeRef></itemComponent>
  </itemDefinition>
  <itemDefinition name="tNumbers" isCollection="true"><typeRef>number</typeRef></itemDefinition>
  <itemDefinition name="tTextService"><functionItem outputTypeRef="string"/></itemDefinition>
  <inputData id="who_in" name="who"><variable name="who" typeRef="string"/></inputData>
  <inputData id="n_in" name="n"/>
  <businessKnowledgeModel id="adult_bkm" name="adult">
    <encapsulatedLogic>
      <formalParameter name="person" typeRef="tPerson"/>
      <literalExpression typeRef="boolean"><text>person.age &gt;= 18</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <businessKnowledgeModel id="one_bkm" name="one">
    <encapsulatedLogic>
      <formalParameter name="x"/>
      <literalExpression typeRef="number"><text>[x]</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <businessKnowledgeModel id="many_bkm" name="many">
    <encapsulatedLogic>
      <formalParameter name="x"/>
      <literalExpression typeRef="tNumbers"><text>x</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <decision id="call" name="call">
    <informationRequirement><requiredInput href="#n_in"/></informationRequirement>
    <knowledgeRequirement><requiredKnowledge href="#adult_bkm"/></knowledgeRequirement>
    <knowledgeRequirement><requiredKnowledge href="#one_bkm"/></knowledgeRequirement>
    <knowledgeRequirement><requiredKnowledge href="#many_bkm"/></knowledgeRequirement>
    <context>
      <contextEntry><variable name="adult ok"/>
        <literalExpression><text>adult({{name: "Ann", age: 20}})</text></literalExpression>
      </contextEntry>
      <contextEntry><variable name="adult wrong"/>
        <literalExpression><text>adult({{name: "Ann"}})</text></literalExpression>
      </contextEntry>
      <contextEntry><variable name="single"/>
        <literalExpression><text>one(n)</text></literalExpression>
      </contextEntry>
      <contextEntry><variable name="single wrong"/>
        <literalExpression><text>one("x")</text></literalExpression>
      </contextEntry>
      <contextEntry><variable name="listed"/>
        <literalExpression><text>many(n)</text></literalExpression>
      </contextEntry>
      <contextEntry><variable name="fn wrong"/>
        <literalExpression><text>(function(a: number) a)("x")</text></literalExpression>
      </contextEntry>
    </context>
  </decision>
  <decisionService id="echo_svc" name="echo">
    <variable name="echo" typeRef="tTextService"/>
    <outputDecision href="#echoed"/><inputData href="#who_in"/>
  </decisionService>
  <decision id="echoed" name="echoed">
    <informationRequirement><requiredInput href="#who_in"/></informationRequirement>
    <literalExpression><text>who</text></literalExpression>
  </decision>
  <decisionService id="count_svc" name="count">
    <variable name="count" typeRef="tTextService"/>
    <outputDecision href="#counted"/>
  </decisionService>
  <decision id="counted" name="counted"><literalExpression><text>1000</text></literalExpression>
  </decision>
  <decision id="services" name="services">
    <knowledgeRequirement><requiredKnowledge href="#echo_svc"/></knowledgeRequirement>
    <context>
      <contextEntry><variable name="list"/><literalExpression><text>echo(["Bo"])</text>
      </literalExpression></contextEntry>
      <contextEntry><variable name="number"/><literalExpression><text>echo(10)</text>
      </literalExpression></contextEntry>
    </context>
  </decision>
</definitions>""".encode()


def test_business_knowledge_model_parameters_and_results_are_coerced() -> None:
    result = load(FILE).evaluate("call", {"n": 7})
    out = result.outputs
    assert out["adult ok"] is True
    assert out["adult wrong"] is None  # a tPerson without its age
    assert out["single"] == Decimal(7)  # [7] for a number result: its item
    assert out["single wrong"] is None  # ["x"] is no number
    assert out["listed"] == [Decimal(7)]  # 7 for a list of numbers: [7]
    assert out["fn wrong"] is None
    assert any("business knowledge model 'adult': parameter 'person'" in e
               for e in result.errors)
    assert any("business knowledge model 'one': result" in e for e in result.errors)
    assert any("a function with a parameter of type number" in e for e in result.errors)


def test_decision_service_parameters_and_result_are_coerced() -> None:
    doc = load(FILE)
    result = doc.evaluate("services", {})
    assert result.outputs == {"list": "Bo", "number": None}
    assert any("decision service 'echo': parameter 'who'" in e for e in result.errors)
    # invoked by name: the one-item list given for a string input is its item
    assert doc.evaluate_service("echo", {"who": ["Cy"]}) == {"echoed": "Cy"}
    # a number where the service's function type says string: null
    assert doc.evaluate_service("count", {}) == {"counted": None}


def test_a_one_item_list_given_for_a_typed_input_is_its_item() -> None:
    assert load(FILE).evaluate("echoed", {"who": ["Di"]}).outputs == "Di"
