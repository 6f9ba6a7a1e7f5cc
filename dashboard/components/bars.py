"""A bar per item, in the order given, drawn on the server as one SVG picture.

The site recommendation shows each proposed site's residents newly covered, in the order the
sites were chosen. A chart library's bar chart loads its whole library in the browser the
first time a planner computes sites (and on the server, seconds of import); drawn here it is
one small piece of markup. Bars start at zero on a round value axis; each bar has its value
written above it and says its label and value on hover (its SVG title).

>>> svg = bars_svg(["1", "2"], [300.0, 100.0], "Rank", "Newly covered", "{:,.0f}".format)
>>> svg.count('<rect class="bar"'), "300" in svg, svg.startswith("<svg")
(2, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from dashboard.components.svg import nice_ticks, svg_open, svg_text, value_gridline

#: the picture's width in SVG units (drawn at the width of the page), the plotting height,
#: the room for the value ticks on the left, below for the labels and the axis name, above
WIDTH, PLOT_H, LEFT, BELOW, ABOVE = 1000.0, 170.0, 64.0, 44.0, 18.0
BAR = "#1f6f8b"


def bars_svg(labels: Sequence[str], values: Sequence[float], x_label: str, y_label: str,
             value_text: Callable[[float], str]) -> str:
    """The chart as SVG markup: one bar per ``labels[i]`` of height ``values[i]`` (blank and
    no bar for a value that is not a number), ``x_label`` under the labels, ``y_label``
    beside the value axis, ``value_text`` writing a value."""
    if not len(labels):
        return ""
    shown = [float(v) if v is not None and math.isfinite(float(v)) else math.nan
             for v in values]
    top = max([v for v in shown if math.isfinite(v)] + [0.0])
    ticks = nice_ticks(0.0, top if top > 0 else 1.0, most=5)
    hi = max(ticks[-1], top) if ticks else 1.0
    if hi <= 0:
        hi = 1.0
    height = ABOVE + PLOT_H + BELOW
    slot = (WIDTH - LEFT - 8.0) / len(labels)
    width = min(slot * 0.7, 90.0)

    def y(value: float) -> float:
        return ABOVE + (1.0 - value / hi) * PLOT_H

    out = [svg_open(WIDTH, height, y_label)]
    out += [value_gridline(y(tick), LEFT, WIDTH - 8, value_text(tick)) for tick in ticks]
    out.append(f'<text x="12" y="{ABOVE + PLOT_H / 2:.1f}" font-size="12" fill="#666666" '
               f'text-anchor="middle" transform="rotate(-90 12 {ABOVE + PLOT_H / 2:.1f})">'
               f"{svg_text(y_label)}</text>")
    for i, (label, value) in enumerate(zip(labels, shown, strict=True)):
        cx = LEFT + (i + 0.5) * slot
        out.append(f'<text x="{cx:.1f}" y="{ABOVE + PLOT_H + 15:.1f}" font-size="11" '
                   f'text-anchor="middle" fill="#666666">{svg_text(label)}</text>')
        if not math.isfinite(value):
            continue
        top_y = y(max(value, 0.0))
        words = svg_text(value_text(value))
        out.append(f'<rect class="bar" x="{cx - width / 2:.1f}" y="{top_y:.1f}" '
                   f'width="{width:.1f}" height="{ABOVE + PLOT_H - top_y:.1f}" fill="{BAR}">'
                   f"<title>{svg_text(x_label)} {svg_text(label)}&#58; {words}</title></rect>")
        if len(labels) <= 20:
            out.append(f'<text x="{cx:.1f}" y="{top_y - 4:.1f}" font-size="11" '
                       f'text-anchor="middle" fill="#262730">{words}</text>')
    out.append(f'<line x1="{LEFT:.1f}" x2="{WIDTH - 8:.1f}" y1="{ABOVE + PLOT_H:.1f}" '
               f'y2="{ABOVE + PLOT_H:.1f}" stroke="#999999"/>')
    out.append(f'<text x="{LEFT + (WIDTH - LEFT) / 2:.1f}" y="{height - 6:.1f}" font-size="12" '
               f'text-anchor="middle" fill="#666666">{svg_text(x_label)}</text>')
    out.append("</svg>")
    return "".join(out)


__all__ = ["bars_svg"]
