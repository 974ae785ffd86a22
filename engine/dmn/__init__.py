"""Bridgeflow's own DMN engine: decision tables and FEEL, parsed once, never run as Python.

``parse_dmn`` reads and checks a DMN 1.1–1.5 file (every problem is reported at once);
``DmnDocument.evaluate`` runs a decision by id (or unambiguous name) with the given variables.
"""

from __future__ import annotations

from engine.dmn.build import build_document
from engine.dmn.document import Decision, DmnDocument
from engine.dmn.model import read_model
from engine.dmn.results import DecisionEvaluationError, DecisionResult, MatchedRule
from engine.errors import DefinitionError

__all__ = [
    "Decision",
    "DecisionEvaluationError",
    "DecisionResult",
    "DmnDocument",
    "MatchedRule",
    "parse_dmn",
]


def parse_dmn(source: bytes, filename: str) -> DmnDocument:
    """Parse and check a DMN file; raise DefinitionError listing EVERY problem found."""
    model, problems = read_model(source, filename)
    if model is None:
        raise DefinitionError(problems)
    document, build_problems = build_document(filename, model)
    problems = problems + build_problems
    if problems:
        raise DefinitionError(problems)
    return document
