"""Sensor feed: sustained ingest rate, alert latency, nothing lost; detection quality.

Runs the real path — simulator -> queue -> validation -> batch append -> detection ->
alerts, all committed per batch — into a fresh store file holding the assets of STORE (the
given store is only read). Targets: 1,000 readings/s for 5 minutes on 2 cores, alert latency
p99 <= 2 s, no reading lost; precision and recall >= 0.9 per fault kind. Baselines measured
in the same run: one-row appends (the row-per-statement way) against the batch append, and
the targets themselves.

    python -m bench --only sensors --store data/city.duckdb          # 5 minutes
    python -m bench.bench_sensors --store data/city.duckdb --seconds 30
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.sensors.evaluate import grace_for, precision_recall, simulate_and_detect
from analytics.sensors.pipeline import SimulatedFeed, utc_now
from analytics.store import Store

RATE = 1000
SECONDS = 300
TARGET_P99_S = 2.0
TARGET_PR = 0.9


def _line(name: str, value: str, baseline: str = "", ratio: str = "") -> None:
    print(f"{name:<44} {value:>16}  {baseline:>22}  {ratio}")


def _append_baseline(store: Store, frame: pd.DataFrame) -> tuple[float, float]:
    """Readings/s appended one row per statement vs one batch, on the same rows."""
    n = min(len(frame), 500)
    rows = frame.iloc[:n]
    t0 = time.perf_counter()
    for i in range(n):
        store.write("sensor_readings", rows.iloc[i:i + 1])
    single = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    store.write("sensor_readings", frame)
    batch = len(frame) / (time.perf_counter() - t0)
    return single, batch


def live_run(assets: pd.DataFrame, rate: float, seconds: float, workdir: Path) -> None:
    path = workdir / "bench_sensors.duckdb"
    store = Store.create(path)
    store.write("assets", assets)
    feed = SimulatedFeed(store, rate, seed=1, dirty=0.001)
    print(f"{len(assets):,} covers, each reporting every {feed.interval:.2f} s; "
          f"running {seconds:.0f} s at {rate:g} readings/s on {os.cpu_count()} cores …")
    feed.start()
    warm = feed.pipeline.stats.received
    warm_batches = feed.pipeline.stats.batches
    started, t_start = time.monotonic(), utc_now()
    next_report = 30.0
    while (elapsed := time.monotonic() - started) < seconds:
        time.sleep(min(1.0, seconds - elapsed))
        if feed.error is not None:
            break
        if time.monotonic() - started >= next_report:
            st = feed.pipeline.stats
            print(f"  {time.monotonic() - started:5.0f} s  received {st.received - warm:,}  "
                  f"queued {feed.queue.qsize()}  alerts {st.raised:,}")
            next_report += 30.0
    stats = feed.stop()
    wall = time.monotonic() - started
    t_end = utc_now()

    live = stats.received - warm
    sent = sum(feed.sim.sent.values())
    stored = store.scalar("sensors.reading_count")
    rejects = int(store.query("sensors.reject_counts")["readings"].sum())
    batch_lat = np.array(stats.batch_latency_ms[warm_batches:]) / 1000
    alert_lat = np.array(stats.alert_latency_ms) / 1000

    print(f"{'figure':<44} {'measured':>16}  {'baseline / target':>22}  ratio")
    _line("readings/s sustained (live, after warm-up)", f"{live / wall:,.0f}", f"target {rate:g}",
          f"{live / wall / rate:.2f}x")
    _line("readings sent by the simulator", f"{sent:,}")
    _line("readings received by the door", f"{stats.received:,}", f"sent {sent:,}",
          "equal" if sent == stats.received else "DIFFERENT")
    _line("  accepted (stored)", f"{stats.accepted:,}", f"rows in store {stored:,}",
          "equal" if stored == stats.accepted else "DIFFERENT")
    _line("  refused (kept with reason)", f"{sum(stats.rejected.values()):,}",
          f"rows in rejects {rejects:,}",
          "equal" if rejects == sum(stats.rejected.values()) else "DIFFERENT")
    for reason, count in sorted(stats.rejected.items()):
        _line(f"    {reason}", f"{count:,}", f"injected {feed.sim.sent.get(reason, 0):,}")
    _line("  late (stored, flagged)", f"{stats.late:,}")
    _line("readings lost", f"{stats.lost:,}", "target 0")
    if len(batch_lat):
        _line("reading arrival -> committed, p50 (s)", f"{np.percentile(batch_lat, 50):.3f}")
        _line("reading arrival -> committed, p99 (s)", f"{np.percentile(batch_lat, 99):.3f}",
              f"target {TARGET_P99_S}", f"{np.percentile(batch_lat, 99) / TARGET_P99_S:.2f}x")
    if len(alert_lat):
        _line("alerts raised", f"{len(alert_lat):,}")
        _line("alert latency p50 (s)", f"{np.percentile(alert_lat, 50):.3f}")
        _line("alert latency p99 (s)", f"{np.percentile(alert_lat, 99):.3f}",
              f"target {TARGET_P99_S}", f"{np.percentile(alert_lat, 99) / TARGET_P99_S:.2f}x")
        _line("alert latency max (s)", f"{alert_lat.max():.3f}")

    # detection on the live run: faults that ended early enough to be confirmed and cleared
    grace = grace_for(feed.interval)
    faults = store.query("sensors.faults")
    faults = faults[faults["end_ts"] + grace <= pd.Timestamp(t_end)]
    alerts = store.query("sensors.alerts_for_scoring")
    if len(faults):
        print(f"live run: {len(faults)} injected faults completed between "
              f"{pd.Timestamp(t_start):%H:%M:%S} and {pd.Timestamp(t_end):%H:%M:%S}")
        _print_pr(precision_recall(faults, alerts[alerts["reading_ts"] <= faults["end_ts"].max()
                                                  + grace], grace))

    sample = store.query("sensors.asset_series", asset_id=assets["asset_id"].iat[0], limit=1000)
    sample.insert(0, "asset_id", assets["asset_id"].iat[0])
    sample["arrived_at"] = sample["ts"]
    frame = pd.concat([sample] * max(1, 5000 // max(len(sample), 1)), ignore_index=True)
    single, batch = _append_baseline(store, frame)
    _line("append readings/s, one batch", f"{batch:,.0f}", f"one row each {single:,.0f}",
          f"{batch / single:,.0f}x")
    store.close()


def _print_pr(pr: pd.DataFrame) -> None:
    for r in pr.itertuples():
        p = "n/a" if pd.isna(r.precision) else f"{r.precision:.3f}"
        rc = "n/a" if pd.isna(r.recall) else f"{r.recall:.3f}"
        _line(f"  {r.kind}: precision / recall", f"{p} / {rc}", f"target {TARGET_PR}",
              f"{r.true_alerts}/{r.alerts} alerts, {r.found}/{r.faults} faults")


def offline_quality(assets: pd.DataFrame, hours: float = 24) -> None:
    """Two simulated days (one report a minute) through the detector, scored per kind."""
    sample = assets.sample(min(len(assets), 300), random_state=0)
    t0 = time.perf_counter()
    faults, alerts = simulate_and_detect(sample, hours=hours, fault_rate=1 / 600, seed=7)
    took = time.perf_counter() - t0
    n = len(sample) * hours * 60
    print(f"offline: {len(sample)} covers x {hours:g} h at one reading a minute "
          f"({n:,.0f} readings, {len(faults)} faults, rain included) in {took:.0f} s")
    _print_pr(precision_recall(faults, alerts, grace_for(60)))


def main(store_path: Path, seconds: float = SECONDS, rate: float = RATE,
         offline: bool = True) -> None:
    with Store.open(store_path, read_only=True) as source:
        assets = source.table("assets")
    if assets.empty:
        raise SystemExit(f"{store_path} has no assets: rebuild it with the assets stage")
    if offline:
        offline_quality(assets)
    with tempfile.TemporaryDirectory() as tmp:
        live_run(assets, rate, seconds, Path(tmp))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bench_sensors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path("data/city.duckdb"))
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--no-offline", action="store_true", help="skip the offline quality run")
    args = parser.parse_args()
    main(args.store, args.seconds, args.rate, offline=not args.no_offline)
