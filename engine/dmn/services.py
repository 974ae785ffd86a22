"""Decision services: a set of output decisions evaluated from given input decisions and
input data, invoked from a test or an API by name, or from FEEL as a function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from engine.dmn.feel_types import FeelFunction

if TYPE_CHECKING:
    from engine.dmn.document import DmnDocument


@dataclass
class ServiceModel:
    id: str
    name: str
    output_decisions: list[str] = field(default_factory=list)  # ids
    input_decisions: list[str] = field(default_factory=list)  # ids
    input_data: list[str] = field(default_factory=list)  # ids


def read_service(element: etree._Element) -> ServiceModel | None:
    """A ``decisionService`` element; None without an id or name (the caller reports it)."""
    service_id, name = element.get("id") or element.get("name"), element.get("name")
    if not service_id or not name:
        return None
    service = ServiceModel(service_id, name)
    targets = {"outputDecision": service.output_decisions,
               "inputDecision": service.input_decisions, "inputData": service.input_data}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        target = targets.get(etree.QName(child).localname)
        href = child.get("href", "")
        if target is not None and "#" in href:
            target.append(href.rsplit("#", 1)[1])
    return service


def service_parameters(document: DmnDocument, service: ServiceModel) -> list[str]:
    """The service's parameters: its input data's names, then its input decisions'."""
    names = [document.decisions[d].variable_name for d in service.input_decisions
             if d in document.decisions]
    return [document.input_names.get(i, i) for i in service.input_data] + names


def run_service(document: DmnDocument, service: ServiceModel,
                variables: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate the output decisions, the input decisions taken from ``variables``."""
    given = {document.decisions[d].variable_name for d in service.input_decisions
             if d in document.decisions}
    return {document.decisions[d].variable_name:
            document.evaluate(d, variables, given=given).outputs
            for d in service.output_decisions if d in document.decisions}


def service_function(document: DmnDocument, service: ServiceModel) -> FeelFunction:
    """The service as a FEEL function: one output gives its value, several a context."""
    params = service_parameters(document, service)

    def body(args: list[Any]) -> Any:
        outputs = run_service(document, service, dict(zip(params, args, strict=True)))
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs

    return FeelFunction(service.name, params, body)
