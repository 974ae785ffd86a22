"""Task forms on pages: fields from the task's JSON-schema form, and reading what was typed."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

LONG_TEXT_NAMES = ("comment", "comments", "note", "notes", "reason", "remarks", "description")


@dataclass
class Choice:
    value: str
    label: str


@dataclass
class Field:
    """One input of a task form, ready for the template."""

    name: str
    label: str
    kind: str  # text, textarea, number, date, checkbox, radio, select
    help: str | None = None
    required: bool = False
    readonly: bool = False
    choices: list[Choice] = field(default_factory=list)
    minimum: Any = None
    maximum: Any = None
    min_length: int | None = None
    max_length: int | None = None
    step: str | None = None
    value: str = ""
    error: str | None = None

    @property
    def input_id(self) -> str:
        return "f-" + self.name

    @property
    def help_id(self) -> str:
        return self.input_id + "-help"

    @property
    def error_id(self) -> str:
        return self.input_id + "-error"

    @property
    def described_by(self) -> str:
        ids = [self.help_id] if self.help else []
        if self.error:
            ids.append(self.error_id)
        return " ".join(ids)


def form_fields(form: dict[str, Any] | None, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None) -> list[Field]:
    """Turn a task's form into fields, filled with ``values`` and marked with ``errors``."""
    if not form:
        return []
    values = values or {}
    errors = errors or {}
    ui = form.get("ui") or {}
    required = set(form.get("required") or [])
    out = []
    for name, prop in (form.get("properties") or {}).items():
        widget = (ui.get(name) or {}).get("widget") if isinstance(ui.get(name), dict) else None
        item = Field(name=name, label=str(prop.get("title") or name.replace("_", " ").title()),
                     kind=_kind(name, prop, widget), help=prop.get("description"),
                     required=name in required, readonly=bool(prop.get("readOnly")),
                     minimum=_plain(prop.get("minimum")), maximum=_plain(prop.get("maximum")),
                     min_length=prop.get("minLength"), max_length=prop.get("maxLength"))
        if "enum" in prop:
            names = prop.get("enumNames") or prop["enum"]
            item.choices = [Choice(_text(v), str(n)) for v, n in zip(prop["enum"], names,
                                                                      strict=False)]
        if prop.get("type") == "integer":
            item.step = "1"
        elif prop.get("type") == "number":
            item.step = "any"
        raw = values.get(name, prop.get("default"))
        item.value = "" if raw is None else _text(raw)
        item.error = friendly(errors[name], prop) if name in errors else None
        out.append(item)
    return out


def _kind(name: str, prop: dict[str, Any], widget: str | None) -> str:
    kind = prop.get("type")
    if widget in ("textarea", "radio", "select"):
        return widget
    if "enum" in prop:
        return "radio" if len(prop["enum"]) <= 4 else "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if prop.get("format") == "date":
        return "date"
    if (prop.get("maxLength") or 0) > 200 or name.lower() in LONG_TEXT_NAMES:
        return "textarea"
    return "text"


def _plain(value: Any) -> Any:
    """2.0 as 2, so that limits read as people write them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_submission(form: dict[str, Any] | None,
                    posted: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str],
                                                          dict[str, str]]:
    """Read the posted fields of a task form into typed variables.

    Returns the variables, the values as typed (to show them again), and the fields whose
    text could not be read as their type, each with a message for the person.
    """
    data: dict[str, Any] = {}
    typed: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, prop in ((form or {}).get("properties") or {}).items():
        kind = prop.get("type")
        if kind == "boolean":
            checked = posted.get(name) in ("true", "on", "1")
            data[name] = checked
            typed[name] = "true" if checked else "false"
            continue
        raw = (posted.get(name) or "").strip()
        typed[name] = raw
        if raw == "":
            continue  # an empty field is left out: "is required" if it had to be filled
        if kind == "integer":
            try:
                data[name] = int(raw)
            except ValueError:
                problems[name] = "must be a whole number, like 1200"
        elif kind == "number":
            number = _number(raw)
            if number is None:
                problems[name] = "must be a number, like 1200.50"
            else:
                data[name] = number
        else:
            data[name] = raw
    return data, typed, problems


def _number(raw: str) -> int | float | None:
    """Read a number as people type it (a decimal comma is fine); ``None`` if it is not one."""
    text = raw.replace(",", ".") if "," in raw and "." not in raw else raw
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and text.lstrip("+-").isdigit() else value


_MIN = re.compile(r"is less than the minimum of (\S+)")
_MAX = re.compile(r"is greater than the maximum of (\S+)")


def friendly(message: str, prop: dict[str, Any]) -> str:
    """Say what the engine's validation message means, in the words of the form."""
    if message == "is required":
        return "Fill this in, it is required."
    if match := _MIN.search(message):
        return f"Must be at least {_plain(prop.get('minimum', match.group(1)))}."
    if match := _MAX.search(message):
        return f"Must be at most {_plain(prop.get('maximum', match.group(1)))}."
    if "is not one of" in message:
        names = prop.get("enumNames") or prop.get("enum") or []
        return "Choose one of: " + ", ".join(str(n) for n in names) + "."
    if "is too short" in message:
        return f"Write at least {prop.get('minLength')} characters."
    if "is too long" in message:
        return f"Write at most {prop.get('maxLength')} characters."
    if "is not of type 'integer'" in message:
        return "Must be a whole number."
    if "is not of type 'number'" in message:
        return "Must be a number."
    text = message.strip()
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".") if text else text
