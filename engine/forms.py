"""Human-task forms: Camunda form fields or a JSON-schema file, and checking what people send."""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema

from .errors import InvalidInputError

_FIELD_TYPES = {"string": "string", "long": "integer", "integer": "integer",
                "number": "number", "double": "number", "boolean": "boolean",
                "date": "string", "enum": "string"}


def form_from_fields(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn Camunda ``formField`` definitions into a JSON schema with labels."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in fields:
        prop: dict[str, Any] = {"type": _FIELD_TYPES.get(field["type"], "string"),
                                "title": field.get("label") or field["id"]}
        if field["type"] == "date":
            prop["format"] = "date"
        if field.get("values"):
            prop["enum"] = [v["id"] for v in field["values"]]
            prop["enumNames"] = [v["name"] for v in field["values"]]
        if field.get("help"):
            prop["description"] = field["help"]
        if "default" in field:
            prop["default"] = _typed(field["default"], prop["type"])
        rules = field.get("validation", {})
        if "required" in rules:
            required.append(field["id"])
        if "readonly" in rules:
            prop["readOnly"] = True
        for rule, key in (("minlength", "minLength"), ("maxlength", "maxLength"),
                          ("min", "minimum"), ("max", "maximum")):
            if rule in rules:
                prop[key] = _typed(rules[rule], "number" if "length" not in rule else "integer")
        properties[field["id"]] = prop
    return {"type": "object", "properties": properties, "required": required}


def _typed(value: Any, kind: str) -> Any:
    if isinstance(value, str) and value.strip().startswith(("${", "#{")):
        return value  # evaluated when the task is created (engine.humantasks)
    return typed(value, kind)


def typed(value: Any, kind: str | None) -> Any:
    """A form value as the field's JSON type says (left as it is when it does not convert)."""
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return str(value).lower() == "true"
    except (TypeError, ValueError):
        return value
    return value


def validate_submission(form: dict[str, Any] | None, data: Any) -> dict[str, Any]:
    """Check what a person submitted against the task's form; raise with a message per field."""
    if not isinstance(data, dict):
        raise InvalidInputError("variables must be a JSON object",
                                {"fields": {"variables": "must be an object"}})
    if not form:
        return dict(data)
    schema = {k: v for k, v in form.items() if k != "ui"}
    validator = jsonschema.Draft202012Validator(schema,
                                                format_checker=jsonschema.FormatChecker())
    problems: dict[str, str] = {}
    for error in validator.iter_errors(data):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else path
            problems[missing] = "is required"
        elif error.validator == "format" and error.validator_value == "date":
            problems[path or "?"] = "must be a date like 2024-01-31"
        else:
            problems[path or "?"] = error.message
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("readOnly") and name in data and "default" in prop \
                and data[name] != prop["default"]:
            problems[name] = "is read-only"
    if problems:
        summary = "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))
        raise InvalidInputError(f"the form is not filled in correctly: {summary}",
                                {"fields": problems})
    return _dates_checked(schema, dict(data))


def _dates_checked(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("format") == "date" and isinstance(data.get(name), str):
            date.fromisoformat(data[name])
    return data
