"""Small server-side SVG charts for the usage pages: no script, no library, readable without colour.

Pure: strings in, an SVG string out (every text escaped). A chart is an `<svg role="img">` with a
title and a description listing the values, so a screen reader gets the numbers too.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH = 640
HEIGHT = 180
LEFT = 48
BOTTOM = 22
TOP = 10


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    css_class: str = "series-1"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def _format(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}{unit}"
    return f"{value:,.1f}{unit}".replace(".0" + unit, unit) if unit else f"{value:,.4g}"


def chart(title: str, labels: list[str], series: list[Series], *, unit: str = "", kind: str = "bar") -> str:
    """An SVG bar chart (one series) or line chart (one or more) over `labels` (days)."""
    count = max(1, len(labels))
    plot_width = WIDTH - LEFT - 8
    plot_height = HEIGHT - BOTTOM - TOP
    peak = _nice_max(max((v for s in series for v in s.values if v is not None), default=0.0))
    step = plot_width / count

    def y(value: float) -> float:
        return TOP + plot_height - value / peak * plot_height

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{_id(title)}-t {_id(title)}-d"'
        ' preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{escape(_describe(labels, series, unit))}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        level = peak * fraction
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - 8}" y1="{y(level):.1f}" y2="{y(level):.1f}"/>'
            f'<text class="axis" x="{LEFT - 4}" y="{y(level) + 4:.1f}" text-anchor="end">{escape(_format(level, unit))}'
            "</text>"
        )
    for index in sorted({0, count // 2, count - 1}):
        if index < len(labels):
            x = LEFT + step * index + step / 2
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(labels[index])}</text>'
            )
    if kind == "bar" and len(series) == 1:
        for index, value in enumerate(series[0].values):
            if not value:
                continue
            x = LEFT + step * index + step * 0.15
            width = max(1.0, step * 0.7)
            parts.append(
                f'<rect class="{series[0].css_class}" x="{x:.1f}" y="{y(value):.1f}" width="{width:.1f}" '
                f'height="{y(0) - y(value):.1f}"><title>{escape(labels[index])}: {escape(_format(value, unit))}'
                "</title></rect>"
            )
    else:
        for line in series:
            points = [
                f"{LEFT + step * i + step / 2:.1f},{y(v):.1f}" for i, v in enumerate(line.values) if v is not None
            ]
            if points:
                parts.append(f'<polyline class="{line.css_class}" fill="none" points="{" ".join(points)}"/>')
            for i, v in enumerate(line.values):
                if v is not None:
                    cx = LEFT + step * i + step / 2
                    parts.append(
                        f'<circle class="{line.css_class}" cx="{cx:.1f}" cy="{y(v):.1f}" r="2.5">'
                        f"<title>{escape(line.name)} {escape(labels[i])}: {escape(_format(v, unit))}</title></circle>"
                    )
    parts.append("</svg>")
    return "".join(parts)


def _id(title: str) -> str:
    return "chart-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower())[:40]


def _describe(labels: list[str], series: list[Series], unit: str) -> str:
    rows = []
    for line in series:
        values = ", ".join(
            f"{label} {_format(value, unit)}" for label, value in zip(labels, line.values, strict=False) if value
        )
        rows.append(f"{line.name}: {values or 'none'}")
    return "; ".join(rows)
