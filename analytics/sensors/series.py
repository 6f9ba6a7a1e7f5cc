"""A streaming anomaly detector for one real series: a bounded likelihood and one alert per incident.

Each value is compared with what the series' own recent past predicts, and the surprise is
turned into a probability, so a threshold means the same on a water-flow meter, a CPU gauge
or a traffic counter:

1. **Expected value** — additive Holt-Winters forecasters from ``river`` (level plus a
   seasonal cycle, updated online), several side by side: no cycle, the daily cycle, the
   weekly cycle (see :func:`seasons_for`), each with a few level smoothings; the one with
   the smallest recent error gives the forecast. The level follows level shifts. Values
   far off the forecast are clipped before they teach it, so a spike does not drag the
   level, while a lasting departure is learned as the new normal.
2. **Normal spread** — the running median of absolute forecast errors over a window
   (``river``'s ``RollingQuantile``), scaled to a standard deviation, with a floor tied to
   the series' own spread and resolution, never to its level (a flat past at level zero no
   longer gives a floor of 1e-9 and scores of 1e17).
3. **Likelihood** — ``2 Φ(|z|) − 1`` of the error in units of that spread (the form of
   ``river``'s ``GaussianScorer``), taken for the single value and for the mean of the
   last few errors (scaled by the spread *that* mean has shown, so slowly wandering
   series are not read as shifts). The score is the larger of the two, in [0, 1].
4. **Alert** — when the score reaches ``threshold`` after a warm-up, and then not again
   until ``holdoff`` values have passed: one alert per incident, not one per point.

Written here rather than taken whole from a library, and why: ``river`` supplies the
forecaster, the rolling quantile and the Gaussian; it has no detector that forecasts with a
season *and* scores the error on a robust learned spread (its ``PredictiveAnomalyDetection``
scales by the running variance, which spikes inflate, and its Holt-Winters initialises an
additive season as ratios, fixed below). The hold-off and the resolution floor are ours.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np
from river import stats, time_series

MAD_TO_SIGMA = 1.4826
#: Default alert level: an error this improbable under the learned spread (|z| ≈ 4.9).
THRESHOLD = 0.999999
#: Values in the mean that catches sustained shifts.
SHORT = 6
#: Window (values) of the learned error spread.
SPREAD_WINDOW = 500
#: Clip learning at this many spreads from the forecast.
LEARN_CLIP = 4.0
#: Upper quantile of absolute errors, and |z| of that quantile under a Gaussian.
TAIL_Q, TAIL_Z = 0.99, 2.5758
#: Longest cycle, in values, a forecaster keeps (a week of 5-minute readings).
MAX_SEASON = 2016
#: Level smoothings tried side by side.
ALPHAS = (0.05, 0.2, 0.5, 0.9)
#: Weight of the newest error in each forecaster's running error.
MODEL_EW = 0.02


def seasons_for(step_s: float | None) -> tuple[int, ...]:
    """Candidate cycles, in values, for readings ``step_s`` seconds apart: the day (for
    sub-hourly data) and the week (for data up to daily, at most ``MAX_SEASON`` values);
    none for monthly, yearly or irregular series."""
    if not step_s or step_s <= 0 or not math.isfinite(step_s):
        return ()
    out = []
    for period, longest_step in ((86_400.0, 3600.0), (604_800.0, 86_400.0)):
        k = period / step_s
        if step_s <= longest_step and abs(k - round(k)) < 1e-6 and 2 <= round(k) <= MAX_SEASON \
               :
            out.append(int(round(k)))
    return tuple(out)


def median_step(ts_s: np.ndarray) -> float | None:
    """Median gap in seconds between consecutive timestamps (None for fewer than two)."""
    if len(ts_s) < 2:
        return None
    d = np.diff(np.asarray(ts_s, dtype=float))
    d = d[d > 0]
    return float(np.median(d)) if len(d) else None


class _HoltWinters(time_series.HoltWinters):
    """``river``'s Holt-Winters with the additive season initialised as differences from
    the level (river 0.26 divides by the level for both forms, which is right only for the
    multiplicative one)."""

    def learn_one(self, y, x=None):
        if self._initialized or self.multiplicative or self.season is None:
            return super().learn_one(y, x)
        self._first_values.append(y)
        if len(self._first_values) < max(2, self.seasonality):
            return
        level = statistics.fmean(self._first_values)
        self.level.append(level)
        if self.trend is not None:
            self.trend.append(0.0)
        self.season.extend([v - level for v in self._first_values])
        self._initialized = True


@dataclass
class Step:
    """One value's outcome: the likelihood score in [0, 1], whether it raised an alert, and
    the forecast it was compared with (NaN during the first values)."""

    score: float
    alert: bool
    expected: float


class SeriesDetector:
    """Feed values in time order with :meth:`update`; each returns a :class:`Step`.

    ``seasons``: candidate cycles in values (see :func:`seasons_for`); ``warmup``: values
    learned from before any alert (default two of the shortest cycle, at least 50);
    ``holdoff``: values after an alert during which no new alert is raised (default one of
    the shortest cycle, at least 50).
    """

    def __init__(self, seasons: tuple[int, ...] = (), *, threshold: float = THRESHOLD,
                 warmup: int | None = None, holdoff: int | None = None,
                 alphas: tuple[float, ...] = ALPHAS, beta: float = 0.01, gamma: float = 0.25):
        if not 0 < threshold < 1:
            raise ValueError(f"threshold is a probability strictly between 0 and 1, got {threshold}")
        self.seasons = tuple(sorted({int(p) for p in seasons if p >= 2}))
        shortest = self.seasons[0] if self.seasons else 0
        self.threshold = threshold
        self.warmup = warmup if warmup is not None else max(2 * shortest, 50)
        self.holdoff = holdoff if holdoff is not None else max(shortest, 50)
        # the forecaster is chosen online: one per level smoothing and cycle (none, the day,
        # the week) run side by side and the one with the smallest recent error speaks (a
        # noisy stationary series wants a small alpha, a random walk a large one; a weekly
        # cycle wins once it has been seen clean, and loses while it remembers an anomaly)
        self.models = [self._model(a, beta, gamma, p) for p in (0, *self.seasons)
                       for a in alphas]
        self.model_err = [math.inf] * len(self.models)
        self.abs_err = stats.RollingQuantile(0.5, SPREAD_WINDOW)
        self.abs_err_tail = stats.RollingQuantile(TAIL_Q, SPREAD_WINDOW)
        self.abs_mean = stats.RollingQuantile(0.5, SPREAD_WINDOW)
        self.beyond, self.side = 0, 1.0   # consecutive errors beyond the learning clip
        self.repeats = 0        # values equal to the one before, so far
        self.run = 0            # length of the current run of equal values
        self.recent: deque[float] = deque(maxlen=SHORT)
        self.var = stats.Var()
        self.resolution = math.inf
        self.prev: float | None = None
        self.n = 0
        self.since_alert = math.inf

    @staticmethod
    def _model(alpha, beta, gamma, period):
        if period:
            # river's additive season update reads the trend, so a (slow) trend is kept
            return _HoltWinters(alpha=alpha, beta=beta, gamma=gamma, seasonality=period)
        return time_series.HoltWinters(alpha=alpha)

    def _floor(self) -> float:
        spread = math.sqrt(self.var.get() or 0.0)
        res = self.resolution if math.isfinite(self.resolution) else 0.0
        return max(0.01 * spread, 0.5 * res, 1e-9)

    def update(self, x: float) -> Step:
        x = float(x)
        self.n += 1
        ready = self.models[0]._initialized
        if ready:
            forecasts = [m.forecast(1)[0] if m._initialized else math.nan for m in self.models]
            best = min(range(len(forecasts)), key=self.model_err.__getitem__)
            expected = forecasts[best]
        else:
            expected = math.nan
        score = 0.0
        if ready:
            err = x - expected
            floor = self._floor()
            # the spread from the median error, or from the 99th percentile where the
            # series' errors have heavier tails than a Gaussian (e.g. daily returns)
            s = max(MAD_TO_SIGMA * (self.abs_err.get() or 0.0),
                    (self.abs_err_tail.get() or 0.0) / TAIL_Z, floor)
            self.recent.append(err)
            mean = statistics.fmean(self.recent)
            s_mean = max(MAD_TO_SIGMA * (self.abs_mean.get() or 0.0), floor / math.sqrt(SHORT))
            if self.n > SHORT:
                z = max(abs(err) / s, abs(mean) / s_mean if len(self.recent) == SHORT else 0.0)
                score = math.erf(z / math.sqrt(2))  # = 2 Φ(z) − 1
            self.abs_err.update(abs(err))
            self.abs_err_tail.update(abs(err))
            if len(self.recent) == SHORT:
                self.abs_mean.update(abs(mean))
            # clip what an isolated outlier teaches; a departure that lasts (SHORT values
            # beyond the band on one side) is a new normal and is learned as it is
            clip = LEARN_CLIP * s
            self.beyond = self.beyond + 1 if abs(err) > clip and err * self.side > 0 else (
                1 if abs(err) > clip else 0)
            self.side = 1.0 if err >= 0 else -1.0
            if self.beyond >= SHORT:
                clip = math.inf
            lo, hi = x - err - clip, x - err + clip
            y = min(max(x, lo), hi)
            worst = max((e for e in self.model_err if e < math.inf), default=0.0)
            for j, (m, f) in enumerate(zip(self.models, forecasts, strict=True)):
                # each learns the value clipped to a band around the chosen forecast
                if math.isnan(f):
                    m.learn_one(y)
                    if m._initialized:   # a cycle just completed: it starts as the worst
                        self.model_err[j] = worst
                    continue
                e = abs(y - f)
                self.model_err[j] = e if self.model_err[j] == math.inf else \
                    self.model_err[j] + MODEL_EW * (e - self.model_err[j])
                m.learn_one(y)
        else:
            for m in self.models:
                m.learn_one(x)
        if self.prev is not None:
            if x == self.prev:
                # a stuck value: how likely is a run this long, given how often this series
                # has repeated a value so far (Laplace-smoothed)? p ** run
                self.run += 1
                p = (self.repeats + 1) / self.n   # n - 2 earlier pairs, smoothed
                score = max(score, 1.0 - p ** self.run)
                self.repeats += 1
            else:
                self.run = 0
                self.resolution = min(self.resolution, abs(x - self.prev))  # finest step
        self.var.update(x)
        self.prev = x
        self.since_alert += 1
        alert = (score >= self.threshold and self.n > self.warmup
                 and self.since_alert > self.holdoff)
        if alert:
            self.since_alert = 0
        return Step(score, alert, expected)


def detect(values: np.ndarray, seasons: tuple[int, ...] = (),
           **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Run a fresh detector over ``values``: ``(score, alert)`` arrays, one per value."""
    det = SeriesDetector(seasons, **kwargs)
    x = np.asarray(values, dtype=float)
    score = np.empty(len(x))
    alert = np.zeros(len(x), bool)
    for i, v in enumerate(x.tolist()):
        st = det.update(v)
        score[i], alert[i] = st.score, st.alert
    return score, alert
