"""pydeck layer builders for planning maps: classed H3 hexagons with a legend, facilities
sized by capacity, catchment circles, district outlines, recommended sites.

Everything is offline: ``map_provider=None`` and no map style, so the browser fetches no
tiles; district outlines are drawn as a layer so people can orient. Layers carry only what
the map needs (hex string, colour, two tooltip lines), which keeps a whole city's map under a
few megabytes; details of a clicked object are looked up on the server.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
from pydeck.bindings import json_tools

from analytics.planning import cells as planning_cells
from analytics.settings import settings
from dashboard import layerdocs

#: ColorBrewer sequential schemes (5 classes), colour-blind safe.
PALETTES = {
    "YlOrRd": ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    "Reds": ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"],
    "PuBu": ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"],
}
NO_ACCESS = "#9e9e9e"      # cells that reach no facility
SUPPRESSED = "#d9d9d9"     # cells whose count of people is suppressed (1-9)
FACILITY_RGB = [33, 33, 120]
CATCHMENT_RGB = [37, 99, 235]
UNDERSERVED_RGB = [214, 0, 140]
SITE_RGB = [0, 158, 115]
OUTLINE_RGB = [60, 60, 60]
TOOLTIP = {"html": "<b>{t}</b><br/>{d}<br/>{u}",
           "style": {"backgroundColor": "rgba(255,255,255,0.95)", "color": "#222",
                     "fontSize": "13px", "border": "1px solid #999", "padding": "6px 8px",
                     "fontFamily": "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"}}
#: Above this many cells the citywide map is drawn one resolution coarser (H3 res 8).
MAX_HEXES = planning_cells.MAX_CELLS


def _rgba(hex_colour: str, alpha: int = 200) -> list[int]:
    h = hex_colour.lstrip("#")
    return [int(h[k:k + 2], 16) for k in (0, 2, 4)] + [alpha]


@dataclass(frozen=True)
class Legend:
    title: str
    colours: list[str]
    labels: list[str]
    note: str = ""

    def html(self) -> str:
        rows = "".join(
            f'<div style="display:flex;align-items:center;gap:6px;margin:2px 0">'
            f'<span style="display:inline-block;width:18px;height:12px;background:{c};'
            f'border:1px solid #888"></span><span>{label}</span></div>'
            for c, label in zip(self.colours, self.labels, strict=True))
        note = f'<div style="color:#666;margin-top:4px">{self.note}</div>' if self.note else ""
        return (f'<div class="planning-legend" style="font-size:13px;line-height:1.3">'
                f'<b>{self.title}</b>{rows}{note}</div>')


def _fmt(x: float, decimals: int) -> str:
    return f"{x:,.{decimals}f}"


def nice_number(x: float, digits: int = 2) -> float:
    """``x`` rounded to ``digits`` significant figures (1,234.5 -> 1,200; 0.0456 -> 0.046):
    breaks a planner can quote."""
    if x == 0 or not np.isfinite(x):
        return float(x)
    magnitude = 10.0 ** (math.floor(math.log10(abs(x))) - digits + 1)
    return float(round(x / magnitude) * magnitude)


def _decimals_for(x: float) -> int:
    """Decimals to print a nice number with: none from 10 up, one below, two below 1."""
    x = abs(x)
    return 0 if x >= 10 or x == int(x) else (1 if x >= 1 else 2)


def classify(values: np.ndarray, k: int = 5, decimals: int = 0, open_top: bool = False
             ) -> tuple[np.ndarray, list[str]]:
    """Quantile classes of values: class index per value and legend labels.

    The breaks are NumPy's quantiles (the same as mapclassify's Quantiles, without its
    seconds-long import on the first page load), rounded to ``decimals`` and then to two
    significant figures so the legend can be quoted ("1,200 – 1,800", not
    "1,234.6 – 1,811.2"); equal breaks merge. Every class is closed: the last ends at the
    largest value, never "≥ x" (``open_top`` is accepted for old callers and ignored).
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=int), []
    distinct = np.unique(values)
    k = max(1, min(k, len(distinct)))
    inner = np.quantile(values, np.arange(1, k) / k) if k > 1 else np.zeros(0)
    inner = np.array([nice_number(b) for b in np.round(inner, decimals)])
    inner = np.unique(np.round(inner, decimals))
    top = float(np.round(values.max(), decimals))
    bins = np.append(inner[inner < top], top)
    idx = np.searchsorted(bins, np.round(values, decimals), side="left")
    idx = np.clip(idx, 0, len(bins) - 1)
    step = 10.0 ** -decimals
    labels, lo = [], float(np.round(values.min(), decimals))
    for b in bins:
        labels.append(f"{_fmt(lo, decimals)} – {_fmt(b, decimals)}" if b > lo
                      else _fmt(b, decimals))
        lo = float(b) + step
    return idx, labels


#: Bands of supply against the standard's ratio, as multiples of it.
STANDARD_BANDS = (0.5, 1.0, 2.0)


def standard_classes(values: np.ndarray, standard: float
                     ) -> tuple[np.ndarray, list[str], list[int]]:
    """Classes by the standard's ratio: [0, half of it), [half, it), [it, twice), [twice,
    the largest value]. Returns the class per value, the "a – b" labels (closed; the top
    ends at the largest value) and each class's band (0-3, for the band's words)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=int), [], []
    top = float(values.max())
    cuts = [m * standard for m in STANDARD_BANDS]
    bands = list(range(sum(c < top for c in cuts) + 1))
    edges = [cuts[n] for n in bands[:-1]] + [top]
    idx = np.clip(np.searchsorted(np.array(edges), values, side="right"), 0, len(edges) - 1)
    labels = []
    for n, b in zip(bands, edges, strict=True):
        lo_n = cuts[n - 1] if n > 0 else 0.0
        d = max(_decimals_for(lo_n), _decimals_for(b)) if b < 100 else 0
        labels.append(f"{_fmt(lo_n, d)} – {_fmt(b, d)}")
    return idx, labels, bands


def hex_layer_data(cells: pd.DataFrame, metric: str, labels: dict[str, str],
                   max_hexes: int = MAX_HEXES, release=None,
                   standard_per_1000: float | None = None) -> tuple[pd.DataFrame, Legend, int]:
    """The hexagon layer's rows (``h3, c, t, d``), its legend and the H3 resolution drawn.

    ``metric``: persons | density | access | unmet. ``labels`` holds the UI strings
    (``tip_persons`` with ``{n}``, ``persons_unit``, ``density_unit``, ``access_unit``, ``unmet_unit``,
    ``no_access``, ``in_reach``, ``legend_<metric>``, ``res8_note``, ``suppressed``).

    ``release`` (a function of the frame) applies disclosure control to the counts shown,
    after any aggregation: counts come back rounded, blank where suppressed, and such
    hexagons are drawn grey and say so in their tooltip.

    ``band_0`` to
    ``band_3`` name the standard's bands). With ``standard_per_1000`` the access classes are
    the standard's bands (:func:`standard_classes`), else quantiles; grey cells reach no
    facility, and the legend and their tooltip say so.
    """
    cols = ["h3", "persons", "access_per_1000", "unmet", "facilities_in_reach", "covered"]
    frame, res = planning_cells.for_display(
        cells[cols + [c for c in ("cell", "parts") if c in cells]], max_hexes)
    if release is not None:
        frame = release(frame)
    frame = frame.assign(persons=frame["persons"].astype("float64"),
                         unmet=frame["unmet"].astype("float64"))
    area = h3.average_hexagon_area(res, unit="km^2")
    frame = frame.assign(density=frame["persons"] / area)
    value = {"persons": frame["persons"], "density": frame["density"],
             "access": frame["access_per_1000"], "unmet": frame["unmet"]}[metric].to_numpy(float)
    shown = ~np.isnan(value)
    colours = np.empty(len(frame), dtype=object)
    if metric == "access":
        positive = value > 0
        if standard_per_1000:
            idx, legend_labels, bands = standard_classes(value[positive], standard_per_1000)
            legend_labels = [f"{lab} · {labels[f'band_{b}']}" if f"band_{b}" in labels else lab
                             for lab, b in zip(legend_labels, bands, strict=True)]
            palette = [PALETTES["PuBu"][1:][b] for b in bands]
        else:
            idx, legend_labels = classify(value[positive], decimals=1)
            palette = PALETTES["PuBu"][-len(legend_labels):] if legend_labels else []
        colours[~positive] = NO_ACCESS
        colours[positive] = np.array(palette, dtype=object)[idx] if len(idx) else []
        legend = Legend(labels["legend_access"], [NO_ACCESS, *palette],
                        [labels["no_access"], *legend_labels])
    else:
        decimals = 0
        idx, legend_labels = classify(value[shown], decimals=decimals)
        scheme = "Reds" if metric == "unmet" else "YlOrRd"
        palette = PALETTES[scheme][-len(legend_labels):] if legend_labels else []
        colours[shown] = np.array(palette, dtype=object)[idx] if len(idx) else []
        colours[~shown] = SUPPRESSED
        if (~shown).any():
            legend = Legend(labels[f"legend_{metric}"], [*palette, SUPPRESSED],
                            [*legend_labels, labels.get("suppressed", "1-9")])
        else:
            legend = Legend(labels[f"legend_{metric}"], palette, legend_labels)
    if res == 8:
        legend = Legend(legend.title, legend.colours, legend.labels, labels["res8_note"])
    rgba = {c: _rgba(c, 190) for c in set(colours)}
    out = pd.DataFrame({"h3": frame["h3"].to_numpy()})
    frame = frame.reset_index(drop=True)
    out["c"] = [rgba[c] for c in colours]
    suppressed = labels.get("suppressed", "1-9")

    def count(series: pd.Series) -> pd.Series:
        return series.map(lambda v: suppressed if pd.isna(v) else f"{int(round(v)):,}")

    persons = count(frame["persons"])
    before, _, after = labels["tip_persons"].partition("{n}")
    out["t"] = (before + persons + after).to_numpy()
    access = frame["access_per_1000"].map("{:,.1f}".format)
    unmet = count(frame["unmet"])
    reach = np.where(frame["facilities_in_reach"] > 0,
                     labels["in_reach"] + " · " + access + " " + labels["access_unit"],
                     labels["no_access"])
    out["d"] = reach
    # A cell that reaches no facility has all its residents unmet, as its second line says:
    # its third line stays empty rather than repeat the first line's figure. Most of a
    # city's cells reach none, and the browser parses every character of the map's JSON
    # (a seventh of a whole city's map was this repetition).
    out["u"] = np.where(frame["facilities_in_reach"] > 0,
                        labels["unmet_label"] + " " + unmet + " " + labels["persons_unit"], "")
    out["e"] = np.nan_to_num(value) if metric in ("persons", "density", "unmet") else 0.0
    return out, legend, res


def rows_id(base: str, keys) -> str:
    """A layer id that names the rows it draws: ``base`` and a digest of ``keys`` (each row's
    identity, in order).

    The map keeps one chart across changes of view; a click's selection is kept by the
    browser as (layer id, row index). A layer whose rows differ gets another id, so a
    selection made on other rows is dropped rather than moved onto whatever row now has its
    index; the same rows keep their id and their selection."""
    digest = hashlib.blake2b("\n".join(map(str, keys)).encode("utf-8"), digest_size=5)
    return f"{base}-{digest.hexdigest()}"


def base_id(layer_id: str) -> str:
    """The kind of a layer id made by :func:`rows_id` (``cells-1a2b3c4d5e`` -> ``cells``)."""
    head, _, tail = layer_id.rpartition("-")
    return head if head and len(tail) == 10 else layer_id


#: H3 layers are drawn as polygons (deck.gl's ``highPrecision``). Drawn the other way (one
#: hexagon's shape repeated), deck.gl works the shape out again whenever the view moves and
#: draws the map a second time after each change of area; as polygons, a change of view
#: moves what is drawn and nothing is worked out again.
H3_HIGH_PRECISION = True


def hex_layer(data: pd.DataFrame, extruded: bool = False, layer_id: str = "cells",
              high_precision: bool = H3_HIGH_PRECISION) -> pdk.Layer:
    """Classed hexagons (``data`` from :func:`hex_layer_data`). ``high_precision=False``
    suits a map whose view never changes between answers (the site recommendation): a new
    answer then updates the repeated shape's colours without working out polygons again."""
    elevation = float(np.nanmax(data["e"])) if extruded and len(data) else 0
    if not extruded:
        data = data.drop(columns=["e"], errors="ignore")
    return frame_layer(
        "H3HexagonLayer", data, id=rows_id(layer_id, data["h3"]), get_hexagon="h3",
        get_fill_color="c", pickable=True, auto_highlight=True, stroked=False, filled=True,
        extruded=extruded, get_elevation="e" if extruded else 0,
        elevation_scale=(3000.0 / elevation) if elevation > 0 else 1, opacity=0.85,
        high_precision=high_precision)


def facility_layer_data(fac: pd.DataFrame, type_name: str, unit_label: str,
                        labels: dict[str, str]) -> pd.DataFrame:
    """Facility points: ``facility_id, lon, lat, r`` (metres, by capacity), ``t, d``."""
    if fac.empty:
        return pd.DataFrame(columns=["facility_id", "lon", "lat", "r", "t", "d", "u"])
    cap = fac["capacity"].astype(float)
    out = pd.DataFrame({"facility_id": fac["facility_id"].to_numpy(),
                        "lon": fac["lon"].round(6).to_numpy(), "lat": fac["lat"].round(6).to_numpy(),
                        "r": (20 + 2.5 * np.sqrt(cap.clip(lower=0))).round(1).to_numpy()})
    out["t"] = fac["name"].astype(str).to_numpy()
    capacity = np.where(cap > 0, labels["capacity"] + " " + cap.astype("int64").map("{:,}".format)
                        + " " + unit_label, labels["capacity_uncounted"])
    opened = labels["opened"] + " " + fac["opened_year"].astype(int).astype(str)
    occ = fac["occupancy_rate"]
    util = np.where(occ.notna(), " · " + labels["utilisation"] + " " +
                    (100 * occ.fillna(0)).round().astype(int).astype(str) + "%", "")
    out["d"] = (type_name + " · " + pd.Series(capacity)).to_numpy()
    out["u"] = (opened.reset_index(drop=True) + pd.Series(util)).to_numpy()
    if "source" in fac and "source_synthetic" in labels:
        # a synthetic point is never taken for a register's: each tooltip says which it is
        src = fac["source"].fillna("").astype(str).reset_index(drop=True)
        said = np.where(src == "synthetic", labels["source_synthetic"],
                        labels["source_register"] + " " + src)
        out["u"] = out["u"] + " · " + said
    return out


def facility_layer(data: pd.DataFrame, layer_id: str = "facilities") -> pdk.Layer:
    return frame_layer(
        "ScatterplotLayer", data, id=rows_id(layer_id, data["facility_id"]),
        get_position=["lon", "lat"],
        get_radius="r", radius_units="'meters'", radius_min_pixels=2.5, radius_max_pixels=10,
        get_fill_color=FACILITY_RGB + [230], get_line_color=[255, 255, 255, 255],
        stroked=True, line_width_min_pixels=1, pickable=True, auto_highlight=True)


def catchment_layer(points: pd.DataFrame, radius_m: float, rgb=CATCHMENT_RGB,
                    layer_id: str = "catchments") -> pdk.Layer:
    """Circles of the service radius around each point (not pickable: clicks pass through)."""
    data = points[["lon", "lat"]].round(6)
    return frame_layer(
        "ScatterplotLayer", data, id=layer_id, get_position=["lon", "lat"],
        get_radius=float(radius_m), radius_units="'meters'", filled=True, stroked=True,
        get_fill_color=list(rgb) + [22], get_line_color=list(rgb) + [150],
        line_width_min_pixels=1, pickable=False)


#: The finest outlines drawn (degrees, about 40 m): a district seen whole needs no finer.
FINEST_OUTLINE_DEG = 0.0004


def outline_tolerance(view: pdk.ViewState) -> float:
    """Degrees by which outlines may be simplified for ``view``: half a pixel at its zoom
    (rounded down to a whole level, so the views of a city share a few outlines), in both
    directions at its latitude (web Mercator stretches a degree of latitude by 1 / cos), and
    never finer than :data:`FINEST_OUTLINE_DEG`.

    Every vertex of an outline costs the map in each frame it draws: in a browser without a
    GPU (software WebGL), the city's outlines at 40 m (5,201 vertices) took about 0.2 s of
    every frame of the planning map, more than its 11,000 hexagons.

    >>> round(outline_tolerance(pdk.ViewState(longitude=120.0, latitude=30.0, zoom=7.3)), 7)
    0.0023786
    >>> outline_tolerance(pdk.ViewState(longitude=120.0, latitude=30.0, zoom=11.2))
    0.0004
    """
    deg_per_px = 360.0 / (512.0 * 2.0 ** math.floor(view.zoom))
    return max(0.5 * deg_per_px * math.cos(math.radians(view.latitude)), FINEST_OUTLINE_DEG)


def district_paths(districts: pd.DataFrame, tolerance_deg: float = FINEST_OUTLINE_DEG
                   ) -> pd.DataFrame:
    """District outlines as simplified rings: ``adcode, name, path`` (lon/lat lists), each
    within ``tolerance_deg`` of the boundary (see :func:`outline_tolerance`)."""
    rows = []
    for row in districts.itertuples():
        geom = shapely.from_wkb(bytes(row.geometry)).simplify(tolerance_deg)
        polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
        for poly in polys:
            if poly.geom_type != "Polygon" or poly.is_empty:
                continue
            ring = np.round(np.asarray(poly.exterior.coords)[:, :2], 5).tolist()
            rows.append({"adcode": int(row.adcode), "t": row.name, "d": row.name_en,
                         "path": ring})
    return pd.DataFrame(rows, columns=["adcode", "t", "d", "path"])


def district_layers(paths: pd.DataFrame, highlight: int | None = None,
                    layer_id: str = "districts") -> list[pdk.Layer]:
    """Every district's outline, and the chosen district's (``highlight``) drawn thicker
    over it as a layer of its own (``<layer_id>_highlight``).

    The outlines' rows are the same whatever the view, so sent by URL they keep their URL:
    the browser fetches and lays them out once, and a change of district sends only the
    chosen one's outline."""
    colour = [OUTLINE_RGB + [230]]
    outlines = frame_layer("PathLayer", paths.assign(c=colour * len(paths)), id=layer_id,
                      get_path="path", get_width=1.6, width_units="'pixels'", get_color="c",
                      pickable=False)
    outlines._by_url = True   # the same rows in every view: fetched once, whatever their size
    layers = [outlines]
    chosen = paths[paths["adcode"] == highlight]
    if highlight is not None and len(chosen):
        layers.append(frame_layer("PathLayer", chosen.assign(c=colour * len(chosen)),
                             id=f"{layer_id}_highlight", get_path="path", get_width=3.5,
                             width_units="'pixels'", get_color="c", pickable=False))
    return layers


def underserved_layer(h3_cells: list[str], layer_id: str = "underserved") -> pdk.Layer:
    data = pd.DataFrame({"h3": h3_cells})
    return frame_layer("H3HexagonLayer", data, id=layer_id, get_hexagon="h3", filled=False,
                  stroked=True, get_line_color=UNDERSERVED_RGB + [255],
                  line_width_min_pixels=2.5, pickable=False, extruded=False,
                  high_precision=H3_HIGH_PRECISION)


def sites_layer(sites: pd.DataFrame, labels: dict[str, str], layer_id: str = "sites"
                ) -> list[pdk.Layer]:
    """Recommended sites: a marked point with its rank number."""
    data = pd.DataFrame({"site_id": sites["site_id"].astype(str).to_numpy(),
                         "lon": sites["lon"].round(6).to_numpy(),
                         "lat": sites["lat"].round(6).to_numpy(),
                         "n": sites["order"].astype(str).to_numpy()})
    data["t"] = labels["site"] + " " + data["n"] + " · " + sites["name"].astype(str).to_numpy()
    data["d"] = (labels["gain"] + " " + sites["gain"].round().astype("int64").map(
        "{:,}".format).to_numpy() + " " + labels["persons_unit"])
    data["u"] = sites["site_id"].astype(str).to_numpy()
    points = frame_layer("ScatterplotLayer", data, id=layer_id, get_position=["lon", "lat"],
                       get_radius=60, radius_units="'meters'", radius_min_pixels=7,
                       get_fill_color=SITE_RGB + [255], get_line_color=[0, 0, 0, 255],
                       stroked=True, line_width_min_pixels=2, pickable=True)
    text = frame_layer("TextLayer", data, id=f"{layer_id}_labels",
                     get_position=["lon", "lat"], get_text="n", get_size=13,
                     get_color=[255, 255, 255, 255], get_alignment_baseline="'center'",
                     font_weight=700, pickable=False)
    return [points, text]


def view_for_bounds(min_lon: float, min_lat: float, max_lon: float, max_lat: float,
                    width_px: int = 820, height_px: int = 520) -> pdk.ViewState:
    """A view that fits a bounding box (web-Mercator zoom arithmetic), never closer than
    about 3 km across."""
    lon_span = max(max_lon - min_lon, 0.03)
    lat_mid = (min_lat + max_lat) / 2
    lat_span = max(max_lat - min_lat, 0.03) / math.cos(math.radians(lat_mid))
    # deck.gl's web-Mercator world is 512 px wide at zoom 0
    zoom = min(math.log2(width_px * 360 / (512 * lon_span)),
               math.log2(height_px * 360 / (512 * lat_span)))
    return pdk.ViewState(longitude=round((min_lon + max_lon) / 2, 5),
                         latitude=round(lat_mid, 5), zoom=round(max(zoom - 0.1, 3), 2),
                         pitch=0, bearing=0)


def view_for_area(districts: pd.DataFrame, district: int | None = None, pad_deg: float = 0.0
                  ) -> pdk.ViewState:
    """The view that fits the chosen district's outline (``district``), or the whole city's
    (every row of ``districts``, a frame with ``adcode`` and WKB ``geometry``), widened by
    ``pad_deg``.

    It depends on the area alone: switching the facility type, group or measure keeps the
    view, so the browser only redraws the layers; the map moves when the area changes."""
    rows = districts if district is None else districts[districts["adcode"] == district]
    if rows.empty:
        rows = districts
    bounds = np.array([shapely.from_wkb(bytes(g)).bounds for g in rows["geometry"]])
    return view_for_bounds(bounds[:, 0].min() - pad_deg, bounds[:, 1].min() - pad_deg,
                           bounds[:, 2].max() + pad_deg, bounds[:, 3].max() + pad_deg)


#: Decimals kept in a map's JSON: 1e-6 degree is about 0.1 m, far below a cell's 175 m.
JSON_DECIMALS = 6


def frame_layer(kind: str, data, **kwargs) -> pdk.Layer:
    """A pydeck layer that keeps its frame as a frame (pydeck would turn it into a Python
    dict per row at once); :class:`CompactDeck` writes it with pandas' C encoder."""
    layer = pdk.Layer(kind, data=None, **kwargs)
    layer._data = data
    return layer


class CompactDeck(pdk.Deck):
    """A deck whose JSON has no indentation, keeps Chinese as UTF-8, and writes its layers'
    frames with pandas' encoder (rounded to ``JSON_DECIMALS``).

    pydeck indents its JSON by two spaces per level, which more than doubles what a map of
    tens of thousands of hexagons sends to the browser, and builds a dict per row first; the
    content is the same.
    """

    def encode(self) -> tuple[str, dict[str, str]]:
        """The deck's JSON with each layer's frame left out, and the frames' JSON: the JSON
        string ``"__frame_<n>__"`` stands where layer ``n``'s rows go."""
        frames = {}
        # a mark of ours on a layer (see prepare), not one of deck.gl's properties
        marked = [layer for layer in self.layers if layer.__dict__.pop("_by_url", False)]
        for n, layer in enumerate(self.layers):
            data = getattr(layer, "_data", None)
            if isinstance(data, pd.DataFrame):
                frames[f"__frame_{n}__"] = data
                layer._data = f"__frame_{n}__"
        try:
            spec = json.dumps(self, sort_keys=True, default=json_tools.default_serialize,
                              separators=(",", ":"), ensure_ascii=False)
        finally:
            for n, layer in enumerate(self.layers):
                if f"__frame_{n}__" in frames:
                    layer._data = frames[f"__frame_{n}__"]
            for layer in marked:
                layer._by_url = True
        return spec, {marker: frame.to_json(orient="records", double_precision=JSON_DECIMALS,
                                            force_ascii=False)
                      for marker, frame in frames.items()}

    def to_json(self) -> str:
        spec, rows = self.encode()
        return _fill(spec, rows)


def _fill(spec: str, rows: dict[str, str]) -> str:
    """``spec`` with each marker's JSON string replaced by its rows (or a URL, quoted)."""
    for marker, text in rows.items():
        spec = spec.replace(json.dumps(marker), text, 1)
    return spec


def deck(layers: list[pdk.Layer], view: pdk.ViewState, pitch: float = 0,
         basemap_style: str | None = None) -> pdk.Deck:
    """An offline deck: no basemap provider, no map style, no outside request.

    ``basemap_style`` (default: the ``CITYBRAIN_BASEMAP_STYLE`` setting, off unless set) is a
    MapLibre style JSON on the city's own tile server, drawn under the layers.
    """
    view.pitch = pitch
    style = basemap_style if basemap_style is not None else settings().basemap_style
    if style:
        return CompactDeck(layers=layers, initial_view_state=view, map_provider="carto",
                           map_style=style, tooltip=TOOLTIP)
    return CompactDeck(layers=layers, initial_view_state=view, map_provider=None,
                       tooltip=TOOLTIP)


#: A layer whose rows' JSON is at least this long is sent by URL where the dashboard's
#: server serves it (:mod:`dashboard.layerdocs`); smaller ones stay in the map's JSON (as do
#: a district's hexagons, half a megabyte), unless their rows are the same in every view
#: (the district outlines). The map's JSON is parsed at about 10 ms per 100 kB in the
#: browser (JSON5, headless Chromium), while a layer of new rows by URL arrives after the
#: map has been drawn without it, so the map is drawn once more (a tenth of a second or more
#: where it is drawn in software); a whole city's hexagons (1-2 MB) are worth it.
BY_URL_BYTES = 600_000


class PreparedDeck:
    """A deck already turned into its JSON (see :func:`prepare`), for ``st.pydeck_chart``.

    A map of tens of thousands of hexagons takes a noticeable part of a second to turn into
    JSON through pydeck (a Python dict per row); a prepared deck is made once per view and
    cached, and reruns that show the same view send the same text.

    Its big layers' rows (``documents``: marker -> (token, JSON bytes)) go by URL where the
    dashboard's server serves them (:mod:`dashboard.layerdocs`): the text sent is then the
    view, the layers' properties and the rows' URLs, and every sending puts the rows back
    among the served documents. Elsewhere (Streamlit's AppTest, a plain ``streamlit run``)
    the rows are in the text, as pydeck would write them.
    """

    layers: list = []       # nothing left for Streamlit to convert

    def __init__(self, spec: str, tooltip: dict | None, layer_ids: dict[str, str] | None = None,
                 documents: dict[str, tuple[str, bytes]] | None = None):
        self._json, self._tooltip = spec, tooltip
        self._documents = dict(documents or {})
        #: the kind of each layer (``cells``, ``facilities``...) -> its id in this deck
        self.layer_ids = dict(layer_ids or {})

    def picked(self, objects: dict, kind: str) -> list:
        """The objects of a map click's selection (``objects``: layer id -> rows) on this
        deck's layer of ``kind``; a selection on a layer this deck no longer draws (rows of
        another view, still held by the browser when the view changed) is none."""
        return list(objects.get(self.layer_ids.get(kind, kind)) or [])

    def to_json(self) -> str:
        """The text for the browser: with the big layers' URLs where they are served (and
        their documents held from now), else with their rows."""
        if not self._documents:
            return self._json
        if layerdocs.serving():
            for tok, body in self._documents.values():
                layerdocs.keep(tok, body)
            return _fill(self._json, {m: json.dumps(layerdocs.url(tok))
                                      for m, (tok, _) in self._documents.items()})
        return self.inline_json()

    def inline_json(self) -> str:
        """The text with every layer's rows in it (what pydeck would send)."""
        return _fill(self._json, {m: body.decode("utf-8")
                                  for m, (_, body) in self._documents.items()})


def prepare(d: pdk.Deck, by_url_bytes: int | None = None) -> PreparedDeck:
    """``d``'s JSON, made once: what a cached view hands to ``st.pydeck_chart``. Layers whose
    rows' JSON is ``by_url_bytes`` (default :data:`BY_URL_BYTES`) or longer, and layers
    marked ``_by_url`` (rows that never change), are kept apart, to go by URL when served."""
    by_url_bytes = BY_URL_BYTES if by_url_bytes is None else by_url_bytes
    ids = {base_id(layer.id): layer.id for layer in d.layers}
    if not isinstance(d, CompactDeck):
        return PreparedDeck(d.to_json(), getattr(d, "_tooltip", None), ids)
    spec, rows = d.encode()
    kept = {f"__frame_{n}__" for n, layer in enumerate(d.layers)
            if getattr(layer, "_by_url", False)}
    inline = {m: text for m, text in rows.items()
              if len(text) < by_url_bytes and m not in kept}
    documents = {}
    for marker, text in rows.items():
        if marker not in inline:
            body = text.encode("utf-8")
            documents[marker] = (layerdocs.token(body), body)
    return PreparedDeck(_fill(spec, inline), getattr(d, "_tooltip", None), ids, documents)


def payload_bytes(d: pdk.Deck) -> int:
    """Size of the map's JSON with every layer's rows in it (what the browser receives
    inline; served, the big layers' rows come by URL instead)."""
    return len(d.to_json().encode("utf-8"))


def layer_rows(layer: dict) -> list:
    """A layer's rows from a map's JSON (a layer of ``json.loads(deck.to_json())["layers"]``):
    its ``data`` as it stands, or, for a URL of :mod:`dashboard.layerdocs`, the rows of the
    document this process serves under it (what the browser fetches)."""
    data = layer.get("data", [])
    if isinstance(data, str):
        body = layerdocs.rows_bytes(data)
        if body is None:
            raise KeyError(f"no served document at {data!r}")
        return json.loads(body)
    return data


def resolved(spec: dict) -> dict:
    """A map's JSON (parsed) with each layer's URL replaced by its rows (:func:`layer_rows`)."""
    return {**spec, "layers": [{**layer, "data": layer_rows(layer)}
                               for layer in spec.get("layers", [])]}


def deck_summary(d: pdk.Deck) -> dict[str, int]:
    """Layer id -> number of rows, for tests and the page's caption."""
    spec = json.loads(d.to_json())
    return {layer["id"]: len(layer_rows(layer)) for layer in spec["layers"]}
