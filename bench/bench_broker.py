"""Broker ingest: readings/s from devices through an MQTT broker into the store, alert latency.

A publisher process (the devices: one MQTT message per reading, QoS 1, on
``city/{adcode}/covers/{asset_id}/telemetry``) sends at RATE readings/s for SECONDS to the
broker; this process runs the feed (subscribe -> validate -> store -> detect -> alert).

1. Live: every 200th reading is a lifted cover whose timestamp is its publish time, so
   ``raised_at − reading_ts`` of its alert row is the latency from publish to alert (an
   event alerts on its first reading). Reconciles published = accepted + refused.
2. Backlog: the feed is away while the devices publish (the broker queues for its
   persistent session); it comes back and drains: readings/s from broker into the store,
   with the publisher no longer competing for the two cores.

Baseline measured in the same run: the same pipeline fed without a broker (the ceiling of
the store path). Targets from the issue: 10,000 readings/s, p99 alert latency <= 2 s, none
lost.

    python -m bench.bench_broker --store data/city.duckdb --broker mosquitto --rate 10000
    python -m bench --only broker        # embedded amqtt and mosquitto, 20 s each
"""

from __future__ import annotations

import argparse
import getpass
import json
import multiprocessing as mp
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.sensors import broker as mq
from analytics.sensors.feed import BrokerFeed, device_client
from analytics.sensors.pipeline import SensorPipeline
from analytics.store import Store

PORT = 18790
EVENT_EVERY = 200


def _normal(rng, n):
    return {"tilt_deg": np.round(rng.uniform(0.2, 0.8, n), 2),
            "displacement_mm": np.round(rng.uniform(0, 3, n), 1),
            "water_level_cm": np.round(rng.uniform(5, 15, n), 1),
            "battery_v": np.round(rng.uniform(3.5, 3.7, n), 3),
            "signal_dbm": np.round(rng.uniform(-95, -70, n), 0)}


def publisher(port, creds, adcode, assets, gateways, rate, seconds, per_gateway, out):
    """Publish ``rate`` readings/s round-robin over ``assets`` for ``seconds``: one message
    per reading on the cover's topic, or (``per_gateway``) one batch per gateway and tick
    on the gateway's topic."""
    rng = np.random.default_rng(0)
    clients = {g: device_client("127.0.0.1", port, g, pw) for g, pw in creds.items()}
    any_client = next(iter(clients.values()))
    sent, k, tick = 0, 0, 0.05
    start = time.monotonic()
    topics = [mq.topic_for(adcode, a) for a in assets]
    handles = []
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(rate * elapsed) - sent
        if due > 0:
            vals = _normal(rng, due)
            now = pd.Timestamp.now(tz="UTC").tz_localize(None)
            batches: dict[str, list] = {}
            for i in range(due):
                j = k % len(topics)
                # a microsecond apart: an asset met twice in one tick keeps distinct times
                ts = (now + pd.Timedelta(microseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                body = {"ts": ts, **{c_: float(v[i]) for c_, v in vals.items()}}
                if (sent + i) % EVENT_EVERY == EVENT_EVERY - 1:
                    body["displacement_mm"] = 60.0
                if per_gateway:
                    body["asset_id"] = assets[j]
                    batches.setdefault(gateways[j], []).append(body)
                else:
                    handles.append(any_client.publish(topics[j], json.dumps(body), qos=1))
                k += 1
            for g, rows in batches.items():
                handles.append(clients[g].publish(mq.gateway_topic(adcode, g),
                                                  json.dumps(rows), qos=1))
            sent += due
        time.sleep(tick)
    for h in handles:
        h.wait_for_publish(60)
    for c in clients.values():
        c.disconnect()
        c.loop_stop()
    out.put(sent)


def run(assets: pd.DataFrame, kind: str, rate: float, seconds: float, workdir: Path,
        per_gateway: bool = True) -> None:
    store = Store.create(workdir / f"broker_{kind}.duckdb")
    store.write("assets", assets)
    adcode = int(assets["city_adcode"].iat[0])
    gateways = sorted(set(mq.gateway_ids(assets)))
    key = mq.new_key()
    proc = None
    if kind == "amqtt":
        feed = BrokerFeed(store, port=PORT, key=key)
    else:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            print("mosquitto: not installed (apt-get install mosquitto); skipped")
            return
        conf = mq.mosquitto_files(workdir / "mosq", adcode=adcode, gateways=gateways, key=key,
                                  port=PORT + 1, user=getpass.getuser())
        subprocess.run(["mosquitto_passwd", "-U", str(workdir / "mosq" / "passwd")], check=True)
        proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        feed = BrokerFeed(store, url=f"mqtt://127.0.0.1:{PORT + 1}", key=key)
    try:
        _measure(store, feed, assets, gateways, key, adcode, rate, seconds, kind, per_gateway)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        store.close()


def _publish(port, gateways, key, adcode, assets, rate, seconds, per_gateway) -> int:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    creds = {g: mq.password_for(key, g) for g in (gateways if per_gateway else gateways[:1])}
    p = ctx.Process(target=publisher, args=(
        port, creds, adcode, assets["asset_id"].tolist(), mq.gateway_ids(assets).tolist(),
        rate, seconds, per_gateway, q))
    p.start()
    p.join()
    return q.get()


def _drain(feed, published, limit_s) -> float:
    t0 = time.monotonic()
    last, still = -1, 0
    while still < 6 and time.monotonic() - t0 < limit_s:
        time.sleep(0.25)
        now = feed.stats.received
        if now >= published:
            break
        still = still + 1 if now == last else 0
        last = now
    return time.monotonic() - t0


def _measure(store, feed, assets, gateways, key, adcode, rate, seconds, kind,
             per_gateway) -> None:
    """Phase 1, latency: devices publish at ``rate`` while the feed runs. Phase 2,
    throughput: the feed is away while devices publish (the broker queues for its
    persistent session), then it comes back and drains the queue: readings/s into the store."""
    feed.start()
    port = feed.port
    published = _publish(port, gateways, key, adcode, assets, rate, seconds, per_gateway)
    _drain(feed, published, 120)
    alerts = store.table("alerts")
    lat = ((alerts["raised_at"] - alerts["reading_ts"]).dt.total_seconds()
           if len(alerts) else pd.Series(dtype=float))
    st = feed.stats
    refused = sum(st.rejected.values())
    how = "gateway batches" if per_gateway else "one message per reading"
    print(f"{kind:<10} {how}, live at {rate:,.0f}/s: published {published:,}, accepted {st.accepted:,}, "
          f"refused {refused:,} {dict(st.rejected) if refused else ''}, lost "
          f"{published - st.accepted - refused:,}; alerts {len(alerts)} of "
          f"{published // EVENT_EVERY} lifted covers; publish-to-alert p50 "
          f"{lat.quantile(0.5) if len(lat) else float('nan'):.2f} s, p99 "
          f"{lat.quantile(0.99) if len(lat) else float('nan'):.2f} s")
    # phase 2: the subscriber away, a backlog builds in the broker
    broker = feed.broker
    feed.broker = None                       # keep an embedded broker up while away
    feed.stop()
    feed.broker = broker
    before = st.accepted
    backlog = _publish(port, gateways, key, adcode, assets, rate, seconds, per_gateway)
    feed2 = BrokerFeed(store, url=f"mqtt://127.0.0.1:{port}", key=key)
    feed2.pipeline.stats = st
    feed2.start()
    took = _drain(feed2, published + backlog, 300)
    feed2.stop()
    got = st.accepted - before
    refused = sum(st.rejected.values())
    print(f"{kind:<10} backlog of {backlog:,} queued in the broker: {got:,} accepted in "
          f"{took:.1f} s = {got / took:,.0f} readings/s into the store; lost "
          f"{published + backlog - st.accepted - refused:,}")
    if broker is not None:
        broker.stop()


def direct_baseline(assets: pd.DataFrame, n: int, workdir: Path) -> float:
    """Readings/s through the same pipeline without a broker (one batch per 0.2 s worth)."""
    store = Store.create(workdir / "direct.duckdb")
    store.write("assets", assets)
    pipe = SensorPipeline(store)
    rng = np.random.default_rng(1)
    ids = assets["asset_id"].to_numpy()
    t = pd.Timestamp.now(tz="UTC").tz_localize(None) - pd.Timedelta(hours=1)
    batch = 2000
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        m = min(batch, n - i)
        f = pd.DataFrame({"asset_id": ids[np.arange(i, i + m) % len(ids)],
                          "ts": t + pd.Timedelta(seconds=i // len(ids)), **_normal(rng, m)})
        f = f.drop_duplicates(["asset_id", "ts"])
        pipe.ingest(f)
    rate = pipe.stats.accepted / (time.perf_counter() - t0)
    store.close()
    return rate


def main(store_path: Path, rate: float = 10_000, seconds: float = 20,
         kinds=("mosquitto", "amqtt"), per_gateway: bool = True) -> None:
    with Store.open(store_path, read_only=True) as src:
        assets = src.table("assets")
    print(f"{len(assets):,} covers behind {mq.gateway_ids(assets).nunique()} gateways; "
          f"{rate:g} readings/s for {seconds:g} s, QoS 1")
    with tempfile.TemporaryDirectory() as tmp:
        base = direct_baseline(assets, int(rate * 5), Path(tmp))
        print(f"{'baseline':<10} the same pipeline without a broker: {base:,.0f} readings/s")
        for kind in kinds:
            run(assets, kind, rate, seconds, Path(tmp), per_gateway)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=Path("data/city.duckdb"))
    ap.add_argument("--rate", type=float, default=10_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--broker", choices=["amqtt", "mosquitto", "both"], default="both")
    ap.add_argument("--per-reading", action="store_true",
                    help="one message per reading on the cover topics (default: gateway batches)")
    a = ap.parse_args()
    main(a.store, a.rate, a.seconds,
         ("mosquitto", "amqtt") if a.broker == "both" else (a.broker,), not a.per_reading)
