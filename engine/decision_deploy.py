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


def read_dmn_files(files: Mapping[str, bytes],
                   deployed: Callable[[str], DmnDocument | None],
                   ) -> tuple[list[tuple[str, bytes, DmnDocument]], list[Problem]]:
    """Parse every DMN file of a deployment; the problems that refuse it, if any.

    A file's ``<import>``s are found among the files of the deployment, else among the
    deployed ones (``deployed`` gives the newest file of a namespace, or None).
    """
    docs: list[tuple[str, bytes, DmnDocument]] = []
    problems: list[Problem] = []
    order, imported = import_order(files)
    known: dict[str, DmnDocument] = {}
    for name in order:
        content = files[name]
        imports = {ns: doc for ns in imported[name]
                   if (doc := known.get(ns) or deployed(ns)) is not None}
        try:
            doc, found = parse_dmn_lenient(content, name, imports)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if not doc.decisions:
            problems.append(Problem(name, "the file defines no decision: Bridgeflow stores a DMN "
                                    "file by its decisions, so a file of business knowledge "
                                    "models alone cannot be deployed yet; add a decision to "
                                    "it"))
            continue
        if all(d.unavailable is not None for d in doc.decisions.values()):
            problems.extend(found or [Problem(name, "no decision of the file can be evaluated")])
            continue
        known[doc.model_namespace] = doc
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


def parse_stored(db: Database, cache: dict[str, DmnDocument], source: str, filename: str,
                 seen: frozenset[str] = frozenset()) -> DmnDocument:
    """A deployed DMN file, with the newest deployed files of the namespaces it imports."""
    content = source.encode()
    _, imported = import_order({filename: content})
    imports = {}
    for namespace in imported[filename]:
        if namespace not in seen:
            doc = document_by_namespace(db, cache, namespace, seen | {namespace})
            if doc is not None:
                imports[namespace] = doc
    return parse_dmn_lenient(content, filename, imports)[0]


def document_by_namespace(db: Database, cache: dict[str, DmnDocument], namespace: str,
                          seen: frozenset[str] = frozenset()) -> DmnDocument | None:
    """The newest deployed DMN file whose model has this namespace, or None."""
    with db.read() as session:
        rows = session.execute(
            select(Definition.id, Definition.source, Definition.filename)
            .where(Definition.kind == "decision",
                   Definition.source.contains(f'namespace="{namespace}"', autoescape=True))
            .order_by(Definition.deployed_at.desc(), Definition.version.desc()).limit(50)).all()
    for definition_id, source, filename in rows:
        doc = cache.get(definition_id)
        if doc is None:
            try:
                doc = parse_stored(db, cache, source, filename, seen | {namespace})
            except DefinitionError:
                continue  # e.g. a file that imports this namespace and cannot be read alone
            cache[definition_id] = doc
        if doc.model_namespace == namespace:
            return doc
    return None


NextVersion = Callable[[Session, str, str, str], tuple[Any, int, tuple[str, ...]]]


def store_decisions(session: Session, filename: str, content: bytes, doc: DmnDocument,
                    deployed_by: str | None, comment: str | None,
                    next_version: NextVersion,
                    tests_of: Mapping[str, dict[str, str]] | None = None) -> list[Deployed]:
    """Store a new version of each decision of a changed file, the unavailable ones too,
    with the analysts' test files of each (a changed test file makes a new version)."""
    out = []
    for decision_id, decision in doc.decisions.items():
        reason = decision.unavailable
        tests = (tests_of or {}).get(decision_id)
        digest = hashlib.sha256(content + (json.dumps(tests, sort_keys=True).encode()
                                           if tests else b"")).hexdigest()
        same, version, notes = next_version(session, decision_id, "decision", digest)
        warnings = notes + ((unavailable_warning(decision.name, reason),) if reason else ())
        if same is not None:
            out.append(Deployed(same.id, same.key, same.version, "decision", same.name,
                                False, warnings=warnings, unavailable_reason=reason))
            continue
        row = Definition(key=decision_id, version=version, kind="decision",
                         name=decision.name, content_hash=digest, filename=filename,
                         source=content.decode(), deployed_by=deployed_by,
                         comment=comment, unavailable_reason=reason,
                         extra_files={"tests": tests} if tests else {})
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
