"""INSERTs for the hottest write (an inline start), compiled once per database kind.

A Core ``table.insert()`` looks its compiled form up in a cache and builds an execution
context for it on every call; on a start that runs to its end in memory that was more than
the SQL itself. These statements convert every value with the columns' own types (sealing,
masking, JSON, dates), exactly as Core would, then hand the rows to the driver (on SQLite
in a ``Database.write_driver`` transaction, elsewhere ``exec_driver_sql``); statement
listeners (round-trip counting) still see them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    cast,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

from . import sealed_columns
from .db import DriverWrite

_Row = TypeVar("_Row", bound=DeclarativeBase)
_NOTHING = object()  # no value seen yet


class Fixed(dict[str, Any]):
    """A value that many rows share and nobody changes once it is made (a step event's data:
    the element's type and name): each insert converts it once, not once a row.

    Changing it raises ``TypeError``; copy it (``dict(value)``) to change the copy.
    """

    __slots__ = ()

    def _refuse(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("a Fixed value is shared by many rows: change a copy of it")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]


FIXED_KEPT = 4096  # converted Fixed values each insert keeps, at most


@dataclass(frozen=True)
class _Compiled:
    sql: str
    keys: tuple[str, ...]  # in the order of the statement's parameters
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, the type's processor)
    positional: bool
    values_of: Callable[[Mapping[str, Any]], list[Any]]  # a row's values in ``keys`` order
    # Fixed values converted already, by id (the value is kept, so its id is not reused),
    # and the sealing set-up they were converted under
    fixed: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    fixed_generation: list[int] = field(default_factory=lambda: [-1])


class PreparedInsert:
    """``INSERT INTO table (columns) VALUES (…)`` for rows that give every one of ``columns``.

    With ``where`` (a condition whose parameters are named after columns, e.g.
    ``bindparam("version")``), ``INSERT … SELECT … WHERE``: the row is written only if the
    condition holds, in the same statement; the result's ``rowcount`` says whether it was.
    """

    def __init__(self, table: Table, columns: Sequence[str],
                 where: ColumnElement[bool] | None = None) -> None:
        omitted = [c.name for c in table.columns
                   if c.name not in columns and c.default is not None]
        if omitted:  # Core would fill these in; this statement would leave them NULL
            raise ValueError(f"{table.name}: columns with a default must be given: {omitted}")
        self.table = table
        self.columns = tuple(columns)
        self.where = where
        self._compiled: dict[Dialect, _Compiled] = {}
        self._lock = Lock()

    def execute(self, connection: Connection | DriverWrite,
                rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert ``rows`` (one statement; several rows go as one ``executemany``); the rows
        written (0 when a ``where`` condition did not hold)."""
        if not rows:
            return 0
        compiled = self._for(connection.dialect)
        params: list[Any] = []
        # the rows of one call often share a value object (the events of a run share their
        # time): each distinct object is converted once
        previous: list[Any] = [_NOTHING] * len(compiled.converted)
        converted: list[Any] = [None] * len(compiled.converted)
        fixed = compiled.fixed
        if compiled.fixed_generation[0] != sealed_columns.generation or len(fixed) > FIXED_KEPT:
            fixed.clear()
            compiled.fixed_generation[0] = sealed_columns.generation
        values_of, converting = compiled.values_of, tuple(enumerate(compiled.converted))
        for row in rows:
            values = values_of(row)
            for n, (i, process) in converting:
                value = values[i]
                if value is not previous[n]:
                    if type(value) is Fixed:
                        kept = fixed.get(id(value))
                        if kept is None:
                            kept = fixed[id(value)] = (value, process(value))
                        previous[n], converted[n] = value, kept[1]
                    else:
                        previous[n], converted[n] = value, process(value)
                values[i] = converted[n]
            params.append(tuple(values) if compiled.positional  # a list would read as rows
                          else dict(zip(compiled.keys, values, strict=True)))
        if isinstance(connection, DriverWrite):
            return connection.execute(compiled.sql, params)
        return int(connection.exec_driver_sql(compiled.sql,
                                              params[0] if len(params) == 1 else params
                                              ).rowcount)

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect)
        if found is None:
            with self._lock:
                found = self._compiled[dialect] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        columns = list(self.columns)
        if self.where is None:
            statement: Any = self.table.insert()
        else:
            # PostgreSQL types a SELECT's parameters from their casts (an INSERT … VALUES
            # takes the columns' types); SQLite needs no cast and keeps the values as they are
            typed = cast if dialect.name == "postgresql" else type_coerce
            values = [typed(bindparam(c, type_=self.table.c[c].type), self.table.c[c].type)
                      for c in columns]
            statement = self.table.insert().from_select(
                columns, select(*values).where(self.where))
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        if compiled.positional:
            keys = tuple(compiled.positiontup or ())
        else:
            keys = tuple(compiled.binds)
        if not set(keys) <= set(columns):  # every parameter is named after a column
            raise ValueError(f"{self.table.name}: unexpected parameters {keys}")
        processors = [compiled.binds[k].type.dialect_impl(dialect).bind_processor(dialect)
                      for k in keys]
        converted = tuple((i, p) for i, p in enumerate(processors) if p is not None)
        return _Compiled(str(compiled), keys, converted, compiled.positional, _getter(keys))


def _getter(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A row's values in ``keys`` order, as a list (one C-level lookup of them all)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: [row[key]]
    pick = itemgetter(*keys)
    return lambda row: list(pick(row))


def written_row(model: type[_Row], values: Mapping[Any, Any]) -> _Row:
    """The ORM object of a row just written by a Core insert (or read by a Core select: a
    row's ``_mapping``), to return to a caller.

    It is never added to a session, so it skips the constructor's change tracking (which
    cost more than the insert's own values); attributes not in ``values`` read as None.
    """
    row: _Row = model.__mapper__.class_manager.new_instance()
    row.__dict__.update(values)
    return row
