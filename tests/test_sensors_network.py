"""The network watch: each network of a district as one series, alerting when the whole network
does what it does not do (a surge with no rain to explain it), not at its ordinary storms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.sensors import network, views
from analytics.sensors.network import NetworkWatch, slot_medians
from analytics.sensors.pipeline import SensorPipeline
from tests._sensors_helpers import NORMAL, tiny_store

START = pd.Timestamp("2024-07-01 00:00:00")
STEP_S = 600          # each cover reports every ten minutes
COVERS = 30
DEPTH = 200.0


def storm_covers(n: int = COVERS, district: int = 330106) -> pd.DataFrame:
    return pd.DataFrame({
        "city_adcode": 330100, "asset_id": [f"MH-{i:05d}" for i in range(n)],
        "asset_type": "storm", "owner_department": "城市管理局（排水）", "install_year": 2020,
        "district_adcode": district, "cell": 0, "lon": 120.1 + 0.001 * np.arange(n),
        "lat": 30.25, "depth_cm": DEPTH})


def network_days(seed: int, days: float, surge_h: float | None = None, amp: float = 0.5,
                 n: int = COVERS) -> pd.DataFrame:
    """Readings of one storm-drain network: each chamber's own dry level, a daily cycle,
    noise, storms at random (about two a day, 1-4 hours, up to 30 % of depth, as in the
    simulator), and, from ``surge_h`` hours on, a surge of ``amp`` of depth in every chamber,
    rain or not: water rising for a quarter of an hour, held four hours, falling for half an
    hour (a pumping station stopped and restarted). Half a chamber is beyond any storm
    here."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.03, 0.10, n)
    phase = rng.uniform(0, STEP_S, n)
    storms, t = [], 0.0
    while t < days * 86400:     # one storm at a time, about two a day
        t += rng.exponential(43200)
        storms.append((t, t + rng.uniform(1, 4) * 3600, rng.uniform(0.10, 0.30)))
        t = storms[-1][1]
    k = np.arange(int(days * 86400 // STEP_S))
    sec = (k[:, None] * STEP_S + phase[None, :]).ravel()
    cover = np.tile(np.arange(n), len(k))
    rain = np.zeros_like(sec)
    for a, b, peak in storms:
        on = (sec >= a) & (sec < b)
        rain[on] = peak * np.sin(np.pi * (sec[on] - a) / (b - a))
    use = 0.5 * (1 + np.cos(2 * np.pi * ((sec / 3600) % 24 - 8) / 12))
    fill = base[cover] + 0.03 * use + rain + rng.normal(0, 0.004, len(sec))
    if surge_h is not None:
        s = surge_h * 3600
        up = np.clip((sec - s) / 900, 0, 1)
        down = np.clip((s + 5 * 3600 - sec) / 1800, 0, 1)
        fill += amp * np.minimum(up, down)
    frame = pd.DataFrame({"asset_id": [f"MH-{i:05d}" for i in cover],
                          "ts": START + pd.to_timedelta(sec, unit="s"),
                          **NORMAL})
    frame["water_level_cm"] = np.round(fill * DEPTH, 1)
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def watch_alerts(watch: NetworkWatch, frame: pd.DataFrame, batch_s: int = 3600) -> list[float]:
    """Feed ``frame`` an hour at a time; the hours (since START) of the slots alerted."""
    pos = frame["asset_id"].str[3:].astype(int).to_numpy()
    ts = frame["ts"].astype("datetime64[ns]").astype("int64").to_numpy()
    fill = frame["water_level_cm"].to_numpy() / DEPTH
    hour = (ts - START.value) // (batch_s * 10**9)
    out = []
    for h in np.unique(hour):
        on = hour == h
        for e in watch.observe(pos[on], ts[on], fill[on]):
            out.append((e.slot_ts - START).total_seconds() / 3600)
    return out


def test_surges_are_found_at_their_start_and_storms_are_seldom_news():
    """Twelve weeks with a surge on day 5 at 10:00 and twelve of storms alone (about 14 a
    week each). Measured: 12 of 12 surges found, 5 to 20 minutes after their start; 3 alerts
    at storms in the 24 weeks, about 1 per 10,000 scored slots. (With the fast level
    smoothings of series in general, 9 of 12 were found: their forecasters follow a surge's
    rise as they follow a storm's.)"""
    surge = 4 * 24 + 10
    found, false = 0, 0
    for seed in range(1, 13):
        alerts = watch_alerts(NetworkWatch(storm_covers()), network_days(seed, 7, surge_h=surge))
        hit = [h for h in alerts if surge <= h <= surge + 0.5]
        found += bool(hit)
        false += len(alerts) - len(hit)
        false += len(watch_alerts(NetworkWatch(storm_covers()), network_days(100 + seed, 7)))
    assert found >= 11
    assert false <= 4


def test_the_same_surge_through_the_cover_rules_alone_is_not_seen():
    """What the watch adds: a surge below overflow moves every peer, so the per-cover drift
    score (cover against its network's median) and the overflow rule (88 % of depth) are
    silent, while the watch alerts."""
    store = tiny_store(storm_covers())
    pipe = SensorPipeline(store)
    # a week in which the watch finds its surge (how often it does: the test above)
    frame = network_days(2, 5, surge_h=4 * 24 + 10)
    for _, batch in frame.groupby(frame["ts"].dt.floor("10min")):
        pipe.ingest(batch)
    alerts = store.query("sensors.alert_feed", limit=100)
    assert alerts["kind"].tolist() == [network.KIND]
    row = alerts.iloc[0]
    assert pd.isna(row["asset_id"]) and row["asset_type"] == "storm"
    assert row["district_adcode"] == 330106 and row["detector"] == "series"
    surge = START + pd.Timedelta(hours=4 * 24 + 10)
    assert surge <= row["reading_ts"] <= surge + pd.Timedelta(minutes=30)
    # the slot's median fill: the dry level, the day's cycle and the surge on its way up
    assert 0.15 < row["value"] < 0.70
    inc = views.incidents(store)
    assert inc[["kinds", "assets", "network", "district_adcode"]].values.tolist() == [
        [network.KIND, 0, "storm", 330106]]
    assert inc["asset_ids"].iat[0] == []
    # a cover of the network shows no alert of its own on the map
    assert (views.asset_status(store, now=surge)["status"] != "alert").all()
    # the page's chart of the network: the series the watch judged, with its alert
    detail = views.network_detail(store, 330106, "storm", days=1, now=surge + pd.Timedelta(hours=2))
    assert detail.alerts["reading_ts"].tolist() == [row["reading_ts"]]
    # from a day before "now" (day 4, 12:00) to the data's end (day 5, 24:00): 36 hours of
    # slots, and every reading of them (30 covers, six an hour)
    assert len(detail.series) == 36 * 12
    assert detail.series["readings"].sum() == 30 * 6 * 36
    at_alert = detail.series.set_index("slot_ts").loc[row["reading_ts"], "fill"]
    assert at_alert == pytest.approx(row["value"])


def test_a_restarted_server_carries_the_watch_on_from_the_store():
    """The stream split at day 4: a second pipeline on the same store (a restart) learns the
    stored days and raises the surge of day 4 once; a watch that had to learn afresh would
    still be warming up."""
    store = tiny_store(storm_covers())
    frame = network_days(2, 5, surge_h=4 * 24 + 10)
    cut = START + pd.Timedelta(days=4)
    first = SensorPipeline(store)
    for _, batch in frame[frame["ts"] < cut].groupby(frame["ts"].dt.floor("10min")):
        first.ingest(batch)
    assert store.query("sensors.alert_feed", limit=10).empty
    restarted = SensorPipeline(store)
    assert restarted.watch.next_slot == first.watch.next_slot
    rest = frame[frame["ts"] >= cut]
    for _, batch in rest.groupby(rest["ts"].dt.floor("10min")):
        restarted.ingest(batch)
    alerts = store.query("sensors.alert_feed", limit=10)
    assert alerts["kind"].tolist() == [network.KIND]
    fresh = SensorPipeline(tiny_store(storm_covers()))
    for _, batch in rest.groupby(rest["ts"].dt.floor("10min")):
        fresh.ingest(batch)
    assert fresh.stats.raised == 0


def test_stored_slot_medians_are_the_live_ones():
    """DuckDB's median per network and slot over the stored readings equals the watch's own
    (numpy) over the same readings."""
    store = tiny_store(storm_covers())
    frame = network_days(3, 0.5)
    SensorPipeline(store).ingest(frame)
    got = store.query("sensors.network_slots", slot_s=network.SLOT_S,
                      since=START.to_pydatetime(),
                      until=(START + pd.Timedelta(days=1)).to_pydatetime())
    slot = frame["ts"].astype("datetime64[ns]").astype("int64").to_numpy() // (
        network.SLOT_S * 10**9)
    s, g, m = slot_medians(slot, np.zeros(len(slot), int), frame["water_level_cm"].to_numpy() / DEPTH)
    assert got["slot"].tolist() == s.tolist()
    assert np.allclose(got["fill"], m)
    assert (got["readings"] == 5).sum() + (got["readings"] == 0).sum() <= len(got)


def test_slot_medians_agree_with_numpy_per_group():
    rng = np.random.default_rng(0)
    slot, grp = rng.integers(0, 5, 400), rng.integers(0, 3, 400)
    val = rng.normal(size=400)
    s, g, m = slot_medians(slot, grp, val, least=20)
    want = [(a, b, np.median(val[(slot == a) & (grp == b)])) for a in range(5) for b in range(3)
            if ((slot == a) & (grp == b)).sum() >= 20]
    assert list(zip(s.tolist(), g.tolist(), strict=True)) == [(a, b) for a, b, _ in want]
    assert np.allclose(m, [w for _, _, w in want])


def test_small_networks_thin_slots_and_late_readings():
    # a network of four covers is not watched; one of six is
    assets = pd.concat([storm_covers(6), storm_covers(4, 330108).assign(
        asset_type="sewer", asset_id=[f"MH-9{i:04d}" for i in range(4)])], ignore_index=True)
    watch = NetworkWatch(assets)
    assert watch.networks == [(330106, "storm")]
    assert watch.network_of.tolist() == [0] * 6 + [-1] * 4
    ns = 10**9
    t0 = START.value
    # slot 0 gets 6 readings, slot 1 only 4 (missing), then a reading well past slot 1
    watch.observe(np.arange(6), np.full(6, t0 + 10 * ns), np.full(6, 0.1))
    watch.observe(np.arange(4), np.full(4, t0 + 310 * ns), np.full(4, 0.1))
    det = watch.detectors[0]
    assert det.n == 0
    watch.observe(np.array([0]), np.array([t0 + 720 * ns]), np.array([0.1]))
    assert det.n == 2 and det.prev == 0.1      # slot 0 learned, slot 1 skipped
    assert watch.next_slot == START.value // (network.SLOT_S * ns) + 2
    # a reading for a closed slot is not counted
    before = det.n
    watch.observe(np.arange(6), np.full(6, t0 + 20 * ns), np.full(6, 5.0))
    assert det.n == before and det.prev == 0.1


def test_after_days_of_silence_the_watch_learns_afresh():
    watch = NetworkWatch(storm_covers(6))
    ns, t0 = 10**9, START.value
    for k in range(40):
        watch.observe(np.arange(6), np.full(6, t0 + k * 300 * ns), np.full(6, 0.1))
    assert watch.detectors[0].n > 30
    later = t0 + (network.MAX_GAP_S + 86400) * ns
    watch.observe(np.arange(6), np.full(6, later), np.full(6, 0.2))
    watch.observe(np.arange(6), np.full(6, later + 600 * ns), np.full(6, 0.2))
    assert watch.detectors[0].n == 1 and watch.detectors[0].prev == 0.2
