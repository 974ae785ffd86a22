"""Write small DMN files inline, the way Camunda Modeler / dmn-js save them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from engine.dmn import DecisionResult, DmnDocument, parse_dmn

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table_xml(
    rules: Sequence[tuple[Sequence[str], Sequence[str]]],
    *,
    inputs: Sequence[tuple[str, str | None]] = (("amount", "number"),),
    outputs: Sequence[str] = ("result",),
    hit_policy: str = "UNIQUE",
    aggregation: str | None = None,
    output_values: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    namespace: str = DMN13,
    decision_id: str = "decision",
    decision_name: str = "Decision",
) -> bytes:
    """A one-decision file; each rule is (input cells, output cells)."""
    ins = "".join(
        f'<input id="input_{i}" label="{escape(expr)}"><inputExpression id="ie_{i}"'
        + (f' typeRef="{type_ref}"' if type_ref else "")
        + f"><text>{escape(expr)}</text></inputExpression></input>"
        for i, (expr, type_ref) in enumerate(inputs)
    )
    outs = ""
    for i, name in enumerate(outputs):
        values = (output_values or {}).get(name)
        default = (defaults or {}).get(name)
        outs += f'<output id="output_{i}" name="{name}">'
        if values:
            outs += f"<outputValues><text>{escape(values)}</text></outputValues>"
        if default:
            outs += f"<defaultOutputEntry><text>{escape(default)}</text></defaultOutputEntry>"
        outs += "</output>"
    rows = ""
    for n, (in_cells, out_cells) in enumerate(rules, start=1):
        rows += f'<rule id="rule_{n}">'
        rows += "".join(f"<inputEntry><text>{escape(c)}</text></inputEntry>" for c in in_cells)
        rows += "".join(f"<outputEntry><text>{escape(c)}</text></outputEntry>"
                        for c in out_cells)
        rows += "</rule>\n"
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{namespace}" id="defs" '
        f'name="Test" namespace="http://bridgeflow.test">\n'
        f'<decision id="{decision_id}" name="{decision_name}">\n'
        f'<decisionTable id="table" hitPolicy="{hit_policy}"{agg}>\n'
        f"{ins}\n{outs}\n{rows}\n</decisionTable>\n</decision>\n</definitions>\n"
    ).encode()


def load(xml: bytes, filename: str = "test.dmn") -> DmnDocument:
    return parse_dmn(xml, filename)


def run(xml: bytes, variables: Mapping[str, Any], decision: str = "decision") -> DecisionResult:
    return load(xml).evaluate(decision, variables)


def cell_matches(cell: str, value: Any, type_ref: str | None = None) -> bool:
    """Whether an input cell matches a value, seen through a one-rule table."""
    xml = table_xml([([cell], ['"yes"'])], inputs=[("value", type_ref)])
    return bool(run(xml, {"value": value}).outputs == "yes")
