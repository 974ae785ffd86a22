"""A FEEL error while a process runs a decision: an incident that says where and with what.

DMN lets a FEEL error give null and go on; Camunda 7 instead stops the decision with an
exception, which becomes an incident. Bridgeflow does as Camunda: a business rule task whose
decision reported FEEL errors fails with a message naming the decision, the cells and the
input values the decision read (personal values masked), so a person can correct the table,
deploy it and retry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .dmn import Decision, DecisionEvaluationError

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MISSING = object()


def feel_error(decision: Decision, errors: list[str], variables: Mapping[str, Any],
               mask: Callable[[Any], Any]) -> DecisionEvaluationError:
    """The error a business rule task fails with when its decision reported FEEL errors."""
    located = [e if e.startswith("decision '") else f"decision '{decision.name}': {e}"
               for e in errors]
    shown = _input_values(decision, variables, mask)
    return DecisionEvaluationError(
        f"decision '{decision.name}' ({decision.id}) met FEEL errors, so its result would be "
        f"wrong: {'; '.join(located)}. Input values: {shown or 'none read'}. Correct the "
        "decision, deploy it and retry the incident", decision.id)


def _input_values(decision: Decision, variables: Mapping[str, Any],
                  mask: Callable[[Any], Any]) -> str:
    paths: list[str] = []
    for d in [*decision.evaluation_order, decision]:
        paths.extend(p for p in [*d.reads, *d.required_inputs]
                     if _PATH.match(p) and p not in paths)
    nested: dict[str, Any] = {}
    for path in paths:
        value = _lookup(variables, path)
        if value is _MISSING:
            continue
        target = nested
        *parents, last = path.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    masked = mask(nested)
    return ", ".join(f"{p} = {_show(_lookup(masked, p))}" for p in paths
                     if _lookup(masked, p) is not _MISSING)


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 200 else text[:200] + "…"
