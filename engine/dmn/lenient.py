"""Read a DMN file keeping the decisions that compile: one decision at a time.

``parse_dmn`` refuses a whole file for one unsupported decision. ``parse_dmn_lenient``
instead returns the document with every problem attached to its decision: such a decision
(or one that requires it, or that invokes a business knowledge model with a problem) is
marked unavailable with the reason, and evaluating it raises ``DecisionEvaluationError``
saying why, while the others evaluate as usual. Problems that belong to no decision still
refuse the file. Deploying uses it, and so does the TCK runner.
"""

from __future__ import annotations

from engine.dmn.build import build_document
from engine.dmn.document import Decision, DmnDocument, Runner
from engine.dmn.feel_eval import Env
from engine.dmn.model import DefinitionsModel, read_model
from engine.dmn.results import DecisionEvaluationError, MatchedRule
from engine.errors import DefinitionError, Problem


def parse_dmn_lenient(source: bytes, filename: str) -> tuple[DmnDocument, list[Problem]]:
    """Parse a DMN file; return it with the problems of the decisions it cannot evaluate.

    Raises DefinitionError when a problem belongs
    to no decision or business knowledge model (the file is not DMN, an input data is
    malformed, nothing is decided...).
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
            decision.problem = decision.unavailable = "; ".join(_described(p) for p in own)
    _mark_dependents(document)
    for decision in document.decisions.values():
        if decision.problem is not None:
            decision.run = _refusing(decision)
    return document, problems


def _described(problem: Problem) -> str:
    return problem.message + (f" (line {problem.line})" if problem.line else "")


def _mark_dependents(document: DmnDocument) -> None:
    """A decision that requires an unavailable one is unavailable too, and says which."""
    changed = True
    while changed:
        changed = False
        for decision in document.decisions.values():
            if decision.unavailable is not None:
                continue
            for ref in decision.required_decisions:
                required = document.decisions.get(ref)
                if required is not None and required.unavailable is not None:
                    decision.unavailable = (f"it requires decision '{required.name}', which is "
                                            f"unavailable: {required.unavailable}")
                    changed = True
                    break


def _owners(model: DefinitionsModel) -> set[str | None]:
    owners: set[str | None] = {d.id for d in model.decisions}
    return owners | {b.id for b in model.bkms}


def _refusing(decision: Decision) -> Runner:
    message = f"decision '{decision.name}' cannot be evaluated: {decision.problem}"

    def refuse(env: Env) -> tuple[object, list[MatchedRule]]:
        raise DecisionEvaluationError(message, decision.id)

    return refuse
