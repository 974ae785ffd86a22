"""Compare engine.dmn with SpiffWorkflow's DMN engine on the same 50-rule, 3-input table.

Run: .venv/bin/python bench/dmn_bench.py [--seconds S]
Prints both engines' evaluations per second, the ratio, and how many results agreed.

Fair on both sides: the table's hit policy is FIRST, so both engines stop at the first rule
that matches (SpiffWorkflow always does; engine.dmn does under FIRST, while UNIQUE makes it
check every rule), and SpiffWorkflow's cells are compiled once and cached
(``bench/bare_spiff.py``), as engine.dmn compiles its table once at parse time. The rules are
mutually exclusive, so FIRST and UNIQUE give the same answers.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bare_spiff import cached_script_engine  # noqa: E402
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser  # noqa: E402

from engine.dmn import parse_dmn  # noqa: E402

AMOUNT_BANDS: list[tuple[int, int | None]] = [
    (0, 1000), (1000, 5000), (5000, 20000), (20000, 100000), (100000, None),
]
TIER_GROUPS = [("gold", "platinum"), ("silver", "bronze")]
REGIONS = ["EU", "US", "APAC", "LATAM", "MEA"]
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


Rule = tuple[tuple[int, int | None], tuple[str, ...], str, int]


def rules() -> list[Rule]:
    """50 mutually exclusive rules: 5 amount bands x 2 tier groups x 5 regions."""
    out: list[Rule] = []
    for b, band in enumerate(AMOUNT_BANDS):
        for t, tiers in enumerate(TIER_GROUPS):
            for r, region in enumerate(REGIONS):
                out.append((band, tiers, region, b * 10 + t * 5 + r))
    return out


def feel_cells(band: tuple[int, int | None], tiers: tuple[str, ...], region: str) -> list[str]:
    low, high = band
    amount = f">= {low}" if high is None else f"[{low}..{high}["
    return [amount, ", ".join(f'"{t}"' for t in tiers), f'"{region}"']


def python_cells(band: tuple[int, int | None], tiers: tuple[str, ...], region: str) -> list[str]:
    low, high = band
    amount = f">= {low}" if high is None else f"? >= {low} and ? < {high}"
    return [amount, "? in (" + ", ".join(f'"{t}"' for t in tiers) + ")", f'"{region}"']


def table_xml(cell_writer: Any, hit_policy: str = "FIRST") -> bytes:
    inputs = "".join(
        f'<input id="in_{n}" label="{n}"><inputExpression id="ie_{n}" typeRef="{t}">'
        f"<text>{n}</text></inputExpression></input>"
        for n, t in (("amount", "number"), ("tier", "string"), ("region", "string"))
    )
    rows = []
    for i, (band, tiers, region, discount) in enumerate(rules()):
        entries = "".join(
            f'<inputEntry id="r{i}_{c}"><text>{escape(text)}</text></inputEntry>'
            for c, text in enumerate(cell_writer(band, tiers, region))
        )
        rows.append(f'<rule id="rule_{i}">{entries}'
                    f'<outputEntry id="r{i}_o"><text>{discount}</text></outputEntry></rule>')
    return (
        f'<definitions xmlns="{DMN_NS}" id="defs" name="bench" namespace="http://bench">'
        '<decision id="discount_decision" name="Discount">'
        f'<decisionTable id="table" hitPolicy="{hit_policy}">'
        f'{inputs}<output id="out" name="discount" typeRef="number"/>{"".join(rows)}'
        "</decisionTable></decision></definitions>"
    ).encode()


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sample_inputs(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    tiers = ["gold", "platinum", "silver", "bronze", "none"]
    return [
        {
            "amount": rng.choice([rng.randint(-50, 250000), rng.randint(0, 6000), 1000, 100000]),
            "tier": rng.choice(tiers),
            "region": rng.choice(REGIONS + ["AF"]),
        }
        for _ in range(count)
    ]


def spiff_engine() -> tuple[Any, Any]:
    parser = BpmnDmnParser()
    parser.add_dmn_str(table_xml(python_cells), filename="bench.dmn")
    engine = parser.get_engine("discount_decision", None)
    workflow = SimpleNamespace(script_engine=cached_script_engine())
    return engine, workflow


def rate(fn: Any, inputs: list[dict[str, Any]], seconds: float) -> tuple[float, list[Any]]:
    results = [fn(v) for v in inputs]  # warm-up pass, also the results to compare
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for v in inputs:
            fn(v)
        done += len(inputs)
    return done / (time.perf_counter() - start), results


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--seconds", type=float, default=3.0, help="time per engine")
    args.add_argument("--inputs", type=int, default=500, help="distinct input sets")
    options = args.parse_args()
    inputs = sample_inputs(options.inputs)

    document = parse_dmn(table_xml(feel_cells), "bench.dmn")
    ours_rate, ours = rate(lambda v: document.evaluate("discount_decision", v).outputs,
                           inputs, options.seconds)

    spiff, workflow = spiff_engine()

    def spiff_eval(v: dict[str, Any]) -> Any:
        task = SimpleNamespace(data=dict(v), workflow=workflow, task_spec=None)
        return spiff.result(task).get("discount")

    spiff_rate, theirs = rate(spiff_eval, inputs, options.seconds)
    agreed = sum(
        (a is None and b is None) or (a is not None and b is not None and Decimal(b) == a)
        for a, b in zip(ours, theirs, strict=True)
    )
    matched = sum(a is not None for a in ours)
    print(f"table: {len(rules())} rules x 3 inputs, {len(inputs)} input sets "
          f"({matched} match a rule)")
    print(f"engine.dmn (FEEL, FIRST: stops at a match): {ours_rate:12,.0f} evaluations/s")
    print(f"SpiffWorkflow 3.2.0 DMNEngine (Python cells, compile cache): "
          f"{spiff_rate:10,.0f} evaluations/s")
    print(f"ratio: {ours_rate / spiff_rate:.1f}x")
    print(f"agreed on {agreed} of {len(inputs)} input sets")


if __name__ == "__main__":
    main()
