"""Running the tests stored with a deployed definition, against what is deployed now.

The definition's own file (that version), its forms, and the newest version of every other
deployed process and decision (the decisions it calls, the processes it calls) are copied
into the test runner's private database; the deployed rows themselves are only read.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from .db import Database
from .models import Definition
from .test_files import FileResult


def sources_for(db: Database, definition: Definition) -> dict[str, bytes]:
    """The files a definition's tests run against, by file name."""
    sources: dict[str, bytes] = {}
    with db.read() as s:
        newest = select(Definition.key, func.max(Definition.version).label("v")) \
            .group_by(Definition.key).subquery()
        rows = s.execute(select(Definition.filename, Definition.source, Definition.extra_files)
                         .join(newest, (Definition.key == newest.c.key)
                               & (Definition.version == newest.c.v)))
        for filename, source, extra in rows:
            sources[filename] = source.encode()
            _add_forms(sources, extra)
    sources[definition.filename] = definition.source.encode()
    _add_forms(sources, definition.extra_files)
    return sources


def _add_forms(sources: dict[str, bytes], extra: dict[str, object] | None) -> None:
    for name, form in (extra or {}).items():
        if name != "tests":
            sources[name] = json.dumps(form).encode()


def run_definition_tests(db: Database, definition: Definition) -> list[FileResult]:
    """Run every test file stored with ``definition``; [] when it has none."""
    tests = (definition.extra_files or {}).get("tests") or {}
    if not tests:
        return []
    from .process_tests import run_test_file  # it builds an Engine: imported when used

    sources = sources_for(db, definition)
    return [run_test_file(name, text.encode(), sources) for name, text in sorted(tests.items())]
