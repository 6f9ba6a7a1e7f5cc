"""Detection quality: on the simulator's injected faults, and on real series with the benchmark's rules.

Precision and recall of detection against the simulator's injected faults, per kind.

Event-level matching, the usual way alarms are judged: an alert is right when the same
asset has a fault of the same kind whose window (from its start to a grace period after its
end, the time the clear rule needs) contains the reading that raised it; a fault is found
when at least one such alert exists.

:func:`run_corpus` scores any series detector on a labelled corpus of real series with the
Numenta Anomaly Benchmark's published rules (:mod:`analytics.sensors.nab`) and counts its
false alarms on the same series with nothing inserted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.sensors import nab
from analytics.sensors.detection import Detector, Thresholds
from analytics.sensors.model import CHANNELS, FAULT_KINDS, NETWORK_KIND
from analytics.sensors.simulator import WARMUP_READINGS, Simulator


def precision_recall(faults: pd.DataFrame, alerts: pd.DataFrame,
                     grace: pd.Timedelta) -> pd.DataFrame:
    """``kind, faults, alerts, true_alerts, found, precision, recall`` per fault kind, and
    for surges of whole networks (``network_level``, matched on network and district).

    ``faults``: ``asset_id, kind, start_ts, end_ts`` (and ``network, district_adcode``);
    ``alerts``: ``asset_id, kind, reading_ts`` (likewise). A kind with no alerts has
    precision NaN; with no faults, recall NaN. A cover's alert is right when its cover has
    a fault of its kind whose window (start to end plus ``grace``) holds the alert's reading.

    >>> t = pd.Timestamp("2024-07-01 10:00")
    >>> faults = pd.DataFrame({"asset_id": [None], "network": ["storm"],
    ...     "district_adcode": [330106], "kind": ["network_level"], "start_ts": [t],
    ...     "end_ts": [t + pd.Timedelta(hours=3)]})
    >>> alerts = pd.DataFrame({"asset_id": [None, None], "network": ["storm", "sewer"],
    ...     "district_adcode": [330106, 330106], "kind": ["network_level"] * 2,
    ...     "reading_ts": [t + pd.Timedelta(minutes=10)] * 2})
    >>> pr = precision_recall(faults, alerts, pd.Timedelta(minutes=30)).set_index("kind")
    >>> pr.loc["network_level", ["faults", "alerts", "true_alerts", "found"]].tolist()
    [1, 2, 1, 1]
    """
    rows = []
    for kind in (*FAULT_KINDS, NETWORK_KIND):
        f = faults[faults["kind"] == kind].reset_index(drop=True)
        a = alerts[alerts["kind"] == kind].reset_index(drop=True)
        on = ["network", "district_adcode"] if kind == NETWORK_KIND else ["asset_id"]
        if f.empty or a.empty or not set(on) <= set(f.columns) & set(a.columns):
            pairs = pd.DataFrame(columns=["index_a", "index_f", "reading_ts", "start_ts",
                                          "end_ts"])
        else:
            pairs = a.reset_index().merge(f.reset_index(), on=on, suffixes=("_a", "_f"))
        hit = pairs[(pairs["reading_ts"] >= pairs["start_ts"])
                    & (pairs["reading_ts"] < pairs["end_ts"] + grace)]
        true_alerts = hit["index_a"].nunique()
        found = hit["index_f"].nunique()
        rows.append({
            "kind": kind, "faults": len(f), "alerts": len(a), "true_alerts": true_alerts,
            "found": found,
            "precision": true_alerts / len(a) if len(a) else np.nan,
            "recall": found / len(f) if len(f) else np.nan,
        })
    return pd.DataFrame(rows)


def simulate_and_detect(assets: pd.DataFrame, *, hours: float = 48, interval_s: float = 60,
                        seed: int = 7, fault_rate: float = 1 / 800,
                        thresholds: Thresholds | None = None,
                        start: float = 1_700_000_000.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the simulator and the detector in memory; return ``(faults, alerts)``.

    The detector learns from the fault-free first readings of every asset, then watches the
    rest of the stream in batches of one report interval.
    """
    sim = Simulator(assets, start=start, interval_s=interval_s, seed=seed,
                    fault_rate=fault_rate, with_index=True)
    det = Detector(assets, thresholds)

    def batch(frame):
        return frame["asset_index"].to_numpy(), frame[list(CHANNELS)].to_numpy(float)

    warm = [batch(sim.advance(start + (i + 1) * interval_s)) for i in range(WARMUP_READINGS - 5)]
    det.warm_up(warm)
    raised = []
    end = start + hours * 3600
    t = sim.t
    while t < end:
        t = min(end, t + interval_s)
        frame = sim.advance(t)
        asset, values = batch(frame)
        events, _ = det.process(asset, values)
        if events:
            ids, ts = frame["asset_id"].to_numpy(), frame["ts"].to_numpy()
            raised.extend((ids[e.row], e.kind, ts[e.row]) for e in events if e.action == "raise")
    alerts = pd.DataFrame(raised, columns=["asset_id", "kind", "reading_ts"])
    alerts["reading_ts"] = pd.to_datetime(alerts["reading_ts"])
    return sim.faults_frame(), alerts


def grace_for(interval_s: float, thresholds: Thresholds | None = None) -> pd.Timedelta:
    th = thresholds or Thresholds()
    return pd.Timedelta(seconds=(th.clear + th.confirm + 1) * interval_s)


# -- real series: the benchmark's scoring and false alarms --------------------------------
@dataclass
class CorpusResult:
    """One detector on a corpus: the normalised benchmark score, false alarms per 1,000
    values on the series with nothing inserted, and detection delays (values)."""

    name: str
    score: float
    windows: int
    detected: int
    false_positives: int
    clean_points: int
    clean_alarms: int
    delays: list[int]

    @property
    def false_alarms_per_1000(self) -> float:
        return 1000.0 * self.clean_alarms / self.clean_points if self.clean_points else float("nan")

    @property
    def median_delay(self) -> float:
        return float(np.median(self.delays)) if self.delays else float("nan")


def run_corpus(name: str, detect, labelled_series, clean_series,
               profile: nab.Profile = nab.STANDARD) -> CorpusResult:
    """``detect(frame) -> 0/1 array``; scored with the benchmark's rules on
    ``labelled_series`` and counted as false alarms on ``clean_series`` (after each series'
    probationary period, which the benchmark does not score either)."""
    scores = []
    for s in labelled_series:
        d = np.asarray(detect(s.frame), dtype=bool)
        scores.append(nab.score_detections(s.frame["timestamp"], d, s.windows, profile,
                                           anomaly_at=s.anomalies))
    points = alarms = 0
    for s in clean_series:
        d = np.asarray(detect(s.frame), dtype=bool)
        first = nab.probation(len(d))
        points += len(d) - first
        alarms += int(d[first:].sum())
    return CorpusResult(name, nab.normalised(scores, profile), sum(s.windows for s in scores),
                        sum(s.tp for s in scores), sum(s.fp for s in scores), points, alarms,
                        [x for s in scores for x in s.delays])
