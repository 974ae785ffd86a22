"""Decision services: a set of output decisions evaluated from given input decisions and
input data, invoked from a test or an API by name, or from FEEL as a function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from engine.dmn.feel_types import FeelFunction
from engine.dmn.typeref import Converter

if TYPE_CHECKING:
    from engine.dmn.document import DmnDocument


@dataclass
class ServiceModel:
    id: str
    name: str
    output_decisions: list[str] = field(default_factory=list)  # ids
    input_decisions: list[str] = field(default_factory=list)  # ids
    input_data: list[str] = field(default_factory=list)  # ids
    output_type: str | None = None  # its function type's outputTypeRef
    # DMN 1.5 coercions at its boundary (set when the file is compiled): its parameters'
    # (by service_parameters' order) and its single output's
    param_checks: list[Converter | None] = field(default_factory=list)
    output_check: Converter | None = None


def read_service(element: etree._Element) -> ServiceModel | None:
    """A ``decisionService`` element; None without an id or name (the caller reports it)."""
    service_id, name = element.get("id") or element.get("name"), element.get("name")
    if not service_id or not name:
        return None
    service = ServiceModel(service_id, name, output_type=_output_type(element))
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


def _output_type(element: etree._Element) -> str | None:
    """The outputTypeRef of the function item definition the service's variable names."""
    variable = next((c for c in element if isinstance(c.tag, str)
                     and etree.QName(c).localname == "variable"), None)
    type_ref = variable.get("typeRef") if variable is not None else None
    if not type_ref:
        return None
    parent = element.getparent()
    for item in parent if parent is not None else ():
        if (isinstance(item.tag, str) and etree.QName(item).localname == "itemDefinition"
                and item.get("name") == type_ref):
            for child in item:
                if isinstance(child.tag, str) and etree.QName(child).localname == "functionItem":
                    return child.get("outputTypeRef")
    return None


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
    outputs = {document.decisions[d].variable_name:
               document.evaluate(d, variables, given=given).outputs
               for d in service.output_decisions if d in document.decisions}
    check = service.output_check
    if check is not None and len(outputs) == 1:
        name, value = next(iter(outputs.items()))
        if value is not None:
            outputs[name] = check(value)
    return outputs


def service_function(document: DmnDocument, service: ServiceModel) -> FeelFunction:
    """The service as a FEEL function: one output gives its value, several a context."""
    params = service_parameters(document, service)

    def body(args: list[Any]) -> Any:
        for check, value in zip(service.param_checks, args, strict=False):
            if check is not None and value is not None:
                if check(value) is None:
                    return None  # DMN: an argument of the wrong type gives null
        outputs = run_service(document, service, dict(zip(params, args, strict=True)))
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs

    return FeelFunction(service.name, params, body)
