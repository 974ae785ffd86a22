"""Small SVG charts drawn on the server: bars per day and lines of durations, no chart library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from .common import duration

WIDTH, HEIGHT = 520, 150
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 22


def _x(index: int, count: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (index + 0.5) * inner / max(count, 1)


def _y(value: float, top: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner - (value / top * inner if top else 0)


def _nice_top(value: float) -> float:
    """A round number at or above ``value`` for the top of the axis."""
    if value <= 0:
        return 1.0
    magnitude = float(10 ** (len(str(int(value))) - 1))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value  # pragma: no cover


def _frame(title: str, top_label: str, days: Sequence[date], body: list[str]) -> Markup:
    count = len(days)
    labels = []
    for i in sorted({0, count // 2, count - 1}) if count else []:
        labels.append(f'<text x="{_x(i, count):.1f}" y="{HEIGHT - 6}" class="tick" '
                      f'text-anchor="middle">{days[i].strftime("%d %b")}</text>')
    axis = (f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
            f'y2="{HEIGHT - BOTTOM}" class="axis"/>'
            f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{TOP + 4}" class="tick" text-anchor="end">'
            f'{escape(top_label)}</text>'
            f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" class="tick" text-anchor="end">0</text>')
    svg = (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
           + axis + "".join(labels) + "".join(body) + "</svg>")
    return Markup(svg)


def bar_chart(title: str, days: Sequence[date], values: Sequence[int]) -> Markup:
    """One bar per day (for instances completed per day)."""
    top = _nice_top(max(values, default=0))
    width = (WIDTH - LEFT - RIGHT) / max(len(days), 1) * 0.7
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        y = _y(value, top)
        bars.append(f'<rect class="bar" x="{_x(i, len(days)) - width / 2:.1f}" y="{y:.1f}" '
                    f'width="{width:.1f}" height="{HEIGHT - BOTTOM - y:.1f}">'
                    f'<title>{day.isoformat()}: {value}</title></rect>')
    return _frame(title, f"{top:g}", days, bars)


def line_chart(title: str, days: Sequence[date],
               series: Sequence[tuple[str, str, Sequence[float | None]]]) -> Markup:
    """Lines of durations per day; ``series`` is (name, css class, seconds or None) each."""
    highest = max((v for _n, _c, values in series for v in values if v is not None), default=0)
    top = _nice_top(highest)
    body = []
    for n, (name, css, values) in enumerate(series):
        radius = 3 + 2 * n  # later series drawn larger and hollow, so that equal points show
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_x(i, len(days)):.1f},{_y(v, top):.1f}" for i, v in points)
            body.append(f'<polyline class="line {css}" points="{path}"/>')
        for i, v in points:
            body.append(f'<circle class="dot {css}" cx="{_x(i, len(days)):.1f}" '
                        f'cy="{_y(v, top):.1f}" r="{radius}"><title>{escape(name)} '
                        f'{days[i].isoformat()}: {escape(duration(v))}</title></circle>')
    return _frame(title, duration(top), days, body)
