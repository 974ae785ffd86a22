"""The figures a form declares for a review page: checked at deploy, worked out per case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine import Engine
from engine.errors import DefinitionError
from engine.figures import figures_of, lookup
from engine.scripting import Sandbox

from .bpmn_files import process_file

SANDBOX = Sandbox()


def form(*figures: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"ok": {"type": "boolean"}},
            "x-bridgeflow-figures": list(figures)}


REVIEW = process_file("figures_review", """
  <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="look"/>
  <bpmn:userTask id="look" name="Look" camunda:formKey="review.json"/>
  <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="end"/><bpmn:endEvent id="end"/>""")


def deploy(engine: Engine, content: dict[str, Any]) -> None:
    engine.repository.deploy({"review.bpmn": REVIEW,
                              "review.json": json.dumps(content).encode()})


@pytest.mark.parametrize(("figures", "problem"), [
    ("not a list", "x-bridgeflow-figures must be a list of figures"),
    ([{"label": "A", "path": "a"}] * 31, "lists 31 figures; at most 30 are shown"),
    (["amount"], "a figure must be an object with a label and a path or an expression"),
    ([{"path": "a"}], "'label' must be a text of 1 to 80 characters"),
    ([{"label": "A"}], "give exactly one of 'path'"),
    ([{"label": "A", "path": "a", "expression": "a"}], "give exactly one of 'path'"),
    ([{"label": "A", "path": "a[0]"}], "'path' 'a[0]' is not a variable path"),
    ([{"label": "A", "path": "a..b"}], "is not a variable path"),
    ([{"label": "A", "expression": "__import__('os').system('id')"}],
     "'expression' is refused"),
    ([{"label": "A", "expression": "a +"}], "'expression' is refused"),
    ([{"label": "A", "path": "a", "format": "euro"}], "'format' 'euro' is not one of"),
    ([{"label": "A", "path": "a", "format": "money", "currency": "euro"}],
     "'currency' 'euro' is not a three-letter code"),
    ([{"label": "A", "path": "a", "currency": "EUR"}], "a currency is for figures of format"),
    ([{"label": "A", "path": "a", "colour": "red"}], "unknown field 'colour'"),
])
def test_a_bad_figure_is_refused_at_deploy_naming_the_form_and_the_figure(
        engine: Engine, figures: Any, problem: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, form(*figures) if isinstance(figures, list) else
               {**form(), "x-bridgeflow-figures": figures})
    assert "form 'review.json': x-bridgeflow-figures" in str(refused.value)
    assert problem in str(refused.value)
    assert "figures_review" not in {d.key for d in engine.repository.list_definitions()}


def test_figures_read_paths_and_compute_expressions_for_one_case() -> None:
    declared = form(
        {"label": "Amount", "path": "contract.amount", "format": "money",
         "currency_path": "credit.currency"},
        {"label": "First line", "path": "contract.lines.1.sku"},
        {"label": "Missing", "path": "contract.nothing.here"},
        {"label": "After", "expression": "credit['exposure'] + contract['amount']",
         "format": "money", "currency": "USD"},
        {"label": "Broken", "expression": "contract['amount'] / 0"})
    variables = {"contract": {"amount": 100, "lines": [{"sku": "A"}, {"sku": "B"}]},
                 "credit": {"exposure": 50, "currency": "EUR"}}

    figures = figures_of(declared, variables, SANDBOX)

    assert [(f.label, f.value, f.currency) for f in figures] == [
        ("Amount", 100, "EUR"), ("First line", "B", None), ("Missing", None, None),
        ("After", 150, "USD"), ("Broken", None, None)]
    assert figures[4].problem is not None and "could not be worked out" in figures[4].problem
    assert "division by zero" in figures[4].problem
    assert variables["contract"]["amount"] == 100  # an expression changes no variable


def test_a_masked_value_stays_masked_in_a_figure() -> None:
    """Figures are worked out from what the viewer may see, never from the raw values."""
    declared = form({"label": "E-mail", "path": "contact.email"},
                    {"label": "Domain", "expression": "contact['email'].split('@')[1]"})
    masked = {"contact": {"email": "•••"}}
    email, domain = figures_of(declared, masked, SANDBOX)
    assert email.value == "•••"
    assert domain.value is None and domain.problem is not None


def test_a_form_without_figures_has_none() -> None:
    assert figures_of(None, {"a": 1}, SANDBOX) == []
    assert figures_of({"type": "object"}, {"a": 1}, SANDBOX) == []


def test_lookup_stops_at_the_first_missing_step() -> None:
    data = {"a": {"b": [1, {"c": 2}]}, "s": "text"}
    assert lookup(data, "a.b.1.c") == 2
    assert lookup(data, "a.b.5") is None
    assert lookup(data, "s.upper") is None  # never an attribute of a value
    assert lookup(data, "a.b.x") is None
