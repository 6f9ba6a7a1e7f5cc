"""Detector on real series: the benchmark's normalised score, false alarms, detection delay.

The corpus (:mod:`analytics.sensors.corpus`) is real series shipped inside PyPI packages
(statsmodels, river), each with anomalies inserted by the documented procedure (3 seeded
copies, 2 anomalies each) and once with none inserted. Scored with the Numenta Anomaly
Benchmark's published rules (standard profile; never-fires = 0, perfect = 100). Baselines
measured in the same run: a detector that never fires, and the earlier robust z-score
detector (threshold 6). Targets from the issue: >= 60 on the normalised scale, <= 0.1 false
alarms per 1,000 values on series with nothing inserted. The same is then reported on the
artificial group (:func:`analytics.sensors.corpus.artificial`): signals after the kinds of
the benchmark's artificial series, with one anomaly each or none.

A labelled folder in the benchmark's own layout is scored by
``python -m analytics sensors benchmark DIR LABELS``.

    python -m bench --only detector
    python -m bench.bench_detector
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from analytics.sensors import corpus, nab
from analytics.sensors import score as scoring
from analytics.sensors.evaluate import run_corpus

TARGET_SCORE = 60.0
TARGET_FA_PER_1000 = 0.1


def detectors():
    return {
        "this detector (likelihood >= 0.999999)":
            lambda f: scoring.score_series(f)["is_anomaly"].to_numpy(),
        "earlier z-score (>= 6)": lambda f: scoring.zscore_detections(f["value"].to_numpy()),
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
    # per source: which series the remaining false alarms come from
    fn = detectors()[next(iter(results))]
    by_source: dict[str, list[int]] = {}
    for s in clean:
        d = fn(s.frame)
        first = nab.probation(len(d))
        acc = by_source.setdefault(s.source, [0, 0])
        acc[0] += len(d) - first
        acc[1] += int(d[first:].sum())
    print("false alarms on series with nothing inserted, by source:")
    for src, (pts, fa) in sorted(by_source.items()):
        print(f"  {src:<28} {fa:>3} in {pts:>6,} values = {1000 * fa / pts:5.2f} per 1,000")
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


if __name__ == "__main__":
    main()
