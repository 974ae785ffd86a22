"""Read a DMN file keeping the decisions that compile: one decision at a time.

``parse_dmn`` refuses a whole file for one unsupported decision. ``parse_dmn_lenient``
instead returns the document with every problem attached to its decision: such a decision
(or one that requires it, or that invokes a business knowledge model with a problem) is
marked unavailable with the reason, and evaluating it raises ``DecisionEvaluationError``
saying why, while the others evaluate as usual. Problems that belong to no decision still
refuse the file. Deploying uses it, and so does the TCK runner.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from engine.dmn.build import build_document
from engine.dmn.document import Decision, DmnDocument, Runner
from engine.dmn.feel_eval import Env
from engine.dmn.model import DefinitionsModel, read_model
from engine.dmn.results import DecisionEvaluationError, MatchedRule
from engine.errors import DefinitionError, Problem


def parse_dmn_lenient(source: bytes, filename: str,
                      imports: Mapping[str, DmnDocument] | None = None,
                      ) -> tuple[DmnDocument, list[Problem]]:
    """Parse a DMN file; return it with the problems of the decisions it cannot evaluate.

    ``imports`` are the documents the file may ``<import>``, by namespace (a namespace it
    imports that is not there refuses the file). Raises DefinitionError when a problem belongs
    to no decision or business knowledge model (the file is not DMN, an input data is
    malformed, nothing is decided...).
    """
    model, problems = read_model(source, filename)
    if model is None:
        raise DefinitionError(problems)
    document, build_problems = build_document(filename, model, imports)
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
            document.has_unavailable = True
    _mark_dependents(document)
    for decision in document.decisions.values():
        if decision.problem is not None:
            decision.run = _refusing(decision)
    return document, problems


def import_order(files: Mapping[str, bytes]) -> tuple[list[str], dict[str, list[str]]]:
    """The file names, each after the files of this set it imports; and what each imports.

    A file that cannot be read comes first (its parse reports why); a cycle of imports is
    left in file order (the files then report the namespaces they miss).
    """
    namespaces: dict[str, str] = {}
    imported: dict[str, list[str]] = {}
    for name, content in files.items():
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False,
                                                             no_network=True))
        except etree.XMLSyntaxError:
            imported[name] = []
            continue
        namespaces[root.get("namespace") or ""] = name
        imported[name] = [e.get("namespace") or "" for e in root
                          if isinstance(e.tag, str) and etree.QName(e).localname == "import"]
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order or name in path:
            return
        for namespace in imported.get(name, []):
            if namespace in namespaces:
                visit(namespaces[namespace], (*path, name))
        order.append(name)

    for name in files:
        visit(name, ())
    return order, imported


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
