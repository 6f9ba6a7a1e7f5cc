"""The ingest door and the alert workflow, on tiny stores with hand-made readings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _sensors_helpers import NORMAL, T0, readings, tiny_assets, tiny_store

from analytics.errors import CityBrainError
from analytics.identity import Actor, PermissionDenied
from analytics.sensors.pipeline import SensorPipeline, acknowledge, resolve

ADMIN = Actor("wang", "administrator")


def alerts(store):
    return store.query("sensors.alert_feed", limit=100)


def test_every_bad_reading_is_refused_counted_and_kept():
    store = tiny_store()
    good = readings("MH-00000", 1)
    dup = good.copy()
    unknown = readings("MH-99999", 1)
    text = readings("MH-00001", 1).astype({"tilt_deg": object})
    text.loc[0, "tilt_deg"] = "abc"
    future = readings("MH-00002", 1, start=T0 + pd.Timedelta(days=1))
    future["arrived_at"] = T0
    badts = readings("MH-00001", 1, start=T0 + pd.Timedelta(minutes=5)).astype({"ts": object})
    badts.loc[0, "ts"] = "yesterday"
    batch = pd.concat([good, dup, unknown, text, future, badts], ignore_index=True)
    pipe = SensorPipeline(store)
    r = pipe.ingest(batch)
    assert (r.received, r.accepted) == (6, 1)
    assert dict(r.rejected) == {"duplicate": 1, "unknown_asset": 1, "non_numeric": 1,
                                "future": 1, "bad_timestamp": 1}
    assert pipe.stats.lost == 0
    stored = store.query("sensors.reject_counts").set_index("reason")["readings"].to_dict()
    assert stored == {"duplicate": 1, "unknown_asset": 1, "non_numeric": 1, "future": 1,
                      "bad_timestamp": 1}
    detail = store.table("sensor_rejects").set_index("reason")["detail"]
    assert detail["non_numeric"] == "tilt_deg=abc is not a number"
    assert "MH-99999" in detail["unknown_asset"]
    assert store.scalar("sensors.reading_count") == 1


def test_impossible_values_are_refused_not_alarmed():
    """A level of 1e300 cm, or a tilt of 500 degrees, is no measurement: the reading is
    refused as out_of_range with the bound it broke, and raises no alert. The chamber is
    200 cm deep, so it can report from 10 cm below its floor (-10) to as much water again
    over its cover (400); an ordinary overflow at 190 cm is kept and alerts."""
    store = tiny_store()
    pipe = SensorPipeline(store)
    batch = pd.concat([
        readings("MH-00000", 1, water_level_cm=1e300),
        readings("MH-00001", 1, water_level_cm=400.5),
        readings("MH-00002", 1, water_level_cm=-10.5),
        readings("MH-00000", 1, start=T0 + pd.Timedelta(minutes=1), tilt_deg=500.0),
        readings("MH-00001", 1, start=T0 + pd.Timedelta(minutes=1), battery_v=-3.6),
        readings("MH-00002", 1, start=T0 + pd.Timedelta(minutes=1), water_level_cm=190.0),
    ], ignore_index=True)
    r = pipe.ingest(batch)
    assert (r.accepted, dict(r.rejected)) == (1, {"out_of_range": 5})
    detail = store.table("sensor_rejects").sort_values("detail")["detail"].tolist()
    assert detail == [
        "battery_v=-3.6 is outside what the sensor can report (0 to 30)",
        "tilt_deg=500 is outside what the sensor can report (-180 to 180)",
        "water_level_cm=-10.5 is outside what the sensor can report (-10 to 400)",
        "water_level_cm=1e+300 is outside what the sensor can report (-10 to 400)",
        "water_level_cm=400.5 is outside what the sensor can report (-10 to 400)",
    ]
    assert alerts(store)[["asset_id", "kind"]].values.tolist() == [["MH-00002", "overflow"]]


def test_ids_that_are_not_text_are_unknown_covers():
    """A JSON line may carry a list or a number where the cover's id goes: refused as an
    unknown cover like any other id not in the register, not a failure of the batch."""
    store = tiny_store()
    batch = readings("MH-00000", 3).astype({"asset_id": object})
    batch.at[1, "asset_id"] = ["MH-00000"]
    batch.at[2, "asset_id"] = 7
    r = SensorPipeline(store).ingest(batch)
    assert (r.accepted, dict(r.rejected)) == (1, {"unknown_asset": 2})


def test_late_and_duplicate_readings_across_batches():
    store = tiny_store()
    pipe = SensorPipeline(store)
    pipe.ingest(readings("MH-00000", 1, start=T0 + pd.Timedelta(minutes=2)))
    late = pipe.ingest(readings("MH-00000", 1, start=T0))            # older: stored, flagged late
    again = pipe.ingest(readings("MH-00000", 1, start=T0))           # late duplicate: from store
    newest = pipe.ingest(readings("MH-00000", 1, start=T0 + pd.Timedelta(minutes=2)))
    assert (late.accepted, late.late) == (1, 1)
    assert dict(again.rejected) == {"duplicate": 1}
    assert dict(newest.rejected) == {"duplicate": 1}
    rows = store.table("sensor_readings").sort_values("ts")
    assert rows["late"].tolist() == [True, False]
    # a new pipeline resumes from the store: the newest reading is known
    assert dict(SensorPipeline(store).ingest(
        readings("MH-00000", 1, start=T0 + pd.Timedelta(minutes=2))).rejected) == {"duplicate": 1}


def test_missing_column_and_empty_register_are_clear_errors():
    store = tiny_store()
    with pytest.raises(CityBrainError, match="lack column.*battery_v"):
        SensorPipeline(store).ingest(readings("MH-00000", 1).drop(columns=["battery_v"]))
    from analytics.store import Store
    with pytest.raises(CityBrainError, match="no assets"):
        SensorPipeline(Store.create(None))


def test_burst_of_100000_readings_nothing_lost():
    assets = tiny_assets(500, districts=(330106, 330108))
    store = tiny_store(assets)
    rng = np.random.default_rng(1)
    n_ts = 200
    frame = pd.DataFrame({
        "asset_id": np.repeat(assets["asset_id"].to_numpy(), n_ts),
        "ts": np.tile(T0 + pd.to_timedelta(np.arange(n_ts) * 30, unit="s"), len(assets)),
    })
    for k, v in NORMAL.items():
        frame[k] = v + rng.normal(0, 0.01, len(frame))
    assert len(frame) == 100_000
    # 1,000 of them are resent copies of other rows, replacing originals in the burst
    copies = rng.choice(len(frame), 1000, replace=False)
    frame.iloc[copies[:500]] = frame.iloc[copies[500:]].to_numpy()
    frame["arrived_at"] = T0 + pd.Timedelta(hours=2)
    pipe = SensorPipeline(store)
    r = pipe.ingest(frame)
    assert r.received == 100_000
    assert r.accepted + sum(r.rejected.values()) == 100_000
    assert dict(r.rejected) == {"duplicate": 500}
    assert store.scalar("sensors.reading_count") == r.accepted == 99_500


def lifted(start, n):
    return readings("MH-00000", n, start=start, displacement_mm=50.0)


def test_an_event_alerts_on_its_first_reading_and_clears_with_hysteresis():
    store = tiny_store()
    pipe = SensorPipeline(store)
    r = pipe.ingest(lifted(T0, 1))                       # the first lifted reading raises
    assert r.raised == 1 and r.alert_latency_ms[0] >= 0
    assert pipe.ingest(lifted(T0 + pd.Timedelta(minutes=1), 2)).raised == 0  # one per incident
    a = alerts(store)
    assert a[["kind", "state", "detector", "occurrences"]].values.tolist() == [
        ["lifted", "open", "rule", 1]]
    assert a["value"].iat[0] == 50.0
    # 15 mm is under the raise level but over the clear level: still lifted
    pipe.ingest(readings("MH-00000", 5, start=T0 + pd.Timedelta(minutes=3), displacement_mm=15.0))
    assert alerts(store)["cleared_at"].isna().all()
    pipe.ingest(readings("MH-00000", 3, start=T0 + pd.Timedelta(minutes=8)))
    assert alerts(store)["cleared_at"].iat[0] == T0 + pd.Timedelta(minutes=10)


def test_a_dead_battery_still_needs_three_readings():
    store = tiny_store()
    pipe = SensorPipeline(store)
    low = dict(battery_v=3.0)
    assert pipe.ingest(readings("MH-00000", 2, start=T0, **low)).raised == 0
    assert pipe.ingest(readings("MH-00000", 1, start=T0 + pd.Timedelta(minutes=2),
                                **low)).raised == 1


def test_repeats_fold_into_one_alert_and_flapping_is_marked():
    store = tiny_store()
    pipe = SensorPipeline(store)
    t = T0
    for _ in range(4):  # lifted, cleared, lifted again ... four times
        pipe.ingest(lifted(t, 3))
        pipe.ingest(readings("MH-00000", 3, start=t + pd.Timedelta(minutes=3)))
        t += pd.Timedelta(minutes=6)
    a = alerts(store)
    assert len(a) == 1
    assert a[["occurrences", "flaps", "flapping"]].values.tolist() == [[4, 3, True]]


def test_alert_moves_open_acknowledged_resolved_by_operators_only():
    store = tiny_store()
    pipe = SensorPipeline(store)
    pipe.ingest(lifted(T0, 3))
    alert_id = alerts(store)["alert_id"].iat[0]
    with pytest.raises(PermissionDenied, match="administrator or data_steward"):
        acknowledge(store, alert_id, Actor("li", "planner"))
    with pytest.raises(CityBrainError, match="is open: acknowledge it first"):
        resolve(store, alert_id, ADMIN)
    acknowledge(store, alert_id, ADMIN, at=pd.Timestamp.now() + pd.Timedelta(seconds=30))
    with pytest.raises(CityBrainError, match="is acknowledged"):
        acknowledge(store, alert_id, ADMIN)
    resolve(store, alert_id, ADMIN)
    row = alerts(store).iloc[0]
    assert (row["state"], row["acknowledged_by"], row["resolved_by"]) == (
        "resolved", "wang", "wang")
    k = store.query("sensors.kpis", offline_s=600, now=T0 + pd.Timedelta(hours=1)).iloc[0]
    assert k["open_alerts"] == 0 and k["resolved_alerts"] == 1
    assert 29 < k["mtta_s"] < 40
    with pytest.raises(CityBrainError, match="no alert"):
        acknowledge(store, "AL-nope", ADMIN)
    # the cover goes back, then is lifted again: a new alert, the resolved one stays closed
    pipe.ingest(readings("MH-00000", 3, start=T0 + pd.Timedelta(minutes=3)))
    pipe.ingest(lifted(T0 + pd.Timedelta(minutes=6), 3))
    a = alerts(store)
    assert sorted(a["state"]) == ["open", "resolved"]


def test_stuck_battery_overflow_and_tilt_rules():
    store = tiny_store()
    pipe = SensorPipeline(store)
    stuck = readings("MH-00001", 5)
    stuck["signal_dbm"] = -80.0          # five identical readings: four repeats
    assert pipe.ingest(stuck.iloc[:4]).raised == 0
    assert pipe.ingest(stuck.iloc[4:]).raised == 1
    pipe.ingest(readings("MH-00002", 3, battery_v=3.1))
    pipe.ingest(readings("MH-00000", 3, water_level_cm=180.0))    # 90 % of a 200 cm chamber
    pipe.ingest(readings("MH-00000", 3, start=T0 + pd.Timedelta(minutes=3), tilt_deg=12.0,
                         water_level_cm=20.0))
    kinds = alerts(store).set_index("kind")["asset_id"].to_dict()
    assert kinds == {"stuck": "MH-00001", "dead_battery": "MH-00002", "overflow": "MH-00000",
                     "tilted": "MH-00000"}


def test_status_and_kpis_read_models():
    from analytics.sensors import views

    store = tiny_store()
    pipe = SensorPipeline(store)
    pipe.ingest(lifted(T0, 3))                                   # T0 .. T0 + 2 min
    pipe.ingest(readings("MH-00001", 1, start=T0 - pd.Timedelta(hours=3)))
    now = T0 + pd.Timedelta(minutes=32)
    status = views.asset_status(store, now=now).set_index("asset_id")
    assert status["status"].to_dict() == {"MH-00000": "alert", "MH-00001": "offline",
                                          "MH-00002": "no_data"}
    # last known state with its age: 30 minutes, 3 h 32 min, never
    assert status.loc["MH-00000", "age_s"] == 30 * 60
    assert status.loc["MH-00001", "age_s"] == (3 * 60 + 32) * 60
    assert pd.isna(status.loc["MH-00002", "age_s"])
    k = views.kpis(store, now=now)
    assert (k.assets, k.reporting, k.offline, k.open_alerts, k.readings) == (3, 2, 1, 1, 4)


def test_open_alerts_are_told_apart_from_the_covers_the_map_shows_in_alert():
    """The KPI counts alerts, the map's legend counts covers: worked by hand, a cover lifted
    and then flooded (two alerts, one cover in alert), one alert on a whole network (no cover)
    and one left on a cover the new register no longer holds make 4 open alerts on 1 cover
    of the map, 1 network and 1 unlisted cover."""
    from analytics.sensors import views

    store = tiny_store()
    pipe = SensorPipeline(store)
    pipe.ingest(lifted(T0, 1))
    pipe.ingest(readings("MH-00000", 1, start=T0 + pd.Timedelta(minutes=1),
                         water_level_cm=190.0, displacement_mm=50.0))
    one = store.query("open_data.rows_all", table="alerts").iloc[[0]]  # a raw row, as tests read it
    store.write("alerts", pd.concat([
        one.assign(alert_id="AL-network", asset_id=None, kind="network_level",
                   detector="series"),
        one.assign(alert_id="AL-gone", asset_id="MH-09999")], ignore_index=True))
    now = T0 + pd.Timedelta(minutes=5)
    k = views.kpis(store, now=now)
    assert (k.open_alerts, k.open_covers, k.open_networks, k.open_unlisted) == (4, 1, 1, 1)
    status = views.asset_status(store, now=now)
    assert (status["status"] == "alert").sum() == k.open_covers


def test_alerts_group_into_incidents():
    from analytics.sensors import views

    store = tiny_store(tiny_assets(3))       # three sewer covers in one district
    pipe = SensorPipeline(store)
    # MH-00000 lifted and, 5 minutes later, tilted: one incident of two alerts
    pipe.ingest(lifted(T0, 1))
    pipe.ingest(readings("MH-00000", 1, start=T0 + pd.Timedelta(minutes=5), tilt_deg=12.0,
                         displacement_mm=15.0))
    # a storm: MH-00001 and MH-00002 overflow 10 minutes apart: one district incident
    for i, a in enumerate(["MH-00001", "MH-00002"]):
        pipe.ingest(readings(a, 1, start=T0 + pd.Timedelta(minutes=20 + 10 * i),
                             water_level_cm=190.0))
    # the crew fixes MH-00000 (both alerts resolved); it is lifted again two hours later:
    # a new incident
    pipe.ingest(readings("MH-00000", 3, start=T0 + pd.Timedelta(minutes=6)))
    op = Actor("wang", "administrator")
    for alert_id in alerts(store).query("asset_id == 'MH-00000'")["alert_id"]:
        acknowledge(store, alert_id, op)
        resolve(store, alert_id, op)
    pipe.ingest(lifted(T0 + pd.Timedelta(hours=2), 1))
    inc = views.incidents(store)
    got = sorted((r.kinds, r.assets, r.alerts, r.state) for r in inc.itertuples())
    assert got == [("lifted", 1, 1, "open"), ("lifted,tilted", 1, 2, "resolved"),
                   ("overflow", 2, 2, "open")]
    assert inc["state"].tolist() == ["open", "open", "resolved"]   # open ones first


def test_cli_simulate_streams_into_a_store_and_accounts_for_every_reading(tmp_path, capsys):
    from analytics.cli import main

    path = tmp_path / "city.duckdb"
    tiny_store(tiny_assets(20, districts=(330106, 330108)), path=path).close()
    assert main(["sensors", "simulate", "--rate", "100", "--seconds", "2", "--store", str(path),
                 "--dirty", "0.01"]) == 0
    out = dict(kv.split("=") for kv in capsys.readouterr().out.split())
    assert out["lost"] == "0"
    from analytics.store import Store
    with Store.open(path, read_only=True) as store:
        assert store.scalar("sensors.reading_count") == int(out["accepted"])
        refused = int(store.query("sensors.reject_counts")["readings"].sum())
    assert int(out["received"]) == int(out["accepted"]) + refused


def test_cli_simulate_needs_a_store(tmp_path, capsys):
    from analytics.cli import main

    assert main(["sensors", "simulate", "--rate", "10", "--store", str(tmp_path / "no.duckdb")]) == 2
    assert "no store at" in capsys.readouterr().err


def test_the_feed_stops_and_starts_again_on_the_same_store():
    """Fault ids are unique per run: a second run's faults never collide with the first's
    (the page's restart used to fail with a duplicate key on F000001)."""
    import time

    from analytics.sensors.pipeline import SimulatedFeed

    store = tiny_store(tiny_assets(40, districts=(330106, 330108)))
    for _ in range(2):
        feed = SimulatedFeed(store, 200.0, fault_rate=1 / 5)
        feed.start()
        before = store.scalar("sensors.reading_count")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and store.scalar("sensors.reading_count") <= before:
            time.sleep(0.2)
        time.sleep(0.5)
        assert feed.running, feed.error
        feed.stop()
        assert not feed.running and feed.error is None
    faults = store.table("sensor_faults")
    assert len(faults) > 0 and faults["fault_id"].is_unique
    assert faults["fault_id"].str.split("-").str[0].nunique() == 2     # two runs


def test_a_new_register_ends_the_simulated_feed_of_the_old_one():
    """The page's feed shares the server's pipeline. When that pipeline reads a new cover
    register, the feed (which simulates the old covers, many now unknown) stops with a
    reason the page says in both languages, instead of flooding the door with refusals (a
    batch already on its way as the register changes may still go in)."""
    import time

    from analytics.sensors.pipeline import SimulatedFeed
    from dashboard.i18n import explain

    store = tiny_store(tiny_assets(40, districts=(330106, 330108)))
    pipe = SensorPipeline(store)
    feed = SimulatedFeed(store, 200.0, pipeline=pipe).start()
    store.write("assets", tiny_assets(10, seed=3, districts=(330106,)), replace=True)
    pipe.reload(register=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and feed.running:
        time.sleep(0.1)
    assert not feed.running
    assert getattr(feed.error, "code", None) == "feed_register_changed"
    assert "井盖台账已更新" in explain(feed.error, "zh")
    with pytest.raises(CityBrainError, match="cover register changed"):
        feed.stop()
