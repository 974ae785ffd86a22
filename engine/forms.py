"""Human-task forms: Camunda form fields or a JSON-schema file, and checking what people send."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

from . import periods
from .errors import InvalidInputError, Problem
from .figures import check_figures
from .scripting import Sandbox

BUNDLED = "x-bridgeflow-forms"
"""Where a deployed form keeps the sibling form files its ``$ref``s name, checked at deploy."""
START_FORM = "start_form"
"""Under this key a definition's stored forms name the form its plain start event has: the
variables of a start (by API, CLI or console, not a timer or message) must fill it in."""
_SIBLING = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.json")

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


def bundle_references(name: str, form: dict[str, Any],
                      load: Callable[[str], bytes | None]) -> tuple[dict[str, Any], list[str]]:
    """Check every ``$ref`` of a form and embed the sibling forms it names; list problems.

    A form may refer to its own definitions (``#/$defs/address``) and to other form files of
    the forms folder (``address.json`` or ``address.json#/$defs/street``) — never to a path,
    a URL or a file elsewhere: the server reads no file and fetches nothing for a form.
    """
    problems: list[str] = []
    bundled: dict[str, Any] = {}
    pending = [(name, form)]
    while pending:
        owner, schema = pending.pop()
        for ref in _references(schema):
            target = ref.partition("#")[0]
            if not target or target in bundled or target == name:
                continue
            if not _SIBLING.fullmatch(target):
                problems.append(f"form '{owner}': $ref '{ref}' is refused: a form may refer "
                                "only to its own definitions ('#/$defs/…') or to another form "
                                "file of processes/forms/ ('address.json#/$defs/…'), not to a "
                                "path or URL")
                continue
            raw = load(target)
            sibling = _json_object(raw) if raw is not None else None
            if sibling is None:
                problems.append(f"form '{owner}': $ref '{ref}' names the form file "
                                f"'{target}', which is neither deployed with it nor a JSON "
                                "object in processes/forms/")
                continue
            bundled[target] = sibling
            pending.append((target, sibling))
    return ({**form, BUNDLED: bundled} if bundled else form), problems


def _references(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _references(item)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


_FORMATS = jsonschema.FormatChecker()


def _complete_period(value: object) -> bool:
    """``"format": "period"``: a report period (month, ISO week, quarter, year) that is over."""
    if isinstance(value, str):
        periods.complete(value, datetime.now(UTC).date())
    return True


_FORMATS.checks("period", raises=periods.PeriodError)(_complete_period)


def _refuse_retrieval(uri: str) -> Resource[Any]:
    # a form never makes the server read a file or fetch a URL (attrs alias: mypy misses it)
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _validator(form: dict[str, Any]) -> tuple[dict[str, Any], jsonschema.Validator]:
    schema = {k: v for k, v in form.items() if k not in ("ui", BUNDLED)}
    empty: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]
    registry = empty.with_resources(
        (sibling, DRAFT202012.create_resource(content))
        for sibling, content in (form.get(BUNDLED) or {}).items())
    validator = jsonschema.Draft202012Validator(schema, registry=registry,
                                                format_checker=_FORMATS)
    return schema, validator


def validate_submission(form: dict[str, Any] | None, data: Any) -> dict[str, Any]:
    """Check what a person submitted against the task's form; raise with a message per field."""
    if not isinstance(data, dict):
        raise InvalidInputError("variables must be a JSON object",
                                {"fields": {"variables": "must be an object"}})
    if not form:
        return dict(data)
    schema, validator = _validator(form)
    try:
        errors = list(validator.iter_errors(data))
    except Unresolvable as exc:  # a form deployed before references were checked
        raise InvalidInputError("the task's form refers to a schema that is not part of it; "
                                "ask an analyst to redeploy the form",
                                {"fields": {"?": "the form cannot be checked"}}) from exc
    problems: dict[str, str] = {}
    for error in errors:
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else path
            problems[missing] = "is required"
        elif error.validator == "format" and error.validator_value == "date":
            problems[path or "?"] = "must be a date like 2024-01-31"
        elif error.validator == "format" and isinstance(error.cause, periods.PeriodError):
            problems[path or "?"] = error.cause.details["fields"]["period"]
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


def start_variables(form: dict[str, Any], process_key: str, data: dict[str, Any],
                    check: bool = True) -> dict[str, Any]:
    """A start's variables with the start form's defaults for those not given; with
    ``check``, refused (naming each variable and what is wrong) unless they fill it in."""
    defaults = {name: prop["default"] for name, prop in (form.get("properties") or {}).items()
                if isinstance(prop, dict) and "default" in prop and name not in data}
    if not check:
        return {**defaults, **data}
    try:
        validate_submission(form, data)
    except InvalidInputError as exc:
        fields = exc.details.get("fields") or {}
        summary = "; ".join(f"'{k}': {v}" for k, v in sorted(fields.items()))
        raise InvalidInputError(f"{process_key} cannot start with these variables: {summary}",
                                {"fields": fields}) from None
    return {**defaults, **data}


def read_form(name: str, sibling: Callable[[str], bytes | None], sandbox: Sandbox
              ) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A deployed form file as the engine keeps it (its references to sibling forms bundled),
    or None, with every problem found in it: not JSON, not an object, a broken reference, a
    figure that cannot be shown."""
    raw = sibling(name)
    try:
        content = json.loads(raw or b"")
    except ValueError as exc:
        return None, [Problem(name, f"form is not valid JSON: {exc}")]
    if not isinstance(content, dict):
        return None, [Problem(name, "form is not a JSON object")]
    content, refused = bundle_references(name, content, sibling)
    problems = [Problem(name, message) for message in refused]
    problems += [Problem(name, message) for message in check_figures(name, content, sandbox)]
    return content, problems
