"""Camunda's ``mapDecisionResult``: how a business rule task stores what a decision gave.

Without the attribute, Bridgeflow stores the decision's natural value (one output column →
its value, several → a dict by output name; a list for multi-hit policies; the aggregate for
COLLECT with SUM/MIN/MAX/COUNT). With it, Camunda 7's four shapes:

- ``resultList``     → a list with one dict per matched rule (``[]`` when none matched);
- ``singleResult``   → that one dict, or ``None``; more than one matched rule is an error;
- ``collectEntries`` → a list of the single output's values; several outputs are an error;
- ``singleEntry``    → the single output of the single matched rule, or ``None``.
"""

from __future__ import annotations

from typing import Any

from .dmn.document import Decision
from .dmn.results import DecisionEvaluationError, DecisionResult

MAPPINGS = ("resultList", "singleResult", "collectEntries", "singleEntry")


def rows_of(decision: Decision, result: DecisionResult) -> list[dict[str, Any]]:
    """The decision's result as one dict of outputs per matched rule (or per aggregate)."""
    value = result.outputs
    names = decision.output_names or [decision.variable_name]
    multi = decision.kind == "decision table" and isinstance(value, list) and (
        decision.hit_policy in ("RULE ORDER", "OUTPUT ORDER", "COLLECT")
        and not decision.aggregation)
    values = value if multi else ([] if value is None and not result.matched_rules else [value])
    if len(names) == 1:
        return [{names[0]: v} for v in values]
    return [dict(v) if isinstance(v, dict) else {names[0]: v} for v in values]


def map_result(decision: Decision, result: DecisionResult, mapping: str | None) -> Any:
    """Shape ``result`` as ``mapping`` asks (None: the natural value)."""
    if mapping is None:
        return result.outputs
    rows = rows_of(decision, result)
    if mapping == "resultList":
        return rows
    if mapping == "singleResult":
        if len(rows) > 1:
            raise _error(decision, result, f"mapDecisionResult 'singleResult' expects at most "
                         f"one result but {len(rows)} rules matched")
        return rows[0] if rows else None
    width = max((len(r) for r in rows), default=1)
    if width > 1:
        raise _error(decision, result, f"mapDecisionResult '{mapping}' expects one output "
                     f"but the result has {width}: {', '.join(rows[0])}")
    values = [next(iter(r.values())) for r in rows]
    if mapping == "collectEntries":
        return values
    if mapping == "singleEntry":
        if len(values) > 1:
            raise _error(decision, result, f"mapDecisionResult 'singleEntry' expects at most "
                         f"one result but {len(values)} rules matched")
        return values[0] if values else None
    raise ValueError(f"unknown mapDecisionResult {mapping!r}; use one of {', '.join(MAPPINGS)}")


def _error(decision: Decision, result: DecisionResult, message: str) -> DecisionEvaluationError:
    return DecisionEvaluationError(f"decision '{decision.name}': {message}", decision.id,
                                   result.matched_rules)
