"""Field mappings: analyst-owned files that turn one system's record into another's.

A mapping lives in ``processes/mappings/`` as YAML (``.yaml``, ``.yml``) or TOML (``.toml``)::

    name: crm_order_to_erp          # optional; the file name without its suffix otherwise
    description: CRM order → ERP sales order parameters
    enums:                          # named tables: source value → target value
      country: {Germany: DE, DE: DE, Norway: NO, NO: NO}
    fields:                         # one entry per target field
      - to: crm_order_id            # where the value goes: a dotted path
        from: id                    # where it comes from: a dotted path in the record
        required: true
      - to: lines[].quantity        # [] maps every element of a list to a new list
        from: items[].quantity
        type: integer
        min: 1
        required: true
      - to: lines[].unit_price
        from: items[].unit_price
        type: decimal
        places: 2
      - to: country_code
        from: account.country
        type: enum
        table: country
        default: DE                 # used when the value is missing, null or blank
      - to: channel
        value: crm                  # a constant instead of ``from``

A field entry has ``to``, exactly one of ``from`` / ``value``, and optionally ``type``
(default ``string``), ``required`` (default false), ``default`` and ``description``.
``default`` and ``value`` are written as the source would hold them and converted like it.
A missing optional field is left out of the result. Types and their options:

- ``string``: ``max_length``, ``pattern`` (a regular expression the whole text must match);
- ``integer``: ``min``, ``max``, ``factor`` (a unit conversion: the value is multiplied by it);
- ``decimal``: ``places`` (rounded half up), ``min``, ``max``, ``factor``;
- ``boolean``: true/false, yes/no, 1/0, on/off;
- ``date``, ``datetime``: ISO 8601 text, or ``format`` (a ``strptime`` format); aware
  date-times are converted to UTC;
- ``enum``: ``table`` (a name from ``enums`` or an inline table), ``case_sensitive``
  (default false); a value that is not in the table fails;
- ``any``: copied unchanged.

YAML is read in a strict, YAML-1.2-like way: only ``true``/``false`` are booleans (so
``NO``, Norway, stays text), numbers with a leading zero and dates stay text, decimals are
read exactly, and a key written twice is an error. ``load_mapping`` reports every problem of
a file at once; ``Mapping.apply`` reports every field that failed at once.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from service_tasks.base import (
    BusinessRuleError,
    CallInfo,
    ConnectorError,
    InvalidParameters,
    require,
)

SUFFIXES = (".yaml", ".yml", ".toml")
TYPE_OPTIONS: dict[str, frozenset[str]] = {
    "string": frozenset({"max_length", "pattern"}),
    "integer": frozenset({"min", "max", "factor"}),
    "decimal": frozenset({"places", "min", "max", "factor"}),
    "boolean": frozenset(),
    "date": frozenset({"format"}),
    "datetime": frozenset({"format"}),
    "enum": frozenset({"table", "case_sensitive"}),
    "any": frozenset(),
}
COMMON_KEYS = frozenset({"to", "from", "value", "type", "required", "default", "description"})
TOP_KEYS = frozenset({"name", "description", "enums", "fields"})
_MISSING: Any = object()
_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)(\[\])?$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})

_Levels = tuple[tuple[str, ...], ...]  # levels of names, split where a list ([]) is entered
Operation = Callable[[dict[str, Any], CallInfo], dict[str, Any]]


# -- errors -----------------------------------------------------------------------------

@dataclass(frozen=True)
class MappingProblem:
    """One thing wrong in a mapping file, precise enough for an analyst to find it."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        where += f" [{self.field}]" if self.field else ""
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field,
                "message": self.message}


class MappingFileError(ConnectorError):
    """Mapping files that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[MappingProblem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in mapping files:\n{lines}",
                         {"problems": [p.as_dict() for p in problems]})
        self.problems = problems


class _Invalid(Exception):
    """A value that its field's type refuses (internal; collected into failures)."""


# -- reading files ------------------------------------------------------------------------

class _Located(dict[Any, Any]):
    """A YAML mapping that remembers the line it starts on."""

    line: int | None = None


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML-1.2-like scalars, line numbers, and duplicate keys recorded."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any]] = []


def _construct_mapping(loader: _YamlLoader, node: yaml.MappingNode) -> Iterator[_Located]:
    data = _Located()
    data.line = node.start_mark.line + 1
    yield data
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark)
        if key in data:
            loader.duplicates.append((key_node.start_mark.line + 1, key))
        data[key] = loader.construct_object(value_node, deep=True)


def _construct_decimal(loader: _YamlLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node))
    try:
        return Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{text}' is not a number", node.start_mark) from None


_YamlLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
        ("float", r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?$", "-+0123456789")):
    _YamlLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern),
                                      list(_first))
_YamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_YamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _read_document(path: Path) -> tuple[Any, list[MappingProblem]]:
    """The parsed file, or the syntax problem that stopped it (with its line)."""
    file = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return None, [MappingProblem(file, f"cannot read the file: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return None, [MappingProblem(file, "the file is not UTF-8 text")]
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text, parse_float=Decimal), []
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"\(at line (\d+)", str(exc))
            return None, [MappingProblem(file, f"TOML syntax error: {exc}",
                                         int(found.group(1)) if found else None)]
    loader = _YamlLoader(text)
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        what = ", ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, [MappingProblem(file, f"YAML syntax error: {what}", line)]
    except yaml.YAMLError as exc:
        return None, [MappingProblem(file, f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    return doc, [MappingProblem(file, f"the key '{key}' is written twice", line)
                 for line, key in loader.duplicates]


# -- values -------------------------------------------------------------------------------

def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Invalid("expected a number, not true/false")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _Invalid("is not a number") from None
    else:
        raise _Invalid(f"expected a number, not {_kind(value)}")
    if not number.is_finite():
        raise _Invalid("is not a finite number")
    return number


def _bounded(number: Decimal, options: dict[str, Any]) -> None:
    if "min" in options and number < options["min"]:
        raise _Invalid(f"must be at least {options['min']}")
    if "max" in options and number > options["max"]:
        raise _Invalid(f"must be at most {options['max']}")


def _to_string(value: Any, options: dict[str, Any]) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Invalid(f"expected text, not {_kind(value)}")
    text = value if isinstance(value, str) else str(_number(value))
    if "max_length" in options and len(text) > options["max_length"]:
        raise _Invalid(f"is longer than {options['max_length']} characters")
    if "pattern" in options and not options["pattern"].fullmatch(text):
        raise _Invalid(f"does not match the pattern {options['pattern'].pattern}")
    return text


def _to_integer(value: Any, options: dict[str, Any]) -> int:
    number = _number(value) * options.get("factor", 1)
    if number != number.to_integral_value():
        raise _Invalid("is not a whole number")
    _bounded(number, options)
    return int(number)


def _to_decimal(value: Any, options: dict[str, Any]) -> Decimal:
    number: Decimal = _number(value) * options.get("factor", 1)
    if "places" in options:
        try:
            number = number.quantize(Decimal(1).scaleb(-options["places"]), ROUND_HALF_UP)
        except InvalidOperation:
            raise _Invalid("is too large") from None
    _bounded(number, options)
    return number


def _to_boolean(value: Any, options: dict[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid("expected true/false, yes/no, 1/0 or on/off")


def _to_datetime(value: Any, options: dict[str, Any]) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = (dt.datetime.strptime(value.strip(), options["format"])
                      if "format" in options else dt.datetime.fromisoformat(value.strip()))
        except ValueError:
            raise _Invalid(f"is not a date and time ({options.get('format', 'ISO 8601')})"
                           ) from None
    else:
        raise _Invalid(f"expected a date and time, not {_kind(value)}")
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment


def _to_date(value: Any, options: dict[str, Any]) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and "format" not in options:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    try:
        return _to_datetime(value, options).date()
    except _Invalid:
        raise _Invalid(f"is not a date ({options.get('format', 'ISO 8601, YYYY-MM-DD')})"
                       ) from None


def _to_enum(value: Any, options: dict[str, Any]) -> Any:
    table: EnumTable = options["table"]
    return table.lookup(value, options.get("case_sensitive", False))


def _to_any(value: Any, options: dict[str, Any]) -> Any:
    return value


CONVERTERS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "string": _to_string, "integer": _to_integer, "decimal": _to_decimal,
    "boolean": _to_boolean, "date": _to_date, "datetime": _to_datetime, "enum": _to_enum,
    "any": _to_any,
}


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.strip() if isinstance(value, str) else str(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__)


def _preview(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(json_ready(value))
    return text if len(text) <= 60 else text[:57] + "..."


def json_ready(value: Any) -> Any:
    """``value`` with decimals as exact strings and dates as ISO 8601 text (for JSON)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class EnumTable:
    """A value table: source value → target value, looked up by text."""

    name: str
    exact: dict[str, Any]
    folded: dict[str, Any]

    def lookup(self, value: Any, case_sensitive: bool) -> Any:
        if isinstance(value, dict | list):
            raise _Invalid(f"expected a plain value, not {_kind(value)}")
        key = _key(value)
        if key in self.exact:
            return self.exact[key]
        if not case_sensitive and key.casefold() in self.folded:
            return self.folded[key.casefold()]
        known = ", ".join(list(self.exact)[:12]) + (", ..." if len(self.exact) > 12 else "")
        raise _Invalid(f"is not in table '{self.name}' (known: {known})")


# -- the mapping --------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldRule:
    """One target field: where its value comes from and how it is converted."""

    to: str
    source: str | None
    type: str
    required: bool
    options: dict[str, Any]
    default: Any = _MISSING
    constant: Any = _MISSING
    line: int | None = None

    def convert(self, value: Any) -> Any:
        return CONVERTERS[self.type](value, self.options)


@dataclass
class _Scope:
    """The fields written at one list level, and the lists nested below it."""

    source: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    fields: list[tuple[FieldRule, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=list)
    children: dict[tuple[str, ...], _Scope] = field(default_factory=dict)

    def required_fields(self) -> list[str]:
        return [rule.to for rule, _, _ in self.fields if rule.required]


@dataclass(frozen=True)
class _Failure:
    source: str
    target: str
    value: Any
    message: str

    def describe(self) -> str:
        shown = "" if self.value is _MISSING else f" = {_preview(self.value)}"
        return f"{self.source}{shown}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.source, "target": self.target, "message": self.message,
                "value": None if self.value is _MISSING else _preview(self.value)}


class Mapping:
    """A checked mapping file; ``apply`` turns a source record into a target record."""

    def __init__(self, name: str, fields: list[FieldRule], scope: _Scope, *,
                 description: str = "", path: Path | None = None) -> None:
        self.name = name
        self.fields = tuple(fields)
        self.description = description
        self.path = path
        self._scope = scope

    def __repr__(self) -> str:
        return f"<Mapping {self.name} ({len(self.fields)} fields)>"

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        """Map ``record``, or raise ``BusinessRuleError('mapping_failed')`` naming every failure.

        Decimals, dates and date-times come back as Python values; ``json_ready`` makes
        them JSON.
        """
        if not isinstance(record, dict):
            raise InvalidParameters(f"mapping '{self.name}' needs a record object, not "
                                    f"{_kind(record)}")
        out: dict[str, Any] = {}
        failures: list[_Failure] = []
        self._apply_scope(self._scope, record, out, "", "", failures)
        if failures:
            listed = "; ".join(f.describe() for f in failures)
            raise BusinessRuleError(
                "mapping_failed",
                f"mapping '{self.name}' failed for {len(failures)} field(s): {listed}",
                {"mapping": self.name, "failures": [f.as_dict() for f in failures]})
        return out

    def _apply_scope(self, scope: _Scope, element: dict[str, Any], out: dict[str, Any],
                     src_at: str, tgt_at: str, failures: list[_Failure]) -> None:
        for rule, source, target in scope.fields:
            self._apply_field(rule, element, source, out, target, src_at, tgt_at, failures)
        for child in scope.children.values():
            src = src_at + ".".join(child.source)
            tgt = tgt_at + ".".join(child.target)
            try:
                items = _get(element, child.source, src_at)
            except _Invalid as exc:
                failures.append(_Failure(src, tgt, _MISSING, str(exc)))
                continue
            if items is _MISSING or items is None:
                required = child.required_fields()
                if required:
                    verb = "is" if len(required) == 1 else "are"
                    failures.append(_Failure(src, tgt, _MISSING, "the list is missing, but "
                                             f"{', '.join(required)} {verb} required"))
                continue
            if not isinstance(items, list):
                failures.append(_Failure(src, tgt, items, "expected a list"))
                continue
            mapped: list[Any] = []
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    failures.append(_Failure(f"{src}[{i}]", f"{tgt}[{i}]", item,
                                             "expected an object"))
                    continue
                result: dict[str, Any] = {}
                self._apply_scope(child, item, result, f"{src}[{i}].", f"{tgt}[{i}].",
                                  failures)
                mapped.append(result)
            _put(out, child.target, mapped)

    @staticmethod
    def _apply_field(rule: FieldRule, element: dict[str, Any], source: tuple[str, ...],
                     out: dict[str, Any], target: tuple[str, ...], src_at: str, tgt_at: str,
                     failures: list[_Failure]) -> None:
        if rule.constant is not _MISSING:
            _put(out, target, rule.constant)
            return
        where, target_name = src_at + ".".join(source), tgt_at + ".".join(target)
        try:
            value = _get(element, source, src_at)
        except _Invalid as exc:
            failures.append(_Failure(where, target_name, _MISSING, str(exc)))
            return
        if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
            if rule.default is not _MISSING:
                _put(out, target, rule.default)
            elif rule.required:
                failures.append(_Failure(where, target_name, _MISSING,
                                         "is required but missing"))
            return
        try:
            _put(out, target, rule.convert(value))
        except _Invalid as exc:
            failures.append(_Failure(where, target_name, value, f"{exc} (type {rule.type})"))


def _get(element: dict[str, Any], names: tuple[str, ...], at: str) -> Any:
    value: Any = element
    for i, name in enumerate(names):
        if value is None:
            return _MISSING
        if not isinstance(value, dict):
            raise _Invalid(f"{at}{'.'.join(names[:i])} is {_kind(value)}, not an object")
        value = value.get(name, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _put(out: dict[str, Any], names: tuple[str, ...], value: Any) -> None:
    for name in names[:-1]:
        out = out.setdefault(name, {})
    out[names[-1]] = value


# -- checking a file ----------------------------------------------------------------------

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


def _load(path: Path) -> tuple[Mapping | None, list[MappingProblem]]:
    doc, problems = _read_document(path)
    if doc is None and problems:
        return None, problems
    checker = _Checker(str(path))
    checker.problems.extend(problems)
    mapping = _check_document(doc, path, checker)
    return mapping, sorted(checker.problems, key=lambda p: p.line or 0)


# -- public API ---------------------------------------------------------------------------

def load_mapping(path: str | Path) -> Mapping:
    """Load and check one mapping file; raise ``MappingFileError`` listing every problem."""
    mapping, problems = _load(Path(path))
    if problems or mapping is None:
        raise MappingFileError(problems)
    return mapping


class MappingSet:
    """Every mapping file of a directory, by name; problems of all files are reported at once."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise MappingFileError([MappingProblem(str(self.directory),
                                                   "the mappings directory does not exist")])
        problems: list[MappingProblem] = []
        self._mappings: dict[str, Mapping] = {}
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or path.suffix not in SUFFIXES:
                continue
            mapping, found = _load(path)
            problems.extend(found)
            if mapping is None:
                continue
            other = self._mappings.get(mapping.name)
            if other is not None:
                problems.append(MappingProblem(str(path), f"the name '{mapping.name}' is "
                                               f"also used by {other.path}"))
            self._mappings[mapping.name] = mapping
        if problems:
            raise MappingFileError(problems)

    def names(self) -> list[str]:
        return sorted(self._mappings)

    def __contains__(self, name: object) -> bool:
        return name in self._mappings

    def get(self, name: str) -> Mapping:
        """The mapping called ``name``; an unknown name is a modelling mistake."""
        try:
            return self._mappings[name]
        except (KeyError, TypeError):
            raise InvalidParameters(
                f"no mapping named {name!r} in {self.directory} (known: "
                f"{', '.join(self.names()) or 'none'})", {"mapping": str(name)}) from None


def operations(mappings: MappingSet) -> dict[str, Operation]:
    """The operations to register: ``mapping.apply`` {mapping, record} → {record}."""

    def apply(params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        name, record = require(params, "mapping", "record")
        if not isinstance(record, dict):
            raise InvalidParameters(f"'record' must be an object, not {_kind(record)}",
                                    {"record": _kind(record)})
        return {"record": json_ready(mappings.get(name).apply(record))}

    return {"mapping.apply": apply}
