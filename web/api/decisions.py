"""Evaluate a deployed decision table with sample inputs."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import dump, engine, json_safe, load_body
from .schemas import DecisionResultSchema, EvaluateDecisionSchema


@bp.post("/decisions/<key>/evaluate")
def evaluate_decision(key: str) -> dict[str, Any]:
    """Evaluate decision ``key``: its outputs, the rules that matched, the FEEL errors met.

    An unavailable decision (deployed with its file but not evaluable) answers 422 with
    the reason.
    """
    body = load_body(EvaluateDecisionSchema)
    result = engine().repository.evaluate_decision(key, body["variables"])
    return dump(DecisionResultSchema, {"outputs": json_safe(result.outputs),
                                        "matched_rules": result.matched_rules,
                                        "errors": result.errors})
