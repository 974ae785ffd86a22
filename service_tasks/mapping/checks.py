"""Checking a parsed mapping file: every problem with its line, and the Mapping it describes."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from .convert import TYPE_OPTIONS, EnumTable, _key, _preview
from .errors import MappingProblem, _Invalid
from .model import FieldRule, Mapping, _Scope

COMMON_KEYS = frozenset({"to", "from", "value", "type", "required", "default", "description"})
TOP_KEYS = frozenset({"name", "description", "enums", "fields"})
_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)(\[\])?$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

_Levels = tuple[tuple[str, ...], ...]  # levels of names, split where a list ([]) is entered


def _parse_path(text: Any) -> _Levels:
    """``a.b[].c`` → (("a", "b"), ("c",)); raise ValueError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("must be a dotted path such as account.name or items[].quantity")
    levels: list[tuple[str, ...]] = []
    current: list[str] = []
    for segment in text.strip().split("."):
        match = _SEGMENT.match(segment)
        if not match:
            raise ValueError(f"'{text}' is not a path: '{segment}' is not a field name "
                             "(letters, digits, _ and -, optionally followed by [])")
        current.append(match.group(1))
        if match.group(2):
            levels.append(tuple(current))
            current = []
    if not current:
        raise ValueError(f"'{text}' must end in a field name, not in []")
    return (*levels, tuple(current))


class _Checker:
    """Collects every problem of one file while it builds the mapping."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[MappingProblem] = []

    def add(self, message: str, line: int | None = None, field: str | None = None) -> None:
        self.problems.append(MappingProblem(self.file, message, line, field))

    def tables(self, raw: Any, line: int | None) -> dict[str, EnumTable]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add("'enums' must map table names to tables", line)
            return {}
        return {str(name): table for name, body in raw.items()
                if (table := self.table(str(name), body, _line(raw, line))) is not None}

    def table(self, name: str, body: Any, line: int | None,
              field: str | None = None) -> EnumTable | None:
        if not isinstance(body, dict) or not body:
            self.add(f"table '{name}' must map source values to target values", line, field)
            return None
        exact: dict[str, Any] = {}
        folded: dict[str, Any] = {}
        for key, value in body.items():
            if value is None or isinstance(value, dict | list):
                self.add(f"table '{name}': '{key}' must map to a plain value",
                         _line(body, line), field)
                continue
            text = _key(key)
            exact[text] = value
            if folded.get(text.casefold(), value) != value:
                self.add(f"table '{name}': '{key}' differs from another key only in case "
                         "but maps to a different value", _line(body, line), field)
            folded.setdefault(text.casefold(), value)
        return EnumTable(name, exact, folded)

    def rule(self, entry: Any, index: int, tables: dict[str, EnumTable],
             line: int | None) -> FieldRule | None:
        """The field's rule, or None when its paths are unusable; problems are recorded."""
        if not isinstance(entry, dict):
            self.add(f"fields[{index}] must be an entry with 'to' and 'from' or 'value'", line)
            return None
        line = _line(entry, line)
        label = entry["to"] if isinstance(entry.get("to"), str) else f"fields[{index}]"
        before = len(self.problems)
        kind = entry.get("type", "string")
        options: dict[str, Any] = {}
        if not isinstance(kind, str) or kind not in TYPE_OPTIONS:
            self.add(f"unknown type {_preview(kind)} (known: {', '.join(TYPE_OPTIONS)})",
                     line, label)
            kind = "any"
        else:
            self.unknown_keys(kind, entry, line, label)
            options = self.options(kind, entry, tables, line, label)
        required = entry.get("required", False)
        if not isinstance(required, bool):
            self.add("'required' must be true or false", line, label)
        if "value" in entry and ("default" in entry or "required" in entry):
            self.add("a constant 'value' takes no 'default' or 'required'", line, label)
        if not self.paths(entry, line, label):
            return None
        rule = FieldRule(entry["to"], entry.get("from"), kind, required is True, options,
                         line=line)
        if len(self.problems) > before:
            return rule
        extra: dict[str, Any] = {}
        for key, slot in (("default", "default"), ("value", "constant")):
            if key in entry:
                try:
                    extra[slot] = rule.convert(entry[key])
                except _Invalid as exc:
                    self.add(f"{key} {_preview(entry[key])} is not a valid {kind}: {exc}",
                             line, label)
        return replace(rule, **extra)

    def paths(self, entry: dict[str, Any], line: int | None, label: str) -> bool:
        """Check ``to`` and ``from`` / ``value``; say whether the paths can be used."""
        ok = True
        for key in ("to", "from"):
            if key in entry:
                try:
                    _parse_path(entry[key])
                except ValueError as exc:
                    self.add(f"'{key}': {exc}", line, label)
                    ok = False
        if "to" not in entry:
            self.add("'to' is missing: name the target field", line, label)
            ok = False
        if ("from" in entry) == ("value" in entry):
            self.add("give either 'from' (a path in the source record) or 'value' "
                     "(a constant)", line, label)
            ok = False
        return ok

    def unknown_keys(self, kind: str, entry: dict[str, Any], line: int | None,
                     label: str) -> None:
        for key in entry:
            if key in COMMON_KEYS or key in TYPE_OPTIONS[kind]:
                continue
            users = [t for t, opts in TYPE_OPTIONS.items() if key in opts]
            hint = (f"it applies to type {', '.join(users)}" if users else
                    f"allowed: {', '.join(sorted(COMMON_KEYS | TYPE_OPTIONS[kind]))}")
            self.add(f"unknown key '{key}' for type {kind} ({hint})", line, label)

    def options(self, kind: str, entry: dict[str, Any], tables: dict[str, EnumTable],
                line: int | None, label: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in sorted(TYPE_OPTIONS[kind] & set(entry)):
            value = entry[key]
            problem = _option_problem(key, value)
            if problem:
                self.add(f"'{key}' {problem}", line, label)
            elif key == "pattern":
                out[key] = re.compile(value)
            elif key == "table":
                table = (tables.get(value) if isinstance(value, str)
                         else self.table(f"{label} (inline)", value, line, label))
                if table is None and isinstance(value, str):
                    self.add(f"table '{value}' is not defined under 'enums' (defined: "
                             f"{', '.join(tables) or 'none'})", line, label)
                out[key] = table
            else:
                out[key] = value
        if "min" in out and "max" in out and out["min"] > out["max"]:
            self.add("'min' is greater than 'max'", line, label)
        if kind == "enum" and "table" not in entry:
            self.add("type enum needs a 'table': the name of one under 'enums', or an "
                     "inline table", line, label)
        return out

    def structure(self, rules: list[FieldRule]) -> _Scope:
        """Check that targets do not collide and lists line up; build the scope tree."""
        kinds: dict[tuple[str, ...], tuple[str, FieldRule]] = {}
        lists: dict[_Levels, tuple[_Levels, FieldRule]] = {}
        parsed = [(r, _parse_path(r.to), _parse_path(r.source) if r.source else None)
                  for r in rules]
        for rule, target, source in parsed:
            self._check_target(rule, target, kinds)
            if source is None:
                continue
            if len(source) != len(target):
                self.add(f"'to' enters {len(target) - 1} list(s) ([]) but 'from' enters "
                         f"{len(source) - 1}: they must match", rule.line, rule.to)
                continue
            for depth in range(1, len(target)):
                seen = lists.setdefault(target[:depth], (source[:depth], rule))
                if seen[0] != source[:depth]:
                    self.add(f"'{_show(target[:depth])}' is filled from "
                             f"'{_show(seen[0])}' by {seen[1].to} but from "
                             f"'{_show(source[:depth])}' here", rule.line, rule.to)
        root = _Scope()
        for rule, target, source in parsed:
            if source is not None and len(source) != len(target):
                continue
            if source is None and len(target) > 1 and target[:-1] not in lists:
                self.add(f"a constant inside '{_show(target[:-1])}' needs another field "
                         "that reads a list into it", rule.line, rule.to)
                continue
            scope = root
            for depth in range(1, len(target)):
                from_list = source[:depth] if source else lists[target[:depth]][0]
                scope = scope.children.setdefault(
                    target[depth - 1], _Scope(from_list[-1], target[depth - 1]))
            scope.fields.append((rule, source[-1] if source else (), target[-1]))
        return root

    def _check_target(self, rule: FieldRule, target: _Levels,
                      kinds: dict[tuple[str, ...], tuple[str, FieldRule]]) -> None:
        names: tuple[str, ...] = ()
        for depth, level in enumerate(target):
            for i, name in enumerate(level):
                names += (name,)
                last = depth == len(target) - 1 and i == len(level) - 1
                kind = "value" if last else ("list" if i == len(level) - 1 else "object")
                seen = kinds.setdefault(names, (kind, rule))
                if seen[1] is rule:
                    continue
                if last and seen[0] == "value":
                    self.add(f"target '{rule.to}' is also written by the field on line "
                             f"{seen[1].line}", rule.line, rule.to)
                elif seen[0] != kind or last:
                    self.add(f"target '{rule.to}' collides with '{seen[1].to}': "
                             f"'{'.'.join(names)}' cannot be both {_a(kind)} and "
                             f"{_a(seen[0])}", rule.line, rule.to)
                    return


def _option_problem(key: str, value: Any) -> str | None:
    number = isinstance(value, int | Decimal) and not isinstance(value, bool)
    if key in ("min", "max") and not number:
        return "must be a number"
    if key == "factor" and (not number or value == 0):
        return "must be a number other than 0"
    if key == "places" and (not isinstance(value, int) or isinstance(value, bool)
                            or not 0 <= value <= 20):
        return "must be a whole number from 0 to 20"
    if key == "max_length" and (not isinstance(value, int) or isinstance(value, bool)
                                or value < 1):
        return "must be a whole number of 1 or more"
    if key == "case_sensitive" and not isinstance(value, bool):
        return "must be true or false"
    if key == "format" and (not isinstance(value, str) or "%" not in value):
        return "must be a strptime format such as %d.%m.%Y"
    if key == "pattern":
        if not isinstance(value, str):
            return "must be a regular expression"
        try:
            re.compile(value)
        except re.error as exc:
            return f"is not a valid regular expression: {exc}"
    if key == "table" and not isinstance(value, str | dict):
        return "must name a table under 'enums' or be an inline table"
    return None


def _line(node: Any, fallback: int | None) -> int | None:
    line = getattr(node, "line", None)
    return line if isinstance(line, int) else fallback


def _show(levels: _Levels) -> str:
    return ".".join(f"{'.'.join(level)}[]" for level in levels)


def _a(kind: str) -> str:
    return {"value": "a value", "list": "a list", "object": "an object"}[kind]


def _check_document(doc: Any, path: Path, checker: _Checker) -> Mapping | None:
    if not isinstance(doc, dict):
        checker.add("the file must hold an entry with 'fields' (a list of field entries)")
        return None
    line = _line(doc, None)
    for key in doc:
        if key not in TOP_KEYS:
            checker.add(f"unknown key '{key}' (allowed: {', '.join(sorted(TOP_KEYS))})", line)
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.match(name):
        checker.add("'name' must be letters, digits, _, - or .", line)
    description = doc.get("description", "")
    if not isinstance(description, str):
        checker.add("'description' must be text", line)
    tables = checker.tables(doc.get("enums"), line)
    entries = doc.get("fields")
    if not isinstance(entries, list) or not entries:
        checker.add("'fields' must be a non-empty list of field entries", line)
        return None
    rules: list[FieldRule] = []
    for i, entry in enumerate(entries):
        rule = checker.rule(entry, i, tables, line)
        if rule is not None:
            rules.append(rule)
    scope = checker.structure(rules)  # also for unsound rules, so every problem is found
    if checker.problems:
        return None
    return Mapping(str(name), rules, scope, description=str(description), path=path)
