"""Running a DMN test table: rows of inputs, the outputs expected and the rules that match.

The decision runs with Bridgeflow's own DMN engine straight from the file's bytes; no
database is involved.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .dmn import DecisionEvaluationError, parse_dmn
from .errors import DefinitionError, EngineError
from .test_files import CaseResult, Failure, FileResult, TestDocument, matches, plain
from .xml_text import as_utf8

CASE_FIELDS = {"name", "decision", "inputs", "outputs", "rules", "error"}


def parse_xml(source: bytes) -> Any:
    """A deployed BPMN or DMN file's XML tree, read without entities or network access."""
    return etree.fromstring(as_utf8(source),
                            etree.XMLParser(resolve_entities=False, no_network=True))


def decision_file_for(key: str, sources: dict[str, bytes]) -> tuple[str, bytes] | None:
    """The DMN file among ``sources`` that defines decision ``key``."""
    for name, source in sources.items():
        if not name.endswith(".dmn"):
            continue
        try:
            root = parse_xml(source)
        except (etree.XMLSyntaxError, ValueError):
            continue
        if any(el.get("id") == key for el in root.iter("{*}decision")):
            return name, source
    return None


def rule_ids(source: bytes, key: str) -> list[str]:
    """The ids of the rules of decision ``key``'s table, top to bottom."""
    root = parse_xml(source)
    for decision in root.iter("{*}decision"):
        if decision.get("id") == key:
            return [r.get("id") or "" for r in decision.iter("{*}rule")]
    return []


def run_decision_tests(doc: TestDocument, sources: dict[str, bytes]) -> FileResult:
    """Run every row of a decision test file against the decision it names."""
    data = doc.data
    doc.only(data, (), {"decision", "cases"})
    key = doc.get(data, (), "decision", str, required=True)
    found = decision_file_for(key, sources)
    if found is None:
        raise doc.fail(("decision",), f"no deployed DMN file defines decision '{key}'")
    filename, source = found
    try:
        document = parse_dmn(source, filename)
    except DefinitionError as exc:
        raise doc.fail(("decision",), f"{filename} does not parse: {exc.message}") from exc
    cases = doc.get(data, (), "cases", list, required=True)
    if not cases:
        raise doc.fail(("cases",), "must list at least one case")
    checked = [_check_case(doc, i, case, key, document, source)
               for i, case in enumerate(cases)]
    results = []
    for name, case in checked:
        results.append(CaseResult(name, _run_case(document, case.get("decision", key), case)))
    return FileResult(doc.filename, "decision", key, results)


def _check_case(doc: TestDocument, i: int, case: Any, key: str, document: Any,
                source: bytes) -> tuple[str, dict[str, Any]]:
    path: tuple[str | int, ...] = ("cases", i)
    if not isinstance(case, dict):
        raise doc.fail(path, "must be a mapping with inputs and outputs or rules")
    doc.only(case, path, CASE_FIELDS)
    name = doc.get(case, path, "name", str, default=f"row {i + 1}")
    decision = doc.get(case, path, "decision", str, default=key)
    if decision not in document.decisions:
        raise doc.fail((*path, "decision"), f"the file has no decision '{decision}' (it has: "
                                            f"{', '.join(sorted(document.decisions))})")
    known_rules = rule_ids(source, decision)
    doc.get(case, path, "inputs", dict, required=True)
    rules = doc.get(case, path, "rules", list, default=None)
    for j, rule in enumerate(rules or []):
        if rule not in known_rules:
            raise doc.fail((*path, "rules", j),
                           f"the decision has no rule '{rule}'; its rules are "
                           f"{', '.join(known_rules)}")
    doc.get(case, path, "error", str, default=None)
    if "outputs" not in case and rules is None and "error" not in case:
        raise doc.fail(path, "says nothing to check: give outputs, rules or error")
    return name, case


def _run_case(document: Any, key: str, case: dict[str, Any]) -> list[Failure]:
    failures: list[Failure] = []
    try:
        result = document.evaluate(key, case["inputs"])
    except (DecisionEvaluationError, EngineError) as exc:
        if "error" in case:
            if str(case["error"]).lower() not in exc.message.lower():
                failures.append(Failure("error", case["error"], exc.message))
            return failures
        return [Failure("the decision gives a result", case.get("outputs"), exc.message)]
    if "error" in case:
        failures.append(Failure("error", case["error"], plain(result.outputs)))
    if "outputs" in case and not matches(case["outputs"], plain(result.outputs)):
        failures.append(Failure("outputs", case["outputs"], plain(result.outputs)))
    if case.get("rules") is not None:
        matched = [r.id for r in result.matched_rules]
        if matched != case["rules"]:
            failures.append(Failure("matched rules", case["rules"], matched,
                                    matched[0] if matched else None))
    return failures
