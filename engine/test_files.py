"""Reading analysts' test files (YAML or JSON) safely, with the line of every field.

A test file is untrusted input: it is size-limited, parsed with ``yaml.safe_load``'s
loader only, and every complaint names the file, the line and the field that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from .errors import EngineError, Problem

MAX_TEST_FILE_BYTES = 256 * 1024
MAX_VALUES = 200_000  # more than a file of MAX_TEST_FILE_BYTES can hold without aliases
TEST_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")

Path = tuple[str | int, ...]


class TestFileError(EngineError):
    """A test file that cannot be run: bad YAML, a missing field, an unknown element."""

    __test__ = False  # not a pytest class
    code = "test_file_error"

    def __init__(self, filename: str, line: int | None, field: str, message: str) -> None:
        where = f"{filename}, line {line}" if line else filename
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        super().__init__(text, {"file": filename, "line": line, "field": field})
        self.filename = filename
        self.line = line
        self.field = field
        self.reason = message
        self.problem = f"{field}: {message}" if field else message


class _TooManyValues(Exception):
    pass


def _lines(node: yaml.Node | None, path: Path, out: dict[Path, int]) -> None:
    """Note the line of every value; past ``MAX_VALUES`` (aliases repeating a block many
    times over: a few hundred bytes can stand for billions of values) stop."""
    if node is None:
        return
    if len(out) > MAX_VALUES:
        raise _TooManyValues
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out[(*path, key.value)] = key.start_mark.line + 1
                _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


@dataclass
class TestDocument:
    """A parsed test file: its data, and a reader that reports problems with their line."""

    __test__ = False

    filename: str
    data: dict[str, Any]
    lines: dict[Path, int]

    def fail(self, path: Path, message: str) -> TestFileError:
        """The error for the field at ``path`` (the nearest line known)."""
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
        return TestFileError(self.filename, self.lines.get(probe), field.replace(".[", "["),
                             message)

    def get(self, node: dict[str, Any], path: Path, key: str, kind: type | tuple[type, ...],
            required: bool = False, default: Any = None) -> Any:
        """``node[key]`` checked to be of ``kind``; a clear error if it is not."""
        if key not in node or node[key] is None:
            if required:
                raise self.fail((*path, key), "is required")
            return default
        value = node[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(
                k.__name__ for k in kind)
            raise self.fail((*path, key), f"must be a {_plain(names)}, not "
                                          f"{_plain(type(value).__name__)}")
        return value

    def only(self, node: dict[str, Any], path: Path, allowed: set[str]) -> None:
        """Refuse a misspelled field instead of ignoring it."""
        for key in node:
            if key not in allowed:
                raise self.fail((*path, str(key)),
                                f"unknown field; expected one of {', '.join(sorted(allowed))}")


def _plain(name: str) -> str:
    return {"dict": "mapping", "list": "list", "str": "text", "int": "whole number",
            "float": "number", "bool": "true/false", "NoneType": "nothing"}.get(name, name)


def load_test_file(filename: str, content: bytes) -> TestDocument:
    """Parse a test file's bytes (YAML, of which JSON is a subset) into a ``TestDocument``."""
    if len(content) > MAX_TEST_FILE_BYTES:
        raise TestFileError(filename, None, "",
                            f"the file has {len(content)} bytes; at most "
                            f"{MAX_TEST_FILE_BYTES} are accepted")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TestFileError(filename, None, "", f"is not UTF-8 text ({exc.reason})") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise TestFileError(filename, mark.line + 1 if mark else None, "",
                            f"is not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise TestFileError(filename, None, "", f"is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise TestFileError(filename, None, "", "is nested too deeply to read") from exc
    if not isinstance(data, dict):
        raise TestFileError(filename, 1, "", "must be a mapping with 'process' or 'decision' "
                                             "and 'cases'")
    lines: dict[Path, int] = {}
    try:
        _lines(node, (), lines)
    except _TooManyValues:
        raise TestFileError(filename, None, "", f"has more than {MAX_VALUES} values once its "
                                                "aliases (*name) are expanded") from None
    except RecursionError as exc:
        raise TestFileError(filename, None, "", "is nested too deeply to read") from exc
    return TestDocument(filename, data, lines)


def is_test_file(name: str) -> bool:
    """Tell whether a file name is a test file's (``<name>.test.yaml`` …)."""
    return name.endswith(TEST_SUFFIXES)


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold: what was expected, what happened, and where."""

    expectation: str
    expected: Any
    actual: Any
    element_id: str | None = None

    def describe(self) -> str:
        where = f" at {self.element_id}" if self.element_id else ""
        return f"{self.expectation}{where}: expected {self.expected!r}, got {self.actual!r}"


@dataclass
class CaseResult:
    """How one named case went."""

    __test__ = False

    name: str
    failures: list[Failure]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class FileResult:
    """The cases of one test file, or the error that kept them from running."""

    filename: str
    kind: str  # "process" or "decision"
    key: str
    cases: list[CaseResult]
    error: TestFileError | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.cases)


def result_to_json(result: FileResult) -> dict[str, Any]:
    """A file's result as JSON data (values a test names that JSON lacks become text)."""
    error = result.error
    return {"filename": result.filename, "kind": result.kind, "key": result.key,
            "cases": [{"name": c.name,
                       "failures": [{"expectation": f.expectation, "expected": f.expected,
                                     "actual": f.actual, "element_id": f.element_id}
                                    for f in c.failures]} for c in result.cases],
            "error": None if error is None else {"filename": error.filename,
                                                 "line": error.line, "field": error.field,
                                                 "reason": error.reason}}


def result_from_json(data: dict[str, Any]) -> FileResult:
    """The ``FileResult`` that ``result_to_json`` wrote."""
    error = data.get("error")
    return FileResult(
        data["filename"], data["kind"], data["key"],
        [CaseResult(c["name"], [Failure(f["expectation"], f["expected"], f["actual"],
                                        f["element_id"]) for f in c["failures"]])
         for c in data["cases"]],
        None if error is None else TestFileError(error["filename"], error["line"],
                                                 error["field"], error["reason"]))


def report(results: list[FileResult]) -> str:
    """A readable report: one line per case, the failures under it, a summary line."""
    out: list[str] = []
    passed = failed = broken = 0
    for result in results:
        if result.error is not None:
            broken += 1
            out.append(f"ERROR {result.error.message}")
            continue
        out.append(f"{result.filename} ({result.kind} {result.key})")
        for case in result.cases:
            out.append(f"  {'PASS' if case.passed else 'FAIL'} {case.name}")
            out.extend(f"       {f.describe()}" for f in case.failures)
            passed += case.passed
            failed += not case.passed
    out.append(f"{passed} passed, {failed} failed, {broken} file(s) with errors")
    return "\n".join(out)


def plain(value: Any) -> Any:
    """A value as a test file writes it: Decimals as int or float, tuples as lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def matches(expected: Any, actual: Any, partial: bool = True) -> bool:
    """Tell whether ``actual`` is what the test expects; with ``partial``, a mapping may hold
    more keys than the test names (at every depth)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        if not partial and set(expected) != set(actual):
            return False
        return all(k in actual and matches(v, actual[k], partial) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list | tuple) and len(expected) == len(actual)
                and all(matches(e, a, partial) for e, a in zip(expected, actual, strict=True)))
    numbers = (int, float, Decimal)
    if (isinstance(expected, numbers) and isinstance(actual, numbers)
            and not isinstance(expected, bool) and not isinstance(actual, bool)):
        return Decimal(str(expected)) == Decimal(str(actual))
    return bool(expected == actual) and type(expected) is type(actual) or (
        expected is None and actual is None)


def test_key(name: str) -> str:
    """The process or decision a test file belongs to, by its name (``order_sync.test.yaml``
    → ``order_sync``)."""
    base = name.rsplit("/", 1)[-1]
    for suffix in TEST_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def stored_tests(tests: dict[str, bytes], keys: set[str]) -> tuple[dict[str, dict[str, str]],
                                                                   list[Problem]]:
    """The deployment's test files by the key they test, as stored with that definition;
    a file that is not readable YAML, or tests nothing deployed with it, is a problem."""
    by_key: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for name, content in sorted(tests.items()):
        base = name.rsplit("/", 1)[-1]
        try:
            load_test_file(base, content)
        except TestFileError as exc:
            problems.append(Problem(base, exc.problem, exc.line))
            continue
        key = test_key(base)
        if key not in keys:
            problems.append(Problem(base, f"tests '{key}', which this deployment does not "
                                          "contain: deploy the test file with its BPMN or DMN"))
            continue
        by_key.setdefault(key, {})[base] = content.decode("utf-8")
    return by_key, problems
