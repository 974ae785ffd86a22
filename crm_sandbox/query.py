"""Running a parsed SOQL query: checked against the schema, compiled to parameterised SQL,
answered in pages, with server-side cursors behind ``nextRecordsUrl``."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from .db import quote
from .errors import SalesforceError
from .schema import Field, SObject, named, normalize_id, sobject
from .soql import Compare, Condition, FieldRef, InList, Literal, Logical, Not, Query, parse
from .soql import query_error as _error
from .values import from_db

CURSOR_TTL = 15 * 60
_LOCATOR_RE = re.compile(r"^(01g[A-Za-z0-9_-]{10,40})-(\d+)$")
_EXPECTED = {"boolean": "boolean", "date": "date", "datetime": "dateTime", "int": "int",
             "double": "double", "currency": "double"}


@dataclass
class Column:
    path: tuple[str, ...]      # canonical: ("Account", "Name")
    field: Field
    expr: str


@dataclass
class Plan:
    root: SObject
    sql: str
    params: list[Any]
    columns: list[Column]
    parents: dict[tuple[str, ...], tuple[str, SObject]] = field(default_factory=dict)


class Compiler:
    """Resolves field paths (adding LEFT JOINs for parents) and builds the SQL."""

    def __init__(self, query: Query) -> None:
        self.query = query
        root = sobject(query.sobject)
        if root is None:
            raise _error(query.text, query.sobject_pos,
                         f"sObject type '{query.sobject}' is not supported. If you are "
                         "attempting to use a custom object, be sure to append the '__c' "
                         "after the entity name.", "INVALID_TYPE")
        self.root = root
        self.joins: dict[tuple[str, ...], tuple[str, SObject]] = {(): ("t0", root)}
        self.join_sql: list[str] = []
        self.params: list[Any] = []

    def resolve(self, ref: FieldRef) -> Column:
        alias, obj = self.joins[()]
        path: tuple[str, ...] = ()
        for name in ref.path[:-1]:
            rel = obj.relationship(name)
            if rel is None:
                raise _error(self.query.text, ref.pos,
                             f"Didn't understand relationship '{name}' in field path. If you "
                             "are attempting to use a custom relationship, be sure to append "
                             "the '__r' after the custom relationship name.", "INVALID_FIELD")
            if len(rel.targets) != 1:
                raise _error(self.query.text, ref.pos,
                             f"The polymorphic relationship '{rel.relationship}' is not "
                             "supported by the sandbox; select its Id field instead.",
                             "INVALID_FIELD")
            path += (str(rel.relationship),)
            if path not in self.joins:
                target = named(rel.targets[0])
                new_alias = f"t{len(self.joins)}"
                self.join_sql.append(f"LEFT JOIN {quote(target.name)} {new_alias} ON "
                                     f"{new_alias}.\"Id\" = {alias}.{quote(rel.name)}")
                self.joins[path] = (new_alias, target)
            alias, obj = self.joins[path]
        found = obj.field(ref.path[-1])
        if found is None:
            raise _error(self.query.text, ref.pos,
                         f"No such column '{ref.path[-1]}' on entity '{obj.name}'. If you are "
                         "attempting to use a custom field, be sure to append the '__c' after "
                         "the custom field name.", "INVALID_FIELD")
        return Column(path + (found.name,), found, f"{alias}.{quote(found.name)}")

    def compile(self) -> Plan:
        q = self.query
        columns = [self.resolve(ref) for ref in q.fields]
        seen: set[tuple[str, ...]] = set()
        for ref, column in zip(q.fields, columns, strict=True):
            if tuple(p.lower() for p in column.path) in seen:
                raise _error(q.text, ref.pos, f"duplicate field selected: {'.'.join(ref.path)}")
            seen.add(tuple(p.lower() for p in column.path))
        where = f" WHERE {self.condition(q.where)}" if q.where is not None else ""
        order = [self.ordering(o.field, o.descending, o.nulls_last) for o in q.order_by]
        source = f"FROM {quote(self.root.name)} t0 {' '.join(self.join_sql)}{where}"
        if q.count:
            return Plan(self.root, f"SELECT COUNT(*) {source}", self.params, [])
        hidden = [f"{alias}.\"Id\"" for alias, _ in self.joins.values()]
        select = ", ".join([c.expr for c in columns] + hidden)
        order.append('t0."Id"')   # a stable order, so pages never overlap
        sql = f"SELECT {select} {source} ORDER BY {', '.join(order)}"
        if q.limit is not None or q.offset is not None:
            sql += " LIMIT ? OFFSET ?"
            self.params += [q.limit if q.limit is not None else -1, q.offset or 0]
        return Plan(self.root, sql, self.params, columns, dict(self.joins))

    def ordering(self, ref: FieldRef, descending: bool, nulls_last: bool) -> str:
        column = self.resolve(ref)
        collate = " COLLATE NOCASE" if _nocase(column.field) else ""
        return (f"{column.expr}{collate} {'DESC' if descending else 'ASC'} "
                f"NULLS {'LAST' if nulls_last else 'FIRST'}")

    def condition(self, node: Condition) -> str:
        if isinstance(node, Logical):
            return "(" + f" {node.op} ".join(self.condition(i) for i in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.condition(node.item)})"
        if isinstance(node, InList):
            return self.in_list(node)
        return self.compare(node)

    def compare(self, node: Compare) -> str:
        column = self.resolve(node.field)
        expr = column.expr + (" COLLATE NOCASE" if _nocase(column.field) else "")
        if node.op == "LIKE":
            if not column.field.is_text or node.value.kind != "string":
                raise self.operator_error(node.value, column.field, "like")
            self.params.append(node.value.like)
            return f"{column.expr} LIKE ? ESCAPE '\\'"
        value = self.value(column.field, node.value)
        if value is None:
            if node.op not in ("=", "!="):
                raise self.operator_error(node.value, column.field, node.op)
            return f"{column.expr} IS {'NOT ' if node.op == '!=' else ''}NULL"
        if column.field.type == "boolean" and node.op not in ("=", "!="):
            raise self.operator_error(node.value, column.field, node.op)
        self.params.append(value)
        if node.op == "!=":
            # SOQL counts a null as "not equal", unlike SQL.
            return f"({column.expr} IS NULL OR {expr} != ?)"
        return f"{expr} {node.op} ?"

    def in_list(self, node: InList) -> str:
        column = self.resolve(node.field)
        expr = column.expr + (" COLLATE NOCASE" if _nocase(column.field) else "")
        values = [self.value(column.field, v) for v in node.values]
        present = [v for v in values if v is not None]
        has_null = len(present) < len(values)
        marks = ", ".join("?" for _ in present)
        self.params += present
        if node.negated:
            parts = [f"{column.expr} IS NOT NULL" if has_null else f"{column.expr} IS NULL"]
            if present:
                parts.append(f"{expr} NOT IN ({marks})")
            return f"({' AND '.join(parts)})" if has_null else f"({' OR '.join(parts)})"
        parts = [f"{expr} IN ({marks})"] if present else []
        if has_null:
            parts.append(f"{column.expr} IS NULL")
        return f"({' OR '.join(parts)})"

    def value(self, field: Field, literal: Literal) -> Any:
        """The SQL parameter for ``literal`` compared with ``field``, checking its type."""
        if literal.kind == "null":
            return None
        if field.is_text and literal.kind == "string":
            if field.type in ("id", "reference"):
                return normalize_id(literal.value) or literal.value
            return literal.value
        if field.type == "boolean" and literal.kind == "boolean":
            return 1 if literal.value else 0
        if field.type in ("int", "double", "currency") and literal.kind == "number":
            return literal.value
        if field.type in ("date", "datetime") and literal.kind == field.type:
            return literal.value
        expected = "string" if field.is_text else _EXPECTED.get(field.type, field.type)
        quoted = " and should not be enclosed in quotes" if literal.kind == "string" else ""
        raise _error(self.query.text, literal.pos,
                     f"value of filter criterion for field '{field.name}' must be of type "
                     f"{expected}{quoted}", "INVALID_QUERY_FILTER_OPERATOR")

    def operator_error(self, literal: Literal, field: Field, op: str) -> SalesforceError:
        return _error(self.query.text, literal.pos,
                      f"invalid operator {op} on field '{field.name}' of type {field.type}"
                      + (" with null" if literal.kind == "null" else ""),
                      "INVALID_QUERY_FILTER_OPERATOR")


def _nocase(field: Field) -> bool:
    # SOQL compares text without regard to case; ids keep their exact form.
    return field.is_text and field.type not in ("id", "reference")


def _render(plan: Plan, row: sqlite3.Row, version: str) -> dict[str, Any]:
    n = len(plan.columns)
    parent_ids = {path: row[n + i] for i, path in enumerate(plan.parents)}

    def attributes(obj: SObject, record_id: Any) -> dict[str, Any]:
        return {"type": obj.name, "url": f"/services/data/{version}/sobjects/{obj.name}/"
                                         f"{record_id}"}

    record: dict[str, Any] = {"attributes": attributes(plan.root, parent_ids[()])}
    for i, column in enumerate(plan.columns):
        target = record
        for depth in range(1, len(column.path)):
            prefix = column.path[:depth]
            key = column.path[depth - 1]
            if parent_ids[prefix] is None:
                target[key] = None
                break
            if target.get(key) is None:
                target[key] = {"attributes": attributes(plan.parents[prefix][1],
                                                        parent_ids[prefix])}
            target = target[key]
        else:
            target[column.path[-1]] = from_db(column.field, row[i])
    return record


def run(conn: sqlite3.Connection, text: str, version: str, batch_size: int,
        now: float) -> dict[str, Any]:
    """The first page of the answer to SOQL ``text`` (in a write transaction: cursors)."""
    query = parse(text)
    plan = Compiler(query).compile()
    if query.count:
        total = conn.execute(plan.sql, plan.params).fetchone()[0]
        return {"totalSize": total, "done": True, "records": []}
    records = [_render(plan, row, version) for row in conn.execute(plan.sql, plan.params)]
    conn.execute("DELETE FROM _cursor WHERE created_at < ?", (now - CURSOR_TTL,))
    if len(records) <= batch_size:
        return {"totalSize": len(records), "done": True, "records": records}
    cursor = "01g" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    conn.execute("INSERT INTO _cursor (id, records, created_at) VALUES (?, ?, ?)",
                 (cursor, json.dumps(records), now))
    return {"totalSize": len(records), "done": False,
            "nextRecordsUrl": f"/services/data/{version}/query/{cursor}-{batch_size}",
            "records": records[:batch_size]}


def next_page(conn: sqlite3.Connection, locator: str, version: str,
              batch_size: int) -> dict[str, Any]:
    """The page of a cursor that ``locator`` (``<cursor>-<offset>``) points at."""
    match = _LOCATOR_RE.match(locator)
    row = None
    if match:
        row = conn.execute("SELECT records FROM _cursor WHERE id = ?",
                           (match.group(1),)).fetchone()
    if match is None or row is None:
        raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    records = json.loads(row["records"])
    start = int(match.group(2))
    end = start + batch_size
    answer: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records),
                              "records": records[start:end]}
    if end < len(records):
        answer["nextRecordsUrl"] = f"/services/data/{version}/query/{match.group(1)}-{end}"
    return answer
