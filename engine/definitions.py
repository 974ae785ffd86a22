"""The deployed definitions: their versions, and their specs, forms and decisions for the
runtime, with caches (deploying them is ``engine/deploying.py``)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, literal_column, select, text
from sqlalchemy.orm import Session

from . import deploying
from .bpmn import catching, dialects, serializer
from .bpmn.listeners import event_listeners
from .db import Database
from .decision_deploy import Pin, document_by_id, newest_of_namespace, parse_stored
from .decision_errors import feel_error
from .decision_results import map_result
from .deployed import Deployed
from .dmn import DmnDocument
from .dmn.expressions import real_errors
from .dmn.feel_types import plain_numbers
from .errors import NotFoundError
from .forms import START_FORM
from .models import Definition
from .scripting import Sandbox
from .versioning import STARTUP

# Plain SQL: this runs in every inline start, where the ORM's overhead would be most of it.
_NEWEST_VERSION = text("SELECT max(version) FROM definitions "
                       "WHERE key = :key AND kind = 'process'")


_EXTRA_FILES = select(Definition.extra_files).where(
    Definition.id == bindparam("definition_id"))


def newest_version_is(key: ColumnElement[str], version: ColumnElement[int],
                      ) -> ColumnElement[bool]:
    """A condition for a guarded write: ``version`` is still the newest of process ``key``
    (what ``is_latest`` asks, inside the statement that depends on it)."""
    newest = (select(func.max(Definition.version))
              .where(Definition.key == key, Definition.kind == literal_column("'process'"))
              .scalar_subquery())
    return newest == version


@dataclass(frozen=True)
class DefinitionRef:
    """Which version of which process: all an instance needs to name its definition."""

    id: str
    key: str
    version: int


class Definitions:
    """The deployed definitions, with caches of parsed specs and decision tables."""

    def __init__(self, db: Database, sandbox: Sandbox,
                 known_operation: Callable[[str], bool] | None = None,
                 min_start_cycle: timedelta = timedelta(minutes=1),
                 is_external: Callable[[str], bool] = lambda _op: False,
                 mask: Callable[[Any], Any] = lambda data: data) -> None:
        self.db = db
        self.mask = mask  # personal values in error messages
        self.is_external = is_external
        self.min_start_cycle = min_start_cycle
        self.sandbox = sandbox
        self.known_operation = known_operation
        self._specs: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
        self._dmn: dict[str, DmnDocument] = {}
        self._latest_decision: dict[str, tuple[float, str]] = {}
        self._latest_process: dict[str, DefinitionRef] = {}
        self._start_forms: dict[str, dict[str, Any] | None] = {}
        self._task_forms: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    # -- deploying (engine/deploying.py) ----------------------------------------------------

    def deploy(self, files: Mapping[str, bytes], deployed_by: str | None = None,
               forms_dir: Path | None = None, *, dry_run: bool = False,
               comment: str | None = None, keep_newer: bool = False,
               pins: Mapping[str, Pin] | None = None) -> list[Deployed]:
        """Check every file, then store new versions of what changed; all or nothing.

        With ``dry_run`` the same checks and inserts run but are rolled back: the answer says
        what a deployment would make (the ids of would-be new versions are not kept).
        ``comment`` is kept with each new version. ``keep_newer`` (the processes folder at
        start-up) never puts an older version back over one deployed since from the console
        or the API, and warns when the folder's file replaces such a version. ``pins`` binds
        a DMN import to the deployed file of that namespace it names (a rollback: the file
        the old version was deployed with), instead of the newest one.
        """
        return deploying.deploy(self, files, deployed_by, forms_dir, dry_run=dry_run,
                                comment=comment, keep_newer=keep_newer, pins=pins)

    def deploy_directory(self, path: Path, deployed_by: str = STARTUP) -> list[Deployed]:
        """Deploy every BPMN and DMN file under ``path`` (forms from ``path/forms``); a
        version deployed since from the console or the API is never replaced by an older
        file (``keep_newer``)."""
        return deploying.deploy_directory(self, path, deployed_by)

    def imported(self, namespace: str, pins: Mapping[str, Pin] | None,
                 ) -> tuple[Pin, DmnDocument] | None:
        """The deployed file an import of ``namespace`` binds to: the pinned one, if any and
        still stored, else the newest."""
        pin = (pins or {}).get(namespace)
        if pin is not None:
            doc = document_by_id(self.db, self._dmn, pin["id"])
            if doc is not None and doc.model_namespace == namespace:
                return dict(pin), doc
        return newest_of_namespace(self.db, self._dmn, namespace)

    def forget_latest_decisions(self) -> None:
        """After a deployment: look each decision's newest version up again."""
        self._latest_decision.clear()

    # -- reading ------------------------------------------------------------------------

    def latest_id(self, key: str, kind: str) -> str | None:
        """The id of the newest version of ``key`` (a process or a decision), if any."""
        with self.db.read() as session:
            return session.scalars(select(Definition.id).where(
                Definition.key == key, Definition.kind == kind)
                .order_by(Definition.version.desc()).limit(1)).first()

    def latest_process(self, session: Session, key: str) -> DefinitionRef:
        """The newest deployed version of process ``key`` (only its identity: no big columns)."""
        row = session.execute(select(Definition.id, Definition.key, Definition.version).where(
            Definition.key == key, Definition.kind == "process")
            .order_by(Definition.version.desc()).limit(1)).first()
        if row is None:
            raise NotFoundError(f"no process with key '{key}' is deployed",
                                {"process_key": key})
        ref = DefinitionRef(row.id, row.key, row.version)
        self._latest_process[key] = ref
        return ref

    def called_process(self, session: Session, key: str, binding: str, version: int | None,
                       caller_definition_id: str) -> DefinitionRef:
        """The version of ``key`` a call activity starts, by its ``calledElementBinding``.

        ``latest``: the newest now (Camunda resolves it at the call, not at deploy);
        ``version``: that version number; ``deployment``: the version that was the newest
        when the caller was deployed (deployed with it, or before it and unchanged).
        ``NotFoundError`` says what is missing.
        """
        if binding == "latest":
            return self.latest_process(session, key)
        query = select(Definition.id, Definition.key, Definition.version).where(
            Definition.key == key, Definition.kind == "process")
        if binding == "version":
            query = query.where(Definition.version == version)
            missing = f"version {version} of process '{key}' is not deployed"
        else:
            deployed_at = session.scalar(select(Definition.deployed_at)
                                         .where(Definition.id == caller_definition_id))
            query = query.where(Definition.deployed_at <= deployed_at)
            missing = (f"process '{key}' was not deployed with (or before) the calling "
                       "process, as calledElementBinding=\"deployment\" needs")
        row = session.execute(query.order_by(Definition.version.desc()).limit(1)).first()
        if row is None:
            raise NotFoundError(missing, {"process_key": key, "binding": binding})
        return DefinitionRef(row.id, row.key, row.version)

    def remembered_latest(self, key: str) -> DefinitionRef | None:
        """The newest version of ``key`` this process has seen; confirm it with ``is_latest``.

        Another process may have deployed a newer one since, so a caller that starts an
        instance on it checks ``is_latest`` inside its write transaction.
        """
        return self._latest_process.get(key)

    def is_latest(self, db: Session | Connection, ref: DefinitionRef) -> bool:
        connection = db.connection() if isinstance(db, Session) else db
        newest = connection.execute(_NEWEST_VERSION, {"key": ref.key}).scalar()
        return bool(newest == ref.version)

    def start_form(self, session: Session | None, definition_id: str) -> dict[str, Any] | None:
        """The form a plain start of this version must fill in (None: any variables); read
        once per version (in ``session``, or a read of its own when there is none)."""
        if definition_id not in self._start_forms:
            if session is None:
                with self.db.read() as own:
                    return self.start_form(own, definition_id)
            stored = session.scalar(select(Definition.extra_files)
                                    .where(Definition.id == definition_id)) or {}
            name = stored.get(START_FORM)
            form = stored.get(name) if isinstance(name, str) else None
            self._start_forms[definition_id] = form if isinstance(form, dict) else None
        return self._start_forms[definition_id]

    def task_forms(self, db: Session | Connection | None,
                   definition_id: str) -> dict[str, Any]:
        """The forms deployed with a process version, by file name (its user tasks'
        ``formKey``s); read once per version (in ``db``, or a read of its own when None).

        A stored version never changes, so they are kept (for the 256 versions used last);
        the caller gets the cached value and must copy a form before changing it."""
        with self._lock:
            forms = self._task_forms.get(definition_id)
            if forms is not None:
                self._task_forms.move_to_end(definition_id)
                return forms
        if db is None:
            with self.db.read() as own:
                return self.task_forms(own, definition_id)
        connection = db.connection() if isinstance(db, Session) else db
        stored = connection.execute(_EXTRA_FILES, {"definition_id": definition_id}).scalar()
        forms = {name: form for name, form in (stored or {}).items()
                 if name not in ("tests", START_FORM)}
        with self._lock:
            self._task_forms[definition_id] = forms
            while len(self._task_forms) > 256:
                self._task_forms.popitem(last=False)
        return forms

    def spec_for(self, definition_id: str) -> tuple[Any, dict[str, Any]]:
        """Return the parsed spec of a process version, from cache when possible."""
        with self._lock:
            cached = self._specs.get(definition_id)
            if cached is not None:
                self._specs.move_to_end(definition_id)
                return cached
        with self.db.read() as session:
            row = session.execute(select(Definition.spec, Definition.source, Definition.key)
                                  .where(Definition.id == definition_id)).first()
        if row is None or row[0] is None:
            raise NotFoundError(f"definition {definition_id} has no process spec")
        loaded = serializer.load_spec(row[0])
        catching.wire_event_subprocesses(*loaded)
        # SpiffWorkflow keeps no isInterrupting of event subprocess starts: read it here
        loaded[0].bf_non_interrupting = dialects.non_interrupting_starts(row[1])
        loaded[0].bf_initiator = dialects.initiator_variable(row[1], row[2])
        loaded[0].bf_listeners = event_listeners(row[1])
        with self._lock:
            self._specs[definition_id] = loaded
            while len(self._specs) > 256:
                self._specs.popitem(last=False)
        return loaded

    def decision_document(self, key: str) -> DmnDocument:
        """Return the latest deployed version of the DMN file that defines decision ``key``."""
        now = time.monotonic()
        cached = self._latest_decision.get(key)
        if cached is None or now - cached[0] > 2.0:
            definition_id = self.latest_id(key, "decision")
            if definition_id is None:
                raise NotFoundError(f"no decision with key '{key}' is deployed")
            self._latest_decision[key] = (now, definition_id)
        definition_id = self._latest_decision[key][1]
        doc = self._dmn.get(definition_id)
        if doc is None:
            with self.db.read() as session:
                row = session.get(Definition, definition_id)
                assert row is not None
                doc = parse_stored(self.db, self._dmn, row.source, row.filename,
                                   pins=row.imports)
            self._dmn[definition_id] = doc
        return doc

    def decide(self, key: str, variables: dict[str, Any], mapping: str | None = None) -> Any:
        """Evaluate decision ``key``: what a business rule task stores (see decision_results).

        A FEEL error in the decision (``1 + "a"``, not null propagation) raises
        ``DecisionEvaluationError``, which makes the task's incident, as Camunda 7 does.
        """
        doc = self.decision_document(key)
        result = doc.evaluate(key, variables)
        wrong = real_errors(result.errors)
        if wrong:
            raise feel_error(doc.find(key), wrong, variables, self.mask)
        return plain_numbers(map_result(doc.find(key), result, mapping))

    def count(self) -> int:
        with self.db.read() as session:
            return int(session.scalar(select(func.count()).select_from(Definition)) or 0)

