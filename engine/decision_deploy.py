"""Deploying DMN files one decision at a time, and refusing processes that call a decision
that cannot be evaluated.

A file deploys the decisions that compile; each of the others is stored as unavailable,
with the reason (``Definition.unavailable_reason``), and evaluating it is refused with that
reason. A file in which no decision can be evaluated is refused whole, with every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from .bpmn.parser import ParsedProcess
from .dmn import DmnDocument
from .dmn.lenient import parse_dmn_lenient
from .errors import DefinitionError, Problem


def read_dmn_files(files: Mapping[str, bytes]) -> tuple[list[tuple[str, bytes, DmnDocument]],
                                                        list[Problem]]:
    """Parse every DMN file of a deployment; the problems that refuse it, if any."""
    docs: list[tuple[str, bytes, DmnDocument]] = []
    problems: list[Problem] = []
    for name, content in files.items():
        try:
            doc, found = parse_dmn_lenient(content, name)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if all(d.unavailable is not None for d in doc.decisions.values()):
            problems.extend(found or [Problem(name, "no decision of the file can be evaluated")])
            continue
        docs.append((name, content, doc))
    return docs, problems


def unavailable_warning(name: str, reason: str) -> str:
    return (f"decision '{name}' is unavailable: {reason}. The other decisions of the file are "
            "deployed; evaluating this one, or deploying a process that calls it, is refused "
            "until a corrected file is deployed")


def refused_calls(processes: Iterable[ParsedProcess], docs: Iterable[DmnDocument],
                  deployed_reason: Callable[[str], str | None]) -> list[Problem]:
    """Business rule tasks that call an unavailable decision: one problem each.

    A decision of this deployment is judged by its new file; any other by the newest
    deployed version (``deployed_reason`` gives its reason, None when it can be evaluated).
    """
    here = {key: d for doc in docs for key, d in doc.decisions.items()}
    problems = []
    for process in processes:
        for element_id, ref in process.decision_tasks:
            if not ref:
                continue
            decision = here.get(ref)
            reason = decision.unavailable if decision is not None else deployed_reason(ref)
            if reason is None:
                continue
            problems.append(Problem(process.filename, (
                f"business rule task '{element_id}' of process '{process.key}' calls decision "
                f"'{ref}', which is unavailable: {reason}; correct the decision and deploy its "
                "DMN file (with the process, or before it)"), None, element_id))
    return problems
