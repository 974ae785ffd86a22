"""What evaluating a decision gives back, and the error raised when a table cannot decide."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import EngineError


@dataclass(frozen=True)
class MatchedRule:
    """A rule that contributed to the result: its id in the file and its 1-based row number."""

    id: str | None
    number: int


@dataclass
class DecisionResult:
    """The decision's value (see ``DmnDocument.evaluate``), the rules that produced it and
    the FEEL errors met on the way (operations that gave null, such as ``1 + "a"``)."""

    outputs: Any
    matched_rules: list[MatchedRule] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class DecisionEvaluationError(EngineError):
    """A decision could not be evaluated: hit policy violated, missing variable, wrong type."""

    code = "decision_error"

    def __init__(
        self,
        message: str,
        decision_id: str | None = None,
        matched_rules: list[MatchedRule] | None = None,
    ) -> None:
        self.decision_id = decision_id
        self.matched_rules = list(matched_rules or [])
        super().__init__(
            message,
            {
                "decision_id": decision_id,
                "matched_rules": [{"id": r.id, "number": r.number} for r in self.matched_rules],
            },
        )
