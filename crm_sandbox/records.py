"""Creating, reading, changing and deleting records, with the checks Salesforce makes.

A ``Records`` works inside one write transaction: a change, the roll-ups it causes and the
webhook events it raises are committed together or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from . import outbox, rules
from .db import next_value, quote
from .errors import SalesforceError, not_found
from .schema import OBJECTS, Field, SObject, make_id, normalize_id, object_of_id
from .values import coerce, epoch_to_datetime, from_db, to_db


class Records:
    """The record operations of one transaction, acting as user ``user_id`` at time ``now``."""

    def __init__(self, conn: sqlite3.Connection, now: float, user_id: str) -> None:
        self.conn = conn
        self.now = now
        self.user_id = user_id
        self.emitted = 0

    # --- reading -----------------------------------------------------------------------

    def get(self, obj: SObject, record_id: str) -> dict[str, Any] | None:
        """The record's field values (JSON forms), or None."""
        row = self.conn.execute(f"SELECT * FROM {quote(obj.name)} WHERE \"Id\" = ?",
                                (record_id,)).fetchone()
        return None if row is None else _from_row(obj, row)

    def require(self, obj: SObject, record_id: str) -> dict[str, Any]:
        normal = normalize_id(record_id)
        record = self.get(obj, normal) if normal else None
        if record is None:
            raise not_found()
        return record

    def find(self, obj: SObject, field_name: str, value: Any) -> list[dict[str, Any]]:
        """Records whose field ``field_name`` equals ``value``, oldest first."""
        field = obj.field(field_name)
        assert field is not None, field_name
        rows = self.conn.execute(
            f"SELECT * FROM {quote(obj.name)} WHERE {quote(field.name)} = ? "
            "ORDER BY \"CreatedDate\", \"Id\"", (to_db(field, value),)).fetchall()
        return [_from_row(obj, row) for row in rows]

    def all(self, obj: SObject, order_by: str = "CreatedDate", descending: bool = False,
            limit: int = 200) -> list[dict[str, Any]]:
        direction = "DESC" if descending else "ASC"
        rows = self.conn.execute(
            f"SELECT * FROM {quote(obj.name)} ORDER BY {quote(order_by)} {direction}, "
            f"\"Id\" {direction} LIMIT ?", (limit,)).fetchall()
        return [_from_row(obj, row) for row in rows]

    # --- writing -----------------------------------------------------------------------

    def create(self, obj: SObject, values: Mapping[str, Any],
               record_id: str | None = None) -> str:
        """Insert a record from client ``values``; returns its new Id."""
        incoming = self._incoming(obj, values, creating=True)
        record: dict[str, Any] = {f.name: f.default for f in obj.fields}
        if obj.field("OwnerId"):
            record["OwnerId"] = self.user_id
        record.update(incoming)
        self._check(obj, record, {f.name for f in obj.fields}, None)
        rules.before_save(self, obj, None, record)
        stamp = epoch_to_datetime(self.now)
        record.update(Id=record_id or self._new_id(obj), CreatedDate=stamp,
                      LastModifiedDate=stamp, SystemModstamp=stamp)
        if obj.number_field:
            number = next_value(self.conn, obj.number_field, obj.number_start)
            record[obj.number_field] = f"{number:08d}"
        names = [f.name for f in obj.fields]
        self.conn.execute(
            f"INSERT INTO {quote(obj.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})",
            [to_db(f, record.get(f.name)) for f in obj.fields])
        rules.after_save(self, obj, None, record)
        return str(record["Id"])

    def update(self, obj: SObject, record_id: str, values: Mapping[str, Any]) -> None:
        old = self.require(obj, record_id)
        incoming = self._incoming(obj, values, creating=False)
        new = {**old, **incoming}
        self._check(obj, new, set(incoming), old)
        rules.before_save(self, obj, old, new)
        self.write_fields(obj, new, {k for k, v in new.items() if v != old.get(k)} | set(incoming))
        rules.after_save(self, obj, old, new)

    def write_fields(self, obj: SObject, record: dict[str, Any], names: set[str]) -> None:
        """Store ``names`` of ``record`` and stamp it as modified now."""
        stamp = epoch_to_datetime(self.now)
        record.update(LastModifiedDate=stamp, SystemModstamp=stamp)
        fields = [f for f in obj.fields
                  if f.name in names | {"LastModifiedDate", "SystemModstamp"}]
        self.conn.execute(
            f"UPDATE {quote(obj.name)} SET {', '.join(quote(f.name) + ' = ?' for f in fields)} "
            "WHERE \"Id\" = ?", [to_db(f, record[f.name]) for f in fields] + [record["Id"]])

    def upsert(self, obj: SObject, field_name: str, key: str,
               values: Mapping[str, Any]) -> tuple[str, bool] | list[str]:
        """Update the record whose external id is ``key``, or create it: (Id, created).

        Several matches give their Ids instead, and change nothing.
        """
        field = obj.field(field_name)
        if field is None or not field.external_id:
            raise not_found("Provided external ID field does not exist or is not accessible: "
                            f"{field_name}")
        for name in values:
            if name.lower() in ("id", field.name.lower()):
                raise SalesforceError(400, "INVALID_FIELD",
                                      f"{name} must not be in the body of an upsert by "
                                      f"{field.name}; it is given in the URL", [name])
        matches = self.find(obj, field.name, key)
        if len(matches) > 1:
            return [str(m["Id"]) for m in matches]
        if matches:
            self.update(obj, str(matches[0]["Id"]), values)
            return str(matches[0]["Id"]), False
        return self.create(obj, {**values, field.name: key}), True

    def delete(self, obj: SObject, record_id: str, cascading: bool = False) -> None:
        record = self.require(obj, record_id)
        if not cascading:
            rules.before_delete(self, obj, record)
        for child_obj, field in _referrers(obj):
            children = self.find(child_obj, field.name, record["Id"])
            if not children:
                continue
            if field.on_delete == "cascade":
                for child in children:
                    self.delete(child_obj, str(child["Id"]), cascading=True)
            elif field.on_delete == "clear":
                for child in children:
                    child[field.name] = None
                    self.write_fields(child_obj, child, {field.name})
            else:
                label = record.get("Name") or record.get(obj.number_field or "Id")
                listed = ", ".join(str(c.get("Name") or c.get(child_obj.number_field or "Id"))
                                   for c in children[:5])
                raise SalesforceError(
                    400, "DELETE_FAILED",
                    f"Your attempt to delete {label} could not be completed because it is "
                    f"associated with the following {child_obj.name} records: {listed}")
        self.conn.execute(f"DELETE FROM {quote(obj.name)} WHERE \"Id\" = ?", (record["Id"],))
        if not cascading:
            rules.after_delete(self, obj, record)

    def emit(self, event_type: str, obj: SObject, record: Mapping[str, Any]) -> None:
        """Write a webhook event for ``record`` in this same transaction (the outbox)."""
        data = {f.name: record.get(f.name) for f in obj.fields}
        outbox.enqueue(self.conn, event_type, obj.name, str(record["Id"]), data, self.now)
        self.emitted += 1

    # --- checks ------------------------------------------------------------------------

    def _incoming(self, obj: SObject, values: Mapping[str, Any],
                  creating: bool) -> dict[str, Any]:
        unknown, locked, result = [], [], {}
        for name, raw in values.items():
            if name == "attributes":
                continue
            field = obj.field(name)
            if field is None:
                unknown.append(name)
            elif not (field.createable if creating else field.updateable):
                locked.append(field.name)
            else:
                result[field.name] = coerce(field, raw)
        if unknown:
            raise SalesforceError(400, "INVALID_FIELD",
                                  f"No such column '{unknown[0]}' on sobject of type "
                                  f"{obj.name}", unknown)
        if locked:
            raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                                  f"Unable to create/update fields: {', '.join(locked)}. "
                                  "Please check the security settings of this field and "
                                  "verify that it is read/write for your profile or "
                                  "permission set.", locked)
        return result

    def _check(self, obj: SObject, record: dict[str, Any], changed: set[str],
               old: dict[str, Any] | None) -> None:
        missing = [f.name for f in obj.fields
                   if f.required and f.name in changed and record.get(f.name) is None]
        if missing:
            raise SalesforceError(400, "REQUIRED_FIELD_MISSING",
                                  f"Required fields are missing: [{', '.join(missing)}]",
                                  missing)
        for field in obj.fields:
            value = record.get(field.name)
            if field.name not in changed or value is None:
                continue
            if field.type == "reference":
                self._check_reference(field, value)
            if field.unique:
                for other in self.find(obj, field.name, value):
                    if old is None or other["Id"] != old["Id"]:
                        raise SalesforceError(
                            400, "DUPLICATE_VALUE",
                            f"duplicate value found: {field.name} duplicates value on record "
                            f"with id: {other['Id']}", [field.name])

    def _check_reference(self, field: Field, value: str) -> None:
        target = object_of_id(value)
        if target is None or target.name not in field.targets:
            raise SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION",
                                  f"field integrity exception: {field.name} (id value of "
                                  f"incorrect type: {value})", [field.name])
        if self.get(target, value) is None:
            raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY",
                                  f"invalid cross reference id: {field.name} {value}",
                                  [field.name])

    def _new_id(self, obj: SObject) -> str:
        row = self.conn.execute("SELECT value FROM _meta WHERE key = 'pod'").fetchone()
        return make_id(obj.prefix, str(row["value"]), next_value(self.conn, "id:" + obj.prefix))


def render(obj: SObject, record: Mapping[str, Any], version: str,
           fields: list[Field] | None = None) -> dict[str, Any]:
    """A record as the REST API answers it: ``attributes`` first, then its fields."""
    chosen = fields if fields is not None else list(obj.fields)
    return {"attributes": {"type": obj.name,
                           "url": f"/services/data/{version}/sobjects/{obj.name}/"
                                  f"{record['Id']}"},
            **{f.name: record.get(f.name) for f in chosen}}


def _from_row(obj: SObject, row: sqlite3.Row) -> dict[str, Any]:
    keys = set(row.keys())
    return {f.name: from_db(f, row[f.name]) if f.name in keys else None for f in obj.fields}


def _referrers(obj: SObject) -> list[tuple[SObject, Field]]:
    return [(other, field) for other in OBJECTS for field in other.references()
            if obj.name in field.targets]
