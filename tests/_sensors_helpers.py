"""Tiny hand-made stores for the sensor tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from analytics.sensors.model import ASSET_TYPES
from analytics.store import Store

T0 = pd.Timestamp("2024-07-01 08:00:00")
NORMAL = {"tilt_deg": 0.5, "displacement_mm": 1.0, "water_level_cm": 20.0, "battery_v": 3.6,
          "signal_dbm": -80.0}


def tiny_assets(n: int = 3, seed: int = 0, districts=(330106,)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    types = ["sewer"] * n if n <= 3 else rng.choice(
        [t.key for t in ASSET_TYPES], n, p=[t.share for t in ASSET_TYPES])
    depth = [200 if n <= 3 else int(rng.integers(*next(t for t in ASSET_TYPES
                                                         if t.key == k).depth_cm)) for k in types]
    return pd.DataFrame({
        "city_adcode": 330100, "asset_id": [f"MH-{i:05d}" for i in range(n)],
        "asset_type": types, "owner_department": "城市管理局（排水）", "install_year": 2020,
        "district_adcode": [districts[i % len(districts)] for i in range(n)],
        "cell": 0, "lon": 120.10 + 0.001 * np.arange(n), "lat": 30.25, "depth_cm": depth})


def tiny_store(assets: pd.DataFrame | None = None, path=None) -> Store:
    store = Store.create(path)
    store.write("assets", tiny_assets() if assets is None else assets)
    return store


def add_city(store: Store) -> None:
    """A district, a year of population and the meta a page needs."""
    square = shapely.Polygon([(120.05, 30.2), (120.2, 30.2), (120.2, 30.3), (120.05, 30.3)])
    store.write("districts", pd.DataFrame({
        "city_adcode": [330100], "adcode": [330106], "name": ["西湖区"], "name_en": ["Xihu District"],
        "kind": ["district"], "area_km2": [150.0], "core_lon": [120.12], "core_lat": [30.25],
        "centroid_lon": [120.12], "centroid_lat": [30.25],
        "geometry": [shapely.to_wkb(shapely.MultiPolygon([square]))]}))
    store.write("population_districts", pd.DataFrame({
        "city_adcode": 330100, "year": 2020, "district_adcode": 330106, "age": [30, 30],
        "sex": ["M", "F"], "persons": [100, 100]}))
    store.set_meta({"city_adcode": 330100, "city_name": "杭州市", "data_vintage": "test"})


def readings(asset_id: str, n: int, start: pd.Timestamp = T0, step_s: float = 60,
             **values) -> pd.DataFrame:
    """``n`` readings of one asset, ``step_s`` apart, normal unless overridden."""
    row = {**NORMAL, **values}
    frame = pd.DataFrame({"asset_id": asset_id,
                          "ts": start + pd.to_timedelta(np.arange(n) * step_s, unit="s")})
    for k, v in row.items():
        frame[k] = v
    # a little noise so identical consecutive readings only come from a stuck sensor
    frame["signal_dbm"] = frame["signal_dbm"] + np.arange(n) % 7
    frame["arrived_at"] = frame["ts"] + pd.Timedelta(seconds=1)
    return frame
