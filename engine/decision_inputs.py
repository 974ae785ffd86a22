"""The inputs a deployed decision reads, so that a person can try it with sample values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .dmn.model import DecisionModel, TableModel, read_model

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class DecisionInput:
    """One value the decision needs: the variable path to set, its label and FEEL type."""

    path: str
    label: str
    type_ref: str | None
    allowed: str | None = None  # the column's input values, as written in the table


def decision_inputs(source: str, filename: str, decision_id: str) -> list[DecisionInput]:
    """Return the simple-variable inputs of a decision and of the decisions it requires.

    Input expressions that are more than a variable path (``amount * 2``) are left out:
    the tester offers a free JSON field for whatever they read.
    """
    model, _problems = read_model(source.encode(), filename)
    if model is None:
        return []
    decisions = {d.id: d for d in model.decisions}
    inputs: dict[str, DecisionInput] = {}
    seen: set[str] = set()

    def visit(decision: DecisionModel) -> None:
        if decision.id in seen:
            return
        seen.add(decision.id)
        for required in decision.required_decisions:
            if required in decisions:
                visit(decisions[required])
        if isinstance(decision.logic, TableModel):
            for clause in decision.logic.inputs:
                path = clause.expression.text.strip()
                if _PATH.match(path) and path not in inputs and path not in provided:
                    allowed = clause.input_values.text if clause.input_values else None
                    inputs[path] = DecisionInput(path, clause.label or path, clause.type_ref,
                                                 allowed)
        for data in model.inputs:
            if data.id in decision.required_inputs and data.name not in inputs \
                    and _PATH.match(data.name):
                inputs[data.name] = DecisionInput(data.name, data.name, data.type_ref)

    # names that required decisions provide: the tester must not ask for them
    provided = {d.variable_name for d in decisions.values() if d.id != decision_id}
    if decision_id in decisions:
        visit(decisions[decision_id])
    return list(inputs.values())
