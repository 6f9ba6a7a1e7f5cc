"""The district choropleth, drawn from the store's own boundaries as one SVG picture.

Districts are filled SVG polygons in longitude/latitude (the y axis scaled by
1/cos(latitude) so shapes are not squashed), not a WebGL map nor a chart library's figure:
no tiles and no outside request, and it draws the same on a desktop without a GPU (remote
desktops and thin clients are common in government offices), in a download and in headless
browsers. Drawn here, on the server, the map costs the browser one small piece of markup: a
chart library's figure of the same polygons made the browser load and run that library (a
few megabytes of script, more than a second on a first visit) and lay the figure out again
on every load and every change of year. Each district says its name and value on hover (its
SVG title), its short name is written on it where it is large enough, and a colour bar gives
the scale.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from plotly.colors import sample_colorscale

from dashboard.components.svg import FONT, nice_ticks, svg_text, tick_decimals

#: districts smaller than this share of the drawing's area get no label (it would overlap)
LABEL_MIN_SHARE = 0.015
#: the picture's width in SVG units (it is drawn at the width of its column)
WIDTH = 560.0
#: room on the right for the colour bar and its ticks; at the top for the title
BAR_ROOM, TITLE_ROOM, PAD = 92.0, 34.0, 8.0
#: a district with no value
NO_DATA = "#e9ecef"


def _rings(geometry: dict):
    """Outer and inner rings of a GeoJSON Polygon or MultiPolygon."""
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else \
        geometry["coordinates"]
    for poly in polys:
        yield from poly


def colour(colorscale: str, value: float, lo: float, hi: float) -> str:
    """The fill of ``value`` on ``colorscale`` from ``lo`` to ``hi`` (grey with no value)."""
    if not np.isfinite(value):
        return NO_DATA
    span = hi - lo if hi > lo else 1.0
    return sample_colorscale(colorscale, [min(1.0, max(0.0, (value - lo) / span))])[0]


def district_svg(frame: pd.DataFrame, geojson: dict, value: str, name: str,
                 colorscale: str, label: str, number_format: str, title: str = "",
                 label_points: dict[int, tuple[float, float, float]] | None = None,
                 short_names: dict[int, str] | None = None,
                 tick_text: Callable[[float], str] | None = None) -> str:
    """The map as SVG markup: one filled path per district of ``geojson``.

    ``frame`` has ``adcode``, ``name`` and ``value`` columns; ``number_format`` is a Python
    format spec for the values (e.g. ``",.2f"``); ``label`` is the colour bar's unit and
    ``title`` is written above the map; ``label_points`` maps adcode to (lon, lat, area
    share) for the on-map names; ``tick_text`` writes the colour bar's ticks (by default
    with as many decimals as their step has).
    """
    values = frame.set_index("adcode")[value].astype(float)
    names = frame.set_index("adcode")[name]
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    features = [(int(f["properties"]["adcode"]), list(_rings(f["geometry"])))
                for f in geojson["features"]]
    points = [p for _, rings in features for ring in rings for p in ring]
    if not points:
        return ""
    lons = np.array([p[0] for p in points], dtype=float)
    lats = np.array([p[1] for p in points], dtype=float)
    # the y axis stretched by 1/cos(latitude), as on the ground (x: longitude)
    ratio = 1 / math.cos(math.radians(float(lats.mean())))
    x0, x1 = float(lons.min()), float(lons.max())
    y0, y1 = float(lats.min()) * ratio, float(lats.max()) * ratio
    inner_w = WIDTH - BAR_ROOM - 2 * PAD
    scale = inner_w / max(x1 - x0, 1e-9)
    height = TITLE_ROOM + (y1 - y0) * scale + 2 * PAD

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return PAD + (lon - x0) * scale, TITLE_ROOM + PAD + (y1 - lat * ratio) * scale

    uid = hashlib.sha1(f"{value}{colorscale}{lo}{hi}{title}".encode()).hexdigest()[:10]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height:.0f}" '
           f'width="100%" role="img" class="cb-map-{uid}" font-family="{FONT}" '
           f'aria-label="{svg_text(title)}">',
           f'<text x="{PAD}" y="22" font-size="15" fill="#262730">{svg_text(title)}</text>']
    for adcode, rings in features:
        d = "".join("M" + "L".join("{:.1f} {:.1f}".format(*xy(p[0], p[1])) for p in ring)
                    + "Z" for ring in rings)
        v = float(values.get(adcode, np.nan))
        text = f"{names.get(adcode, adcode)}: " + ("—" if not np.isfinite(v)
                                                    else format(v, number_format))
        out.append(f'<path class="district" d="{d}" fill="{colour(colorscale, v, lo, hi)}" '
                   f'fill-rule="evenodd" stroke="#444444" stroke-width="0.8">'
                   f"<title>{svg_text(text)}</title></path>")
    for adcode, (lon, lat, share) in (label_points or {}).items():
        if share >= LABEL_MIN_SHARE and short_names:
            v = float(values.get(adcode, np.nan))
            dark = np.isfinite(v) and (v - lo) / span > 0.6  # white on the darker fills
            x, y = xy(lon, lat)
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="12" text-anchor="middle" '
                       f'dominant-baseline="middle" pointer-events="none" '
                       f'fill="{"#ffffff" if dark else "#222222"}">'
                       f"{svg_text(short_names.get(adcode, ''))}</text>")
    out.append(_colour_bar(uid, colorscale, lo, hi, label, number_format,
                           WIDTH - BAR_ROOM + 10, TITLE_ROOM + PAD,
                           height - TITLE_ROOM - 2 * PAD, tick_text))
    out.append("</svg>")
    return "".join(out)


def _colour_bar(uid: str, colorscale: str, lo: float, hi: float, label: str,
                number_format: str, x: float, top: float, height: float,
                tick_text: Callable[[float], str] | None = None) -> str:
    """The scale: the unit above a vertical bar from ``lo`` (bottom) to ``hi`` (top) with
    round ticks."""
    bar_top, bar_h, width = top + 22, max(40.0, 0.8 * height - 22), 14
    stops = "".join(f'<stop offset="{i / 10:.1f}" stop-color="{c}"/>' for i, c in enumerate(
        sample_colorscale(colorscale, [1 - i / 10 for i in range(11)])))
    out = [f'<defs><linearGradient id="bar-{uid}" x1="0" y1="0" x2="0" y2="1">{stops}'
           "</linearGradient></defs>",
           f'<text x="{x:.1f}" y="{top + 10:.1f}" font-size="13" fill="#262730">'
           f"{svg_text(label)}</text>",
           f'<rect x="{x:.1f}" y="{bar_top:.1f}" width="{width}" height="{bar_h:.1f}" '
           f'fill="url(#bar-{uid})" stroke="#cccccc" stroke-width="0.5"/>']
    span = hi - lo if hi > lo else 1.0
    ticks = nice_ticks(lo, hi)
    decimals = tick_decimals(ticks)
    for tick in ticks:
        ty = bar_top + (1 - (tick - lo) / span) * bar_h
        text = tick_text(tick) if tick_text else f"{tick:,.{decimals}f}"
        out.append(f'<line x1="{x + width:.1f}" x2="{x + width + 4:.1f}" y1="{ty:.1f}" '
                   f'y2="{ty:.1f}" stroke="#666666" stroke-width="0.8"/>'
                   f'<text x="{x + width + 6:.1f}" y="{ty:.1f}" font-size="12" '
                   f'dominant-baseline="middle" fill="#444444">{svg_text(text)}</text>')
    return "".join(out)

