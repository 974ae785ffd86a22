"""A business report's chart as inline SVG drawn on the server: grouped bars, lines or a pie,
from the same numbers as the PDF's chart (no script, no chart library)."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from engine import ReportChart

from .charts import _nice_top

WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 64, 10, 24, 58
COLOURS = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b", "#0ea5e9",
           "#84cc16", "#f97316", "#ec4899")


def _svg(chart: ReportChart, body: list[str], height: int = HEIGHT) -> Markup:
    title = escape(chart.title)
    return Markup(f'<svg class="chart report-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
                  f'aria-label="{title}"><title>{title}</title>{"".join(body)}</svg>')


def _legend(names: list[str], x: float = LEFT, y: float = 12) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        parts.append(f'<rect x="{x:.1f}" y="{y - 8}" width="10" height="10" '
                     f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{x + 14:.1f}" y="{y + 1}" '
                     f'class="tick">{escape(name)}</text>')
        x += 24 + 6.5 * len(name)
    return parts


def report_chart(chart: ReportChart) -> Markup:
    """The SVG of ``chart``."""
    values = chart.texts
    if chart.type == "pie":
        return _pie(chart, values[0])
    highest = max((v for _n, vs in chart.series for v in vs), default=0.0)
    lowest = min(0.0, *(v for _n, vs in chart.series for v in vs))
    top = _nice_top(highest)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (top - lowest) or 1.0

    def y(v: float) -> float:
        return TOP + inner_h - (v - lowest) / span * inner_h

    count = max(len(chart.labels), 1)
    step = inner_w / count
    body = [f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{y(0):.1f}" '
            f'class="axis"/>',
            f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" class="grid"/>',
            f'<text x="{LEFT - 6}" y="{TOP + 4}" class="tick" text-anchor="end">{top:,.0f}'
            f'</text>',
            f'<text x="{LEFT - 6}" y="{y(0) + 4:.1f}" class="tick" text-anchor="end">0</text>']
    for i, label in enumerate(chart.labels):
        x = LEFT + (i + 0.5) * step
        body.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 12}" class="tick" '
                    f'text-anchor="end" transform="rotate(-30 {x:.1f} {HEIGHT - BOTTOM + 12})">'
                    f'{escape(label)}</text>')
    series_count = len(chart.series)
    for s, (name, points) in enumerate(chart.series):
        colour = COLOURS[s % len(COLOURS)]
        if chart.type == "bar":
            width = step * 0.8 / series_count
            for i, v in enumerate(points):
                x = LEFT + i * step + step * 0.1 + s * width
                y0, y1 = sorted((y(0), y(v)))
                body.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" '
                            f'height="{y1 - y0:.1f}" fill="{colour}"><title>'
                            f'{escape(chart.labels[i])} – {escape(name)}: '
                            f'{escape(values[s][i])}</title></rect>')
        else:
            path = " ".join(f"{LEFT + (i + 0.5) * step:.1f},{y(v):.1f}"
                            for i, v in enumerate(points))
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"/>')
            for i, v in enumerate(points):
                body.append(f'<circle cx="{LEFT + (i + 0.5) * step:.1f}" cy="{y(v):.1f}" r="3" '
                            f'fill="{colour}"><title>{escape(chart.labels[i])} – '
                            f'{escape(name)}: {escape(values[s][i])}</title></circle>')
    return _svg(chart, body + _legend([n for n, _v in chart.series]))


def _pie(chart: ReportChart, values: list[str]) -> Markup:
    points = chart.series[0][1]
    total = sum(points) or 1.0
    cx, cy, r = 110, HEIGHT / 2, 90
    body, angle = [], -math.pi / 2
    for i, v in enumerate(points):
        sweep = v / total * 2 * math.pi
        colour = COLOURS[i % len(COLOURS)]
        tip = f"{escape(chart.labels[i])}: {escape(values[i])} ({v / total:.0%})"
        if sweep >= 2 * math.pi - 1e-9:
            body.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{colour}">'
                        f'<title>{tip}</title></circle>')
        else:
            x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x2, y2 = cx + r * math.cos(angle + sweep), cy + r * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            body.append(f'<path d="M{cx},{cy} L{x1:.1f},{y1:.1f} A{r},{r} 0 {large} 1 '
                        f'{x2:.1f},{y2:.1f} Z" fill="{colour}" stroke="#fff">'
                        f'<title>{tip}</title></path>')
        angle += sweep
        body.append(f'<rect x="240" y="{20 + i * 18}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="256" y="{29 + i * 18}" class="tick">{tip}</text>')
    return _svg(chart, body)
