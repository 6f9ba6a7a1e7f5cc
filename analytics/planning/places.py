"""Names for places: where a proposed site or a grid cell is, in words a planner can say.

A point is described by its district, the sub-district (街道 / 镇) and community (社区 /
村) of the nearest named facility, that facility's name and distance, and its coordinates:
"西湖区 明潮街道, 120 m from 西湖区明潮街道养老院, 30.2512° N 120.1523° E". Districts come
from the nearest populated cell, and the sub-district from the nearest facility of that same
district whose name gives one; facilities are found with KD-trees on the same local
projection the accessibility code uses. Nothing is formatted here: the columns are
words and numbers, the dashboard composes the sentence in the page language.

>>> split_place("西湖区明潮街道第二居家养老服务照料中心", "西湖区")
('明潮街道', '')
>>> split_place("建德市宁信镇富石村居家养老服务照料中心", "建德市")
('宁信镇', '富石村')
>>> place_english("宁信镇", "富石村")
'Fushi Village, Ningxin Town'

Every name also has its English form (:func:`analytics.placenames.romanise`): the nearest
facility's is ``landmark_en`` ("Xihu District Mingchao Subdistrict No. 2 Home-based Elderly
Day-care Centre"), so English pages can give the name in both forms.
"""

from __future__ import annotations

import re
import threading
import weakref

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from analytics.placenames import romanise
from analytics.planning.accessibility import project
from analytics.standards import FACILITY_TYPES
from analytics.store import Store

_PLACE = re.compile(r"^(?P<sub>..+?(?:街道|镇|乡))(?P<com>[^第]+?(?:社区|村))?")

COLUMNS = ["lon", "lat", "district_adcode", "district", "district_en", "subdistrict",
           "community", "place_en", "landmark", "landmark_en", "landmark_type", "landmark_type_zh",
           "landmark_type_en", "distance_m"]


def split_place(name: str, district: str) -> tuple[str, str]:
    """``(sub-district, community)`` named in a facility's name (either may be empty)."""
    rest = name[len(district):] if district and name.startswith(district) else name
    m = _PLACE.match(rest)
    if not m:
        return "", ""
    return m.group("sub") or "", m.group("com") or ""


def place_english(subdistrict: str, community: str) -> str:
    """``富石村, 宁信镇`` -> ``Fushi Village, Ningxin Town`` (smallest first, as addresses)."""
    return ", ".join(w for w in (romanise(community), romanise(subdistrict)) if w)


def locate(store: Store, lon, lat, year: int | None = None) -> pd.DataFrame:
    """A human-readable location for each point (WGS-84 ``lon``, ``lat`` arrays).

    ``year`` keeps the landmarks to the facilities open in that year (a closed one names
    nothing a visitor would find).

    Columns :data:`COLUMNS`: the district (from the nearest populated cell), the sub-district
    and community named by the nearest facility of that district whose name gives them, and
    the nearest facility's name (and its English form), type and distance in metres.
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    out = pd.DataFrame({"lon": lon, "lat": lat})
    if len(out) == 0:
        return pd.DataFrame(columns=COLUMNS)
    cells, marks, names = _references(store, year)
    origin = (float(np.median(lon)), float(np.median(lat)))
    pts = project(lon, lat, origin)
    if len(cells):
        _, ci = cKDTree(project(cells["lon"], cells["lat"], origin)).query(pts)
        out["district_adcode"] = cells["district_adcode"].to_numpy()[ci].astype("int64")
    else:
        out["district_adcode"] = 0
    out["district"] = out["district_adcode"].map(names["name"]).fillna("")
    out["district_en"] = out["district_adcode"].map(names["name_en"]).fillna("")
    if len(marks):
        dist, mi = cKDTree(project(marks["lon"], marks["lat"], origin)).query(pts)
        near = marks.iloc[mi].reset_index(drop=True)
        for col, src in (("landmark", "name"), ("landmark_type", "type"),
                         ("landmark_type_zh", "type_zh"), ("landmark_type_en", "type_en")):
            out[col] = near[src].to_numpy()
        # romanised for the points asked about only (a few sites, not thousands of names)
        out["landmark_en"] = [romanise(n) for n in out["landmark"]]
        out["distance_m"] = np.round(dist).astype("int64")
        _name_places(out, pts, marks, origin)
    else:
        for col in ("landmark", "landmark_en", "landmark_type", "subdistrict", "community", "place_en",
                    "landmark_type_zh", "landmark_type_en"):
            out[col] = ""
        out["distance_m"] = 0
    return out[COLUMNS]


#: What :func:`locate` reads and works out once per store, data vintage and year: the
#: populated cells, the landmarks with the sub-district and community their names give (a
#: few thousand names split) and the district names. A site recommendation asks for them on
#: every answer; only the names of the landmarks it picks are romanised.
_REFERENCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_REFERENCES_LOCK = threading.Lock()


def _references(store: Store, year: int | None
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(cells, landmarks, district names)`` for ``locate``, kept per store and vintage."""
    key = (store.vintage(), None if year is None else int(year))
    with _REFERENCES_LOCK:
        kept = _REFERENCES.setdefault(store, {})
        if key in kept:
            return kept[key]
    cells = store.query("planning.cell_points")
    marks = store.query("planning.landmarks", year=key[1])
    names = store.query("planning.district_names").set_index("adcode")
    if len(marks):
        # describe each landmark once (a few thousand), then index by the nearest one
        mark_district = marks["district_adcode"].map(names["name"]).fillna("")
        parts = [split_place(n, d) for n, d in zip(marks["name"], mark_district, strict=True)]
        marks = marks.assign(
            subdistrict=[p[0] for p in parts], community=[p[1] for p in parts],
            type_zh=[FACILITY_TYPES[t].name_zh if t in FACILITY_TYPES else ""
                     for t in marks["type"]],
            type_en=[FACILITY_TYPES[t].name_en if t in FACILITY_TYPES else ""
                     for t in marks["type"]])
    with _REFERENCES_LOCK:
        kept = _REFERENCES.setdefault(store, {})
        if len(kept) >= 8:  # years asked of one vintage; an old vintage is never asked again
            kept.clear()
        kept[key] = (cells, marks, names)
    return cells, marks, names


def prepare(store: Store, year: int | None = None) -> None:
    """Read and describe what :func:`locate` needs for ``year`` now (a server warming up),
    so the first site named does not wait for it."""
    _references(store, year)


def _name_places(out: pd.DataFrame, pts: np.ndarray, marks: pd.DataFrame,
                 origin: tuple[float, float]) -> None:
    """Fill ``subdistrict, community, place_en`` of each point from the nearest facility
    *of the point's own district* whose name says its sub-district. The nearest facility
    overall may stand across a district line, and its sub-district would then contradict the
    district named beside it ("上城区 东山街道" for a 拱墅区 street)."""
    for col in ("subdistrict", "community"):
        out[col] = ""
    named = marks[marks["subdistrict"] != ""]
    for adcode, rows in out.groupby("district_adcode").indices.items():
        pool = named[named["district_adcode"] == adcode]
        if pool.empty:
            continue
        _, j = cKDTree(project(pool["lon"], pool["lat"], origin)).query(pts[rows])
        chosen = pool.iloc[np.atleast_1d(j)]
        for col in ("subdistrict", "community"):
            out.loc[out.index[rows], col] = chosen[col].to_numpy()
    out["place_en"] = [place_english(sub, com)
                       for sub, com in zip(out["subdistrict"], out["community"], strict=True)]


__all__ = ["COLUMNS", "locate", "place_english", "prepare", "split_place"]
