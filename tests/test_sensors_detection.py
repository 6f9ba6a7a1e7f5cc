"""The simulator's ground truth and the detector's precision and recall per fault kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _sensors_helpers import tiny_assets

from analytics.errors import CityBrainError
from analytics.sensors.evaluate import grace_for, precision_recall, simulate_and_detect
from analytics.sensors.model import FAULT_KINDS
from analytics.sensors.simulator import Simulator

T = pd.Timestamp("2024-01-01 00:00")


def test_precision_recall_by_hand():
    faults = pd.DataFrame({"asset_id": ["A", "B"], "kind": ["lifted", "lifted"],
                           "start_ts": [T, T], "end_ts": [T + pd.Timedelta(minutes=10)] * 2})
    alerts = pd.DataFrame({
        "asset_id": ["A", "A", "C"], "kind": ["lifted"] * 3,
        "reading_ts": [T + pd.Timedelta(minutes=3),     # inside A's fault: true
                       T + pd.Timedelta(minutes=12),    # within the 5-minute grace: true
                       T + pd.Timedelta(minutes=3)]})   # C had no fault: false
    pr = precision_recall(faults, alerts, pd.Timedelta(minutes=5)).set_index("kind")
    row = pr.loc["lifted"]
    assert (row["faults"], row["alerts"], row["true_alerts"], row["found"]) == (2, 3, 2, 1)
    assert row["precision"] == pytest.approx(2 / 3) and row["recall"] == pytest.approx(1 / 2)
    assert np.isnan(pr.loc["stuck", "precision"]) and np.isnan(pr.loc["stuck", "recall"])


def test_simulator_is_reproducible_and_its_truth_is_consistent():
    assets = tiny_assets(40, districts=(1, 2))
    frames = []
    for _ in range(2):
        sim = Simulator(assets, start=1.7e9, interval_s=60, seed=5, fault_rate=1 / 50)
        frames.append((sim.advance(1.7e9 + 6 * 3600), sim.faults_frame()))
    pd.testing.assert_frame_equal(frames[0][0], frames[1][0])
    readings, faults = frames[0]
    assert len(readings) == 40 * 360                    # every asset once a minute for 6 h
    assert set(faults["kind"]) == set(FAULT_KINDS)
    assert (faults["end_ts"] > faults["start_ts"]).all()
    for _, f in faults.groupby("asset_id"):             # one fault at a time per asset
        f = f.sort_values("start_ts")
        assert (f["start_ts"].iloc[1:].to_numpy() >= f["end_ts"].iloc[:-1].to_numpy()).all()
    # a lifted cover really is lifted in its readings, and only then
    lifted = faults[faults["kind"] == "lifted"].iloc[0]
    r = readings[readings["asset_id"] == lifted["asset_id"]]
    inside = r[(r["ts"] >= lifted["start_ts"]) & (r["ts"] < lifted["end_ts"])]
    assert (inside["displacement_mm"] > 20).all()
    gas_or_dry = faults.merge(assets, on="asset_id")
    assert not ((gas_or_dry["kind"] == "overflow")
                & ~gas_or_dry["asset_type"].isin(["sewer", "storm"])).any()


def test_simulator_rejects_bad_settings():
    with pytest.raises(CityBrainError, match="no assets"):
        Simulator(tiny_assets().iloc[:0], start=0)
    with pytest.raises(CityBrainError, match="unknown fault kind"):
        Simulator(tiny_assets(), start=0, kinds=("melted",))


def test_rain_alone_is_nearly_silent():
    """Storms move every drainage chamber of a district; the learned drift score follows
    its peers, so rain with no fault raises no rule alert and at most one false drift per
    500 cover-hours (here 60 covers for 16 hours, with two storms a day on average)."""
    assets = tiny_assets(60, districts=(1,))
    faults, alerts = simulate_and_detect(assets, hours=16, fault_rate=0.0, seed=11)
    assert faults.empty
    assert set(alerts["kind"]) <= {"drift"}
    assert len(alerts) <= 60 * 16 / 500


def test_precision_and_recall_per_fault_kind_at_least_0_9():
    assets = tiny_assets(100, districts=(1,))  # a district with peers for every network
    faults, alerts = simulate_and_detect(assets, hours=16, fault_rate=1 / 200, seed=3)
    pr = precision_recall(faults, alerts, grace_for(60)).set_index("kind")
    pr = pr.loc[list(FAULT_KINDS)]    # the covers' kinds (surges of networks: their own tests)
    assert (pr["faults"] >= 25).all(), pr        # enough of each kind to judge
    assert (pr["precision"] >= 0.9).all(), pr
    assert (pr["recall"] >= 0.9).all(), pr
