"""The analysts' test files shipped in processes/ cover every path: each process and
decision has one, every rule of every table is expected to match in some row, and every
gateway's outgoing flows and every boundary event lead to elements some case expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PROCESSES / name).read_text())
    return data


def named_elements(node: Any) -> set[str]:
    """Every element a case names: in path, passed, end, at, tasks, timer or complete."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("path", "passed", "tasks") and isinstance(value, list):
                out.update(value)
            elif key in ("end", "at", "timer", "complete") and isinstance(value, str):
                out.add(value)
            else:
                out |= named_elements(value)
    elif isinstance(node, list):
        for item in node:
            out |= named_elements(item)
    return out


def process_keys() -> list[str]:
    return sorted(p.stem for p in PROCESSES.glob("*.bpmn"))


@pytest.mark.parametrize("key", process_keys())
def test_every_branch_of_each_process_is_expected_by_some_case(key: str) -> None:
    root = etree.parse(str(PROCESSES / f"{key}.bpmn")).getroot()
    (process,) = [p for p in root.iter("{*}process") if p.get("id") == key]
    gateways = {g.get("id") for g in process if etree.QName(g).localname.endswith("Gateway")}
    must = {f.get("targetRef") for f in process.iter("{*}sequenceFlow")
            if f.get("sourceRef") in gateways
            and sum(1 for o in process.iter("{*}sequenceFlow")
                    if o.get("sourceRef") == f.get("sourceRef")) > 1}
    must |= {b.get("id") for b in process.iter("{*}boundaryEvent")}
    must |= {e.get("id") for e in process.iter("{*}endEvent")}
    expected = named_elements(load(f"{key}.test.yaml")["cases"])
    # a gateway reached only through another is covered by what follows it
    missing = sorted(m for m in must if m not in expected and m not in gateways)
    assert missing == [], f"{key}.test.yaml expects no case through {missing}"


@pytest.mark.parametrize("name", sorted(p.name for p in PROCESSES.glob("*.dmn")))
def test_every_rule_of_each_decision_table_is_matched_by_some_row(name: str) -> None:
    rules = {r.get("id") for r in etree.parse(str(PROCESSES / name)).getroot()
             .iter("{*}rule")}
    matched = {rule for case in load(name.replace(".dmn", ".test.yaml"))["cases"]
               for rule in case.get("rules") or []}
    assert sorted(rules - matched) == []
