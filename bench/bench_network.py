"""The network watch on simulated weeks: surges found, storms let be, against the cover rules.

Each run simulates ``--days`` of every cover of the store (rain twice a day per district, 1-4
hours, up to 30 % of chamber depth, as the simulator makes it) and injects, in some networks
of some districts, a *surge*: the whole network's water rises by 35-55 % of chamber depth
over a quarter of an hour, stays up 2-6 hours and falls back over half an hour, rain or not
(a pumping station stopped, a river backing up). Each reading goes to :class:`analytics.sensors.network.NetworkWatch`, fed as the
ingest path feeds it. Reported per run and in total:

- surges found (an alert of that network while its surge lasts), and the minutes from the
  surge's start to its alert;
- false alarms: alerts outside every surge and its fall, per 10,000 network slots scored;
- the baseline, measured on the same readings: the cover rule that already exists for
  rising water, *overflow* (a cover at 88 % of its depth), counted the same way.

    python -m bench.bench_network --store data/city.duckdb             # 3 seeds, 7 days
    python -m bench.bench_network --store data/city.duckdb --seeds 1 --days 4
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from analytics.sensors import network
from analytics.sensors.detection import Thresholds
from analytics.sensors.simulator import Simulator
from analytics.store import open_for_reading

SURGES_PER_WEEK = 12
FALL_S = 1800      # a surge falls back over this long after its end


def surges_for(watch: network.NetworkWatch, start: float, days: float,
               rng: np.random.Generator) -> pd.DataFrame:
    """Surge windows on water-carrying networks, after the watch's warm-up, not overlapping
    in one network."""
    wet = [i for i, (_, n) in enumerate(watch.networks) if n in ("sewer", "storm")]
    k = max(1, round(SURGES_PER_WEEK * days / 7))
    first = start + 3 * 86400          # after the detectors' two-day warm-up (and a day)
    rows = []
    for g in rng.choice(wet, size=k, replace=len(wet) < k):
        s = rng.uniform(first, start + days * 86400 - 6 * 3600)
        rows.append({"g": int(g), "start": s, "end": s + rng.uniform(2, 6) * 3600,
                     "amp": rng.uniform(0.35, 0.55)})
    return pd.DataFrame(rows)


def run(assets: pd.DataFrame, days: float, interval_s: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    watch = network.NetworkWatch(assets)
    start = 1_790_000_000.0
    sim = Simulator(assets, start=start, interval_s=interval_s, seed=seed, fault_rate=0.0,
                    with_index=True)
    surges = surges_for(watch, start, days, rng)
    depth = assets["depth_cm"].to_numpy(float)
    over_on = Thresholds().overflow_on
    alerts, overflow = [], []
    t = start
    t0 = time.perf_counter()
    while t < start + days * 86400:
        t += interval_s
        f = sim.advance(t)
        if f.empty:
            continue
        a = f["asset_index"].to_numpy()
        ts = pd.to_datetime(f["ts"]).astype("datetime64[ns]").astype("int64").to_numpy()
        sec = ts / 1e9
        fill = f["water_level_cm"].to_numpy(float) / depth[a]
        g = watch.network_of[a]
        for s in surges.itertuples():
            on = (g == s.g) & (sec >= s.start) & (sec < s.end + FALL_S)
            fill[on] += s.amp * np.minimum(np.clip((sec[on] - s.start) / 900, 0, 1),
                                           np.clip((s.end + FALL_S - sec[on]) / FALL_S, 0, 1))
        for e in watch.observe(a, ts, fill)[0]:
            alerts.append((watch.networks.index((e.district_adcode, e.network)),
                           e.slot_ts.value / 1e9))
        hot = np.flatnonzero(fill >= over_on)
        overflow.extend(zip(g[hot].tolist(), sec[hot].tolist(), strict=True))
    elapsed = time.perf_counter() - t0
    scored = sum(max(d.n - d.warmup, 0) for d in watch.detectors)

    def judge(found_at: list[tuple[int, float]]) -> tuple[int, list[float], int]:
        hits, delays, false = set(), [], 0
        for g, when in found_at:
            mine = surges[(surges["g"] == g) & (surges["start"] <= when)]
            inside = mine[when < mine["end"]]
            if inside.empty:
                false += int(not (when < mine["end"] + FALL_S).any())   # its fall: neither
            elif inside.index[0] not in hits:
                hits.add(inside.index[0])
                delays.append((when - inside["start"].iat[0]) / 60)
        return len(hits), delays, false

    # the rule raises once per cover and incident; per network, count its first cover
    firsts = pd.DataFrame(overflow, columns=["g", "t"])
    firsts = firsts[firsts["g"] >= 0].sort_values("t")
    firsts["new"] = firsts.groupby("g")["t"].diff().fillna(np.inf) > 3600
    rule = list(firsts.loc[firsts["new"], ["g", "t"]].itertuples(index=False, name=None))
    w_found, w_delay, w_false = judge(alerts)
    r_found, r_delay, r_false = judge(rule)
    return {"seed": seed, "surges": len(surges), "watch_found": w_found,
            "watch_delay": w_delay, "watch_false": w_false, "rule_found": r_found,
            "rule_delay": r_delay, "rule_false": r_false, "scored": scored,
            "networks": len(watch.networks), "elapsed": elapsed}


def main(store_path=None, argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", default=str(store_path or "data/city.duckdb"))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--days", type=float, default=7)
    p.add_argument("--interval", type=float, default=3600,
                   help="seconds between one cover's reports (3600: the history's pace)")
    args = p.parse_args([] if argv is None and store_path is not None else argv)
    assets = open_for_reading(args.store).query("sensors.assets")
    print(f"{len(assets):,} covers, one report per {args.interval:g} s, {args.days:g} days, "
          f"{args.seeds} seeds")
    runs = [run(assets, args.days, args.interval, seed) for seed in range(1, args.seeds + 1)]
    for r in runs:
        print(f"seed {r['seed']}: {r['networks']} networks, {r['surges']} surges; watch found "
              f"{r['watch_found']}, {r['watch_false']} false; overflow rule found "
              f"{r['rule_found']}, {r['rule_false']} false ({r['elapsed']:.0f} s)")
    surges = sum(r["surges"] for r in runs)
    scored = sum(r["scored"] for r in runs)

    def med(key):
        v = [d for r in runs for d in r[key]]
        return f"{np.median(v):.0f} min" if v else "-"

    w = sum(r["watch_found"] for r in runs)
    b = sum(r["rule_found"] for r in runs)
    wf = sum(r["watch_false"] for r in runs)
    bf = sum(r["rule_false"] for r in runs)
    print(f"{'':<34}{'network watch':>16}{'overflow rule':>16}{'ratio':>8}")
    print(f"{'surges found':<34}{f'{w}/{surges}':>16}{f'{b}/{surges}':>16}"
          f"{(w / b if b else float('inf')):>8.2f}")
    print(f"{'median delay from surge start':<34}{med('watch_delay'):>16}{med('rule_delay'):>16}")
    print(f"{'false alarms (storms)':<34}{wf:>16}{bf:>16}")
    print(f"{'false alarms per 10,000 slots':<34}{wf / scored * 1e4:>16.2f}"
          f"{bf / scored * 1e4:>16.2f}")


if __name__ == "__main__":
    main(argv=None)
