"""The figures a reviewer needs, declared by a task's form and shown at the top of its page.

A form (JSON schema) lists them under ``x-bridgeflow-figures``::

    "x-bridgeflow-figures": [
      {"label": "Amount", "path": "contract.amount", "format": "money",
       "currency_path": "credit.currency"},
      {"label": "Exposure after the contract", "format": "money",
       "expression": "(credit['exposure'] or 0) + contract['amount']"}
    ]

Each figure reads one variable path (dots between names, numbers for list items) or computes
an expression with the same sandbox and limits as every other expression of a process. The
figures are worked out from the variables the viewer may see, so a masked value stays masked.
Everything is checked at deploy; a figure that cannot be computed for one case shows as
missing with the reason, and never stops the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .scripting import Sandbox, SandboxError

KEY = "x-bridgeflow-figures"
FORMATS = ("text", "number", "money", "percent", "date", "datetime", "list", "boolean")
MAX_FIGURES = 30
MAX_LABEL = 80
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+))*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_FIELDS = {"label", "path", "expression", "format", "currency", "currency_path", "help"}


@dataclass(frozen=True)
class Figure:
    """One figure for one case: its label, value and how to show it (``problem`` when the
    value could not be worked out)."""

    label: str
    value: Any
    format: str = "text"
    currency: str | None = None
    help: str | None = None
    problem: str | None = None


def check_figures(form_name: str, form: Mapping[str, Any], sandbox: Sandbox) -> list[str]:
    """Every problem of the form's figure declarations, each naming the form and the figure."""
    declared = form.get(KEY)
    if declared is None:
        return []
    where = f"form '{form_name}': {KEY}"
    if not isinstance(declared, list):
        return [f"{where} must be a list of figures"]
    if len(declared) > MAX_FIGURES:
        return [f"{where} lists {len(declared)} figures; at most {MAX_FIGURES} are shown"]
    problems: list[str] = []
    for number, figure in enumerate(declared, 1):
        problems.extend(f"{where} #{number}: {p}" for p in _figure_problems(figure, sandbox))
    return problems


def _figure_problems(figure: Any, sandbox: Sandbox) -> list[str]:
    if not isinstance(figure, dict):
        return ["a figure must be an object with a label and a path or an expression"]
    problems = [f"unknown field '{name}' (known: {', '.join(sorted(_FIELDS))})"
                for name in figure if name not in _FIELDS]
    label = figure.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
        problems.append(f"'label' must be a text of 1 to {MAX_LABEL} characters")
    has_path, has_expression = "path" in figure, "expression" in figure
    if has_path == has_expression:
        problems.append("give exactly one of 'path' (a variable path such as contract.amount) "
                        "and 'expression'")
    if has_path:
        problems.extend(_path_problems("path", figure["path"]))
    if has_expression:
        expression = figure["expression"]
        if not isinstance(expression, str) or not expression.strip():
            problems.append("'expression' must be a non-empty text")
        else:
            try:
                sandbox.check(expression, mode="eval")
            except SandboxError as exc:
                problems.append(f"'expression' is refused: {exc}")
    kind = figure.get("format", "text")
    if kind not in FORMATS:
        problems.append(f"'format' {kind!r} is not one of {', '.join(FORMATS)}")
    currency = figure.get("currency")
    if currency is not None and not (isinstance(currency, str) and _CURRENCY.fullmatch(currency)):
        problems.append(f"'currency' {currency!r} is not a three-letter code such as EUR")
    if "currency_path" in figure:
        problems.extend(_path_problems("currency_path", figure["currency_path"]))
    if ("currency" in figure or "currency_path" in figure) and kind != "money":
        problems.append("a currency is for figures of format 'money'")
    if "help" in figure and not isinstance(figure["help"], str):
        problems.append("'help' must be a text")
    return problems


def _path_problems(field: str, path: Any) -> list[str]:
    if isinstance(path, str) and _PATH.fullmatch(path):
        return []
    return [f"'{field}' {path!r} is not a variable path (names joined by dots, numbers for "
            "list items: contract.lines.0.qty)"]


def figures_of(form: Mapping[str, Any] | None, variables: Mapping[str, Any],
               sandbox: Sandbox) -> list[Figure]:
    """The form's figures worked out from ``variables`` (already masked for the viewer)."""
    declared = (form or {}).get(KEY)
    if not isinstance(declared, list):
        return []
    out = []
    for figure in declared:
        if not isinstance(figure, dict) or _figure_problems(figure, sandbox):
            continue  # checked at deploy; a form stored before this check is skipped, not fatal
        value, problem = _value(figure, variables, sandbox)
        currency = figure.get("currency")
        if "currency_path" in figure:
            found = lookup(variables, figure["currency_path"])
            currency = found if isinstance(found, str) and _CURRENCY.fullmatch(found) \
                else currency
        out.append(Figure(figure["label"], value, figure.get("format", "text"), currency,
                          figure.get("help"), problem))
    return out


def _value(figure: Mapping[str, Any], variables: Mapping[str, Any],
           sandbox: Sandbox) -> tuple[Any, str | None]:
    if "path" in figure:
        return lookup(variables, figure["path"]), None
    try:
        return sandbox.evaluate(figure["expression"], dict(variables)), None
    except SandboxError as exc:
        return None, f"could not be worked out: {exc}"


def lookup(variables: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``contract.lines.0.qty``); None where any step is missing."""
    value: Any = variables
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value
