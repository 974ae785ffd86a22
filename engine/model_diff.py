"""What changed between two versions of a BPMN or DMN file, element by element.

Every element with an ``id`` is compared by its attributes and by what it holds that has no
id of its own (a condition, a script, a timer, Camunda's extension elements). A decision
table's rules are compared row by row: a rule's cells are named by their column's label, so
"Amount: > 1000 → > 2000" reads the way an analyst wrote the table. The diagram's layout
(shapes and edges) is compared apart: an element only moved is listed as moved, not
changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree

ChangeKind = Literal["added", "removed", "changed"]

_PREFIXES = {
    "http://www.omg.org/spec/BPMN/20100524/MODEL": "",
    "http://camunda.org/schema/1.0/bpmn": "camunda:",
    "http://camunda.org/schema/1.0/dmn": "camunda:",
    "http://camunda.org/schema/zeebe/1.0": "zeebe:",
    "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow:",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi:",
}
_LAYOUT = ("/DI", "/DD/", "DMNDI", "/DC")  # diagram interchange namespaces: the drawing
_SKIPPED = {"incoming", "outgoing"}  # repeat the flows' sourceRef/targetRef
_ENTRIES = {"inputEntry": "input", "outputEntry": "output", "annotationEntry": "annotation"}
_MAX_TEXT = 400


@dataclass(frozen=True)
class Change:
    """One element added, removed or changed; ``details`` are (what, before, after)."""

    element_id: str
    kind: ChangeKind
    type: str
    name: str | None
    details: tuple[tuple[str, str | None, str | None], ...] = ()


@dataclass(frozen=True)
class ModelDiff:
    """The changes between two versions, and the elements whose drawing alone moved."""

    changes: list[Change] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)

    def ids(self, kind: ChangeKind) -> list[str]:
        return [c.element_id for c in self.changes if c.kind == kind]


def diff_models(old: str | bytes, new: str | bytes) -> ModelDiff:
    """Compare two BPMN files or two DMN files (``ValueError`` if either is not XML)."""
    before, after = _read(old), _read(new)
    old_elements, old_layout = _elements(before)
    new_elements, new_layout = _elements(after)
    changes: list[Change] = []
    for element_id, (kind, name, content) in new_elements.items():
        if element_id not in old_elements:
            changes.append(Change(element_id, "added", kind, name))
            continue
        _, _, previous = old_elements[element_id]
        details = tuple((what, previous.get(what), content.get(what))
                        for what in sorted(set(previous) | set(content))
                        if previous.get(what) != content.get(what))
        if details:
            changes.append(Change(element_id, "changed", kind, name, details))
    changes.extend(Change(element_id, "removed", kind, name)
                   for element_id, (kind, name, _) in old_elements.items()
                   if element_id not in new_elements)
    changed = {c.element_id for c in changes}
    moved = sorted(element_id for element_id, bounds in new_layout.items()
                   if element_id in old_layout and old_layout[element_id] != bounds
                   and element_id not in changed)
    return ModelDiff(changes, moved)


def _read(source: str | bytes) -> Any:
    raw = source.encode() if isinstance(source, str) else source
    try:
        return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not an XML file: {exc}") from exc


def _name(node: Any) -> str:
    qname = etree.QName(node)
    namespace = qname.namespace or ""
    return _PREFIXES.get(namespace, "") + qname.localname


def _is_layout(node: Any) -> bool:
    namespace = etree.QName(node).namespace or ""
    return any(mark in namespace for mark in _LAYOUT)


def _elements(root: Any) -> tuple[dict[str, tuple[str, str | None, dict[str, str]]],
                                  dict[str, str]]:
    """Each element with an id: its type, name and content; and each drawn element's
    layout (bounds and waypoints) by the id of what it draws."""
    elements: dict[str, tuple[str, str | None, dict[str, str]]] = {}
    layout: dict[str, str] = {}
    for node in root.iter(etree.Element):
        if _is_layout(node):
            drawn = node.get("bpmnElement") or node.get("dmnElementRef")
            if drawn:
                layout[drawn] = _layout_of(node)
            continue
        element_id = node.get("id")
        if not element_id or node is root or etree.QName(node).localname in _ENTRIES:
            continue
        content: dict[str, str] = {}
        for attribute, value in node.attrib.items():
            if attribute != "id":
                content[_name_of_attribute(attribute)] = value
        local = etree.QName(node).localname
        _collect(node, "", content, _column_labels(node.getparent()) if local == "rule" else {})
        elements[element_id] = (local, node.get("name") or node.get("label"), content)
    return elements, layout


def _name_of_attribute(attribute: str) -> str:
    if not attribute.startswith("{"):
        return attribute
    namespace, _, local = attribute[1:].partition("}")
    return _PREFIXES.get(namespace, "") + local


def _collect(node: Any, path: str, content: dict[str, str],
             columns: dict[str, list[str]]) -> None:
    """Record what ``node`` holds that has no id of its own, by a readable path."""
    counts: dict[str, int] = {}
    for child in node:
        if not isinstance(child.tag, str) or _is_layout(child):
            continue
        local = etree.QName(child).localname
        if local in _SKIPPED:
            continue
        if local in _ENTRIES:  # a rule's cell, named by its column
            index = counts.get(local, 0)
            counts[local] = index + 1
            labels = columns.get(local, [])
            column = labels[index] if index < len(labels) else f"{_ENTRIES[local]} {index + 1}"
            content[column] = _text(child)
            continue
        if child.get("id"):
            continue  # an element of its own, compared on its own
        label = _name(child)
        key = child.get("name") or child.get("event") or child.get("key")
        if key is None:
            index = counts.get(label, 0)
            counts[label] = index + 1
            step = f"{label}[{index + 1}]" if index else label
        else:
            step = f"{label}[{key}]"
        here = f"{path}/{step}" if path else step
        for attribute, value in child.attrib.items():
            content[f"{here}@{_name_of_attribute(attribute)}"] = value
        text = (child.text or "").strip()
        if text:
            content[here] = text[:_MAX_TEXT]
        _collect(child, here, content, columns)


def _text(node: Any) -> str:
    return " ".join("".join(node.itertext()).split())[:_MAX_TEXT]


def _column_labels(table: Any) -> dict[str, list[str]]:
    """The labels of a decision table's input and output columns, in order."""
    labels: dict[str, list[str]] = {"inputEntry": [], "outputEntry": []}
    for node in table.iterchildren(etree.Element):
        local = etree.QName(node).localname
        if local == "input":
            labels["inputEntry"].append(f"input: {node.get('label') or node.get('id')}")
        elif local == "output":
            labels["outputEntry"].append(
                f"output: {node.get('label') or node.get('name') or node.get('id')}")
    return labels


def _layout_of(node: Any) -> str:
    points = [f"{child.get('x')},{child.get('y')},{child.get('width')},{child.get('height')}"
              for child in node.iterchildren(etree.Element) if child.get("x") is not None]
    return ";".join(points)
