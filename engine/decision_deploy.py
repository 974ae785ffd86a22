"""Deploying DMN files one decision at a time, and refusing processes that call a decision
that cannot be evaluated.

A file deploys the decisions that compile; each of the others is stored as unavailable,
with the reason (``Definition.unavailable_reason``), and evaluating it is refused with that
reason. A file in which no decision can be evaluated is refused whole, with every problem.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .bpmn.parser import ParsedProcess
from .db import Database
from .deployed import Deployed
from .dmn import DmnDocument
from .dmn.lenient import import_order, parse_dmn_lenient
from .errors import DefinitionError, Problem
from .models import Definition, Event

Pin = dict[str, Any]  # a deployed DMN file an import resolved to: its id, key and version


@dataclass
class DmnFile:
    """A DMN file of a deployment, and the deployed files its imports resolved to."""

    name: str
    content: bytes
    doc: DmnDocument
    pins: dict[str, Pin] = field(default_factory=dict)  # namespace -> deployed file

    @property
    def is_library(self) -> bool:
        """A file of business knowledge models and item definitions, without a decision."""
        return not self.doc.decisions


def read_dmn_files(files: Mapping[str, bytes],
                   deployed: Callable[[str], tuple[Pin, DmnDocument] | None],
                   ) -> tuple[list[DmnFile], list[Problem]]:
    """Parse every DMN file of a deployment; the problems that refuse it, if any.

    A file's ``<import>``s are found among the files of the deployment, else among the
    deployed ones (``deployed`` gives the newest file of a namespace and its pin, or None).
    """
    docs: list[DmnFile] = []
    problems: list[Problem] = []
    order, imported = import_order(files)
    known: dict[str, DmnDocument] = {}
    for name in order:
        content = files[name]
        imports: dict[str, DmnDocument] = {}
        pins: dict[str, Pin] = {}
        for ns in imported[name]:
            if ns in known:
                imports[ns] = known[ns]
            elif (found_deployed := deployed(ns)) is not None:
                pins[ns], imports[ns] = found_deployed
        try:
            doc, found = parse_dmn_lenient(content, name, imports)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if not doc.decisions:
            problem = _library_problem(name, doc)
            if problem is not None:
                problems.append(problem)
                continue
        elif all(d.unavailable is not None for d in doc.decisions.values()):
            problems.extend(found or [Problem(name, "no decision of the file can be evaluated")])
            continue
        known[doc.model_namespace] = doc
        docs.append(DmnFile(name, content, doc, pins))
    return docs, problems


def _library_problem(name: str, doc: DmnDocument) -> Problem | None:
    """Why a file without a decision cannot be deployed as a library (None: it can)."""
    if not (doc.exported or doc.item_specs or doc.item_types):
        return Problem(name, "the file defines no decision, business knowledge model, "
                             "decision service or item definition: nothing to deploy")
    if not doc.model_namespace:
        return Problem(name, "a file of business knowledge models without a decision is "
                             "stored by its namespace: give <definitions> a namespace")
    if len(doc.model_namespace) > LIBRARY_KEY_LENGTH:
        return Problem(name, f"the namespace '{doc.model_namespace}' is longer than "
                             f"{LIBRARY_KEY_LENGTH} characters: a file without a decision "
                             "is stored by its namespace; choose a shorter one")
    return None


LIBRARY_KEY_LENGTH = 200  # definitions.key


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


def parse_stored(db: Database, cache: dict[str, DmnDocument], source: str, filename: str,
                 seen: frozenset[str] = frozenset(),
                 pins: Mapping[str, Pin] | None = None) -> DmnDocument:
    """A deployed DMN file, with the files its imports were pinned to at deploy (a file
    deployed before imports were pinned: the newest deployed file of each namespace)."""
    content = source.encode()
    _, imported = import_order({filename: content})
    imports = {}
    for namespace in imported[filename]:
        if namespace in seen:
            continue
        pin = (pins or {}).get(namespace)
        doc = (document_by_id(db, cache, pin["id"], seen | {namespace}) if pin
               else document_by_namespace(db, cache, namespace, seen | {namespace}))
        if doc is not None:
            imports[namespace] = doc
    return parse_dmn_lenient(content, filename, imports)[0]


def document_by_id(db: Database, cache: dict[str, DmnDocument], definition_id: str,
                   seen: frozenset[str] = frozenset()) -> DmnDocument | None:
    """The DMN file of one deployed definition, with its own pinned imports."""
    doc = cache.get(definition_id)
    if doc is not None:
        return doc
    with db.read() as session:
        row = session.execute(select(Definition.source, Definition.filename, Definition.imports)
                              .where(Definition.id == definition_id)).first()
    if row is None:
        return None
    doc = parse_stored(db, cache, row.source, row.filename, seen, row.imports)
    cache[definition_id] = doc
    return doc


def document_by_namespace(db: Database, cache: dict[str, DmnDocument], namespace: str,
                          seen: frozenset[str] = frozenset()) -> DmnDocument | None:
    """The newest deployed DMN file whose model has this namespace, or None."""
    found = newest_of_namespace(db, cache, namespace, seen)
    return found[1] if found is not None else None


def newest_of_namespace(db: Database, cache: dict[str, DmnDocument], namespace: str,
                        seen: frozenset[str] = frozenset()) -> tuple[Pin, DmnDocument] | None:
    """The newest deployed DMN file whose model has this namespace, and its pin, or None."""
    with db.read() as session:
        rows = session.execute(
            select(Definition.id, Definition.key, Definition.version)
            .where(Definition.kind.in_(("decision", "library")),
                   Definition.source.contains(f'namespace="{namespace}"', autoescape=True))
            .order_by(Definition.deployed_at.desc(), Definition.version.desc()).limit(50)).all()
    for definition_id, key, version in rows:
        try:
            doc = document_by_id(db, cache, definition_id, seen | {namespace})
        except DefinitionError:
            continue  # e.g. a file that imports this namespace and cannot be read alone
        if doc is not None and doc.model_namespace == namespace:
            return {"id": definition_id, "key": key, "version": version}, doc
    return None


NextVersion = Callable[[Session, str, str, str], tuple[Any, int, tuple[str, ...]]]


def store_dmn_files(session: Session, files: Iterable[DmnFile], deployed_by: str | None,
                    comment: str | None, next_version: NextVersion,
                    tests_of: Mapping[str, dict[str, str]] | None = None) -> list[Deployed]:
    """Store the DMN files of a deployment in import order, each pinned to the versions of
    the files it imports (a file of this deployment, else the newest deployed one)."""
    out: list[Deployed] = []
    here: dict[str, Pin] = {}
    for file in files:
        pins = {ns: here.get(ns) or pin for ns, pin in file.pins.items()}
        pins.update({ns: here[ns] for ns in _imported(file) if ns in here})
        stored = (store_library(session, file, pins, deployed_by, comment, next_version)
                  if file.is_library else
                  store_decisions(session, file, pins, deployed_by, comment, next_version,
                                  tests_of))
        if stored:
            first = stored[0]
            here[file.doc.model_namespace] = {"id": first.id, "key": first.key,
                                              "version": first.version}
        out.extend(stored)
    return out


def _imported(file: DmnFile) -> list[str]:
    return import_order({file.name: file.content})[1][file.name]


def _digest(content: bytes, pins: Mapping[str, Pin], tests: dict[str, str] | None) -> str:
    """A version's content hash: its file, its test files, the versions its imports use
    (without imports or tests, the hash of the file alone, as before imports were pinned)."""
    extra = json.dumps(tests, sort_keys=True) if tests else ""
    if pins:
        extra += json.dumps({"imports": {ns: p["id"] for ns, p in pins.items()}},
                            sort_keys=True)
    return hashlib.sha256(content + extra.encode()).hexdigest()


def store_library(session: Session, file: DmnFile, pins: Mapping[str, Pin],
                  deployed_by: str | None, comment: str | None,
                  next_version: NextVersion) -> list[Deployed]:
    """Store a new version of a file of business knowledge models keyed by its namespace."""
    key = file.doc.model_namespace
    digest = _digest(file.content, pins, None)
    same, version, notes = next_version(session, key, "library", digest)
    if same is not None:
        return [Deployed(same.id, key, same.version, "library", same.name, False,
                         warnings=notes)]
    row = Definition(key=key, version=version, kind="library", name=file.name,
                     content_hash=digest, filename=file.name, source=file.content.decode(),
                     deployed_by=deployed_by, comment=comment, imports=dict(pins) or None)
    session.add(row)
    session.flush()
    session.add(Event(type="definition_deployed", actor=deployed_by,
                      data={"key": key, "version": version, "kind": "library"}))
    return [Deployed(row.id, key, version, "library", row.name, True, warnings=notes)]


def store_decisions(session: Session, file: DmnFile, pins: Mapping[str, Pin],
                    deployed_by: str | None, comment: str | None,
                    next_version: NextVersion,
                    tests_of: Mapping[str, dict[str, str]] | None = None) -> list[Deployed]:
    """Store a new version of each decision of a changed file, the unavailable ones too,
    with the analysts' test files of each (a changed test file makes a new version) and
    the versions its imports use (a newer imported file makes a new version)."""
    out = []
    for decision_id, decision in file.doc.decisions.items():
        reason = decision.unavailable
        tests = (tests_of or {}).get(decision_id)
        digest = _digest(file.content, pins, tests)
        same, version, notes = next_version(session, decision_id, "decision", digest)
        warnings = notes + ((unavailable_warning(decision.name, reason),) if reason else ())
        if same is not None:
            out.append(Deployed(same.id, same.key, same.version, "decision", same.name,
                                False, warnings=warnings, unavailable_reason=reason))
            continue
        row = Definition(key=decision_id, version=version, kind="decision",
                         name=decision.name, content_hash=digest, filename=file.name,
                         source=file.content.decode(), deployed_by=deployed_by,
                         comment=comment, unavailable_reason=reason,
                         extra_files={"tests": tests} if tests else {},
                         imports=dict(pins) or None)
        session.add(row)
        session.flush()
        session.add(Event(type="definition_deployed", actor=deployed_by,
                          data={"key": decision_id, "version": version, "kind": "decision",
                                "available": reason is None}))
        out.append(Deployed(row.id, decision_id, version, "decision", row.name, True,
                            warnings=warnings, unavailable_reason=reason))
    return out


def unavailable_reason(db: Database, key: str) -> str | None:
    """Why the newest deployed version of decision ``key`` is unavailable (None: it is not)."""
    with db.read() as session:
        return session.scalars(select(Definition.unavailable_reason).where(
            Definition.key == key, Definition.kind == "decision")
            .order_by(Definition.version.desc()).limit(1)).first()
