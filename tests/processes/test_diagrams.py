"""The shipped BPMN and DMN files stay readable in Camunda Modeler, bpmn-js and dmn-js.

A modeller drops what has no diagram shape and shows an unnamed box as a blank: every
element needs its shape, a name and a place that does not cover another one, and every
rule of a decision table an id and a description (the table's annotation column).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from .conftest import PROCESSES

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI",
      "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
      "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/"}
# every shipped process: analysts open them in Camunda Modeler and bpmn-js
BPMN_FILES = tuple(sorted(p.name for p in (Path(__file__).resolve().parents[2] / "processes")
                          .glob("*.bpmn")))
DMN_FILES = ("credit_decision.dmn", "complaint_routing.dmn", "refund_approval.dmn")
FLOW_NODES = ("startEvent", "endEvent", "userTask", "serviceTask", "businessRuleTask",
              "receiveTask", "callActivity",
              "scriptTask", "exclusiveGateway", "boundaryEvent")
Box = tuple[float, float, float, float]


def parse(name: str) -> etree._ElementTree:
    return etree.parse(str(PROCESSES / name))


def get(element: etree._Element, name: str) -> str:
    value = element.get(name)
    assert value is not None, f"{element.tag} {element.get('id')} has no {name}"
    return str(value)


def bounds(shape: etree._Element) -> Box:
    b = shape.find("dc:Bounds", NS)
    assert b is not None
    return (float(get(b, "x")), float(get(b, "y")), float(get(b, "width")),
            float(get(b, "height")))


def touches(point: tuple[float, float], box: Box) -> bool:
    x, y, w, h = box
    return x - 1 <= point[0] <= x + w + 1 and y - 1 <= point[1] <= y + h + 1


@pytest.mark.parametrize("name", BPMN_FILES)
def test_every_bpmn_element_has_a_shape_and_a_plain_name(name: str) -> None:
    doc = parse(name)
    (process,) = doc.findall("bpmn:process", NS)
    assert process.get("id") == Path(name).stem
    assert process.find("bpmn:documentation", NS) is not None
    nodes = [n for tag in FLOW_NODES for n in process.findall(f"bpmn:{tag}", NS)]
    flows = process.findall("bpmn:sequenceFlow", NS)
    shapes = {s.get("bpmnElement"): s for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in doc.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert sorted(map(str, shapes)) == sorted(get(n, "id") for n in nodes)
    assert sorted(map(str, edges)) == sorted(get(f, "id") for f in flows)
    for node in nodes:
        merges = node.tag.endswith("exclusiveGateway") and len(
            node.findall("bpmn:outgoing", NS)) == 1
        assert merges or (node.get("name") or "").strip(), f"{node.get('id')} has no name"


@pytest.mark.parametrize("name", BPMN_FILES)
def test_shapes_do_not_overlap_and_edges_join_their_elements(name: str) -> None:
    doc = parse(name)
    by_id = {n.get("id"): n for n in doc.iter() if n.get("id")}
    boxes = {s.get("bpmnElement"): bounds(s) for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}
    standalone = {k: b for k, b in boxes.items() if not k or
                  not by_id[k].tag.endswith("boundaryEvent")}
    items = sorted(standalone.items())
    for i, (a, (ax, ay, aw, ah)) in enumerate(items):
        for b, (bx, by, bw, bh) in items[i + 1:]:
            apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
            assert apart, f"{a} and {b} overlap"
    for edge in doc.iterfind(".//bpmndi:BPMNEdge", NS):
        flow = by_id[edge.get("bpmnElement")]
        points = [(float(get(p, "x")), float(get(p, "y")))
                  for p in edge.findall("di:waypoint", NS)]
        assert len(points) >= 2
        assert touches(points[0], boxes[flow.get("sourceRef")]), f"{flow.get('id')} start"
        assert touches(points[-1], boxes[flow.get("targetRef")]), f"{flow.get('id')} end"
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            assert x1 == x2 or y1 == y2, f"{flow.get('id')} has a slanted segment"


@pytest.mark.parametrize("name", BPMN_FILES)
def test_boundary_events_sit_on_their_task(name: str) -> None:
    doc = parse(name)
    boxes = {s.get("bpmnElement"): bounds(s) for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}
    for event in doc.iterfind(".//bpmn:boundaryEvent", NS):
        x, y, w, h = boxes[event.get("id")]
        assert touches((x + w / 2, y + h / 2), boxes[event.get("attachedToRef")])
        assert event.find("bpmn:documentation", NS) is not None


@pytest.mark.parametrize("name", DMN_FILES)
def test_every_rule_has_an_id_and_a_description(name: str) -> None:
    doc = parse(name)
    decisions = doc.findall("dmn:decision", NS)
    assert decisions
    shapes = {s.get("dmnElementRef") for s in doc.iterfind(".//dmndi:DMNShape", NS)}
    assert shapes == {d.get("id") for d in decisions}
    ids = [n.get("id") for n in doc.iter() if n.get("id")]
    assert len(ids) == len(set(ids)), "ids must be unique in the file"
    for table in doc.iterfind(".//dmn:decisionTable", NS):
        assert table.get("hitPolicy") in ("UNIQUE", "FIRST")
        for rule in table.findall("dmn:rule", NS):
            assert rule.get("id")
            description = rule.findtext("dmn:description", namespaces=NS) or ""
            assert description.strip(), f"rule {rule.get('id')} has no description"
