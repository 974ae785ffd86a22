"""A DMN file's item definitions as FEEL types, for ``instance of`` and a decision's result.

``tNumberList`` (a collection of number) becomes ``list<number>``, a definition with
components ``context<name: string, age: number>``; function items are left unknown.
"""

from __future__ import annotations

from lxml import etree

from engine.dmn.feel_typespec import ANY, TypeSpec

_ALIASES = {
    "integer": "number", "long": "number", "double": "number", "decimal": "number",
    "int": "number", "datetime": "date and time", "dateTime": "date and time",
    "dayTimeDuration": "days and time duration",
    "yearMonthDuration": "years and months duration",
}  # fmt: skip


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def type_name(type_ref: str) -> str:
    """A typeRef as a FEEL type name: ``feel:number`` → ``number``, ``dateTime`` → …"""
    name = type_ref.strip().split(":", 1)[-1].strip()
    return _ALIASES.get(name, name)


def read_item_definitions(root: etree._Element) -> dict[str, TypeSpec]:
    """The file's top-level item definitions by name (the unknown ones left out)."""
    specs: dict[str, TypeSpec] = {}
    for item in root:
        if _local(item) == "itemDefinition" and item.get("name"):
            spec = _spec(item)
            if spec is not None:
                specs[item.get("name", "")] = spec
    return specs


def _spec(item: etree._Element) -> TypeSpec | None:
    children = {_local(c): c for c in item}
    if "functionItem" in children:
        return None
    components = [c for c in item if _local(c) == "itemComponent"]
    base: TypeSpec | None
    if components:
        fields = []
        for c in components:
            inner = _spec(c)
            fields.append((c.get("name") or "", inner or ANY))
        base = TypeSpec("context", fields=tuple(fields))
    elif "typeRef" in children:
        base = TypeSpec(type_name(children["typeRef"].text or "Any"))
    else:
        base = ANY
    return TypeSpec("list", (base,)) if item.get("isCollection") == "true" else base
