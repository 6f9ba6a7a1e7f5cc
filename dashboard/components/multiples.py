"""Small multiples: one small line chart per district, drawn on the server as one SVG picture.

Thirteen panels of a chart library's figure are 26 axes, each laid out and labelled by the
browser on every load (more than half a second of its time on the trends page); drawn here
they are one small piece of markup. Each panel has its district's name, round ticks on its
value axis and the years below; the city's line is drawn dotted in every panel for
reference; every point says its district, year and value on hover (its SVG title). Panels
share one value scale unless ``shared`` is off (counts of very different sizes).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from dashboard.components.svg import FONT, nice_ticks, svg_text, tick_decimals

#: the picture's width in SVG units (drawn at the width of the page)
WIDTH = 1000.0
#: a panel's plotting height, the room for its name above and the years below, the room for
#: the value ticks on its left and between panels
PANEL_H, NAME_ROOM, YEAR_ROOM, TICK_ROOM, GAP = 120.0, 22.0, 20.0, 46.0, 14.0
TITLE_ROOM = 32.0
LINE, CITY = "#1f6f8b", "#999999"


def _range(values) -> tuple[float, float]:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def grid_svg(frame: pd.DataFrame, title: str, value_text: Callable[[float], str],
             city: pd.Series | None = None, city_name: str = "", shared: bool = True,
             wrap: int = 4, tick_text: Callable[[float], str] | None = None) -> str:
    """The grid as SVG markup.

    ``frame`` has ``district`` (a name), ``year`` and ``value`` columns, the districts in
    the order they are drawn (left to right, row by row, ``wrap`` a row); ``city`` is the
    city's value by year (drawn dotted in every panel, named ``city_name`` on hover);
    ``value_text`` writes a value on hover, ``tick_text`` a tick of the value axis (by
    default with as many decimals as the ticks' step has).
    """
    names = list(dict.fromkeys(frame["district"]))
    if not names:
        return ""
    cols = min(wrap, len(names))
    rows = -(-len(names) // cols)
    years = sorted(int(y) for y in frame["year"].unique())
    if city is not None:
        years = sorted(set(years) | {int(y) for y in city.index})
    x0, x1 = years[0], years[-1]
    panel_w = (WIDTH - cols * (TICK_ROOM + GAP)) / cols
    cell_h = NAME_ROOM + PANEL_H + YEAR_ROOM + GAP
    height = TITLE_ROOM + rows * cell_h
    everything = list(frame["value"]) + (list(city.values) if city is not None else [])
    shared_range = _range(everything)
    year_step = 1 if x1 - x0 <= 7 else 5
    year_ticks = [y for y in range(x0, x1 + 1) if y % year_step == 0] or [x0]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height:.0f}" '
           f'width="100%" role="img" font-family="{FONT}" aria-label="{svg_text(title)}">',
           f'<text x="4" y="20" font-size="15" fill="#262730">{svg_text(title)}</text>']
    for i, name in enumerate(names):
        one = frame[frame["district"] == name].sort_values("year")
        lo, hi = shared_range if shared else _range(
            list(one["value"]) + (list(city.values) if city is not None else []))
        left = (i % cols) * (TICK_ROOM + GAP + panel_w) + TICK_ROOM
        top = TITLE_ROOM + (i // cols) * cell_h + NAME_ROOM

        def xy(year: float, value: float, left=left, top=top, lo=lo, hi=hi):
            x = left + (0.5 if x1 == x0 else (year - x0) / (x1 - x0)) * panel_w
            return x, top + (hi - value) / (hi - lo) * PANEL_H

        out.append(f'<text x="{left + panel_w / 2:.1f}" y="{top - 7:.1f}" font-size="13" '
                   f'text-anchor="middle" fill="#444444">{svg_text(name)}</text>')
        out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{panel_w:.1f}" '
                   f'height="{PANEL_H:g}" fill="none" stroke="#e6e6e6"/>')
        ticks = nice_ticks(lo, hi, most=4)
        decimals = tick_decimals(ticks)
        for tick in ticks:
            _, ty = xy(x0, tick)
            label = tick_text(tick) if tick_text else f"{tick:,.{decimals}f}"
            out.append(f'<line x1="{left:.1f}" x2="{left + panel_w:.1f}" y1="{ty:.1f}" '
                       f'y2="{ty:.1f}" stroke="#eeeeee"/><text x="{left - 4:.1f}" '
                       f'y="{ty:.1f}" font-size="11" text-anchor="end" '
                       f'dominant-baseline="middle" fill="#666666">'
                       f"{svg_text(label)}</text>")
        for year in year_ticks:
            tx, _ = xy(year, lo)
            out.append(f'<text x="{tx:.1f}" y="{top + PANEL_H + 14:.1f}" font-size="11" '
                       f'text-anchor="middle" fill="#666666">{year}</text>')
        if city is not None and len(city):
            points = " ".join("{:.1f},{:.1f}".format(*xy(y, v)) for y, v in city.items()
                              if math.isfinite(float(v)))
            out.append(f'<polyline class="city" points="{points}" fill="none" '
                       f'stroke="{CITY}" stroke-width="1.2" stroke-dasharray="3 3">'
                       f"<title>{svg_text(city_name)}</title></polyline>")
        shown = [(int(y), float(v)) for y, v in zip(one["year"], one["value"], strict=True)
                 if v is not None and math.isfinite(float(v))]
        if len(shown) > 1:
            points = " ".join("{:.1f},{:.1f}".format(*xy(y, v)) for y, v in shown)
            out.append(f'<polyline class="district" points="{points}" fill="none" '
                       f'stroke="{LINE}" stroke-width="2" stroke-linejoin="round"/>')
        for y, v in shown:  # a point to hover (a single year is drawn as a dot)
            cx, cy = xy(y, v)
            radius, fill = (3, LINE) if len(shown) == 1 else (4, "transparent")
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{fill}">'
                       f"<title>{svg_text(f'{name} {y}')}&#58; {svg_text(value_text(v))}</title>"
                       "</circle>")
    out.append("</svg>")
    return "".join(out)
