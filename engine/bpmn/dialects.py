"""Read the modelling dialects analysts use: Camunda 7/8 attributes and spiff extensions.

Everything is read from the XML here and turned into one plain dictionary per element
(``bridgeflow`` extensions), so the runtime never cares which modeller wrote a file.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
TAKEN = "__taken"  # the pass-through task that runs a sequence flow's take listeners
ASSIGNMENT = "#assignment"  # the key of a user task's assignment listeners
NSMAP = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "zeebe": ZEEBE_NS, "spiff": SPIFF_NS}

_ISO_DURATION = r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
_ISO_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
_ISO_TIMER = re.compile(
    rf"^\s*((R\d*/)?({_ISO_DATETIME}/)?({_ISO_DURATION}|{_ISO_DATETIME})(/{_ISO_DATETIME})?)\s*$"
)
_JUEL = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.DOTALL)
_STRING = re.compile(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
_JUEL_WORDS = [
    (re.compile(r"&&"), " and "),
    (re.compile(r"\|\|"), " or "),
    (re.compile(r"!(?!=)"), " not "),
    (re.compile(r"\bnull\b"), "None"),
    (re.compile(r"\btrue\b"), "True"),
    (re.compile(r"\bfalse\b"), "False"),
    (re.compile(r"\beq\b"), "=="),
    (re.compile(r"\bne\b"), "!="),
    (re.compile(r"\blt\b"), "<"),
    (re.compile(r"\bgt\b"), ">"),
    (re.compile(r"\ble\b"), "<="),
    (re.compile(r"\bge\b"), ">="),
    (re.compile(r"\bempty\s+"), "not "),
]


# The JUEL methods analysts call, as Python (applied before the words above). A receiver is
# a name or a dotted path (``order.items.size()``); arguments may be literals or names.
_RECEIVER = r"(\b[A-Za-z_](?:[\w.]|\(\))*)"
_JUEL_METHODS = [
    (re.compile(r"\bexecution\s*\.\s*getVariable\(\s*(['\"])(\w+)\1\s*\)"), r"\2"),
    (re.compile(r"\.startsWith\("), ".startswith("),
    (re.compile(r"\.endsWith\("), ".endswith("),
    (re.compile(r"\.toUpperCase\(\s*\)"), ".upper()"),
    (re.compile(r"\.toLowerCase\(\s*\)"), ".lower()"),
    (re.compile(r"\.trim\(\s*\)"), ".strip()"),
    (re.compile(_RECEIVER + r"\.(?:size|length)\(\s*\)"), r"len(\1)"),
    (re.compile(_RECEIVER + r"\.isEmpty\(\s*\)"), r"(len(\1) == 0)"),
    (re.compile(_RECEIVER + r"\.contains\(([^()]*)\)"), r"(\2 in \1)"),
    (re.compile(r"\.equals\("), " == ("),
]

_CRON = re.compile(r"^[\d*/,\-?LW#A-Za-z]+(\s+[\d*/,\-?LW#A-Za-z]+){4,6}$")


def is_iso_timer(text: str) -> bool:
    """Tell whether ``text`` is a bare ISO 8601 date, duration or repeating interval."""
    return bool(_ISO_TIMER.match(text))


_PROPERTY = re.compile(r"(?<=[\w\])])\s*\.\s*([A-Za-z_]\w*)\b(?!\s*\()")


def juel_to_python(text: str) -> str:
    """Translate a Camunda ``${...}`` expression into the Python the sandbox evaluates.

    Text without ``${}`` is already Python (the spiff dialect) and is returned unchanged.
    """
    match = _JUEL.match(text)
    if match is None:
        return text.strip()
    body = match.group("body")
    for pattern, replacement in _JUEL_METHODS:
        body = pattern.sub(replacement, body)
    parts = _STRING.split(body)
    for i in range(0, len(parts), 2):  # even parts are outside string literals
        for pattern, replacement in _JUEL_WORDS:
            parts[i] = pattern.sub(replacement, parts[i])
        # JUEL reads properties of maps with a dot (``order.total``); process data are JSON
        # objects, so a dot not followed by a call becomes an item lookup
        parts[i] = _PROPERTY.sub(lambda m: f"[{m.group(1)!r}]", parts[i])
    return " ".join("".join(parts).split()) if "\n" not in text else "".join(parts).strip()


def is_cron(text: str) -> bool:
    """Tell whether ``text`` is a cron expression: 5 fields, or Quartz's 6 or 7 (Camunda 7)."""
    return bool(_CRON.match(text.strip()))


def timer_to_python(text: str) -> str:
    """Turn a timer definition into a Python expression: ISO or cron text becomes a string."""
    if is_iso_timer(text) or is_cron(text):
        return repr(text.strip())
    return juel_to_python(text)


_TEMPLATE_PART = re.compile(r"([$#]\{[^{}]*\})")


def parameter_text_to_python(text: str | None) -> str:
    """An input or output parameter's text as Camunda 7 reads it, as one expression.

    The text is trimmed; empty is null; ``${…}`` is JUEL, ``=…`` FEEL (as Camunda 8 writes
    it); text with ``${…}`` inside is a template whose parts are joined as strings (null
    as nothing, as JUEL does); any other text is a constant string.
    """
    stripped = (text or "").strip()
    if not stripped:
        return "None"
    if stripped.startswith("="):
        return stripped
    if _JUEL.match(stripped):
        return juel_to_python(stripped)
    parts = [p for p in _TEMPLATE_PART.split(stripped) if p]
    if len(parts) == 1:
        return repr(stripped)
    pieces = []
    for part in parts:
        if _JUEL.match(part):
            value = f"({juel_to_python(part)})"
            pieces.append(f"('' if {value} is None else str({value}))")
        else:
            pieces.append(repr(part))
    return " + ".join(pieces)


def _parameter_value(node: Any) -> dict[str, Any]:
    """One parameter's value: an expression, a list, a map or a script (checked at deploy)."""
    children = [c for c in node if isinstance(c.tag, str)]
    if not children:
        return {"expr": parameter_text_to_python(node.text), "line": element_line(node)}
    child = children[0]
    kind = local_name(child)
    if kind == "list":
        return {"list": [_parameter_value(v) for v in child.xpath("./camunda:value",
                                                                    namespaces=NSMAP)]}
    if kind == "map":
        return {"map": [[e.get("key"), _parameter_value(e)]
                        for e in child.xpath("./camunda:entry", namespaces=NSMAP)]}
    if kind == "script":
        return {"script": child.text or "", "format": (child.get("scriptFormat") or "").lower(),
                "resource": child.get("resource"), "line": element_line(child)}
    return {"unknown": kind, "line": element_line(child)}


def read_input_output(node: Any) -> dict[str, list[list[Any]]] | None:
    """An activity's ``camunda:inputOutput``: its input and output parameters, in order.

    Each parameter is ``[name, value]``; a value is ``{"expr": python-or-FEEL}``, ``{"list":
    [values]}``, ``{"map": [[key, value]]}`` or a ``{"script": …}`` the deploy checks judge.
    """
    found = node.xpath("./bpmn:extensionElements/camunda:inputOutput", namespaces=NSMAP)
    if not found:
        return None
    return {direction: [[p.get("name"), _parameter_value(p)]
                        for p in found[0].xpath(f"./camunda:{direction}Parameter",
                                                namespaces=NSMAP)]
            for direction in ("input", "output")}


def _split_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _retry_from_cycle(cycle: str) -> dict[str, Any] | None:
    match = re.match(r"^\s*R(\d+)/(\S+)\s*$", cycle)
    if match is None:
        return None
    return {"attempts": int(match.group(1)), "backoff": match.group(2)}


def _attr(node: Any, ns: str, name: str) -> str | None:
    value = node.get(f"{{{ns}}}{name}")
    return value if value is None else str(value)


def _form_fields(node: Any) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for field in node.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField",
                            namespaces=NSMAP):
        spec: dict[str, Any] = {
            "id": field.get("id"),
            "label": field.get("label") or field.get("id"),
            "type": field.get("type") or "string",
        }
        if field.get("defaultValue") is not None:
            spec["default"] = field.get("defaultValue")
        values = field.xpath("./camunda:value", namespaces=NSMAP)
        if values:
            spec["type"] = "enum"
            spec["values"] = [{"id": v.get("id"), "name": v.get("name") or v.get("id")}
                              for v in values]
        constraints: dict[str, Any] = {}
        for c in field.xpath("./camunda:validation/camunda:constraint", namespaces=NSMAP):
            constraints[c.get("name")] = c.get("config") if c.get("config") is not None else True
        if constraints:
            spec["validation"] = constraints
        props = {p.get("id"): p.get("value")
                 for p in field.xpath("./camunda:properties/camunda:property", namespaces=NSMAP)}
        if props.get("help") or props.get("description"):
            spec["help"] = props.get("help") or props.get("description")
        fields.append(spec)
    return fields


def _spiff_properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    xpath = "./bpmn:extensionElements/spiff:properties/spiff:property"
    for prop in node.xpath(xpath, namespaces=NSMAP):
        props[prop.get("name")] = prop.get("value")
    xpath = "./bpmn:extensionElements/camunda:properties/camunda:property"
    for prop in node.xpath(xpath, namespaces=NSMAP):
        props[prop.get("name")] = prop.get("value")
    return props


def _spiff_text(node: Any, name: str) -> str | None:
    found = node.xpath(f"./bpmn:extensionElements/spiff:{name}", namespaces=NSMAP)
    return str(found[0].text) if found and found[0].text is not None else None


def read_human_task(node: Any) -> dict[str, Any]:
    """Read who may do a user task, its form, due date and priority, from any dialect."""
    props = _spiff_properties(node)
    ext: dict[str, Any] = {
        "candidate_groups": _split_list(_attr(node, CAMUNDA_NS, "candidateGroups")
                                        or props.get("candidateGroups")
                                        or props.get("candidate_groups")),
        "candidate_users": _split_list(_attr(node, CAMUNDA_NS, "candidateUsers")
                                       or props.get("candidateUsers")),
        "assignee": _attr(node, CAMUNDA_NS, "assignee") or props.get("assignee"),
        "due_date": _attr(node, CAMUNDA_NS, "dueDate") or props.get("dueDate"),
        "priority": _attr(node, CAMUNDA_NS, "priority") or props.get("priority"),
        "form_fields": _form_fields(node),
        "form_file": (_spiff_text(node, "formJsonSchemaFilename")
                      or _attr(node, CAMUNDA_NS, "formKey") or props.get("formKey")),
        "instructions": _spiff_text(node, "instructionsForEndUser"),
    }
    zeebe = node.xpath("./bpmn:extensionElements/zeebe:assignmentDefinition", namespaces=NSMAP)
    if zeebe:
        ext["candidate_groups"] = ext["candidate_groups"] or _split_list(
            zeebe[0].get("candidateGroups"))
        ext["assignee"] = ext["assignee"] or zeebe[0].get("assignee")
    return ext


def read_service_task(node: Any) -> dict[str, Any]:
    """Read the operation, its parameters, result variable and retry policy of a task."""
    props = _spiff_properties(node)
    ext: dict[str, Any] = {"operation": None, "parameters": {}, "result_variable": None,
                           "retry": {}, "java": None, "external": {}}
    spiff_op = node.xpath("./bpmn:extensionElements/spiff:serviceTaskOperator",
                          namespaces=NSMAP)
    if spiff_op:
        op = spiff_op[0]
        ext["operation"] = op.get("id")
        ext["result_variable"] = op.get("resultVariable")
        for param in op.xpath("./spiff:parameters/spiff:parameter", namespaces=NSMAP):
            ext["parameters"][param.get("id")] = param.get("value") or "None"
        retry = op.xpath("./spiff:retry", namespaces=NSMAP)
        if retry:
            ext["retry"] = {"attempts": int(retry[0].get("retries", 3)),
                            "backoff": retry[0].get("backoff_base")}
    topic = _attr(node, CAMUNDA_NS, "topic")
    if topic:
        ext["operation"] = topic
    priority = _attr(node, CAMUNDA_NS, "taskPriority") or next(
        (_attr(p, CAMUNDA_NS, "taskPriority") for p in
         node.xpath("ancestor::bpmn:process[1]", namespaces=NSMAP)), None)
    properties = {p.get("name"): p.get("value") or "" for p in node.xpath(
        "./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NSMAP)}
    ext["external"] = {k: v for k, v in (("priority", priority), ("properties", properties))
                       if v}
    zeebe = node.xpath("./bpmn:extensionElements/zeebe:taskDefinition", namespaces=NSMAP)
    if zeebe and not ext["operation"]:
        ext["operation"] = zeebe[0].get("type")
        if zeebe[0].get("retries"):
            ext["retry"] = {"attempts": int(zeebe[0].get("retries"))}
    for java in ("class", "delegateExpression", "expression"):
        if _attr(node, CAMUNDA_NS, java):
            ext["java"] = java
    if not ext["operation"]:
        ext["operation"] = props.get("operation")
    # camunda:inputParameters are the task's local variables (read_input_output); the
    # call receives their values
    ext["result_variable"] = (ext["result_variable"] or _attr(node, CAMUNDA_NS, "resultVariable")
                              or props.get("resultVariable"))
    cycle = node.xpath("./bpmn:extensionElements/camunda:failedJobRetryTimeCycle",
                       namespaces=NSMAP)
    if cycle and cycle[0].text:
        ext["retry"] = _retry_from_cycle(cycle[0].text) or {"invalid": cycle[0].text}
    if props.get("retries"):
        ext["retry"] = {"attempts": props["retries"], "backoff": props.get("retryBackoff")}
    return ext


def read_business_rule_task(node: Any) -> dict[str, Any]:
    """Read which decision a business rule task evaluates and where the result goes."""
    decision = _attr(node, CAMUNDA_NS, "decisionRef") or _spiff_text(node, "calledDecisionId")
    zeebe = node.xpath("./bpmn:extensionElements/zeebe:calledDecision", namespaces=NSMAP)
    result_variable = _attr(node, CAMUNDA_NS, "resultVariable")
    if zeebe:
        decision = decision or zeebe[0].get("decisionId")
        result_variable = result_variable or zeebe[0].get("resultVariable")
    return {"decision_ref": decision, "result_variable": result_variable,
            "map_result": _attr(node, CAMUNDA_NS, "mapDecisionResult")}


def element_line(node: Any) -> int | None:
    """Return the source line of an XML element, when lxml knows it."""
    line = getattr(node, "sourceline", None)
    return int(line) if isinstance(line, int) else None


def local_name(node: Any) -> str:
    return str(etree.QName(node).localname)


def initiator_variable(source: str | bytes, process_key: str) -> str | None:
    """The variable ``camunda:initiator`` on the process's start event names, if any."""
    root = etree.fromstring(source.encode() if isinstance(source, str) else source,
                            etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.xpath("//bpmn:process[@id=$key]/bpmn:startEvent/@camunda:initiator",
                       key=process_key, namespaces=NSMAP)
    names = [str(v).strip() for v in found] if isinstance(found, list) else []
    return next((n for n in names if n), None)


def non_interrupting_starts(source: str | bytes) -> frozenset[str]:
    """Ids of the start events of event subprocesses with ``isInterrupting="false"``."""
    root = etree.fromstring(source.encode() if isinstance(source, str) else source,
                            etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.xpath("//bpmn:subProcess[@triggeredByEvent='true']/bpmn:startEvent"
                       "[@isInterrupting='false']/@id", namespaces=NSMAP)
    return frozenset(str(value) for value in found) if isinstance(found, list) else frozenset()
