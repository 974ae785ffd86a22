"""Read a DMN file keeping the decisions that compile, for conformance runs and diagnostics.

``parse_dmn`` refuses a whole file for one unsupported decision, which is right for deploying
processes. ``parse_dmn_lenient`` instead returns the document with every problem attached to
its decision: evaluating such a decision (or one that requires it, or a business knowledge
model that has a problem) raises ``DecisionEvaluationError`` with the problem, while the
others evaluate as usual. Problems that belong to no decision still refuse the file.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.dmn.build import build_document
from engine.dmn.document import Decision, DmnDocument, Runner
from engine.dmn.feel_eval import Env
from engine.dmn.model import DefinitionsModel, read_model
from engine.dmn.results import DecisionEvaluationError, MatchedRule
from engine.errors import DefinitionError, Problem


def parse_dmn_lenient(source: bytes, filename: str) -> tuple[DmnDocument, list[Problem]]:
    """Parse a DMN file; return it with the problems of the decisions it cannot evaluate.

    Raises DefinitionError when a problem belongs to no decision or business knowledge model
    (the file is not DMN, an input data is malformed, nothing is decided...).
    """
    model, problems = read_model(source, filename)
    if model is None:
        raise DefinitionError(problems)
    document, build_problems = build_document(filename, model)
    problems = problems + build_problems
    owners = _owners(model)
    stray = [p for p in problems if p.element_id not in owners]
    if stray:
        raise DefinitionError(stray)
    by_owner: dict[str, list[Problem]] = {}
    for problem in problems:
        by_owner.setdefault(problem.element_id or "", []).append(problem)
    for d in model.decisions:
        own = by_owner.get(d.id, []) + [
            p for bkm in d.required_knowledge for p in by_owner.get(bkm, [])
        ]
        decision = document.decisions.get(d.id)
        if own and decision is not None:
            decision.run = _refusing(decision, own)
    return document, problems


def _owners(model: DefinitionsModel) -> set[str | None]:
    owners: set[str | None] = {d.id for d in model.decisions}
    return owners | {b.id for b in model.bkms}


def _refusing(decision: Decision, problems: Iterable[Problem]) -> Runner:
    reasons = "; ".join(p.message for p in problems)
    message = f"decision '{decision.name}' cannot be evaluated: {reasons}"

    def refuse(env: Env) -> tuple[object, list[MatchedRule]]:
        raise DecisionEvaluationError(message, decision.id)

    return refuse
