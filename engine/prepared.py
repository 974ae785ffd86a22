"""Statements for the hottest paths, compiled once per database kind and run on the driver.

A Core statement looks its compiled form up in a cache and builds an execution context for
it on every call; on a start that runs to its end in memory, a task completion or an API
key check that was more than the SQL itself. These statements convert every value with the
columns' own types (sealing, masking, JSON, dates), exactly as Core would, then hand the rows
to the driver (on SQLite in a ``Database.write_plain`` or ``read_plain`` transaction,
elsewhere ``exec_driver_sql``) and convert what a SELECT answers as Core would; statement
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
    Executable,
    Table,
    bindparam,
    cast,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

from . import sealed_columns
from .sqlite_writer import DriverTransaction

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
    # what a SELECT answers: each column's conversion (position, the type's processor)
    # and the columns' keys
    results: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
    names: tuple[str, ...] = ()
    # Fixed values converted already, by id (the value is kept, so its id is not reused),
    # and the sealing set-up they were converted under
    fixed: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    fixed_generation: list[int] = field(default_factory=lambda: [-1])


class Prepared:
    """One Core statement (``UPDATE``, ``DELETE``, ``SELECT``, ``INSERT``) whose parameters
    are named ``bindparam``s, each given by every row; values written in the statement
    itself (``status == "ready"``) are kept as they are. An expanding ``IN`` is refused (its
    text depends on the values): write ``IN`` over a list of ``literal``s or bindparams.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[Dialect, _Compiled] = {}
        self._lock = Lock()

    def execute(self, connection: Connection | DriverTransaction,
                rows: Sequence[Mapping[str, Any]]) -> int:
        """Run the statement once with each of ``rows`` (several: one ``executemany``); the
        rows it wrote (0 when a condition did not hold)."""
        if not rows:
            return 0
        compiled = self._for(connection.dialect)
        params = _parameters(compiled, rows)
        if isinstance(connection, DriverTransaction):
            return connection.execute(compiled.sql, params)
        return int(connection.exec_driver_sql(compiled.sql,
                                              params[0] if len(params) == 1 else params
                                              ).rowcount)

    def fetch(self, connection: Connection | DriverTransaction,
              params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """What a SELECT answers for ``params``: each row as its columns' values by their
        keys (labels), converted by their types as Core would."""
        compiled = self._for(connection.dialect)
        parameters = _parameters(compiled, [params])[0]
        if isinstance(connection, DriverTransaction):
            found: Sequence[Any] = connection.fetch(compiled.sql, parameters)
        else:
            found = connection.exec_driver_sql(compiled.sql, parameters).all()
        results, names = compiled.results, compiled.names
        rows = []
        for raw in found:
            row = list(raw)
            for i, process in results:
                row[i] = process(row[i])
            rows.append(dict(zip(names, row, strict=True)))
        return rows

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect)
        if found is None:
            with self._lock:
                found = self._compiled[dialect] = self._compile(dialect)
        return found

    def _statement(self, _dialect: Dialect) -> Any:
        return self.statement

    def _compile(self, dialect: Dialect, column_keys: list[str] | None = None) -> _Compiled:
        statement = self._statement(dialect)
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        binds: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            binds.setdefault(name, bind)
        keys = tuple(compiled.positiontup or ()) if compiled.positional else tuple(binds)
        expanding = [k for k in keys if binds[k].expanding]
        if expanding:
            raise ValueError(f"an expanding IN cannot be prepared: {expanding}")
        processors = [binds[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys]
        # a value written in the statement itself: converted once, here
        constants = {i: (binds[k].effective_value if processors[i] is None
                         else processors[i](binds[k].effective_value))
                     for i, k in enumerate(keys) if _constant(binds[k])}
        converted = tuple((i, p) for i, p in enumerate(processors)
                          if p is not None and i not in constants)
        results: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
        names: tuple[str, ...] = ()
        if getattr(statement, "is_select", False):
            columns = statement.selected_columns
            names = tuple(columns.keys())  # unique: SQLAlchemy numbers a repeated one
            found = [(i, c.type.dialect_impl(dialect).result_processor(dialect, None))
                     for i, c in enumerate(columns)]
            results = tuple((i, p) for i, p in found if p is not None)
        return _Compiled(str(compiled), keys, converted, compiled.positional,
                         _getter(keys, constants), results, names)


class PreparedInsert(Prepared):
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
        super().__init__(table.insert())
        self.table = table
        self.columns = tuple(columns)
        self.where = where

    def _statement(self, dialect: Dialect) -> Any:
        if self.where is None:
            return self.table.insert()
        # PostgreSQL types a SELECT's parameters from their casts (an INSERT … VALUES
        # takes the columns' types); SQLite needs no cast and keeps the values as they are
        typed = cast if dialect.name == "postgresql" else type_coerce
        values = [typed(bindparam(c, type_=self.table.c[c].type), self.table.c[c].type)
                  for c in self.columns]
        return self.table.insert().from_select(list(self.columns),
                                               select(*values).where(self.where))

    def _compile(self, dialect: Dialect, column_keys: list[str] | None = None) -> _Compiled:
        compiled = super()._compile(dialect, list(self.columns))
        if not set(compiled.keys) <= set(self.columns):  # every parameter names a column
            raise ValueError(f"{self.table.name}: unexpected parameters {compiled.keys}")
        return compiled


def _constant(bind: Any) -> bool:
    """Whether a bound parameter's value is written in the statement (not given by rows)."""
    return not bind.required and (bind.value is not None or bind.callable is not None)


def _parameters(compiled: _Compiled, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The driver's parameters for each of ``rows``, converted by the columns' types."""
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
    return params


def _getter(keys: tuple[str, ...], constants: Mapping[int, Any],
            ) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A row's values in ``keys`` order, as a list (one C-level lookup of them all), with
    the ``constants`` (by position) in their places."""
    given = [k for i, k in enumerate(keys) if i not in constants]
    if not given:
        return lambda _row: [constants[i] for i in range(len(keys))]
    pick = itemgetter(*given)
    single = len(given) == 1
    if not constants:
        return (lambda row: [row[given[0]]]) if single else (lambda row: list(pick(row)))
    slots = [i for i in range(len(keys)) if i not in constants]
    template = [constants.get(i) for i in range(len(keys))]

    def values_of(row: Mapping[str, Any]) -> list[Any]:
        values = list(template)
        for i, value in zip(slots, (pick(row),) if single else pick(row), strict=True):
            values[i] = value
        return values

    return values_of


def written_row(model: type[_Row], values: Mapping[Any, Any]) -> _Row:
    """The ORM object of a row just written by a Core insert (or read by a Core select: a
    row's ``_mapping``), to return to a caller.

    It is never added to a session, so it skips the constructor's change tracking (which
    cost more than the insert's own values); attributes not in ``values`` read as None.
    """
    row: _Row = model.__mapper__.class_manager.new_instance()
    row.__dict__.update(values)
    return row
