"""Deploy the BPMN MIWG reference models (dry run) and report which deploy, which are refused.

Run as ``python -m tests.conformance.miwg``. The models live in ``shared/conformance`` beside
the repository (``BRIDGEFLOW_CONFORMANCE_DIR`` overrides where). A model is *deployed*, or
*refused* with the problems a person would read, or *failed*: any other exception is a bug.

``python -m tests.conformance.miwg FOLDER`` does the same for every ``.bpmn`` file under any
folder (a collection of one's own, such as Camunda's examples): each with the DMN files
beside it and the files that define the processes it calls.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from engine import DefinitionError, Engine
from engine.db import Database
from engine.errors import Problem
from tests.conformance.tck import conformance_dir

SUITE = "bpmn-miwg-reference"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# text that means a library's wording reached a person unchanged
RAW_TEXT = re.compile(r"0x[0-9a-fA-F]|<Element|SpiffWorkflow|\b[A-Z]\w*(?:Exception|Error)\b")


@dataclass
class Outcome:
    model: str
    outcome: str  # deployed, refused or failed
    problems: list[Problem] = field(default_factory=list)
    detail: str = ""

    def lines(self) -> list[str]:
        head = f"{self.model:<12} {self.outcome:<9}"
        if self.outcome == "deployed":
            return [f"{head} {self.detail}"]
        if self.outcome == "failed":
            return [f"{head} {self.detail}"]
        return [head] + [f"{'':<22} {p}" for p in self.problems]


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(o.outcome == outcome for o in self.outcomes)

    def totals(self) -> str:
        return (f"{len(self.outcomes)} models: {self.count('deployed')} deployed, "
                f"{self.count('refused')} refused, {self.count('failed')} failed")

    def raw_messages(self) -> list[str]:
        """Refusal messages that show a library's own text (reprs, class names)."""
        return [f"{o.model}: {p}" for o in self.outcomes for p in o.problems
                if RAW_TEXT.search(p.message)]

    def reasons(self) -> Counter[str]:
        """How often each kind of refusal occurs (quoted names and ids left out)."""
        kinds: Counter[str] = Counter()
        for outcome in self.outcomes:
            for message in {_kind(p.message) for p in outcome.problems}:
                kinds[message] += 1
        return kinds


def _kind(message: str) -> str:
    message = re.sub(r"'[^']*'(, '[^']*')*", "'…'", message)
    return message.split(":")[0] if message.startswith(("condition", "timer")) else message


def _processes(source: bytes) -> tuple[set[str], set[str]]:
    """The process ids a file defines and the process ids its call activities call."""
    root = etree.fromstring(source)
    defined = {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    return {d for d in defined if d}, {c for c in called if c}


def with_called(model: Path, models: list[Path], root: Path | None = None,
                ) -> dict[str, bytes]:
    """``model`` and the sibling models that define the processes it calls, transitively.

    Files are named relative to ``root`` when it is given (a collection of folders may hold
    several files of one name), else by their own name.
    """
    def name_of(path: Path) -> str:
        return str(path.relative_to(root)) if root is not None else path.name

    sources = {name_of(m): m.read_bytes() for m in models}
    defines = {}
    for name, src in sources.items():
        try:
            defines[name] = _processes(src)[0]
        except etree.XMLSyntaxError:
            defines[name] = set()
    files, todo = {name_of(model)}, [name_of(model)]
    while todo:
        try:
            called_ids = _processes(sources[todo.pop()])[1]
        except etree.XMLSyntaxError:
            continue  # the deploy says what is wrong with the file
        for called in called_ids:
            if any(called in defines[name] for name in files):
                continue
            for name, ids in defines.items():
                if called in ids and name not in files:
                    files.add(name)
                    todo.append(name)
    return {name: sources[name] for name in sorted(files)}


def deploy(engine: Engine, model: Path, models: list[Path], root: Path | None = None,
           ) -> Outcome:
    files = with_called(model, models, root)
    name = str(model.relative_to(root)) if root is not None else model.name
    others = sorted(set(files) - {name})
    if root is not None:  # the decisions beside it
        files.update({str(d.relative_to(root)): d.read_bytes()
                      for d in sorted(model.parent.glob("*.dmn"))})
    try:
        deployed = engine.repository.deploy(files, "miwg", dry_run=True)
    except DefinitionError as exc:
        return Outcome(name, "refused", exc.problems)
    except Exception as exc:  # noqa: BLE001 - any other exception is what this run looks for
        return Outcome(name, "failed", detail=f"{type(exc).__name__}: {exc}")
    keys = ", ".join(d.key for d in deployed)
    return Outcome(name, "deployed",
                   detail=keys + (f" (with {', '.join(others)})" if others else ""))


def run(engine: Engine | None = None, root: Path | None = None) -> Report:
    suite = (root or conformance_dir()) / SUITE
    models = sorted(suite.glob("*.bpmn"))
    if not models:
        raise FileNotFoundError(
            f"BPMN MIWG models not found at {suite}; put the shared folder beside the "
            "repository or set BRIDGEFLOW_CONFORMANCE_DIR to the folder holding " + SUITE)
    if engine is None:
        with tempfile.TemporaryDirectory() as tmp:
            database = Database(f"sqlite:///{tmp}/miwg.db")
            database.upgrade()
            try:
                return run(Engine(database), root)
            finally:
                database.dispose()
    return Report([deploy(engine, model, models) for model in models])


def run_folder(folder: Path, engine: Engine | None = None) -> Report:
    """Every ``.bpmn`` file under ``folder``, each deployed as a dry run."""
    models = sorted(folder.rglob("*.bpmn"))
    if engine is None:
        with tempfile.TemporaryDirectory() as tmp:
            database = Database(f"sqlite:///{tmp}/collection.db")
            database.upgrade()
            try:
                return run_folder(folder, Engine(database))
            finally:
                database.dispose()
    return Report([deploy(engine, model, models, folder) for model in models])


def main() -> int:
    report = run_folder(Path(sys.argv[1])) if len(sys.argv) > 1 else run()
    for outcome in report.outcomes:
        print("\n".join(outcome.lines()))
    print("\nrefusal reasons (models):")
    for reason, count in report.reasons().most_common():
        print(f"{count:>3}  {reason}")
    raw = report.raw_messages()
    if raw:
        print("\nmessages with raw library text:\n" + "\n".join(raw))
    print("\n" + report.totals())
    return 0 if report.count("failed") == 0 and not raw else 1


if __name__ == "__main__":
    sys.exit(main())
