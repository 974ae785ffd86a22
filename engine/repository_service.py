"""RepositoryService: deploy BPMN and DMN files, read the deployed versions, try decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from .core import Core
from .decision_inputs import DecisionInput, decision_inputs
from .definition_files import export_definitions, version_files
from .deployed import Deployed
from .dmn_libraries import (
    LibraryElement,
    LibraryImporter,
    library_elements,
    library_importers,
    namespace_of,
)
from .errors import ConflictError, NotFoundError
from .model_diff import ModelDiff, diff_models
from .models import Definition, ExternalTopic
from .test_files import FileResult
from .test_run_queue import TestRun, get_run, queue_run
from .test_runs import run_definition_tests

# list queries leave out the big columns: every version's files would load otherwise
_LIGHT = (defer(Definition.source), defer(Definition.spec), defer(Definition.extra_files))


class RepositoryService:
    """The deployed process and decision definitions (Camunda's RepositoryService)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.db = core.db

    def deploy(self, files: Mapping[str, bytes], deployed_by: str | None = None,
               dry_run: bool = False, comment: str | None = None) -> list[Deployed]:
        """Check and store BPMN, DMN and form files; ``dry_run`` checks and stores nothing.

        ``DefinitionError`` lists every problem found; an unchanged file makes no new version.
        A process whose external tasks wait on a topic no worker has asked for yet deploys
        with a warning saying so.
        """
        deployed = self._core.definitions.deploy(files, deployed_by, dry_run=dry_run,
                                                 comment=comment)
        return [self._warned(d) for d in deployed]

    def _warned(self, deployed: Deployed) -> Deployed:
        if not deployed.external_topics:
            return deployed
        with self.db.read() as s:
            seen = set(s.scalars(select(ExternalTopic.topic).where(
                ExternalTopic.topic.in_(deployed.external_topics))))
        return replace(deployed, warnings=deployed.warnings + tuple(
            f"no worker has asked for topic '{topic}' yet: its external tasks wait until "
            "a worker fetches them" for topic in deployed.external_topics if topic not in seen))

    def deploy_directory(self, path: str | Path | None = None) -> list[Deployed]:
        """Deploy every file under ``path`` (the configured processes folder by default)."""
        deployed = self._core.definitions.deploy_directory(
            Path(path or self._core.settings.processes_dir))
        return [self._warned(d) for d in deployed]

    def list_definitions(self, kind: str | None = None) -> list[Definition]:
        """The latest version of every definition (``kind``: "process" or "decision").

        The rows hold no ``source``, ``spec`` or ``extra_files`` (``definition`` has them).
        """
        with self.db.read() as s:
            latest = (select(Definition.key, Definition.kind,
                             func.max(Definition.version).label("v"))
                      .group_by(Definition.key, Definition.kind).subquery())
            query = select(Definition).join(latest, (Definition.key == latest.c.key)
                                            & (Definition.kind == latest.c.kind)
                                            & (Definition.version == latest.c.v))
            if kind:
                query = query.where(Definition.kind == kind)
            return list(s.scalars(query.options(*_LIGHT).order_by(Definition.key)))

    def definition_versions(self, key: str) -> list[Definition]:
        """Every version of one definition, newest first, without their ``source``, ``spec``
        or ``extra_files`` (``definition`` has them); ``NotFoundError`` when none."""
        with self.db.read() as s:
            rows = list(s.scalars(select(Definition).options(*_LIGHT)
                                  .where(Definition.key == key)
                                  .order_by(Definition.version.desc())))
        if not rows:
            raise NotFoundError(f"no definition with key '{key}' is deployed", {"key": key})
        return rows

    def definition(self, key: str, version: int | None = None) -> Definition:
        """One version of a definition, the latest when ``version`` is not given (one row)."""
        query = select(Definition).where(Definition.key == key)
        query = (query.order_by(Definition.version.desc()).limit(1) if version is None
                 else query.where(Definition.version == version))
        with self.db.read() as s:
            row = s.scalars(query).first()
        if row is None and version is None:
            raise NotFoundError(f"no definition with key '{key}' is deployed", {"key": key})
        if row is None:
            with self.db.read() as s:
                known = s.scalar(select(Definition.id).where(Definition.key == key).limit(1))
            if known is None:
                raise NotFoundError(f"no definition with key '{key}' is deployed",
                                    {"key": key})
            raise NotFoundError(f"'{key}' has no version {version}", {"key": key})
        return row

    def files(self, key: str, version: int | None = None) -> dict[str, bytes]:
        """The files one version was deployed from (its BPMN or DMN file, forms, tests),
        as ``deploy`` takes them: the newest version when ``version`` is not given."""
        return version_files(self.definition(key, version))

    def rollback(self, key: str, version: int, by: str | None) -> list[Deployed]:
        """Deploy ``version`` of ``key`` again as the newest version (its file and forms).

        A decision's whole DMN file is deployed again, as deploying it did the first time:
        the other decisions of that file go back to that version's content too.
        """
        old = self.definition(key, version)
        newest = self.definition(key)
        if newest.version == old.version:
            raise ConflictError(f"version {version} of '{key}' is already the newest",
                                {"key": key, "version": version})
        # its DMN imports bind the library versions it was deployed with, not the newest
        deployed = self._core.definitions.deploy(
            version_files(old), by, comment=f"rolled back to version {version} "
            f"(from {newest.version})", pins=old.imports)
        return [self._warned(d) for d in deployed]

    def diff(self, key: str, old: int, new: int) -> ModelDiff:
        """What changed from version ``old`` to version ``new`` of one definition."""
        return diff_models(self.definition(key, old).source, self.definition(key, new).source)

    def export(self, folder: str | Path | None = None) -> list[Path]:
        """Write the newest version of every definition (and the forms it uses) into
        ``folder`` (the processes folder by default); the files that changed."""
        return export_definitions(self, Path(folder or self._core.settings.processes_dir))

    def evaluate_decision(self, key: str, variables: dict[str, Any]) -> Any:
        """Evaluate a deployed decision with sample inputs (for analysts trying a table)."""
        return self._core.definitions.decision_document(key).evaluate(key, variables)

    def run_tests(self, definition: Definition) -> list[FileResult]:
        """Run the test files deployed with ``definition`` (from ``definition(key, version)``)
        in a private temporary database; [] when it was deployed without tests."""
        return run_definition_tests(self._core.db, definition)

    def start_test_run(self, definition: Definition, by: str) -> TestRun:
        """Queue a run of ``definition``'s tests as a job (a worker runs it in a child
        process, under the ``test_run_*`` limits); poll ``test_run`` for its results."""
        return queue_run(self._core.db, self._core.settings, definition, by)

    def test_run(self, run_id: str) -> TestRun:
        """One test run: queued, running, or finished with its results."""
        return get_run(self._core.db, run_id)

    def decision_inputs(self, definition: Definition) -> list[DecisionInput]:
        """The inputs a decision reads, for a form that tries it."""
        return decision_inputs(definition.source, definition.filename, definition.key)

    def library(self, identifier: str, version: int | None = None) -> Definition:
        """A version of the DMN library named by ``library_id(namespace)`` (the newest when
        ``version`` is not given); NotFoundError when the address names no library."""
        namespace = namespace_of(identifier)
        definition = self.definition(namespace, version)
        if definition.kind != "library":
            raise NotFoundError(f"'{namespace}' is not a DMN library", {"key": namespace})
        return definition

    def library_elements(self, definition: Definition) -> list[LibraryElement]:
        """The business knowledge models, decision services and item definitions that a
        library version defines, as an importer uses them."""
        return library_elements(definition.source, definition.filename)

    def library_importers(self, namespace: str) -> list[LibraryImporter]:
        """The deployed decisions and libraries whose newest version imports ``namespace``,
        with the library version each is pinned to."""
        with self.db.read() as s:
            return library_importers(s, namespace)
