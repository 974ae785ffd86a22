"""Evaluate a deployed decision table with sample inputs."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import dump, engine, json_safe, load_body
from .schemas import DecisionResultSchema, EvaluateDecisionSchema


@bp.post("/decisions/<key>/evaluate")
def evaluate_decision(key: str) -> dict[str, Any]:
    """Evaluate decision ``key`` and return its outputs and the rules that matched."""
    body = load_body(EvaluateDecisionSchema)
    result = engine().repository.evaluate_decision(key, body["variables"])
    return dump(DecisionResultSchema, {"outputs": json_safe(result.outputs),
                                        "matched_rules": result.matched_rules})
