"""The district choropleth, drawn from the store's own boundaries on a blank background
(no map tiles, no outside request)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def _view(geojson: dict) -> tuple[dict, float]:
    """Centre and zoom that fit the districts (web-mercator zoom from the larger extent)."""
    xs, ys = [], []

    def walk(coords):
        if isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for feature in geojson["features"]:
        walk(feature["geometry"]["coordinates"])
    lon0, lon1, lat0, lat1 = min(xs), max(xs), min(ys), max(ys)
    span = max(lon1 - lon0, (lat1 - lat0) * 1.3, 1e-3)
    zoom = max(1.0, min(12.0, math.log2(360 / span) - 0.6))
    return {"lon": (lon0 + lon1) / 2, "lat": (lat0 + lat1) / 2}, zoom


def district_map(frame: pd.DataFrame, geojson: dict, value: str, name: str,
                 colorscale: str, label: str, hover_fmt: str) -> go.Figure:
    """``frame`` has ``adcode``, ``name`` and the ``value`` column; one colour per district."""
    centre, zoom = _view(geojson)
    fig = px.choropleth_map(frame, geojson=geojson, locations="adcode",
                            featureidkey="properties.adcode", color=value,
                            color_continuous_scale=colorscale, map_style="white-bg",
                            center=centre, zoom=zoom, opacity=0.85,
                            hover_name=name, hover_data={value: hover_fmt, "adcode": False})
    fig.update_traces(marker_line_color="#333333", marker_line_width=1.2)
    fig.update_layout(coloraxis_colorbar={"title": {"text": label, "side": "right"},
                                          "thickness": 14})
    return fig
