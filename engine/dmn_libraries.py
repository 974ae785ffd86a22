"""What a deployed DMN library defines and which deployed files import it, for its page.

A library is keyed by its namespace, which holds ``/`` and ``:``: the console names it by
``library_id`` (URL-safe base64 of the namespace) so that no namespace can change a URL's path.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .dmn.model import read_model
from .errors import NotFoundError
from .models import Definition

MAX_LIBRARY_ID = 400  # a namespace is at most 200 characters (decision_deploy)


@dataclass(frozen=True)
class LibraryElement:
    """One thing a library defines that an importer uses by ``<import name>.<name>``."""

    kind: str  # "business knowledge model" | "decision service" | "item definition"
    name: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class LibraryImporter:
    """The newest version of a deployed file that imports the library, and the library
    version it is pinned to (None: deployed before imports were pinned, so the newest)."""

    key: str
    kind: str
    name: str
    version: int
    uses_version: int | None


def library_id(namespace: str) -> str:
    """The URL-safe name of a library's namespace (no ``/``, ``.``, ``%`` or padding)."""
    return base64.urlsafe_b64encode(namespace.encode()).decode().rstrip("=")


def namespace_of(identifier: str) -> str:
    """The namespace a ``library_id`` names; NotFoundError when it names none."""
    unknown = NotFoundError("no DMN library has this address; open it from the definitions "
                            "list", {"library": identifier[:80]})
    if not identifier or len(identifier) > MAX_LIBRARY_ID:
        raise unknown
    try:
        raw = base64.urlsafe_b64decode(identifier + "=" * (-len(identifier) % 4))
        namespace = raw.decode()
    except (binascii.Error, ValueError):
        raise unknown from None
    if library_id(namespace) != identifier:  # one namespace, one address
        raise unknown
    return namespace


def library_elements(source: str, filename: str) -> list[LibraryElement]:
    """The business knowledge models, decision services and item definitions of a file."""
    model, _problems = read_model(source.encode(), filename)
    if model is None:
        return []
    inputs = {i.id: i.name for i in model.inputs}
    out = [LibraryElement("business knowledge model", b.name, tuple(p for p, _ in b.params))
           for b in model.bkms]
    out += [LibraryElement("decision service", s.name,
                           tuple(inputs.get(i, i) for i in s.input_data))
            for s in model.services]
    out += [LibraryElement("item definition", name) for name in model.item_specs]
    return out


def library_importers(session: Session, namespace: str) -> list[LibraryImporter]:
    """The newest version of every deployed decision or library that imports ``namespace``."""
    rows = session.execute(
        select(Definition.key, Definition.kind, Definition.name, Definition.version,
               Definition.imports)
        .where(Definition.kind.in_(("decision", "library")))
        .order_by(Definition.key, Definition.version.desc())).all()
    newest: dict[tuple[str, str], LibraryImporter] = {}
    seen: set[tuple[str, str]] = set()
    for key, kind, name, version, imports in rows:
        if (key, kind) in seen:
            continue  # an older version: only the newest one's imports count
        seen.add((key, kind))
        if not isinstance(imports, dict) or namespace not in imports:
            continue
        pin = imports[namespace]
        uses = pin.get("version") if isinstance(pin, dict) else None
        newest[(key, kind)] = LibraryImporter(key, kind, name or key, version,
                                              uses if isinstance(uses, int) else None)
    return sorted(newest.values(), key=lambda i: (i.kind, i.name.lower(), i.key))
