"""A checked mapping and how it applies: reading each field, converting it, collecting failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base import BusinessRuleError, InvalidParameters
from .convert import CONVERTERS, _kind, _preview
from .errors import _Invalid

_MISSING: Any = object()


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
