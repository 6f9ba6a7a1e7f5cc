"""Read models for the Infrastructure page: KPIs, asset status with its age, incidents, drill-down."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from analytics.sensors import network
from analytics.sensors.model import ASSET_TYPES
from analytics.store import Store

#: An asset that has not reported for this long (before now) is offline: covers in the
#: field send a heartbeat about hourly (and at once on an event), so two missed ones.
OFFLINE_S = 2 * 3600
#: Alerts of one cover this close in time are one incident (a lifted cover also tilts);
#: overflow alerts of one district this close are one incident (a storm).
INCIDENT_GAP_S = 3600
#: An asset's map status, worst first (the dashboard colours them).
STATUSES: tuple[str, ...] = ("alert", "acknowledged", "offline", "ok", "no_data")


@dataclass(frozen=True)
class Kpis:
    assets: int
    reporting: int
    offline: int
    open_alerts: int
    open_covers: int          # covers with an open alert (the map's "alert" covers)
    open_networks: int        # open alerts on whole networks
    open_unlisted: int        # open alerts on covers no longer in the register
    acknowledged_alerts: int
    resolved_alerts: int
    mtta_s: float | None      # mean time to acknowledge, seconds
    latency_p99_ms: float | None
    readings: int
    rejects: int
    clock: pd.Timestamp | None  # newest reading time


def _num(v):
    return None if v is None or pd.isna(v) else v


def _now(now) -> pd.Timestamp:
    return (pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None
            else pd.Timestamp(now)).floor("us")


def kpis(store: Store, offline_s: int = OFFLINE_S, now=None) -> Kpis:
    row = store.query("sensors.kpis", offline_s=offline_s,
                      now=_now(now).to_pydatetime()).iloc[0]

    def count(name: str) -> int:  # a store with no assets (or no readings) counts 0, not NULL
        return int(_num(row[name]) or 0)

    return Kpis(count("assets"), count("reporting"), count("offline"), count("open_alerts"),
                count("open_covers"), count("open_networks"), count("open_unlisted"),
                count("acknowledged_alerts"), count("resolved_alerts"), _num(row["mtta_s"]),
                _num(row["latency_p99_ms"]), count("readings"), count("rejects"),
                _num(row["clock"]))


def asset_status(store: Store, offline_s: int = OFFLINE_S, now=None) -> pd.DataFrame:
    """One row per asset: its last known state — ``status`` in :data:`STATUSES`,
    ``last_ts`` and ``age_s`` (seconds since its newest reading, NaN if none)."""
    t = _now(now)
    frame = store.query("sensors.asset_status", offline_s=offline_s, now=t.to_pydatetime())
    frame["age_s"] = (t - pd.to_datetime(frame["last_ts"])).dt.total_seconds()
    return frame


def incidents(store: Store, gap_s: int = INCIDENT_GAP_S) -> pd.DataFrame:
    """Alerts grouped into incidents, what an operator acts on.

    One cover's alerts less than ``gap_s`` apart are one incident (a lifted cover also
    reads tilted); so are the overflow alerts of one district (a storm floods many
    chambers at once), and the alerts of one network of a district (``network_level``,
    which belong to no cover: ``assets`` 0, ``network`` set). An incident is open while
    any of its alerts is open, then acknowledged while any is, then resolved. Columns:
    ``incident_id`` (its first alert), ``state, kinds, assets, district_adcode, network,
    alerts, first_ts, last_ts, alert_ids, asset_ids`` (the unresolved first, then newest
    first)."""
    a = store.query("sensors.alert_feed", limit=1_000_000)
    cols = ["incident_id", "state", "kinds", "assets", "district_adcode", "network", "alerts",
            "first_ts", "last_ts", "alert_ids", "asset_ids"]
    if a.empty:
        return pd.DataFrame(columns=cols)
    a = a.sort_values("reading_ts", kind="stable")
    district = a["district_adcode"].astype(str)
    a["key"] = a["asset_id"].where(a["kind"] != "overflow", "district:" + district)
    a["key"] = a["key"].where(a["kind"] != network.KIND,
                              "network:" + district + "/" + a["asset_type"].astype(str))
    gap = a.groupby("key")["reading_ts"].diff().dt.total_seconds()
    a["new"] = gap.isna() | (gap > gap_s)
    a["n"] = a.groupby("key")["new"].cumsum()
    rank = {"open": 0, "acknowledged": 1, "resolved": 2}
    rows = []
    for _, g in a.groupby(["key", "n"], sort=False):
        worst = min(g["state"], key=rank.get)
        whole = g["kind"].iat[0] == network.KIND
        rows.append({
            "incident_id": g["alert_id"].iat[0], "state": worst,
            "kinds": ",".join(sorted(set(g["kind"]))), "assets": g["asset_id"].nunique(),
            "district_adcode": int(g["district_adcode"].iat[0]),
            "network": g["asset_type"].iat[0] if whole else None, "alerts": len(g),
            "first_ts": g["reading_ts"].min(), "last_ts": g["reading_ts"].max(),
            "alert_ids": g["alert_id"].tolist(),
            "asset_ids": sorted(set(g["asset_id"].dropna()))})
    out = pd.DataFrame(rows, columns=cols)
    out["_r"] = out["state"].map(rank)
    return (out.sort_values(["_r", "last_ts"], ascending=[True, False])
            .drop(columns="_r").reset_index(drop=True))


def network_alerts(store: Store) -> pd.DataFrame:
    """Unresolved alerts on whole networks: ``alert_id, network, district_adcode, kind``."""
    return store.query("sensors.unresolved_networks")


@dataclass(frozen=True)
class NetworkDetail:
    series: pd.DataFrame   # slot_ts, fill (median share of depth), covers, score; oldest first
    alerts: pd.DataFrame   # alert_id, reading_ts, state


def network_detail(store: Store, district_adcode: int, network_key: str,
                   days: float = 3, now=None) -> NetworkDetail:
    """What the network watch judged for one network of one district over the last
    ``days`` (its stored series: ``slot_ts, fill, covers, score``) and the network's
    alerts."""
    since = (_now(now) - pd.Timedelta(days=days)).to_pydatetime()
    return NetworkDetail(
        store.query("sensors.network_levels_for", since=since, district=int(district_adcode),
                    network=network_key),
        store.query("sensors.network_alert_times", district=int(district_adcode),
                    network=network_key))


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
