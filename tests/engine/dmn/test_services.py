"""Decision services: invoked by name with their inputs given, or from FEEL as a function."""

from __future__ import annotations

from tests.engine.dmn.builders import DMN13, load

FILE = f"""<definitions xmlns="{DMN13}" id="d" name="d" namespace="http://t">
  <inputData id="who" name="who"/>
  <decisionService id="greet_svc" name="greeting service">
    <outputDecision href="#greet"/><inputDecision href="#salutation"/><inputData href="#who"/>
  </decisionService>
  <decision id="salutation" name="salutation"><literalExpression><text>"Hello"</text>
  </literalExpression></decision>
  <decision id="greet" name="greet">
    <informationRequirement><requiredDecision href="#salutation"/></informationRequirement>
    <informationRequirement><requiredInput href="#who"/></informationRequirement>
    <literalExpression><text>salutation + " " + who</text></literalExpression>
  </decision>
  <decision id="caller" name="caller">
    <knowledgeRequirement><requiredKnowledge href="#greet_svc"/></knowledgeRequirement>
    <literalExpression><text>greeting service("Ann", "Hi")</text></literalExpression>
  </decision>
</definitions>""".encode()


def test_a_service_takes_its_input_decisions_as_given() -> None:
    document = load(FILE)
    assert document.evaluate("greet", {"who": "Ann"}).outputs == "Hello Ann"
    outputs = document.evaluate_service("greeting service", {"who": "Bo", "salutation": "Hey"})
    assert outputs == {"greet": "Hey Bo"}


def test_a_service_is_a_function_of_its_input_data_then_input_decisions() -> None:
    assert load(FILE).evaluate("caller", {}).outputs == "Hi Ann"


def test_a_service_called_with_too_many_arguments_reports_it() -> None:
    xml = FILE.replace(b'greeting service("Ann", "Hi")', b'greeting service(1, 2, 3)')
    result = load(xml).evaluate("caller", {})
    assert result.outputs is None and "takes 2 arguments, not 3" in result.errors[0]
