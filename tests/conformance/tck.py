"""Run the DMN TCK compliance-level-2 or -3 cases against engine.dmn and report each one.

Run as ``python -m tests.conformance.tck [--level 3] [--quiet]``. The suites live in
``shared/conformance`` beside the repository (``BRIDGEFLOW_CONFORMANCE_DIR`` overrides where);
a ``non-compliant/`` folder inside a suite, when present, is run too and reported apart.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from engine.dmn import DecisionResult, DmnDocument
from engine.dmn.feel_errors import collecting
from engine.dmn.feel_temporal import parse_date, parse_date_time, parse_duration, parse_time
from engine.dmn.feel_types import feel_repr
from engine.dmn.lenient import import_order, parse_dmn_lenient
from engine.errors import EngineError

SUITES = {2: "dmn-tck-level2", 3: "dmn-tck-level3"}
NON_COMPLIANT = "non-compliant"
TC = "{http://www.omg.org/spec/DMN/20160719/testcase}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
REPO_ROOT = Path(__file__).resolve().parents[2]


def conformance_dir() -> Path:
    override = os.environ.get("BRIDGEFLOW_CONFORMANCE_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "conformance"


@dataclass
class Outcome:
    case: str
    passed: bool
    detail: str = ""

    def line(self) -> str:
        return f"PASS {self.case}" if self.passed else f"FAIL {self.case} {self.detail}"


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed

    def totals(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"

    def per_directory(self) -> list[str]:
        """One line per model directory: passed/total, in suite order."""
        passed: Counter[str] = Counter()
        total: Counter[str] = Counter()
        for outcome in self.outcomes:
            directory = outcome.case.rsplit("/", 1)[0]
            total[directory] += 1
            passed[directory] += outcome.passed
        return [f"{passed[d]:4d}/{total[d]:<4d} {d}" for d in total]


# -- TCK values ---------------------------------------------------------------------------
_SIMPLE = {
    "decimal": Decimal, "integer": Decimal, "double": Decimal, "int": Decimal, "long": Decimal,
    "string": str, "boolean": lambda t: t.strip() == "true", "date": parse_date,
    "time": parse_time, "dateTime": parse_date_time, "duration": parse_duration,
}  # fmt: skip


def read_value(element: etree._Element) -> Any:
    """Convert a TCK valueType element (value, components or list) to a Python/FEEL value."""
    value = element.find(f"{TC}value")
    if value is not None:
        if value.get(f"{XSI}nil") == "true":
            return None
        text = value.text or ""
        kind = (value.get(f"{XSI}type") or "xsd:string").split(":")[-1]
        return _SIMPLE.get(kind, str)(text)  # type: ignore[operator]
    items = element.find(f"{TC}list")
    if items is not None:
        if items.get(f"{XSI}nil") == "true":
            return None
        return [read_value(item) for item in items.findall(f"{TC}item")]
    components = element.findall(f"{TC}component")
    if components:
        return {c.get("name"): read_value(c) for c in components}
    return None


# The TCK's reference runner (runners/dmn-tck-runner-drools, CompareValuesUtil) accepts numbers
# that differ by less than 1e-8: some expected values (0008, 0009) were computed in binary
# floating point and differ from the exact decimal result in the 11th decimal place.
NUMBER_TOLERANCE = Decimal("0.00000001")


def same(expected: Any, actual: Any) -> bool:
    """TCK equality: null only equals null; numbers as decimals within NUMBER_TOLERANCE."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, Decimal):
        if type(actual) is not Decimal:
            return False
        try:
            return abs(actual - expected) < NUMBER_TOLERANCE
        except InvalidOperation:
            return False
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(same(e, a) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and expected.keys() == actual.keys()
                and all(same(v, actual[k]) for k, v in expected.items()))
    return type(expected) is type(actual) and bool(expected == actual)


def show(value: Any) -> str:
    try:
        return feel_repr(value)
    except Exception:  # noqa: BLE001 - a report must never crash on an odd value
        return repr(value)


# -- running ------------------------------------------------------------------------------
def run_case(document: DmnDocument, model: str, case: etree._Element) -> Outcome:
    name = f"{model}/{case.get('id')}"
    inputs: dict[str, Any] = {}
    for node in case.findall(f"{TC}inputNode"):
        value = read_value(node)
        namespace = node.get("namespace")
        paths = _import_paths(document, namespace) if namespace else [[]]
        for path in paths:  # an imported model's input, under every import that reaches it
            target = inputs
            for step in path:
                target = target.setdefault(step, {})
            target[node.get("name", "")] = value
    problems = []
    service = case.get("invocableName") if case.get("type") == "decisionService" else None
    for result in case.findall(f"{TC}resultNode"):
        decision = result.get("name") or ""
        expected_el = result.find(f"{TC}expected")
        wants_error = result.get("errorResult") == "true"
        try:
            if service:
                with collecting() as errors:
                    outputs = document.evaluate_service(service, inputs)
                result = DecisionResult(outputs.get(decision), [], list(errors))
            else:
                result = document.evaluate(decision, inputs)
        except EngineError as exc:
            if not wants_error:
                problems.append(f"{decision}: expected a value, got error: {exc.message}")
            continue
        actual = result.outputs
        expected = read_value(expected_el) if expected_el is not None else None
        if wants_error:
            # FEEL reports an error and goes on with null: both must be there
            if not (result.errors and same(expected, actual)):
                problems.append(f"{decision}: expected an error, got {show(actual)}")
            continue
        if not same(expected, actual):
            problems.append(f"{decision}: expected {show(expected)} got {show(actual)}")
    return Outcome(name, not problems, "; ".join(problems))


def _import_paths(document: DmnDocument, namespace: str) -> list[list[str]]:
    """The chains of import names from ``document`` to the model of ``namespace``."""
    if document.model_namespace == namespace:
        return [[]]
    return [[name, *rest] for name, doc in document.imports.items()
            for rest in _import_paths(doc, namespace)]


def read_models(dmn_files: list[Path], main: str) -> DmnDocument:
    """Parse the model named ``main`` with the models of the folder it imports."""
    files = {f.name: f.read_bytes() for f in dmn_files}
    order, imported = import_order(files)
    known: dict[str, DmnDocument] = {}
    for name in order:
        imports = {ns: known[ns] for ns in imported[name] if ns in known}
        try:
            document, _ = parse_dmn_lenient(files[name], name, imports)
        except EngineError:
            if name == main:
                raise
            continue
        known[document.model_namespace] = document
        if name == main:
            return document
    raise ValueError(f"model {main} not found among {', '.join(files)}")


def run_model(directory: Path, prefix: str = "") -> list[Outcome]:
    model = prefix + directory.name
    dmn_files = sorted(directory.glob("*.dmn"))
    test_files = sorted(directory.glob("*-test-*.xml"))
    cases = [case for tf in test_files
             for case in etree.parse(str(tf)).getroot().findall(f"{TC}testCase")]
    try:
        names = {tf_model for tf in test_files
                 if (tf_model := etree.parse(str(tf)).getroot().findtext(f"{TC}modelName"))}
        if len(dmn_files) != 1 and len(names) != 1:
            raise ValueError(f"expected one .dmn file in {directory}, found {len(dmn_files)}")
        main = names.pop() if len(dmn_files) != 1 else dmn_files[0].name
        # one unsupported decision fails its own cases, not the whole file's
        document = read_models(dmn_files, main)
    except (EngineError, ValueError) as exc:
        return [Outcome(f"{model}/{c.get('id')}", False, f"model refused: {exc}") for c in cases]
    return [run_case(document, model, case) for case in cases]


def run(root: Path | None = None, level: int = 2) -> Report:
    suite = (root or conformance_dir()) / SUITES[level]
    if not suite.is_dir():
        raise FileNotFoundError(
            f"DMN TCK cases not found at {suite}; put the shared folder beside the repository "
            f"or set BRIDGEFLOW_CONFORMANCE_DIR to the folder holding {SUITES[level]}"
        )
    report = Report()
    for directory in _model_dirs(suite):
        report.outcomes.extend(run_model(directory))
    extra = suite / NON_COMPLIANT
    if extra.is_dir():
        for directory in _model_dirs(extra):
            report.outcomes.extend(run_model(directory, f"{NON_COMPLIANT}/"))
    return report


def _model_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name != NON_COMPLIANT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.tck")
    parser.add_argument("--level", type=int, choices=sorted(SUITES), default=2)
    parser.add_argument("--quiet", action="store_true", help="only the per-directory lines")
    args = parser.parse_args(argv)
    report = run(level=args.level)
    if not args.quiet:
        for outcome in report.outcomes:
            print(outcome.line())
    print("\n".join(report.per_directory()))
    print(f"level {args.level}: {report.totals()}")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
