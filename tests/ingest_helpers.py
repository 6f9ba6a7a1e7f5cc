"""A small city store for the ingest tests: Hangzhou's 13 real district boundaries, no people."""

from __future__ import annotations

import hashlib
import tempfile
from functools import cache
from pathlib import Path

import pandas as pd
import shapely

from analytics import geo
from analytics.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"
MALFORMED = Path(__file__).resolve().parent / "data" / "malformed"


@cache
def districts_frame() -> pd.DataFrame:
    b = geo.load_boundaries(330100)
    c = b.geometry.representative_point()
    return pd.DataFrame({
        "city_adcode": 330100, "adcode": b["adcode"].astype(int), "name": b["name"],
        "name_en": b["name_en"], "kind": b["kind"], "area_km2": b["area_km2"],
        "core_lon": c.x, "core_lat": c.y, "centroid_lon": c.x, "centroid_lat": c.y,
        "geometry": shapely.to_wkb(b.geometry.values),
    })


def make_store(path: Path | None = None) -> Store:
    store = Store.create(path)
    store.write("districts", districts_frame())
    store.set_meta({"city_adcode": 330100, "city_name": "杭州市"})
    return store


def snapshot(store: Store) -> dict[str, str]:
    """A checksum of every table, by name: the SHA-256 of its Parquet export.

    Views (the current versions, the layers) are left out: they follow from the tables, and
    an aggregating view's export need not come out in the same row order twice.
    """
    out = {}
    views = set(store.views())
    with tempfile.TemporaryDirectory() as directory:
        for name in store.tables():
            if name in views:
                continue
            path = store.export_parquet(name, directory)
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
