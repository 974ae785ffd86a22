"""The persistence boundary of personal data: column types that seal as they write and open
as they read, with the protector of each database (``engine/protect.py`` does the sealing).
"""

from __future__ import annotations

import json
import logging
import weakref
from typing import Any

from sqlalchemy import JSON, Engine, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from .protect import (
    _ESCAPE_NEEDLE,
    _FILE_CLEAR,
    _FILE_SEALED,
    ProtectionError,
    Protector,
    _dumps,
    _walk_open,
    escape_marks,
)

# -- the persistence boundary ---------------------------------------------------------------
# The protector of a database is kept per SQLAlchemy dialect (one per engine), because a
# column type only sees the dialect; ``install`` is called when the engine is built.

_PROTECTORS: weakref.WeakKeyDictionary[Dialect, Protector] = weakref.WeakKeyDictionary()


# Bumped at each ``install``: a converted value kept for reuse (prepared.Fixed) was
# converted under the protectors as they were, and is dropped when they change.
generation = 0


def install(engine: Engine, protector: Protector) -> None:
    """Make ``protector`` seal and open the protected columns of this database."""
    global generation
    _PROTECTORS[engine.dialect] = protector
    generation += 1
    for name in _SPIFF_LOGGERS:
        logging.getLogger(name).addFilter(_without_task_data)  # adding it twice is a no-op


# SpiffWorkflow attaches whole task data to its log records (as ``extra``) unless its
# loggers are set above DEBUG; a structured log handler would then write it out in clear.
_SPIFF_LOGGERS = ("spiff.task", "spiff.data")


def _without_task_data(record: logging.LogRecord) -> bool:
    for attr in ("data", "internal_data"):
        if attr in record.__dict__:
            setattr(record, attr, None)
    return True


def protector_of(dialect: Dialect) -> Protector | None:
    """The protector installed for a database (its engine's dialect), if any."""
    return _PROTECTORS.get(dialect)


def _must_open(dialect: Dialect) -> Protector:
    protector = _PROTECTORS.get(dialect)
    if protector is None:
        raise ProtectionError("a sealed value was read, but no encryption keys are set up "
                              "for this database")
    return protector


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose personal values are sealed in the database."""

    impl = JSON
    cache_ok = True
    should_evaluate_none = True  # as JSON does: None is stored as SQL NULL

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        protector = protector_of(dialect)
        value = escape_marks(value)
        return value if protector is None else protector.seal_variables(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, dict | list):
            return value
        opened = _walk_open(value, lambda sealed: _must_open(dialect).open(sealed))
        return opened

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """On SQLite, text without ``$enc"`` holds no sealed value and no escaped key: it is
        decoded as the JSON type would, without walking the result for them."""
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or dialect._json_deserializer is not None:
            return general

        def process(value: Any) -> Any:
            if type(value) is str and _MARK_TEXT not in value:
                return json.loads(value)
            return general(value) if general is not None else value

        return process


# in JSON text: every sealed value's "$enc" key and every escaped "$$…enc" key end so
_MARK_TEXT = _ESCAPE_NEEDLE.decode()


class SealedState(TypeDecorator[bytes]):
    """A serialized workflow state whose task data has its personal values sealed."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        protector = protector_of(dialect)
        if value is not None and _ESCAPE_NEEDLE in value:
            value = _dumps(escape_marks(json.loads(value)))
        return value if protector is None or value is None else protector.seal_state(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None or _ESCAPE_NEEDLE not in value:
            return value
        opened = _walk_open(json.loads(value), lambda sealed: _must_open(dialect).open(sealed))
        return _dumps(opened)


class SealedFile(TypeDecorator[bytes]):
    """A file's bytes (a stored report), sealed whole when an encryption key is configured.

    Reports carry customers' names, addresses and figures, which nothing but the file names;
    so the whole file is sealed, not chosen values. Without keys the bytes are kept clear
    behind a marker, so a clear file that happens to start like a sealed one stays itself.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        protector = protector_of(dialect)
        if protector is None or protector.kid is None:
            return _FILE_CLEAR + value
        return protector.seal_bytes(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        value = bytes(value)  # PostgreSQL answers a memoryview
        if value.startswith(_FILE_SEALED):
            return _must_open(dialect).open_bytes(value)
        if value.startswith(_FILE_CLEAR):
            return value[len(_FILE_CLEAR):]
        return value  # stored before files were sealed


class MaskedJSON(TypeDecorator[Any]):
    """A JSON column (audit data) that keeps only masked personal values."""

    impl = JSON
    cache_ok = True
    should_evaluate_none = True  # as JSON does: None is stored as SQL NULL

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        protector = protector_of(dialect)
        return value if protector is None else protector.mask_variables(value)
