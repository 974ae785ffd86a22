"""SpiffWorkflow's own problems with a BPMN file, reworded for analysts and located.

What the structure checks (``deploy_checks``) did not catch first, SpiffWorkflow raises in its
developers' words; ``translate`` rewords it with the same sentences the checks use and finds
the file, line and element it is about. ``schema_message`` does the same for XSD errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import Problem, scrub_repr
from .deploy_checks import MULTIPLE_OUTGOING, call_message, data_store_message, flow_end_message
from .dialects import BPMN_NS, CAMUNDA_NS, NSMAP, element_line

Rewrite = Callable[[re.Match[str]], str]
_MESSAGES: list[tuple[re.Pattern[str], Rewrite]] = [
    (re.compile(r"Multiple outgoing flows are not supported"), lambda m: MULTIPLE_OUTGOING),
    (re.compile(r"Non-default exclusive outgoing sequence flow without condition"),
     lambda m: "this sequence flow leaves a gateway without a condition and is not the "
               "gateway's default flow: add a condition, or mark it as the default flow"),
    (re.compile(r"No start event found"),
     lambda m: "this process has no start event: add one where it begins"),
    (re.compile(r"Exactly one start event is required in a SubWorkflow Task; found (\d+)"),
     lambda m: f"a subprocess needs exactly one (none) start event; this one has {m.group(1)}"),
    (re.compile(r"A SubWorkflow Must contain an End event"),
     lambda m: "this subprocess has no end event: add one where it finishes"),
    (re.compile(r'No "calledElement" attribute for Call Activity'),
     lambda m: "this call activity names no process to call: set calledElement to the "
               "called process's id"),
    (re.compile(r"There is no support implemented for this task type"),
     lambda m: "this kind of element is not supported by Bridgeflow"),
    (re.compile(r"Unknown Time Specification"),
     lambda m: "this timer event has no timer: set a date, a duration or a cycle"),
    (re.compile(r"Time Specification Error\. (.*)"),
     lambda m: f"this timer cannot be read ({m.group(1).strip(' .')}): use an ISO 8601 date, "
               "duration or cycle"),
    (re.compile(r"A loopMaximum or loopCondition must be specified"),
     lambda m: "this loop task has neither a loop condition nor a loopMaximum: set one, or "
               "it would never stop"),
    (re.compile(r"A multiinstance task must specify exactly one of"),
     lambda m: "this multi-instance activity sets both a loop cardinality and an input "
               "collection: keep one of them"),
    (re.compile(r"A multiinstance task must specify a cardinality"),
     lambda m: "this multi-instance activity has neither a loop cardinality nor an input "
               "collection: set how many instances to run, or the collection to run over"),
    (re.compile(r"The loop (input|output) data reference is missing from the IO spec"),
     lambda m: f"the loop {m.group(1)} collection of this multi-instance activity is not "
               f"one of the activity's data {m.group(1)}s"),
    (re.compile(r"Conditional event definition with missing condition"),
     lambda m: "this conditional event has no condition: add the condition it waits for"),
    (re.compile(r"Cancel Events may only be used with transactions"),
     lambda m: "a cancel boundary event can only sit on a transaction subprocess"),
    (re.compile(r"Ad hoc subprocesses may not contain start or end events"),
     lambda m: "an ad-hoc subprocess cannot contain start or end events: remove them"),
    (re.compile(r"Sequential ordering for ad hoc subprocesses not supported"),
     lambda m: "a sequential ad-hoc subprocess is not supported: use ordering=\"Parallel\""),
    (re.compile(r"Process (\S+) is not executable"),
     lambda m: f"process '{m.group(1)}' is marked isExecutable=\"false\", so it cannot be "
               "called: tick 'Executable' in the modeler"),
    (re.compile(r"Duplicate process ID: (\S+)"),
     lambda m: f"two processes have the id '{m.group(1)}' (in this deployment): give each "
               "process its own id"),
    (re.compile(r"Data Store with name (.*?) has no implementation"),
     lambda m: data_store_message(m.group(1).strip())),
    (re.compile(r"Cannot resolve data(Input|Output)Association"),
     lambda m: f"a data {m.group(1).lower()} association of this element refers to data that "
               "cannot be used here (a data store, or a data object of another process or "
               "subprocess): connect it to a data object of this process, or remove it"),
    (re.compile(r"Could not find messageRef from message event definition"),
     lambda m: "this message start event names no message: pick a global message in the "
               "modeler"),
    (re.compile(r"(Message|Signal|Error|Escalation|Correlation|Data Store) "
                r"(identifier|name) is missing"),
     lambda m: f"a {m.group(1).lower()} in this file has no "
               f"{'id' if m.group(2) == 'identifier' else 'name'}: give it one"),
    (re.compile(r"Correlation is missing correlation property retrieval expressions: (\S+)"),
     lambda m: f"correlation property '{m.group(1)}' says nowhere how to read its value "
               "from a message: add a retrieval expression"),
    (re.compile(r"Message identifier is missing from correlation property: (\S+)"),
     lambda m: f"a retrieval expression of correlation property '{m.group(1)}' names no "
               "message: set its messageRef"),
    (re.compile(r"Unsupported Catch Event"),
     lambda m: "this boundary event has no event definition Bridgeflow can wait for (timer, "
               "message, signal, error, escalation, conditional or cancel)"),
    (re.compile(r"Expected an? (Message|Signal|Error|Escalation) node"),
     lambda m: f"this event refers to a {m.group(1).lower()} that is not defined in the "
               "file: pick a global one in the modeler"),
    (re.compile(r"\w+\.raise_validation_exception\(\) got an unexpected keyword"),
     lambda m: "this event refers to a message, signal, error or escalation that is not "
               "defined in the file: pick a global one in the modeler"),
]
_WRAPPED = re.compile(r"^\s*[A-Z]\w*(?:Error|Exception)\((?P<inner>.*)\)\s*\.?\s*$", re.DOTALL)


def scrub(text: str) -> str:
    """Remove object reprs (``<Element … at 0x…>``) and tidy what is left."""
    text = scrub_repr(text)
    return re.sub(r"\s+([.,;:])", r"\1", re.sub(r"\s{2,}", " ", text)).strip(" .")


def reword(message: str) -> str:
    """SpiffWorkflow's wording of a problem, as an analyst reads it."""
    first = message.strip().split("\n")[0]
    wrapped = _WRAPPED.match(first)
    if wrapped:
        first = wrapped.group("inner").strip("'\"")
    for pattern, rewrite in _MESSAGES:
        found = pattern.search(first)
        if found:
            return rewrite(found)
    if wrapped:
        return ("this element could not be read: check its event definitions and the "
                "messages, signals or errors it refers to")
    return scrub(first)


def locate(message: str, element_id: str | None, docs: Mapping[str, Any],
           filename: str | None) -> tuple[str | None, Any]:
    """The file and XML element a SpiffWorkflow problem is about, when it can be found."""
    searches: list[tuple[str, dict[str, str]]] = []
    target = re.search(r"perhaps a form has the same ID\? \((.*)\)", message)
    if target and element_id:
        searches.append(("//bpmn:sequenceFlow[@sourceRef=$a and @targetRef=$b]",
                         {"a": element_id, "b": target.group(1)}))
    missing = re.search(r"The process '(.*?)' was not found", message)
    if missing:
        searches.append(("//bpmn:callActivity[@calledElement=$a]", {"a": missing.group(1)}))
    store = re.search(r"Data Store with name (.*?) has no implementation", message)
    if store:
        searches.append(("//bpmn:dataStore[@name=$a]", {"a": store.group(1).strip()}))
    duplicate = re.search(r"Duplicate process ID: (\S+)", message)
    if duplicate:
        searches.append(("//bpmn:process[@id=$a]", {"a": duplicate.group(1)}))
    if element_id:
        searches.append(("//*[@id=$a]", {"a": element_id}))
    order = [filename] if filename is not None and filename in docs else []
    order += [name for name in docs if name != filename]
    for xpath, variables in searches:
        for name in order:
            found = docs[name].getroot().xpath(xpath, namespaces=NSMAP, **variables)
            if found:
                return name, found[-1] if duplicate else found[0]
    return filename, None


def translate(message: str, element_id: str | None, filename: str | None,
              docs: Mapping[str, Any]) -> Problem:
    """One SpiffWorkflow validation problem as a Problem with file, line and element."""
    found_in, node = locate(message, element_id, docs, filename)
    if re.search(r"perhaps a form has the same ID\? \((.*)\)", message) and node is not None:
        text = flow_end_message("leads to", node.get("targetRef"))
    elif (called := re.search(r"The process '(.*?)' was not found", message)):
        text = call_message(called.group(1))
    else:
        text = reword(message)
    return Problem(found_in or next(iter(docs), "(request)"), text,
                   element_line(node) if node is not None else None,
                   node.get("id") if node is not None else element_id or None)


_SCHEMA_ELEMENT = re.compile(r"\{([^}]*)\}(\w+)")
_PREFIXES = {BPMN_NS: "bpmn", CAMUNDA_NS: "camunda"}


def schema_message(message: str, doc: Any, line: int | None) -> tuple[str, str | None]:
    """An XSD error as a sentence, and the id of the element it is about when known."""
    bad_id = re.search(r"attribute 'id': '(.*?)' is not a valid value of the atomic type "
                       r"'xs:ID'", message)
    if bad_id:
        value = bad_id.group(1)
        if len(doc.getroot().xpath("//*[@id=$v]", v=value)) > 1:
            return (f"the id '{value}' is used by more than one element: every id in a file "
                    "must be unique", value)
        return (f"'{value}' is not a valid id: an id starts with a letter or '_' and has no "
                "spaces", value)
    text = _SCHEMA_ELEMENT.sub(
        lambda m: f"{_PREFIXES.get(m.group(1), m.group(1))}:{m.group(2)}", message)
    text = text.replace("Element '", "element '").replace("This element is not expected.",
                                                          "is not allowed here.")
    return f"the file does not follow the BPMN 2.0 schema: {scrub(text)}", None
