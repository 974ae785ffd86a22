"""Deploying: check every file of a deployment, then store new versions of what changed.

``Definitions.deploy`` and ``deploy_directory`` are the entry points; reading what was
deployed (specs, forms, decisions, their caches) stays in ``engine/definitions.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import xml_text
from .bpmn import serializer
from .bpmn.parser import ParsedProcess, parse_bpmn_files
from .db import Database
from .decision_deploy import (
    Pin,
    read_dmn_files,
    refused_calls,
    store_dmn_files,
    unavailable_reason,
)
from .deployed import Deployed
from .errors import DefinitionError, Problem
from .forms import START_FORM, read_form
from .models import Definition, Event, utcnow
from .test_files import TEST_SUFFIXES, is_test_file, stored_tests
from .timeutil import shortest_cycle_gap
from .versioning import MAX_COMMENT, STARTUP, DeployingAs, next_version, subscribe_starts

if TYPE_CHECKING:
    from .definitions import Definitions

BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
DMN_SUFFIXES = (".dmn", ".dmn11.xml")
# every kind of file a deployment takes, with its extensions, for the refusal of any other
UNKNOWN_KIND = ("unknown kind of file: deploy processes (" + ", ".join(BPMN_SUFFIXES)
                + "), decisions (" + ", ".join(DMN_SUFFIXES) + "), forms (.json) or "
                "process and decision tests (" + ", ".join(TEST_SUFFIXES) + ")")


@dataclass
class _Files:
    """A deployment's files by kind (XML as UTF-8), and the problems found sorting them."""

    bpmn: dict[str, bytes] = field(default_factory=dict)
    dmn: dict[str, bytes] = field(default_factory=dict)
    forms: dict[str, bytes] = field(default_factory=dict)
    tests: dict[str, bytes] = field(default_factory=dict)  # stored with what they test
    problems: list[Problem] = field(default_factory=list)


def deploy(definitions: Definitions, files: Mapping[str, bytes],
           deployed_by: str | None = None, forms_dir: Path | None = None, *,
           dry_run: bool = False, comment: str | None = None, keep_newer: bool = False,
           pins: Mapping[str, Pin] | None = None) -> list[Deployed]:
    """Check every file, then store new versions of what changed; all or nothing
    (``Definitions.deploy`` says what the options do)."""
    if comment is not None and len(comment) > MAX_COMMENT:
        raise DefinitionError([Problem("(request)", f"the comment is {len(comment)} "
                                       f"characters long; at most {MAX_COMMENT} are kept")])
    how = DeployingAs(deployed_by, comment or None, keep_newer)
    sorted_files = _sort(files)
    problems = sorted_files.problems
    dmn_docs, dmn_problems = read_dmn_files(sorted_files.dmn,
                                            lambda ns: definitions.imported(ns, pins))
    problems.extend(dmn_problems)
    if not sorted_files.bpmn and not sorted_files.dmn and not problems:
        problems.append(Problem("(request)", "no BPMN or DMN file to deploy"))
    processes: list[ParsedProcess] = []
    if sorted_files.bpmn:
        processes, found = parse_bpmn_files(
            sorted_files.bpmn, definitions.sandbox, known_operation=definitions.known_operation,
            extra_sources=_call_activity_sources(definitions.db, sorted_files.bpmn))
        problems.extend(found)
        problems.extend(_too_frequent_starts(processes, definitions.min_start_cycle))
    decisions_here = {d for f in dmn_docs for d in f.doc.decisions}
    form_contents = _check_references(definitions, processes, sorted_files.forms, forms_dir,
                                      decisions_here, problems)
    tests_of, test_problems = stored_tests(sorted_files.tests,
                                           {p.key for p in processes} | decisions_here)
    problems.extend(test_problems)
    problems.extend(refused_calls(processes, [f.doc for f in dmn_docs],
                                  lambda key: unavailable_reason(definitions.db, key)))
    if problems:
        raise DefinitionError(problems)
    for attempt in range(3):
        try:
            with definitions.db.write() as session:
                now = utcnow()  # one deployment, one time (calledElementBinding)
                out = [_store_process(session, p, form_contents, how, now, tests_of.get(p.key),
                                      definitions)
                       for p in processes]
                out.extend(store_dmn_files(
                    session, dmn_docs, how.by, how.comment,
                    lambda s, k, kind, h: next_version(s, k, kind, h, how.keep_newer),
                    tests_of))
                if dry_run:
                    session.rollback()
                    return out
            definitions.forget_latest_decisions()
            return out
        except IntegrityError:  # another deployer took the same version number
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def deploy_directory(definitions: Definitions, path: Path,
                     deployed_by: str = STARTUP) -> list[Deployed]:
    """Deploy every BPMN, DMN and test file under ``path`` (forms from ``path/forms``),
    never replacing a newer version by an older file (``keep_newer``)."""
    files = {str(p.relative_to(path)): p.read_bytes()
             for p in sorted(path.rglob("*"))
             if p.is_file() and (p.name.endswith(BPMN_SUFFIXES + DMN_SUFFIXES)
                                 or is_test_file(p.name))}
    if not files:
        return []
    return deploy(definitions, files, deployed_by, forms_dir=path / "forms", keep_newer=True)


def _sort(files: Mapping[str, bytes]) -> _Files:
    """The files by kind, by their base names; XML read as UTF-8 whatever encoding it
    declares, and refused with a DTD; a file of no known kind is a problem."""
    out = _Files()
    for name, raw in files.items():
        base = Path(name).name
        try:
            content = raw
            if base.endswith(BPMN_SUFFIXES + DMN_SUFFIXES):
                content = xml_text.as_utf8(raw)
                xml_text.refuse_dtd(content)
        except xml_text.XmlFileError as exc:
            out.problems.append(Problem(base, str(exc), exc.line))
            continue
        if base.endswith(BPMN_SUFFIXES):
            out.bpmn[base] = content
        elif base.endswith(DMN_SUFFIXES):
            out.dmn[base] = content
        elif is_test_file(base):
            out.tests[base] = content
        elif base.endswith(".json"):
            out.forms[base] = content
        else:
            out.problems.append(Problem(base, UNKNOWN_KIND))
    return out


def _check_references(definitions: Definitions, processes: list[ParsedProcess],
                      forms: dict[str, bytes], forms_dir: Path | None,
                      decisions_here: set[str],
                      problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """The forms the processes name, read and checked; a missing form or decision is a
    problem."""
    contents: dict[str, dict[str, Any]] = {}
    for process in processes:
        for form in process.forms:
            if _form_file(form, forms, forms_dir) is None:
                problems.append(Problem(process.filename, f"form file '{form}' was not "
                                        "deployed with the process nor found in "
                                        "processes/forms/"))
                continue
            content, refused = read_form(form, lambda name: _form_file(name, forms, forms_dir),
                                         definitions.sandbox)
            problems.extend(refused)
            if content is not None:
                contents[form] = content
        for ref in process.decisions:
            if ref and ref not in decisions_here \
                    and definitions.latest_id(ref, "decision") is None:
                problems.append(Problem(process.filename, f"decision '{ref}' is not "
                                        "deployed; deploy its DMN file with the process"))
    return contents


def _too_frequent_starts(processes: list[ParsedProcess],
                         min_start_cycle: timedelta) -> list[Problem]:
    """Timer start cycles that would start instances more often than the settings allow."""
    out = []
    for process in processes:
        if not process.timer_start:
            continue
        try:
            gap = shortest_cycle_gap(process.timer_start, utcnow())
        except ValueError:
            continue  # the checker has reported an unreadable cycle already
        if gap is not None and gap < min_start_cycle:
            out.append(Problem(process.filename, (
                f"the timer start cycle '{process.timer_start}' of process "
                f"'{process.key}' would start an instance every {gap.total_seconds():g} "
                f"s; the shortest cycle allowed is {min_start_cycle.total_seconds():g}"
                " s (setting BRIDGEFLOW_MIN_START_CYCLE_SECONDS)")))
    return out


def _call_activity_sources(db: Database, bpmn: Mapping[str, bytes]) -> dict[str, bytes]:
    """The newest deployed source of each process the files call and do not hold, so the
    parser can check the calls against it."""
    called: set[str] = set()
    for content in bpmn.values():
        for marker in content.split(b'calledElement="')[1:]:
            called.add(marker.split(b'"', 1)[0].decode())
    out: dict[str, bytes] = {}
    with db.read() as session:
        for key in called:
            row = session.scalars(select(Definition).where(
                Definition.key == key, Definition.kind == "process")
                .order_by(Definition.version.desc()).limit(1)).first()
            if row is not None and row.filename not in bpmn:
                out[row.filename] = row.source.encode()
    return out


def _store_process(session: Session, process: ParsedProcess,
                   forms: dict[str, dict[str, Any]], how: DeployingAs, now: datetime,
                   tests: dict[str, str] | None, definitions: Definitions) -> Deployed:
    """A new version of ``process`` unless the newest has the same content (then that)."""
    used: dict[str, Any] = {name: forms[name] for name in process.forms if name in forms}
    if tests:
        used["tests"] = tests  # no form file is named "tests" (forms end in .json)
    if process.start_form:
        used[START_FORM] = process.start_form  # the name of the form that checks starts
    digest = hashlib.sha256(process.source + process.key.encode()
                            + json.dumps(used, sort_keys=True).encode()).hexdigest()
    same, version, notes = next_version(session, process.key, "process", digest,
                                        how.keep_newer)
    topics = tuple(sorted({op for op in process.operations
                           if op and definitions.is_external(op)}))
    if same is not None:
        return Deployed(same.id, same.key, same.version, "process", same.name, False,
                        topics, notes)
    deployed_by = how.by
    row = Definition(key=process.key, version=version, kind="process", name=process.name,
                     content_hash=digest, filename=process.filename,
                     source=process.source.decode(), extra_files=used,
                     spec=serializer.dump_spec(process.spec, process.subprocess_specs),
                     deployed_by=deployed_by, deployed_at=now, comment=how.comment,
                     history_ttl_days=process.history_ttl_days)
    session.add(row)
    session.flush()
    subscribe_starts(session, process)
    session.add(Event(type="definition_deployed", actor=deployed_by,
                      data={"key": row.key, "version": version, "kind": "process"}))
    return Deployed(row.id, row.key, version, "process", row.name, True, topics, notes)


def _form_file(name: str, forms: Mapping[str, bytes], forms_dir: Path | None) -> bytes | None:
    """A sibling form: deployed with the files, or in the forms folder (a plain file name)."""
    if name in forms:
        return forms[name]
    if forms_dir is not None and (forms_dir / name).is_file():
        return (forms_dir / name).read_bytes()
    return None
