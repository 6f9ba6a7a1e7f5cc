"""A streaming anomaly detector for one real series: a bounded likelihood and one alert per incident.

Each value is compared with what the series' own recent past predicts, and the surprise is
turned into a probability, so a threshold means the same on a water-flow meter, a CPU gauge
or a traffic counter. Built not to cry wolf: an operator (and the Numenta Anomaly
Benchmark, which charges every false alarm) wants few alerts, each early in an incident.

1. **Expected value** — additive Holt-Winters forecasters from ``river`` (level plus a
   seasonal cycle, updated online), several side by side: no cycle, the daily cycle, the
   weekly cycle (see :func:`seasons_for`), each with a few level smoothings; the one with
   the smallest recent error gives the forecast; in a regularly sampled series with a daily
   cycle, the one with the smallest recent error at this hour of the day (a busy, noisy day
   can make a forecaster with no cycle the best of the last hours, which then misses the
   evening's drop). The level follows level shifts. Values
   far off the forecast are clipped before they teach it, so a spike does not drag the
   level, while a lasting departure is learned as the new normal.
2. **Normal spread** — the running median of absolute forecast errors (``river``'s
   ``RollingQuantile``), scaled to a standard deviation; where the series' errors have
   heavier tails than a Gaussian, the spread is raised until the 99.9th percentile of its
   own past errors sits where a Gaussian's would (|z| = 3.29), so a value must be about 1.5
   times the series' ordinary extremes to alert (daily stock returns, poll jumps). Beyond
   that percentile a value is also judged on a generalised normal whose median and 99.9th
   percentile are the series' own (:func:`tail_z`): heavier tails than a Gaussian's fall off
   more slowly, so a record move in a series of big moves is less news. Its shape is held at
   ``BETA_FLOOR`` or more: letting it fall to a Laplace's (1) lost inserted anomalies of the
   test corpus, and below that real incidents of the benchmark. A floor
   tied to the series' own spread and resolution, never to its level, keeps a flat past
   from giving scores of 1e17. A single value is also judged against the recent volatility
   (a fast running mean of absolute errors, ``FAST_EW``): a big move inside a turbulent
   spell is less news than the same move out of calm (volatility comes in clusters). The
   surprising values of an incident already alerted do not teach any of these spreads
   (``FREEZE``), so one outage does not make the next one look ordinary; an incident ends
   with its hold-off or after ``FREEZE_CALM`` calm values in a row. A value that
   differs from the one before is judged on the errors of the earlier values that did
   (``CHANGE_MIN``): a series that holds its value between updates, as a daily poll does,
   has mostly zero errors in between, which say nothing of how far an update moves (judged
   on all its values, its ordinary updates alerted twice in the test corpus). Where the series
   has a cycle of at least ``PHASE_BINS`` values, each phase of it (each hour of a day)
   also learns its own median error, and a phase noisier than the series as a whole has
   its values' spread widened by that ratio (a busy day-time is judged on its own noise,
   not the quiet night's; a quiet phase is not judged more strictly). The phase is counted
   in values, as the cycle is, so it holds for regularly sampled series.
3. **Likelihood** — ``2 Φ(z) − 1`` (the form of ``river``'s ``GaussianScorer``) of the
   largest of four surprises, in [0, 1]; :attr:`Step.kind` says which one:

   - ``value``: this value's error;
   - ``shift``: the mean of the last few errors (a level shift), on the spread that mean
     has shown;
   - ``burst``: the mean surprise of the last ``BURST_SHORT`` values against the long-run
     distribution of that mean — the anomaly likelihood of Ahmad, Lavin, Purdy & Agha,
     "Unsupervised real-time anomaly detection for streaming data", Neurocomputing 262
     (2017) — which finds noise bursts and spikes that come thicker; like the value's,
     its spread is raised until its own 99.9th percentile sits where a Gaussian's would
     (``BURST_TAIL_Z``), so a series whose normal life comes in bursts (the volume of
     tweets about a company) is not news at every burst;
   - ``cycle``: the mean error of the forecaster with the best *long-run* record (usually
     the one that knows the daily cycle), which a change of the cycle itself moves even
     while a fast forecaster follows it value by value;

   and, for a held value, ``stuck``: how unlikely a run this much longer than the series'
   longest earlier run is, given how often it repeats values (a signal that holds its
   value every night is not news).
4. **Alert** — when the score reaches ``threshold`` (0.999999, |z| ≈ 4.9) after a
   warm-up, and then not again until ``holdoff`` *calm* values (scoring below ``REARM``)
   have passed: one alert per incident, and none for its end (the return to normal looks
   like news to forecasters that have learned the anomaly). :func:`analytics.sensors.score.
   score_series` also learns without alerting over the benchmark's probationary period
   (15 % of the series, at most 750 values), and over at least ``WARMUP_MIN`` values.

Written here rather than taken whole from a library, and why: ``river`` supplies the
forecaster, the rolling statistics and the Gaussian; it has no detector that forecasts with
a season *and* scores the error on a robust, tail-aware learned spread (its
``PredictiveAnomalyDetection`` scales by the running variance, which spikes inflate, and its
Holt-Winters initialises an additive season as ratios, fixed below), nor the likelihood of
Ahmad et al. The hold-off, the run rule and the resolution floor are ours.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np
from river import stats, time_series, utils
from scipy import stats as stats_dist

MAD_TO_SIGMA = 1.4826
#: Default alert level: an error this improbable under the learned spread (|z| ≈ 4.9).
THRESHOLD = 0.999999
#: Values in the mean that catches sustained shifts.
SHORT = 6
#: Window (values) of the learned error spread.
SPREAD_WINDOW = 500
#: Clip learning at this many spreads from the forecast.
LEARN_CLIP = 4.0
#: Upper quantile of absolute errors, and |z| of that quantile under a Gaussian: where a
#: series' errors have heavier tails than a Gaussian, the spread is raised until this
#: quantile of its own past errors sits at this |z| (so its ordinary big days are not news).
TAIL_Q, TAIL_Z = 0.999, 3.2905
#: Window (values) of that tail quantile.
TAIL_WINDOW = 2000
#: Values in the short mean of surprises (the anomaly likelihood of Ahmad et al. 2017).
BURST_SHORT = 10
#: Window (values) of the long-run distribution of those short means.
BURST_LONG = 2000
#: Judge the short mean on its own tail as well: its spread is raised until the ``TAIL_Q``
#: quantile of its past values sits at this (one-sided) |z| (0 turns it off). A series
#: whose normal life comes in bursts (social-media volumes) is not news at each one.
BURST_TAIL_Z = 3.0902
#: Least shape of the generalised normal on which a value beyond the errors' ``TAIL_Q``
#: quantile is judged (2 is a Gaussian, 1 a Laplace; see :func:`tail_z`).
BETA_FLOOR = 1.3
#: Surprise (|z|) at which one value's contribution to the short mean is capped.
BURST_CAP = 6.0
#: Least hold-off and least warm-up, in values. Thirty values are enough to learn a level
#: and a spread (the forecasters start after one value, the error quantiles after a few); a
#: longer least warm-up only blinds short series (quarterly or monthly data of 150-300
#: values), whose probationary period is already shorter.
HOLDOFF_MIN, WARMUP_MIN = 50, 30
#: Hold-off in cycles of the shortest season (a third of a day, 8 hours: the benchmark's
#: windows of one short series can be less than a day apart).
HOLDOFF_CYCLES = 1 / 3
#: Judge the mean error of the long-run best forecaster too, after this many means.
CONTEXT_MIN = 200
#: Another forecaster takes the context over when its long-run error is this share or less.
CONTEXT_SWITCH = 0.9
#: Values scoring below this count towards the hold-off after an alert.
REARM = 0.999
#: Weight of the newest error in the fast running mean of absolute errors (the recent
#: volatility), and how many of those fast spreads one value's test is at least judged on
#: (0 turns it off): a big move in a turbulent spell is less news than the same from calm.
FAST_EW, FAST_K = 0.1, 1.0
#: Surprising values during an alerted incident do not teach the spreads.
FREEZE = True
#: An alerted incident ends after this many calm values in a row (or with its hold-off). A
#: surprising value after that, silenced by the hold-off, is news no one was told of and
#: teaches the spreads like any value not alerted (a stock's -10 % day, 34 trading days
#: after an alerted slide, then made its later +10 % days look less like news). Twenty,
#: because inside an outage with two thirds of its values calm, twenty calm values in a row
#: start at a given value with a chance of 3 in 10,000 ((2/3) ** 20).
FREEZE_CALM = 20
#: Least spread of the short mean of surprises.
BURST_FLOOR = 0.1
#: A value that changes is judged on the errors of the earlier values that changed (a series
#: that holds its value between updates, as a poll does, has mostly zero errors between them,
#: which say nothing of how far an update moves); after this many changes.
CHANGE_MIN = 10
#: Longest cycle, in values, a forecaster keeps (a week of 5-minute readings).
MAX_SEASON = 2016
#: Level smoothings tried side by side.
ALPHAS = (0.05, 0.2, 0.5, 0.9)
#: Weight of the newest error in each forecaster's running error.
MODEL_EW = 0.02
#: The same, for the slow judgement of which forecaster knows the series' cycle.
CONTEXT_EW = 0.002
#: Phases of the shortest cycle (hours of a day) whose own error spread is learned, for
#: cycles of at least this many values; values a phase teaches before it is used; window
#: (values of that phase) of its median absolute error.
PHASE_BINS, PHASE_MIN, PHASE_WINDOW = 24, 5, 100
#: Each phase also keeps each forecaster's running error there (this weight for the newest,
#: about twenty values of that phase), and after ``PHASE_PICK_MIN`` values the forecaster
#: with the smallest one speaks at that phase (0 turns it off). Only for regularly sampled
#: series (``phase_pick``): where the phase is counted in values of an irregular clock, it
#: is not the hour of the day.
PHASE_PICK_EW, PHASE_PICK_MIN = 0.05, 24


def seasons_for(step_s: float | None, business_days: bool = False) -> tuple[int, ...]:
    """Candidate cycles, in values, for readings ``step_s`` seconds apart: the day (for
    sub-hourly data) and the week (for data up to daily, at most ``MAX_SEASON`` values);
    none for monthly, yearly or irregular series. ``business_days``: daily values on
    working days only (a stock market), whose week is 5 values, not 7."""
    if not step_s or step_s <= 0 or not math.isfinite(step_s):
        return ()
    if business_days and abs(step_s - 86_400.0) < 1e-6:
        return (5,)
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


#: A series is regularly sampled where this share of its steps is within 1 % of the median.
REGULAR_SHARE = 0.9


def regular(ts_s: np.ndarray) -> bool:
    """Whether readings at ``ts_s`` (seconds) come at a steady pace: at least
    ``REGULAR_SHARE`` of the steps within 1 % of the median step.

    >>> regular(np.arange(0, 3000, 300.0)), regular(np.array([0, 240, 600, 840, 1200.0]))
    (True, False)
    """
    step = median_step(ts_s)
    if not step or len(ts_s) < 3:
        return False
    d = np.diff(np.asarray(ts_s, dtype=float))
    return float(np.mean(np.abs(d - step) <= 0.01 * step)) >= REGULAR_SHARE


def default_warmup(seasons: tuple[int, ...]) -> int:
    """Values learned from before any alert: two of the shortest cycle, at least
    ``WARMUP_MIN``."""
    cycles = [int(p) for p in seasons if p >= 2]
    return max(2 * min(cycles), WARMUP_MIN) if cycles else WARMUP_MIN


@functools.cache
def _gennorm_ratios() -> tuple[np.ndarray, np.ndarray]:
    """Shapes of the generalised normal from a Gaussian's (2) down to ``BETA_FLOOR``, and the
    ratio of the ``TAIL_Q`` quantile of its absolute value to the median of it, which rises
    as the shape falls (4.88 for a Gaussian, 9.97 for a Laplace)."""
    betas = np.linspace(2.0, BETA_FLOOR, 71)
    ratios = stats_dist.gennorm.ppf(0.5 + TAIL_Q / 2, betas) / stats_dist.gennorm.ppf(0.75, betas)
    return betas, ratios


def tail_z(e: float, median: float, upper: float) -> float:
    """|z| of an absolute error ``e`` beyond ``upper`` under the generalised normal (an
    exponential-power law, ``scipy.stats.gennorm``) whose absolute value has median
    ``median`` and ``TAIL_Q`` quantile ``upper``, its shape held at ``BETA_FLOOR`` or more;
    inf where ``e`` is within ``upper`` or the two are no further apart than a Gaussian's.

    >>> round(tail_z(13.0, math.log(2), math.log(1000)), 2)      # a Laplace, shape held at 1.3
    6.35
    >>> tail_z(3.0, 1.0, 4.0)
    inf
    """
    if median <= 0 or e <= upper:
        return math.inf
    betas, ratios = _gennorm_ratios()
    ratio = upper / median
    if ratio <= ratios[0]:
        return math.inf
    beta = float(np.interp(ratio, ratios, betas))      # ratios rise as betas fall
    scale = median / stats_dist.gennorm.ppf(0.75, beta)
    p = 2 * stats_dist.gennorm.sf(e / scale, beta)
    return float(stats_dist.norm.isf(p / 2)) if p > 0 else math.inf


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
    """One value's outcome: the likelihood score in [0, 1], whether it raised an alert, the
    forecast it was compared with (NaN during the first values) and which test gave the
    score (``value``: this value alone; ``shift``: the mean of the last few; ``burst``: the
    mean surprise of the last few against its usual level; ``stuck``: a repeated value)."""

    score: float
    alert: bool
    expected: float
    kind: str = ""      # which test gave the score: value, shift, burst or stuck
    z: float = 0.0      # the largest surprise of the four tests, in standard deviations


class SeriesDetector:
    """Feed values in time order with :meth:`update`; each returns a :class:`Step`.

    ``seasons``: candidate cycles in values (see :func:`seasons_for`); ``warmup``: values
    learned from before any alert (default two of the shortest cycle, at least
    ``WARMUP_MIN``); ``holdoff``: values after an alert during which no new alert is raised
    (default a third of the shortest cycle, at least ``HOLDOFF_MIN``); ``phase_pick``: let
    each hour of the day pick its own forecaster (``PHASE_PICK_MIN``), for values that come
    at a steady pace (:func:`regular`).
    """

    def __init__(self, seasons: tuple[int, ...] = (), *, threshold: float = THRESHOLD,
                 warmup: int | None = None, holdoff: int | None = None,
                 alphas: tuple[float, ...] = ALPHAS, beta: float = 0.01, gamma: float = 0.25,
                 phase_pick: bool = True):
        if not 0 < threshold < 1:
            raise ValueError(f"threshold is a probability strictly between 0 and 1, got {threshold}")
        self.seasons = tuple(sorted({int(p) for p in seasons if p >= 2}))
        shortest = self.seasons[0] if self.seasons else 0
        self.threshold = threshold
        self.warmup = warmup if warmup is not None else default_warmup(self.seasons)
        self.holdoff = holdoff if holdoff is not None else max(int(HOLDOFF_CYCLES * shortest),
                                                               HOLDOFF_MIN)
        # the forecaster is chosen online: one per level smoothing and cycle (none, the day,
        # the week) run side by side and the one with the smallest recent error speaks (a
        # noisy stationary series wants a small alpha, a random walk a large one; a weekly
        # cycle wins once it has been seen clean, and loses while it remembers an anomaly)
        self.models = [self._model(a, beta, gamma, p) for p in (0, *self.seasons)
                       for a in alphas]
        self.model_err = [math.inf] * len(self.models)
        self.model_err_slow = [math.inf] * len(self.models)
        # the context: the forecaster with the smallest long-run error (often the one with
        # the cycle), and the mean of its last errors, which a change of the cycle itself
        # moves even where a fast forecaster follows it value by value
        self.recent_ctx: deque[float] = deque(maxlen=SHORT)
        self.n_ctx = 0
        self.ctx: int | None = None
        self.abs_ctx = stats.RollingQuantile(0.5, SPREAD_WINDOW)
        self.abs_ctx_tail = stats.RollingQuantile(TAIL_Q, TAIL_WINDOW)
        self.abs_err = stats.RollingQuantile(0.5, SPREAD_WINDOW)
        self.abs_err_tail = stats.RollingQuantile(TAIL_Q, TAIL_WINDOW)
        # the same two quantiles over the values that changed only (see CHANGE_MIN)
        self.abs_change = stats.RollingQuantile(0.5, SPREAD_WINDOW)
        self.abs_change_tail = stats.RollingQuantile(TAIL_Q, TAIL_WINDOW)
        self.n_change = 0
        self.abs_mean = stats.RollingQuantile(0.5, SPREAD_WINDOW)
        self.abs_mean_tail = stats.RollingQuantile(TAIL_Q, TAIL_WINDOW)
        # the anomaly likelihood of Ahmad et al. (2017): the mean surprise of the last
        # BURST_SHORT values against the long-run distribution of that mean
        self.surprise: deque[float] = deque(maxlen=BURST_SHORT)
        self.burst_mean = utils.Rolling(stats.Mean, window_size=BURST_LONG)
        self.burst_var = utils.Rolling(stats.Var, window_size=BURST_LONG)
        self.burst_tail = stats.RollingQuantile(TAIL_Q, BURST_LONG)
        self.beyond, self.side = 0, 1.0   # consecutive errors beyond the learning clip
        self.repeats = 0        # values equal to the one before, so far
        self.run = 0            # length of the current run of equal values
        self.longest_run = 0    # longest finished run so far
        self.recent: deque[float] = deque(maxlen=SHORT)
        self.var = stats.Var()
        self.resolution = math.inf
        self.prev: float | None = None
        self.n = 0
        self.since_alert = math.inf
        self.calm = 0               # values in a row scoring below REARM
        self.in_incident = False    # since an alert, until FREEZE_CALM calm values in a row
        self.fast: float | None = None
        # the error spread of each phase of the shortest cycle (each hour of a day): a series
        # may be noisier by day than by night, and its busy hours are then judged on their own
        self.phase_season = shortest if shortest >= PHASE_BINS else 0
        self.phase_err = [stats.RollingQuantile(0.5, PHASE_WINDOW)
                          for _ in range(PHASE_BINS if self.phase_season else 0)]
        self.phase_n = [0] * len(self.phase_err)
        # and which forecaster has served each phase best (a busy day can make a forecaster
        # with no cycle the best of the last hours, which then misses the evening's drop)
        self.phase_pick = phase_pick and PHASE_PICK_MIN > 0
        self.phase_model_err = [[math.inf] * len(self.models)
                                for _ in range(len(self.phase_err) if self.phase_pick else 0)]

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

    def _phase(self) -> int:
        """This value's phase of the shortest cycle (its hour of the day), counted in values."""
        return (self.n - 1) % self.phase_season * PHASE_BINS // self.phase_season

    def _best(self, forecasts: list[float], phase: int | None) -> int:
        """The forecaster that speaks: the smallest recent error, or, where each phase keeps
        its own record, the one that has served this phase best."""
        best = min(range(len(forecasts)), key=self.model_err.__getitem__)
        if self.phase_model_err:
            errs = self.phase_model_err[phase]
            if self.phase_n[phase] >= PHASE_PICK_MIN and math.isfinite(errs[best]):
                pick = min(range(len(forecasts)), key=errs.__getitem__)
                if not math.isnan(forecasts[pick]):
                    best = pick
        return best

    def _phase_widening(self, phase: int | None) -> float:
        """How much wider than the series' overall spread this value's phase's own spread
        is (at least 1: a quiet phase is not judged more strictly than the series as a
        whole; 1 without a phase)."""
        if phase is None:
            return 1.0
        overall = self.abs_err.get() or 0.0
        if self.phase_n[phase] < PHASE_MIN or overall <= 0:
            return 1.0
        return max((self.phase_err[phase].get() or 0.0) / overall, 1.0)

    def _burst(self, z: float) -> tuple[float, float | None]:
        """How far the mean surprise of the last values stands above its own long-run
        distribution, in its standard deviations (0 until that distribution is known), and
        that mean (None until there are ``BURST_SHORT`` values) for :meth:`_learn_burst`."""
        self.surprise.append(min(z, BURST_CAP))
        if len(self.surprise) < BURST_SHORT:
            return 0.0, None
        m = statistics.fmean(self.surprise)
        out = 0.0
        if self.burst_mean.n >= BURST_SHORT * 5:
            sd = math.sqrt(max(self.burst_var.get() or 0.0, 0.0))
            mu = self.burst_mean.get()
            # a floor on the spread: a mean that never moved must still rise a whole
            # surprise unit to count (quantised or perfectly predicted series); and its own
            # tail, where its long run has bursts in it (a Gaussian tail on a mean and a
            # variance would call each of them news)
            tail = ((self.burst_tail.get() or mu) - mu) / BURST_TAIL_Z if BURST_TAIL_Z else 0.0
            out = max(0.0, (m - mu) / max(sd, BURST_FLOOR, tail))
        return out, m

    def _learn_burst(self, m: float | None) -> None:
        if m is not None:
            self.burst_mean.update(m)
            self.burst_var.update(m)
            self.burst_tail.update(m)

    def skip(self) -> None:
        """A value that is missing (no reading came in its slot): the clock moves on, so
        the cycle stays in step with the hour, but nothing is scored or learned. Each
        forecaster takes its own forecast as the value, which leaves its level and its cycle
        as they were; one still collecting its first cycle takes the last value seen.

        >>> det = SeriesDetector((4,))
        >>> for v in [0, 10, 0, 10] * 20:
        ...     _ = det.update(v)
        >>> det.skip()                          # a 0 is missing
        >>> det.update(10).expected, det.update(0).expected
        (10.0, 0.0)
        """
        self.n += 1
        for m in self.models:
            if m._initialized:
                m.learn_one(m.forecast(1)[0])
            elif self.prev is not None:
                m.learn_one(self.prev)

    def update(self, x: float) -> Step:
        x = float(x)
        self.n += 1
        ready = self.models[0]._initialized
        phase = self._phase() if self.phase_season else None
        if ready:
            forecasts = [m.forecast(1)[0] if m._initialized else math.nan for m in self.models]
            best = self._best(forecasts, phase)
            expected = forecasts[best]
            # the context changes hands only to a clearly better forecaster (else it would
            # pass, at the start of a change, to the one that follows the change fastest)
            ctx = min(range(len(forecasts)), key=self.model_err_slow.__getitem__)
            if self.ctx is not None and math.isfinite(self.model_err_slow[self.ctx]) and \
                    self.model_err_slow[ctx] > CONTEXT_SWITCH * self.model_err_slow[self.ctx]:
                ctx = self.ctx
            self.ctx = ctx
        else:
            expected = math.nan
        score, kind, z = 0.0, "", 0.0
        if ready:
            err = x - expected
            floor = self._floor()
            changed = self.prev is not None and x != self.prev
            # a change is judged on the earlier changes' errors, where enough are known
            by_change = CHANGE_MIN and changed and self.n_change >= CHANGE_MIN
            median, upper = ((self.abs_change.get(), self.abs_change_tail.get()) if by_change
                             else (self.abs_err.get(), self.abs_err_tail.get()))
            median, upper = median or 0.0, upper or 0.0
            # the spread from the median error, or from a high quantile where the series'
            # errors have heavier tails than a Gaussian (e.g. daily returns)
            s = max(MAD_TO_SIGMA * median, upper / TAIL_Z, floor)
            s *= self._phase_widening(phase)
            self.recent.append(err)
            mean = statistics.fmean(self.recent)
            s_mean = max(MAD_TO_SIGMA * (self.abs_mean.get() or 0.0),
                         (self.abs_mean_tail.get() or 0.0) / TAIL_Z, floor / math.sqrt(SHORT))
            z_point = abs(err) / s
            z_value = z_point
            if FAST_K and self.fast is not None:
                z_value = abs(err) / max(s, FAST_K * 1.2533 * self.fast)
            z_value = min(z_value, tail_z(abs(err), median, upper))
            self.fast = abs(err) if self.fast is None else self.fast + FAST_EW * (
                abs(err) - self.fast)
            z_ctx = 0.0
            self.recent_ctx.append(x - forecasts[ctx])
            if len(self.recent_ctx) == SHORT:
                m_ctx = statistics.fmean(self.recent_ctx)
                s_ctx = max(MAD_TO_SIGMA * (self.abs_ctx.get() or 0.0),
                            (self.abs_ctx_tail.get() or 0.0) / TAIL_Z, floor)
                self.n_ctx += 1
                if self.n_ctx > CONTEXT_MIN:
                    z_ctx = abs(m_ctx) / s_ctx
            z_burst, m_burst = self._burst(z_point)
            if self.n > SHORT:
                z_shift = abs(mean) / s_mean if len(self.recent) == SHORT else 0.0
                z, kind = max((z_value, "value"), (z_shift, "shift"), (z_burst, "burst"),
                              (z_ctx, "cycle"))
                score = math.erf(z / math.sqrt(2))  # = 2 Φ(z) − 1
            # what the series does during an incident it was alerted to does not teach its
            # normal spread (else one outage would make the next one look ordinary)
            teach = not (FREEZE and self.in_incident and score >= REARM)
            if teach and phase is not None:
                self.phase_err[phase].update(abs(err))
                self.phase_n[phase] += 1
            if teach:
                self._learn_burst(m_burst)
                self.abs_err.update(abs(err))
                self.abs_err_tail.update(abs(err))
            if teach and changed:
                self.abs_change.update(abs(err))
                self.abs_change_tail.update(abs(err))
                self.n_change += 1
            if teach and len(self.recent) == SHORT:
                self.abs_mean.update(abs(mean))
                self.abs_mean_tail.update(abs(mean))
            if teach and len(self.recent_ctx) == SHORT:
                self.abs_ctx.update(abs(m_ctx))
                self.abs_ctx_tail.update(abs(m_ctx))
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
                        self.model_err_slow[j] = max(
                            (e for e in self.model_err_slow if e < math.inf), default=0.0)
                    continue
                e = abs(y - f)
                if self.phase_model_err:
                    pe = self.phase_model_err[phase]
                    pe[j] = e if pe[j] == math.inf else pe[j] + PHASE_PICK_EW * (e - pe[j])
                self.model_err[j] = e if self.model_err[j] == math.inf else \
                    self.model_err[j] + MODEL_EW * (e - self.model_err[j])
                self.model_err_slow[j] = e if self.model_err_slow[j] == math.inf else \
                    self.model_err_slow[j] + CONTEXT_EW * (e - self.model_err_slow[j])
                m.learn_one(y)
        else:
            for m in self.models:
                m.learn_one(x)
        if self.prev is not None:
            if x == self.prev:
                # a stuck value: how likely is a run this much longer than the longest run
                # the series has shown before, given how often it has repeated a value so
                # far (Laplace-smoothed)? p ** (run - longest). A signal that holds its
                # value for hours every night has long runs in its past and is not news.
                self.run += 1
                p = (self.repeats + 1) / self.n   # n - 2 earlier pairs, smoothed
                if self.run > self.longest_run:
                    stuck = 1.0 - p ** (self.run - self.longest_run)
                    if stuck > score:
                        score, kind = stuck, "stuck"
                self.repeats += 1
            else:
                self.longest_run = max(self.longest_run, self.run)
                self.run = 0
                self.resolution = min(self.resolution, abs(x - self.prev))  # finest step
        self.var.update(x)
        self.prev = x
        # the hold-off counts calm values only: an incident that goes on (or its end, a
        # return to normal that looks like news to forecasters that learned the anomaly)
        # raises no second alert
        if score < REARM:
            self.since_alert += 1
            self.calm += 1
            if self.calm >= FREEZE_CALM or self.since_alert > self.holdoff:
                self.in_incident = False
        else:
            self.calm = 0
        alert = (score >= self.threshold and self.n > self.warmup
                 and self.since_alert > self.holdoff)
        if alert:
            self.since_alert = 0
            self.in_incident = True
        return Step(score, alert, expected, kind, z)


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
