"""Two versions of small processes for the migration tests: elements chained by flows."""

from __future__ import annotations

from engine import Engine
from tests.engine.bpmn_files import process_file

MESSAGE_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
<bpmn:message id="msg_go" name="go_on"/>
"""


def chain(*elements: tuple[str, str]) -> str:
    """A start event, then ``elements`` (id, xml with ``{io}`` for its flows), an end event."""
    ids = ["start", *[e[0] for e in elements], "end"]
    flows = [f"f{i}" for i in range(len(ids) - 1)]
    body = ['<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    for n, (_, xml) in enumerate(elements, start=1):
        io = f"<bpmn:incoming>f{n - 1}</bpmn:incoming><bpmn:outgoing>f{n}</bpmn:outgoing>"
        body.append(xml.replace("{io}", io))
    body.append(f'<bpmn:endEvent id="end"><bpmn:incoming>{flows[-1]}</bpmn:incoming>'
                "</bpmn:endEvent>")
    body += [f'<bpmn:sequenceFlow id="{f}" sourceRef="{ids[i]}" targetRef="{ids[i + 1]}"/>'
             for i, f in enumerate(flows)]
    return "".join(body)


def user_task(element_id: str, group: str = "finance", extra: str = "") -> tuple[str, str]:
    return element_id, (f'<bpmn:userTask id="{element_id}" name="{element_id.title()}" '
                        f'camunda:candidateGroups="{group}">{{io}}{extra}</bpmn:userTask>')


def script(element_id: str, code: str) -> tuple[str, str]:
    return element_id, (f'<bpmn:scriptTask id="{element_id}" scriptFormat="python">{{io}}'
                        f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


def timer(element_id: str, duration: str) -> tuple[str, str]:
    return element_id, (f'<bpmn:intermediateCatchEvent id="{element_id}">{{io}}'
                        '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type='
                        f'"bpmn:tFormalExpression">{duration}</bpmn:timeDuration>'
                        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")


def message(element_id: str) -> tuple[str, str]:
    return element_id, (f'<bpmn:intermediateCatchEvent id="{element_id}">{{io}}'
                        '<bpmn:messageEventDefinition messageRef="msg_go"/>'
                        "</bpmn:intermediateCatchEvent>")


def deploy(engine: Engine, key: str, body: str, head: str | None = None) -> str:
    """Deploy one version; return its definition id."""
    data = process_file(key, body, head) if head else process_file(key, body)
    [deployed] = [d for d in engine.repository.deploy({f"{key}.bpmn": data})
                  if d.key == key]
    return engine.repository.definition(key, deployed.version).id


def drawn(key: str, body: str) -> bytes:
    """A ``chain`` process with a diagram: each element in a row, as a modeler lays it out."""
    import re

    ids = re.findall(r'<bpmn:(?:startEvent|userTask|scriptTask|endEvent|'
                     r'intermediateCatchEvent) id="([^"]+)"', body)
    shapes, x = [], 100
    for element_id in ids:
        event = element_id in ("start", "end") or "CatchEvent" in body.split(
            f'id="{element_id}"')[0][-40:]
        width, height = (36, 36) if event else (100, 80)
        y = 122 if event else 100
        shapes.append(f'<bpmndi:BPMNShape id="{element_id}_di" bpmnElement="{element_id}">'
                      f'<dc:Bounds x="{x}" y="{y}" width="{width}" height="{height}"/>'
                      "</bpmndi:BPMNShape>")
        x += width + 60
    edges = [f'<bpmndi:BPMNEdge id="f{n}_di" bpmnElement="f{n}"><di:waypoint x="0" y="140"/>'
             '<di:waypoint x="10" y="140"/></bpmndi:BPMNEdge>' for n in range(len(ids) - 1)]
    head = HEAD_DI.replace("{defs}", "")
    return (head + f'<bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process>'
            f'<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="{key}">'
            + "".join(shapes + edges) + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"
            "</bpmn:definitions>").encode()


HEAD_DI = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
"""
