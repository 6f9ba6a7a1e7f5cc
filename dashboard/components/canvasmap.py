"""Flat maps drawn on a 2D canvas: the planning map's hexagons, points, outlines and labels
without WebGL.

The maps' layers are built once, as pydeck layers (:mod:`dashboard.maps`), and drawn two
ways. A flat map (the usual view) is drawn here, by the browser's 2D canvas; the 3D view
(extruded hexagons) is drawn by deck.gl through ``st.pydeck_chart``.

Why a canvas of our own rather than deck.gl for the flat map: deck.gl draws through WebGL,
and a browser without a GPU (a virtual desktop, a locked-down office PC, a server with no
graphics card: what many planners have) runs WebGL in software. There a whole city's
11,000 hexagons cost deck.gl 0.7-0.9 s per frame when it first draws them, and a planning
map page took 3-4 s to appear; the same page without the map took under a second. A 2D
canvas fills the same hexagons on the CPU in a few milliseconds. Map libraries that draw on
a 2D canvas (Leaflet, OpenLayers) are not shipped by any package we install and would be a
third-party script to vendor and keep, for a small part of what they do (no tiles, no
projections other than web Mercator): the drawing here is one short script
(``canvasmap.js``), written for these layers.

The map's spec (:func:`spec`) is plain JSON: the view (deck.gl's: ``longitude``,
``latitude``, ``zoom`` with a 512-pixel world at zoom 0, so the two renderers frame an area
the same way), and per layer its kind (``hexagons``, ``points``, ``paths``, ``labels``),
its style, its geometry in web-Mercator metres and its rows' properties column by column
(what a tooltip says and what a click returns). Hexagon corners are worked out here with
H3 (``cell_to_boundary``): the browser has no H3 library.

>>> import pandas as pd, pydeck as pdk
>>> from dashboard import maps
>>> layer = maps.facility_layer(pd.DataFrame({"facility_id": ["F1"], "lon": [120.0],
...     "lat": [30.0], "r": [25.0], "t": ["A"], "d": ["B"], "u": [""]}))
>>> s = spec([layer], pdk.ViewState(longitude=120.0, latitude=30.0, zoom=10))
>>> s["layers"][0]["kind"], s["layers"][0]["x"], s["layers"][0]["y"]
('points', [13358339], [3503550])
>>> rows(s["layers"][0])
[{'facility_id': 'F1', 'lon': 120.0, 'lat': 30.0, 'r': 25.0, 't': 'A', 'd': 'B', 'u': ''}]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

from dashboard.maps import base_id

#: Earth radius of web Mercator (EPSG:3857), metres.
EARTH_RADIUS_M = 6_378_137.0
#: Properties a tooltip shows, in this order, where a layer's rows have them.
TOOLTIP_FIELDS = ("t", "d", "u")
#: Columns that are geometry or style, not properties a person reads or a click returns.
_GEOMETRY = {"path", "c", "e"}

_JS = (Path(__file__).with_name("canvasmap.js")).read_text(encoding="utf-8")
_CSS = (Path(__file__).with_name("canvasmap.css")).read_text(encoding="utf-8")


def mercator(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Web-Mercator metres of ``lon``, ``lat`` (degrees), rounded to the metre.

    >>> mercator([0.0, 120.0], [0.0, 30.0])
    (array([       0, 13358339]), array([      0, 3503550]))
    """
    lon = np.radians(np.asarray(lon, dtype=float))
    lat = np.radians(np.clip(np.asarray(lat, dtype=float), -85.05113, 85.05113))
    x = EARTH_RADIUS_M * lon
    y = EARTH_RADIUS_M * np.log(np.tan(np.pi / 4 + lat / 2))
    return np.round(x).astype("int64"), np.round(y).astype("int64")


def hexagon_rings(cells) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Each H3 cell's centre (web-Mercator metres) and its corners as offsets from the centre
    (``[dx0, dy0, dx1, dy1, ...]``, metres; six corners, or five for a pentagon).

    >>> x, y, rings = hexagon_rings(["881f1d4811fffff"])
    >>> len(rings[0]), bool(abs(rings[0][0]) < 1000)
    (12, True)
    """
    cells = list(cells)
    if not cells:
        return np.zeros(0, "int64"), np.zeros(0, "int64"), []
    bounds = [h3.cell_to_boundary(c) for c in cells]
    counts = np.array([len(b) for b in bounds])
    corners = np.array([p for b in bounds for p in b])
    vx, vy = mercator(corners[:, 1], corners[:, 0])
    # the centre each ring is drawn from: the mean of its corners (within a metre of the
    # cell's own centre, and one H3 call per cell fewer on a whole city's map)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cx = np.round(np.add.reduceat(vx, starts) / counts).astype("int64")
    cy = np.round(np.add.reduceat(vy, starts) / counts).astype("int64")
    dx, dy = vx - np.repeat(cx, counts), vy - np.repeat(cy, counts)
    flat = np.column_stack([dx, dy]).ravel().tolist()
    ends = np.cumsum(2 * counts).tolist()
    rings = [flat[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    return cx, cy, rings


def _colour(value, frame: pd.DataFrame | None) -> dict | list | None:
    """A layer's colour: a constant ``[r, g, b, a]``, or a column of colours as a palette and
    one index per row (a city's hexagons use a handful of colours)."""
    if value is None:
        return None
    if isinstance(value, str):
        column = frame[value] if frame is not None and value in frame else None
        if column is None:
            return None
        keys = [tuple(int(v) for v in c) for c in column]
        palette = sorted(set(keys))
        index = {c: i for i, c in enumerate(palette)}
        return {"palette": [list(c) for c in palette], "index": [index[k] for k in keys]}
    return [int(v) for v in value]


def _columns(frame: pd.DataFrame, skip: set[str]) -> dict[str, list]:
    out = {}
    for name in frame.columns:
        if name in skip or name in _GEOMETRY:
            continue
        col = frame[name]
        if pd.api.types.is_float_dtype(col):
            out[name] = [None if v != v else float(v) for v in col.tolist()]
        else:
            out[name] = [None if v is None or (isinstance(v, float) and v != v) else v
                         for v in col.tolist()]
    return out


def _unquote(value):
    """pydeck's string constants are quoted JavaScript (``"'meters'"``)."""
    return value.strip("'") if isinstance(value, str) else value


def layer_spec(layer: pdk.Layer) -> dict | None:
    """One pydeck layer of :mod:`dashboard.maps` as the canvas draws it (None for a kind it
    does not draw)."""
    kind = layer.type
    kw = dict(getattr(layer, "_kwargs", {}) or {})
    frame = getattr(layer, "_data", None)
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame if frame is not None else [])
    frame = frame.reset_index(drop=True)
    base = {"id": layer.id, "pickable": bool(kw.get("pickable", False)),
            "opacity": float(kw.get("opacity", 1.0))}
    if kind == "H3HexagonLayer":
        hexes = frame[kw.get("get_hexagon", "h3")].astype(str).tolist() if len(frame) else []
        x, y, rings = hexagon_rings(hexes)
        filled = kw.get("filled", True)
        stroked = kw.get("stroked", False)
        return {**base, "kind": "hexagons", "x": x.tolist(), "y": y.tolist(), "rings": rings,
                "fill": _colour(kw.get("get_fill_color"), frame) if filled else None,
                "line": _colour(kw.get("get_line_color", [0, 0, 0, 255]), frame)
                if stroked else None,
                "lineWidthPx": float(kw.get("line_width_min_pixels", 1)),
                "columns": _columns(frame, set())}
    if kind == "ScatterplotLayer":
        lon_col, lat_col = kw.get("get_position", ["lon", "lat"])
        x, y = mercator(frame[lon_col], frame[lat_col]) if len(frame) else ([], [])
        radius = kw.get("get_radius", 1)
        radius = frame[radius].astype(float).tolist() if isinstance(radius, str) else float(radius)
        return {**base, "kind": "points", "x": list(map(int, x)), "y": list(map(int, y)),
                "radius": radius, "radiusUnits": _unquote(kw.get("radius_units", "meters")),
                "minPx": float(kw.get("radius_min_pixels", 0)),
                "maxPx": float(kw.get("radius_max_pixels", 1e9)),
                "fill": _colour(kw.get("get_fill_color"), frame)
                if kw.get("filled", True) else None,
                "line": _colour(kw.get("get_line_color"), frame)
                if kw.get("stroked", False) else None,
                "lineWidthPx": float(kw.get("line_width_min_pixels", 1)),
                "columns": _columns(frame, set())}
    if kind == "PathLayer":
        paths = []
        for path in frame[kw.get("get_path", "path")] if len(frame) else []:
            pts = np.asarray(path, dtype=float)
            px, py = mercator(pts[:, 0], pts[:, 1])
            paths.append(np.column_stack([px, py]).ravel().tolist())
        # a width in metres (deck.gl's default unit) is drawn at its least width in pixels:
        # the widths in metres on these maps (a few metres) are below a pixel at a city's zoom
        in_pixels = _unquote(kw.get("width_units", "meters")) == "pixels"
        width = float(kw.get("get_width", 1)) if in_pixels else float(
            kw.get("width_min_pixels", 1))
        return {**base, "kind": "paths", "paths": paths,
                "line": _colour(kw.get("get_color", [0, 0, 0, 255]), frame),
                "lineWidthPx": width,
                "columns": _columns(frame, {"path"})}
    if kind == "TextLayer":
        lon_col, lat_col = kw.get("get_position", ["lon", "lat"])
        x, y = mercator(frame[lon_col], frame[lat_col]) if len(frame) else ([], [])
        return {**base, "kind": "labels", "x": list(map(int, x)), "y": list(map(int, y)),
                "text": frame[kw.get("get_text", "t")].astype(str).tolist() if len(frame) else [],
                "sizePx": float(kw.get("get_size", 12)),
                "colour": _colour(kw.get("get_color", [0, 0, 0, 255]), frame),
                "weight": int(kw.get("font_weight", 400)), "columns": {}}
    return None


def spec(layers: list[pdk.Layer], view: pdk.ViewState, label: str = "",
         tooltip: tuple[str, ...] = TOOLTIP_FIELDS) -> dict:
    """The canvas map of ``layers`` framed by ``view`` (see the module's doc); ``label``
    names the map for screen readers; ``tooltip``: the rows' properties a tooltip shows, one
    line each (the first in bold), in this order."""
    return {"view": _view(view), "tooltip": list(tooltip), "label": label,
            "layers": [s for s in (layer_spec(layer) for layer in layers) if s is not None]}


def _view(view: pdk.ViewState) -> dict:
    return {"longitude": float(view.longitude), "latitude": float(view.latitude),
            "zoom": float(view.zoom)}


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class EncodedLayer:
    """A layer already written as the JSON the browser gets (see :func:`encode`)."""

    id: str
    text: str


def encode(layer: pdk.Layer) -> EncodedLayer | None:
    """``layer`` as the canvas draws it, written once: a page that redraws the same big
    layer beside others that change (a whole city's uncovered cells under each new answer's
    sites) caches this and sends the same text again without working it out."""
    found = layer_spec(layer)
    return None if found is None else EncodedLayer(found["id"], _dumps(found))


def rows(layer: dict) -> list[dict]:
    """A drawn layer's rows as dicts (its properties column by column, turned back)."""
    columns = layer.get("columns") or {}
    n = max((len(v) for v in columns.values()), default=0)
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]


class CanvasMap:
    """A map's spec as the JSON text the browser gets (made once per view and cached: a
    rerun of the same view sends the same text, which the browser recognises and does not
    draw again), and the rows a click can choose.

    >>> m = CanvasMap({"view": {}, "layers": [{"id": "facilities-0123456789",
    ...                "columns": {"facility_id": ["F1"]}}]})
    >>> m.picked({"layer": "facilities-0123456789", "index": 0}, "facilities")
    [{'facility_id': 'F1'}]
    >>> m.picked({"layer": "facilities-9999999999", "index": 0}, "facilities")
    []
    """

    def __init__(self, map_spec: dict):
        self.text = _dumps(map_spec)
        #: the kind of each layer (``cells``, ``facilities``...) -> its id in this map
        self.layer_ids = {base_id(layer["id"]): layer["id"] for layer in map_spec["layers"]}

    @classmethod
    def of(cls, layers: list[pdk.Layer | EncodedLayer], view: pdk.ViewState,
           label: str = "", tooltip: tuple[str, ...] = TOOLTIP_FIELDS) -> CanvasMap:
        """The map of ``layers`` (pydeck layers, or layers encoded before) in ``view`` (see
        :func:`spec`)."""
        parts = [layer if isinstance(layer, EncodedLayer) else encode(layer)
                 for layer in layers]
        parts = [p for p in parts if p is not None]
        head = {"view": _view(view), "tooltip": list(tooltip), "label": label}
        made = cls.__new__(cls)
        made.text = _dumps(head)[:-1] + ',"layers":[' + ",".join(p.text for p in parts) + "]}"
        made.layer_ids = {base_id(p.id): p.id for p in parts}
        return made

    @property
    def spec(self) -> dict:
        return json.loads(self.text)

    def picked(self, click, layer_kind: str) -> list[dict]:
        """The row a click chose (``click``: ``{"layer": id, "index": i}``, as the browser
        sends it) if it is on this map's layer of ``layer_kind``; a click on rows the map no
        longer draws (made before the view changed: layer ids name their rows) chooses
        nothing."""
        if not isinstance(click, dict) or self.layer_ids.get(layer_kind) != click.get("layer"):
            return []
        layer = next(x for x in self.spec["layers"] if x["id"] == click["layer"])
        found = rows(layer)
        index = click.get("index")
        return [found[index]] if isinstance(index, int) and 0 <= index < len(found) else []


def build(layers: list[pdk.Layer | EncodedLayer], view: pdk.ViewState,
          label: str = "", tooltip: tuple[str, ...] = TOOLTIP_FIELDS) -> CanvasMap:
    """:func:`spec` of ``layers`` in ``view``, ready to send (a layer may be one encoded
    before, see :func:`encode`)."""
    return CanvasMap.of(layers, view, label, tooltip)


_component = None


def _renderer():
    global _component
    if _component is None:
        # one registration per process: the component's code does not change while it runs
        _component = st.components.v2.component(
            "citybrain.canvas_map", html='<div class="cm-root"></div>', css=_CSS, js=_JS,
            isolate_styles=False)
    return _component


def show(canvas_map: CanvasMap, key: str, height: int = 600):
    """Draw ``canvas_map`` under the Streamlit ``key``; returns the click of this run
    (``{"layer": id, "index": i}``) or None. A click reruns the page (or the fragment it is
    in)."""
    result = _renderer()(data={"spec": canvas_map.text, "heightPx": height}, key=key,
                         height=height, on_select_change=lambda: None)
    return getattr(result, "select", None)
