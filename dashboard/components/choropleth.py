"""The district choropleth, drawn from the store's own boundaries.

Districts are drawn as filled SVG polygons in longitude/latitude (the y axis scaled by
1/cos(latitude) so shapes are not squashed), not on a WebGL map: no tiles and no outside
request, and it draws the same on a desktop without a GPU (remote desktops and thin clients
are common in government offices), in a PNG export and in headless browsers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

#: districts smaller than this share of the drawing's area get no label (it would overlap)
LABEL_MIN_SHARE = 0.015


def _rings(geometry: dict):
    """Outer and inner rings of a GeoJSON Polygon or MultiPolygon."""
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else \
        geometry["coordinates"]
    for poly in polys:
        yield from poly


def district_map(frame: pd.DataFrame, geojson: dict, value: str, name: str,
                 colorscale: str, label: str, number_format: str,
                 label_points: dict[int, tuple[float, float, float]] | None = None,
                 short_names: dict[int, str] | None = None) -> go.Figure:
    """``frame`` has ``adcode``, ``name`` and ``value`` columns; one colour per district.

    ``number_format`` is a Python format spec for hover text (e.g. ``",.2f"``);
    ``label_points`` maps adcode to (lon, lat, area share) for the on-map names.
    """
    values = frame.set_index("adcode")[value].astype(float)
    names = frame.set_index("adcode")[name]
    finite = values[np.isfinite(values)]
    lo, hi = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    fig = go.Figure()
    lat_mid = []
    for feature in geojson["features"]:
        adcode = int(feature["properties"]["adcode"])
        xs: list[float | None] = []
        ys: list[float | None] = []
        for ring in _rings(feature["geometry"]):
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
        lat_mid += [y for y in ys if y is not None][:1]
        v = values.get(adcode, np.nan)
        colour = "#e9ecef" if not np.isfinite(v) else \
            sample_colorscale(colorscale, [(v - lo) / span])[0]
        text = f"{names.get(adcode, adcode)}: " + ("—" if not np.isfinite(v)
                                                    else format(v, number_format))
        fig.add_scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour,
                        line={"color": "#444444", "width": 0.8}, hoveron="fills",
                        hoverinfo="text", text=text, name=text, showlegend=False)
    # an invisible point carries the colour bar
    fig.add_scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                    marker={"color": [lo, hi], "colorscale": colorscale, "cmin": lo,
                            "cmax": hi, "showscale": True,
                            "colorbar": {"title": {"text": label, "side": "top"},
                                         "thickness": 14, "len": 0.8}})
    for adcode, (lon, lat, share) in (label_points or {}).items():
        if share >= LABEL_MIN_SHARE and short_names:
            v = values.get(adcode, np.nan)
            dark = np.isfinite(v) and (v - lo) / span > 0.6  # white on the darker fills
            fig.add_annotation(x=lon, y=lat, text=short_names.get(adcode, ""),
                               showarrow=False,
                               font={"size": 11, "color": "#ffffff" if dark else "#222222"})
    ratio = 1 / math.cos(math.radians(float(np.mean(lat_mid)))) if lat_mid else 1.0
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=ratio)
    fig.update_layout(hovermode="closest", dragmode="pan")
    return fig
