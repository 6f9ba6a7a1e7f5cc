"""Read models for the Infrastructure page: KPIs, asset status, the alert feed, drill-down."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from analytics.sensors.model import ASSET_TYPES
from analytics.store import Store

#: An asset that has not reported for this long (before the newest reading) is offline.
OFFLINE_S = 600
#: Map statuses, worst first, with their colours (RGB): red, orange, grey, green, light grey.
STATUS_COLOURS: dict[str, tuple[int, int, int]] = {
    "alert": (215, 48, 39),
    "acknowledged": (244, 140, 40),
    "offline": (110, 110, 110),
    "ok": (26, 152, 80),
    "no_data": (190, 190, 190),
}


@dataclass(frozen=True)
class Kpis:
    assets: int
    reporting: int
    offline: int
    open_alerts: int
    acknowledged_alerts: int
    resolved_alerts: int
    mtta_s: float | None      # mean time to acknowledge, seconds
    latency_p99_ms: float | None
    readings: int
    rejects: int
    clock: pd.Timestamp | None  # newest reading time


def _num(v):
    return None if v is None or pd.isna(v) else v


def kpis(store: Store, offline_s: int = OFFLINE_S) -> Kpis:
    row = store.query("sensors.kpis", offline_s=offline_s).iloc[0]
    return Kpis(int(row["assets"]), int(row["reporting"]), int(row["offline"]),
                int(row["open_alerts"]), int(row["acknowledged_alerts"]),
                int(row["resolved_alerts"]), _num(row["mtta_s"]), _num(row["latency_p99_ms"]),
                int(row["readings"]), int(row["rejects"]), _num(row["clock"]))


def asset_status(store: Store, offline_s: int = OFFLINE_S) -> pd.DataFrame:
    """One row per asset with ``status`` in :data:`STATUS_COLOURS` and its colour."""
    frame = store.query("sensors.asset_status", offline_s=offline_s)
    frame["color"] = frame["status"].map(lambda s: list(STATUS_COLOURS[s]))
    return frame


def alert_feed(store: Store, limit: int = 200) -> pd.DataFrame:
    return store.query("sensors.alert_feed", limit=limit)


def district_outlines(store: Store) -> pd.DataFrame:
    """``adcode, name, name_en, path`` with each district boundary as [lon, lat] rings."""
    d = store.table("districts", ["adcode", "name", "name_en", "geometry"])
    geoms = gpd.GeoSeries.from_wkb(d["geometry"].map(bytes), crs="EPSG:4326")
    rows = []
    for (_, r), geom in zip(d.iterrows(), geoms, strict=True):
        for poly in getattr(geom, "geoms", [geom]):
            ring = shapely.simplify(poly.exterior, 0.0005)
            rows.append({"adcode": int(r["adcode"]), "name": r["name"], "name_en": r["name_en"],
                         "path": [list(c) for c in ring.coords]})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class AssetDetail:
    asset: pd.Series
    series: pd.DataFrame   # recent readings, oldest first
    alerts: pd.DataFrame
    faults: pd.DataFrame   # simulator ground truth (empty for real devices)


def asset_detail(store: Store, asset_id: str, limit: int = 300) -> AssetDetail | None:
    asset = store.query("sensors.asset", asset_id=asset_id)
    if asset.empty:
        return None
    return AssetDetail(asset.iloc[0], store.query("sensors.asset_series", asset_id=asset_id,
                                                  limit=limit),
                       store.query("sensors.asset_alerts", asset_id=asset_id),
                       store.query("sensors.asset_faults", asset_id=asset_id))


def owner_name(owner_zh: str, lang: str) -> str:
    """The owner department in the page's language (the store keeps the Chinese name)."""
    if lang == "zh":
        return owner_zh
    return next((t.owner_en for t in ASSET_TYPES if t.owner_zh == owner_zh), owner_zh)


def reject_counts(store: Store) -> pd.DataFrame:
    return store.query("sensors.reject_counts")
