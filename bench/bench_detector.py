"""Detector on real series: the benchmark's normalised score, false alarms, detection delay.

The corpus (:mod:`analytics.sensors.corpus`) is real series shipped inside PyPI packages
(statsmodels, river), each with anomalies inserted by the documented procedure (3 seeded
copies, 2 anomalies each) and once with none inserted. Scored with the Numenta Anomaly
Benchmark's published rules (standard profile; never-fires = 0, perfect = 100). Baselines
measured in the same run: a detector that never fires, the earlier robust z-score
detector (threshold 6), and ``river``'s own streaming detectors as they ship
(:func:`river_predictive`, :func:`river_half_space`): what the library alone gives.
Targets from the issue: >= 60 on the normalised scale, <= 0.1 false alarms per 1,000
values on series with nothing inserted. The same is then reported on the
artificial group (:func:`analytics.sensors.corpus.artificial`): signals after the kinds of
the benchmark's artificial series, with one anomaly each or none.

Then real series labelled by the Numenta Anomaly Benchmark itself: the excerpts shipped in
``tests/data/nab``, the whole series shipped in ``tests/data/nab_whole`` (five of them with
no anomaly: every alert there is a false alarm) and, when ``CITYBRAIN_NAB_DIR`` names a folder
in the benchmark's layout (series under ``<group>/``, windows in ``combined_windows.json``),
every series there too. They
are split into a **tuning** half (``TUNING``: the series looked at while the detector was
being changed) and a **held-out** half (all others), reported separately, each against the
earlier z-score detector and a detector that never fires; series listed with no window
count false alarms per 10,000 values.

Last, the detector at other alert levels (``THRESHOLDS``): what a lower threshold gains on
labelled series against what it costs in false alarms on clean ones.

A labelled folder in the benchmark's own layout is scored by
``python -m analytics sensors benchmark DIR LABELS``.

    python -m bench --only detector
    python -m bench.bench_detector
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from analytics.sensors import corpus, nab, series
from analytics.sensors import score as scoring
from analytics.sensors.evaluate import run_corpus

#: Scores series shipped with the tests: runs where no store has been built.
NEEDS_STORE = False
TARGET_SCORE = 60.0
TARGET_FA_PER_1000 = 0.1
#: The benchmark's excerpts shipped with the tests.
NAB_SHIPPED = Path(__file__).resolve().parent.parent / "tests" / "data" / "nab"
#: Whole series of the benchmark shipped with the tests (held out but one, see TUNING).
NAB_WHOLE = NAB_SHIPPED.parent / "nab_whole"
#: Series of the benchmark looked at while the detector was tuned (speed_t4013 was first held
#: out, then inspected to find why its second incident was missed; the six realAWSCloudwatch,
#: realKnownCause, realTraffic and realTweets ones were drawn at random, seeded, from the
#: eleven excerpts added later, before any was looked at alone; the benchmark's
#: art_daily_small_noise, whose day-time false alarms led to each hour's own spread; four
#: whole series of tweet volumes, not shipped, whose false alarms at every burst led to the
#: burst test's own tail: they count when ``CITYBRAIN_NAB_DIR`` holds them; speed_6005, whose
#: one window was lost when each hour of the day first picked its forecaster on any clock,
#: which led to picking only on a steady one); all others are held out.
TUNING = frozenset({
    "artificialNoAnomaly/art_daily_small_noise.csv",
    "realTraffic/speed_7578.csv",
    "realTraffic/occupancy_6005.csv",
    "realAdExchange/exchange-3_cpc_results.csv",
    "realTraffic/speed_t4013.csv",
    "realTraffic/speed_6005.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv",
    "realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv",
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realTraffic/TravelTime_451.csv",
    "realTweets/Twitter_volume_GOOG.csv",
    "realTweets/Twitter_volume_AAPL.csv",
    "realTweets/Twitter_volume_AMZN.csv",
    "realTweets/Twitter_volume_FB.csv",
    "realTweets/Twitter_volume_IBM.csv",
})


def river_predictive(frame) -> np.ndarray:
    """``river``'s own forecasting detector as it ships: ``PredictiveAnomalyDetection`` over
    a Holt-Winters forecaster with the series' shortest cycle (the same cycles and the same
    additive-season start as ours), learning over the probationary period; a value alerts
    where its score reaches 1 (a squared error beyond the running mean plus 3 standard
    deviations of the squared errors)."""
    from river import anomaly, time_series

    det = scoring.detector_for(frame)
    season = det.seasons[0] if det.seasons else 0
    model = (series._HoltWinters(alpha=0.3, beta=0.01, gamma=0.25, seasonality=season)
             if season else time_series.HoltWinters(alpha=0.3))
    pad = anomaly.PredictiveAnomalyDetection(model, horizon=1, n_std=3.0,
                                             warmup_period=det.warmup)
    out = np.zeros(len(frame), bool)
    for i, y in enumerate(frame["value"].astype(float).tolist()):
        if model._initialized:
            out[i] = pad.score_one(None, y) >= 1.0
        pad.learn_one(None, y)
    return out


def river_half_space(frame) -> np.ndarray:
    """``river``'s Half-Space Trees on the value (scaled online to [0, 1]), through its
    ``QuantileFilter`` at q = 0.999 (a score above the 99.9th percentile of the scores so
    far alerts), as in river's own example; learning over the probationary period."""
    from river import anomaly, preprocessing

    scaler = preprocessing.MinMaxScaler()
    filt = anomaly.QuantileFilter(anomaly.HalfSpaceTrees(seed=42), q=0.999)
    first = scoring.detector_for(frame).warmup
    out = np.zeros(len(frame), bool)
    for i, y in enumerate(frame["value"].astype(float).tolist()):
        scaler.learn_one({"x": y})
        x = scaler.transform_one({"x": y})
        score = filt.score_one(x)
        out[i] = i >= first and filt.classify(score)
        filt.learn_one(x)
    return out


def detectors():
    return {
        "this detector (likelihood >= 0.999999)":
            lambda f: scoring.score_series(f)["is_anomaly"].to_numpy(),
        "earlier z-score (>= 6)": lambda f: scoring.zscore_detections(f["value"].to_numpy()),
        "river PredictiveAnomalyDetection": river_predictive,
        "river HalfSpaceTrees, q 0.999": river_half_space,
        "never fires": lambda f: np.zeros(len(f), bool),
    }


def main(store_path: Path | None = None) -> None:
    clean = corpus.load_real()
    labelled = corpus.labelled(copies=3)
    n_clean = sum(len(s.frame) for s in clean)
    print(f"{len(clean)} real series, {n_clean:,} values; {len(labelled)} labelled copies with "
          f"{sum(len(s.anomalies) for s in labelled)} inserted anomalies")
    print(f"{'detector':<40} {'NAB score':>9} {'found':>9} {'FP':>5} "
          f"{'FA/1000 clean':>14} {'delay (values)':>15} {'time s':>7}")
    results = {}
    for name, fn in detectors().items():
        t0 = time.perf_counter()
        r = run_corpus(name, fn, labelled, clean)
        dt = time.perf_counter() - t0
        results[name] = r
        print(f"{name:<40} {r.score:9.1f} {r.detected:>4}/{r.windows:<4} {r.false_positives:>5} "
              f"{r.false_alarms_per_1000:14.2f} {r.median_delay:15.1f} {dt:7.2f}")
    # the artificial group (corpus.artificial): one anomaly each, and clean signals on which
    # nothing may alert (a flat line, a square wave, a cycle without noise, counts, ...)
    art_clean, art_anom = corpus.artificial()
    n_art = sum(len(s.frame) for s in art_clean)
    print(f"\nartificial 5-minute series: {len(art_anom)} with one anomaly, {len(art_clean)} "
          f"clean ({n_art:,} values)")
    print(f"{'detector':<40} {'NAB score':>9} {'found':>9} {'FP':>5} {'FA/1000 clean':>14}")
    for name, fn in detectors().items():
        r = run_corpus(name, fn, art_anom, art_clean)
        print(f"{name:<40} {r.score:9.1f} {r.detected:>4}/{r.windows:<4} {r.false_positives:>5} "
              f"{r.false_alarms_per_1000:14.2f}")
    ours, old = list(results.values())[:2]
    print(f"score: {ours.score:.1f} vs earlier detector {old.score:.1f} (target >= "
          f"{TARGET_SCORE:g}); false alarms per 1,000 clean values {ours.false_alarms_per_1000:.2f}"
          f" vs {old.false_alarms_per_1000:.2f} ({old.false_alarms_per_1000 / max(ours.false_alarms_per_1000, 1e-9):.1f}x fewer; "
          f"target <= {TARGET_FA_PER_1000:g})")
    print(f"per 10,000 clean values: {10 * ours.false_alarms_per_1000:.2f} (target <= "
          f"{10 * TARGET_FA_PER_1000:g})")
    # per source: which series the remaining false alarms come from, and each alarm: its
    # date, the test that spoke, its surprise, and its move against the largest move the
    # series made before (a move bigger than any before is a real event of that series)
    fn = detectors()[next(iter(results))]
    by_source: dict[str, list[int]] = {}
    listed = []
    for s in clean:
        steps = scoring.score_steps(s.frame)
        d = np.array([st.alert for st in steps], bool)
        first = nab.probation(len(d))
        acc = by_source.setdefault(s.source, [0, 0])
        acc[0] += len(d) - first
        acc[1] += int(d[first:].sum())
        x = s.frame["value"].to_numpy(dtype=float)
        moves = np.abs(np.diff(x))
        for i in np.flatnonzero(d[first:]) + first:
            listed.append((s.name, str(s.frame["timestamp"].iat[i])[:10], steps[i].kind,
                           steps[i].z, x[i] - x[i - 1], moves[:i - 1].max()))
    print("false alarms on series with nothing inserted, by source:")
    for src, (pts, fa) in sorted(by_source.items()):
        print(f"  {src:<28} {fa:>3} in {pts:>6,} values = {1000 * fa / pts:5.2f} per 1,000")
    print(f"  {'series':<28} {'date':<10} {'test':<6} {'z':>6} {'change':>8} "
          f"{'largest earlier change':>23}")
    for name, day, kind, z, move, largest in listed:
        print(f"  {name:<28} {day:<10} {kind:<6} {z:6.2f} {move:8.2f} {largest:23.2f}")
    # kinds: which inserted anomalies are found
    found: dict[str, list[int]] = {}
    for s in labelled:
        d = fn(s.frame)
        ts = s.frame["timestamp"].to_numpy()
        for kind, (w0, w1) in zip(s.kinds, s.windows, strict=True):
            m = (ts >= np.datetime64(w0)) & (ts <= np.datetime64(w1))
            acc = found.setdefault(kind, [0, 0])
            acc[0] += int(d[m].any())
            acc[1] += 1
    print("inserted anomalies found, by kind: " + ", ".join(
        f"{k} {a}/{b}" for k, (a, b) in sorted(found.items())))
    nab_halves()
    threshold_tradeoff(labelled, clean)


#: Alert levels compared in :func:`threshold_tradeoff` (the default is 0.999999).
THRESHOLDS = (0.9999, 0.99999, 0.999999, 0.9999999)


def threshold_tradeoff(labelled, clean) -> None:
    """The same detector at other alert levels: what a lower threshold gains on the labelled
    series and what it costs in false alarms on the clean ones (an operator's choice of
    ``--threshold``)."""
    items = nab_series()
    halves = {"tuning": [x for x in items if x[0] in TUNING and x[2]],
              "held-out": [x for x in items if x[0] not in TUNING and x[2]]}
    print("\nthe detector at other thresholds (our corpus, its clean series, the benchmark's halves)")
    print(f"{'threshold':>10} {'corpus':>7} {'found':>8} {'FA/10k clean':>13} "
          f"{'NAB tuning':>11} {'NAB held-out':>13}")
    for thr in THRESHOLDS:
        fn = lambda f, t=thr: scoring.score_series(f, threshold=t)["is_anomaly"].to_numpy()  # noqa: E731
        r = run_corpus(f"{thr}", fn, labelled, clean)
        nab_scores = {half: nab.normalised([nab.score_detections(f["timestamp"], fn(f), w)
                                            for _, f, w in group]) if group else float("nan")
                      for half, group in halves.items()}
        print(f"{thr:>10} {r.score:7.1f} {r.detected:>4}/{r.windows:<3} "
              f"{10 * r.false_alarms_per_1000:13.2f} {nab_scores['tuning']:11.1f} "
              f"{nab_scores['held-out']:13.1f}")


def nab_series() -> list[tuple[str, object, list]]:
    """``(name, frame, windows)`` of the shipped excerpts and whole series and of
    ``CITYBRAIN_NAB_DIR`` (which wins where it holds the same series)."""
    found: dict[str, tuple[Path, list]] = {}
    extra = os.environ.get("CITYBRAIN_NAB_DIR")
    for folder in [NAB_SHIPPED, NAB_WHOLE] + ([Path(extra)] if extra else []):
        labels = folder / "combined_windows.json"
        if not labels.exists():
            print(f"{folder}: no combined_windows.json, skipped")
            continue
        windows = nab.read_windows(labels)
        folder, present, _ = nab.series_under(folder, windows)
        for name in present:
            found[name] = (folder / name, windows[name])
    return [(name, scoring.read_series(path), wins) for name, (path, wins) in sorted(found.items())]


def nab_halves() -> None:
    items = nab_series()
    if not items:
        return
    halves = {"tuning": [x for x in items if x[0] in TUNING],
              "held-out": [x for x in items if x[0] not in TUNING]}
    print("\nlabelled real series of the Numenta Anomaly Benchmark (standard profile)")
    print(f"{'half':<9} {'detector':<40} {'series':>6} {'values':>7} {'NAB score':>9} {'found':>7} "
          f"{'FP':>4} {'FA/10k no-window':>17}")
    for half, group in halves.items():
        labelled = [x for x in group if x[2]]
        clean = [x for x in group if not x[2]]
        for name, fn in detectors().items():
            scores = [nab.score_detections(f["timestamp"], fn(f), w) for _, f, w in labelled]
            pts = fa = 0
            for _, f, _w in clean:
                d = fn(f)
                first = nab.probation(len(d))
                pts += len(d) - first
                fa += int(d[first:].sum())
            per10k = f"{1e4 * fa / pts:17.2f}" if pts else f"{'-':>17}"
            print(f"{half:<9} {name:<40} {len(group):>6} {sum(len(f) for _, f, _ in group):>7,} "
                  f"{nab.normalised(scores) if scores else float('nan'):9.1f} "
                  f"{sum(s.tp for s in scores):>3}/{sum(s.windows for s in scores):<3} "
                  f"{sum(s.fp for s in scores):>4} {per10k}")
    for half, group in halves.items():
        print(f"  {half}: " + ", ".join(name for name, _, _ in group))


if __name__ == "__main__":
    main()
