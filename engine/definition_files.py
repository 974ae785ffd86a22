"""A deployed version as files again: to deploy it anew (roll back) or to write it back into
the processes folder (``bridgeflow export``), so browser edits and the folder agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .forms import BUNDLED, START_FORM
from .models import Definition

if TYPE_CHECKING:
    from .repository_service import RepositoryService


def version_files(definition: Definition) -> dict[str, bytes]:
    """The files that make ``definition`` (its BPMN or DMN file and the forms it uses),
    as a deployment takes them."""
    files = {_plain_name(definition.filename): definition.source.encode()}
    for name, form in _forms(definition).items():
        for form_name, content in _unbundled(name, form).items():
            files.setdefault(_plain_name(form_name), _form_bytes(content))
    for name, text in _tests(definition).items():
        files.setdefault(_plain_name(name), text.encode())
    return files


def _forms(definition: Definition) -> dict[str, Any]:
    """The stored forms (``extra_files`` also holds the test files, under ``tests``)."""
    return {k: v for k, v in (definition.extra_files or {}).items()
            if k not in ("tests", START_FORM)}


def _tests(definition: Definition) -> dict[str, str]:
    """The analysts' test files deployed with the definition, by file name."""
    tests = (definition.extra_files or {}).get("tests")
    return {str(k): v for k, v in tests.items() if isinstance(v, str)} \
        if isinstance(tests, dict) else {}


def export_definitions(repository: RepositoryService, folder: Path) -> list[Path]:
    """Write the newest version of each definition into ``folder`` (forms into
    ``folder/forms``) where the file there differs; return the paths written."""
    newest: dict[str, Definition] = {}
    for light in repository.list_definitions():
        row = repository.definition(light.key, light.version)
        name = _plain_name(row.filename)
        if name not in newest or row.deployed_at > newest[name].deployed_at:
            newest[name] = row  # a DMN file holds several decisions: its latest deployment
    written = []
    for name, row in sorted(newest.items()):
        if _write(folder / name, row.source.encode(), as_json=False):
            written.append(folder / name)
        for form_name, form in _forms(row).items():
            for plain, content in _unbundled(form_name, form).items():
                target = folder / "forms" / _plain_name(plain)
                if _write(target, _form_bytes(content), as_json=True):
                    written.append(target)
        for test_name, text in _tests(row).items():  # beside the file they test
            if _write(folder / _plain_name(test_name), text.encode(), as_json=False):
                written.append(folder / _plain_name(test_name))
    return written


def _unbundled(name: str, form: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A stored form and the sibling forms its ``$ref``s brought along, as separate files."""
    content = dict(form)
    siblings = content.pop(BUNDLED, {}) or {}
    return {name: content, **{str(k): v for k, v in siblings.items() if isinstance(v, dict)}}


def _form_bytes(content: dict[str, Any]) -> bytes:
    return (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode()


def _plain_name(filename: str) -> str:
    """The file's own name: a stored name never reaches outside the folder written to."""
    name = Path(filename.replace("\\", "/")).name
    if not name or name.startswith("."):
        raise ValueError(f"'{filename}' cannot be written as a file")
    return name


def _write(path: Path, content: bytes, *, as_json: bool) -> bool:
    if path.is_file():
        existing = path.read_bytes()
        if existing == content:
            return False
        if as_json:  # a hand-formatted form with the same content stays as it is
            try:
                if json.loads(existing) == json.loads(content):
                    return False
            except ValueError:
                pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.export")
    temporary.write_bytes(content)
    temporary.replace(path)  # never a half-written file in the folder
    return True
