"""Boxed expressions read from a DMN file: contexts, invocations, lists, relations,
conditionals, filters, iterations and function definitions, nested in any combination.

``read_boxed`` builds the dataclasses below from an element; ``boxed.py`` compiles them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

BOXED_TAGS = ("context", "invocation", "relation", "list", "functionDefinition",
              "conditional", "filter", "for", "every", "some")


@dataclass
class BoxedContext:
    entries: list[tuple[str | None, Any]]  # (variable name, or None for the result; logic)


@dataclass
class BoxedInvocation:
    function: str
    bindings: list[tuple[str, Any]]  # (parameter name, logic or None)


@dataclass
class BoxedList:
    items: list[Any]


@dataclass
class BoxedRelation:
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class BoxedConditional:
    cond: Any
    then: Any
    otherwise: Any


@dataclass
class BoxedFilter:
    source: Any
    match: Any


@dataclass
class BoxedIteration:
    kind: str  # "for" | "some" | "every"
    var: str
    source: Any
    body: Any


@dataclass
class BoxedFunction:
    params: list[tuple[str, str | None]]
    body: Any
    kind: str  # "FEEL", "Java", "PMML"


Boxed = (BoxedContext | BoxedInvocation | BoxedList | BoxedRelation | BoxedConditional
         | BoxedFilter | BoxedIteration | BoxedFunction)
# reads the one expression inside a container element (a context entry, a binding, <if>…)
ReadInner = Callable[[etree._Element], Any]


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(element: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and local_name(c) == local]


def _child(element: etree._Element, local: str) -> etree._Element | None:
    found = _children(element, local)
    return found[0] if found else None


def _name(element: etree._Element | None) -> str:
    return (element.get("name") or "") if element is not None else ""


def read_boxed(element: etree._Element, inner: ReadInner,
               expression: Callable[[etree._Element], Any]) -> Boxed:
    """Read the boxed expression ``element``; ``inner`` reads the expression a container
    holds, ``expression`` reads an expression element itself."""
    kind = local_name(element)
    if kind == "context":
        return BoxedContext([(_name(_child(e, "variable")) or None, inner(e))
                             for e in _children(element, "contextEntry")])
    if kind == "invocation":
        called = _child(element, "literalExpression")
        text = _child(called, "text") if called is not None else None
        function = (text.text or "").strip() if text is not None else ""
        return BoxedInvocation(function, [(_name(_child(b, "parameter")), inner(b))
                                          for b in _children(element, "binding")])
    if kind == "list":
        return BoxedList([expression(e) for e in element if isinstance(e.tag, str)
                          and local_name(e) not in ("description", "extensionElements")])
    if kind == "relation":
        columns = [_name(c) for c in _children(element, "column")]
        rows = [[expression(e) for e in row if isinstance(e.tag, str)]
                for row in _children(element, "row")]
        return BoxedRelation(columns, rows)
    if kind == "conditional":
        parts = [_child(element, p) for p in ("if", "then", "else")]
        cond, then, otherwise = (inner(p) if p is not None else None for p in parts)
        return BoxedConditional(cond, then, otherwise)
    if kind == "filter":
        source, match = (_child(element, p) for p in ("in", "match"))
        return BoxedFilter(inner(source) if source is not None else None,
                           inner(match) if match is not None else None)
    if kind in ("for", "some", "every"):
        body = _child(element, "return" if kind == "for" else "satisfies")
        source = _child(element, "in")
        return BoxedIteration(kind, element.get("iteratorVariable") or "",
                              inner(source) if source is not None else None,
                              inner(body) if body is not None else None)
    params = [(p.get("name") or "", p.get("typeRef"))
              for p in _children(element, "formalParameter")]
    return BoxedFunction(params, inner(element), element.get("kind") or "FEEL")
