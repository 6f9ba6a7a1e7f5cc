"""Score any ``timestamp,value`` series: an anomaly likelihood in [0, 1] and one alert per incident.

:func:`score_series` runs :class:`analytics.sensors.series.SeriesDetector` (seasonal
forecast, robust learned spread, likelihood, hold-off) over the series in time order; only
past values inform a row's score, so it is what a live feed would have computed on arrival.
Scoring a labelled public corpus with :mod:`analytics.sensors.nab` checks the method
against outside ground truth.

:func:`robust_scores` is the earlier detector (distance from the median of the previous
``window`` values in MADs, threshold 6), kept as the baseline the benchmark measures
against; its floor for a flat past is now tied to the series' own spread, not its level.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from analytics.errors import CityBrainError
from analytics.sensors import nab, series

WINDOW = 60
#: The earlier z-score detector's threshold (a baseline).
Z_THRESHOLD = 6.0
MIN_PERIODS = 10
MAD_TO_SIGMA = 1.4826
CHUNK = 50_000


#: Largest value (in size) a series may hold: squares of larger ones overflow a double.
MAX_ABS_VALUE = 1e150


def read_series(path: Path) -> pd.DataFrame:
    """A ``timestamp,value`` CSV, checked row by row with errors that name the row."""
    if not Path(path).exists():
        raise CityBrainError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CityBrainError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    cols = [c.strip().lower() for c in frame.columns]
    frame.columns = cols
    missing = [c for c in ("timestamp", "value") if c not in cols]
    if missing:
        raise CityBrainError(f"{path}: missing column(s) {', '.join(missing)} (found "
                             f"{', '.join(cols) or 'none'}); the header must be timestamp,value")
    if frame.empty:
        raise CityBrainError(f"{path}: no rows after the header")
    ts = pd.to_datetime(frame["timestamp"], errors="coerce", format="mixed")
    bad = ts.isna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CityBrainError(f"{path}, row {i + 2}, column timestamp: {frame['timestamp'].iat[i]!r} "
                             "is not a date-time (use e.g. 2014-02-14 14:30:00)")
    value = pd.to_numeric(frame["value"], errors="coerce")
    bad = ~np.isfinite(value.to_numpy(dtype=float))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CityBrainError(f"{path}, row {i + 2}, column value: {frame['value'].iat[i]!r} is "
                             "not a number (leave no blanks; write decimals with a dot)")
    too_big = np.abs(value.to_numpy(dtype=float)) > MAX_ABS_VALUE
    if too_big.any():
        i = int(np.flatnonzero(too_big)[0])
        raise CityBrainError(f"{path}, row {i + 2}, column value: {frame['value'].iat[i]!r} is "
                             f"too large to score (at most {MAX_ABS_VALUE:g} in size: the "
                             "detector squares values and their differences)")
    back = np.flatnonzero(np.diff(ts.astype("datetime64[ns]").astype("int64").to_numpy()) < 0)
    if len(back):
        i = int(back[0]) + 1
        raise CityBrainError(f"{path}, row {i + 2}, column timestamp: {frame['timestamp'].iat[i]!r} "
                             f"is earlier than the row before ({frame['timestamp'].iat[i - 1]!r}); "
                             "the series is read in time order, so sort the file by timestamp")
    return pd.DataFrame({"timestamp": frame["timestamp"], "value": value.astype(float)})


def robust_scores(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Score of each value against the ``window`` values before it (0 for the first
    ``MIN_PERIODS`` values, which have too little past)."""
    if window < MIN_PERIODS:
        raise CityBrainError(f"--window must be at least {MIN_PERIODS}, got {window}")
    x = np.asarray(values, dtype=float)
    n = len(x)
    scores = np.zeros(n)
    # the spread of all values before each row (expanding standard deviation)
    csum, csq = np.cumsum(np.r_[0.0, x]), np.cumsum(np.r_[0.0, x * x])
    k = np.maximum(np.arange(n), 1)
    spread = np.sqrt(np.maximum(csq[:-1] / k - (csum[:-1] / k) ** 2, 0.0))
    # rows with a full window: vectorised over sliding windows, in chunks to bound memory
    padded = np.r_[np.full(window, np.nan), x]
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        past = sliding_window_view(padded[lo:hi + window - 1], window)[: hi - lo]
        with warnings.catch_warnings():  # the first rows' windows are all padding
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(past, axis=1)
            mad = np.nanmedian(np.abs(past - med[:, None]), axis=1) * MAD_TO_SIGMA
        count = np.sum(~np.isnan(past), axis=1)
        # a flat past (MAD 0) still flags a change: the floor is tied to the spread the
        # series has shown so far (not its level: a level of 0 gave 1e-9 and scores of 1e17)
        floor = np.maximum(1e-2 * spread[lo:hi], 1e-9)
        s = np.abs(x[lo:hi] - med) / np.maximum(mad, floor)
        s[count < MIN_PERIODS] = 0.0
        scores[lo:hi] = s
    return scores


def detector_for(frame: pd.DataFrame, threshold: float = series.THRESHOLD,
                 holdoff: int | None = None) -> series.SeriesDetector:
    """The detector :func:`score_series` runs over ``frame``: its cycles from the readings'
    step, its warm-up from the series' length."""
    if not 0 < threshold < 1:
        raise CityBrainError(f"--threshold is a likelihood strictly between 0 and 1, got {threshold}")
    if holdoff is not None and holdoff < 0:
        raise CityBrainError(f"--holdoff must be 0 or more values, got {holdoff}")
    ts = pd.to_datetime(frame["timestamp"], format="mixed")
    seconds = ts.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9
    step = series.median_step(seconds)
    # a daily series with no value on any Saturday or Sunday (a market) has a week of 5
    weekend = bool((ts.dt.day_of_week >= 5).any()) if len(ts) >= 14 else True
    seasons = series.seasons_for(step, business_days=not weekend)
    # the first values only teach: the benchmark's probationary period (15 % of the
    # series, at most 750 values), at least the detector's least warm-up
    warmup = max(series.WARMUP_MIN, nab.probation(len(frame)))
    # each hour of the day picks its own forecaster only where values come at a steady pace
    # (an irregular clock counted in values drifts through the day)
    return series.SeriesDetector(seasons, threshold=threshold, holdoff=holdoff, warmup=warmup,
                                 phase_pick=series.regular(seconds))


def score_steps(frame: pd.DataFrame, threshold: float = series.THRESHOLD,
                holdoff: int | None = None) -> list[series.Step]:
    """Each value's :class:`~analytics.sensors.series.Step` (score, alert, which test spoke
    and its surprise ``z``), as :func:`score_series` computes them."""
    det = detector_for(frame, threshold, holdoff)
    return [det.update(v) for v in frame["value"].to_numpy(dtype=float).tolist()]


def score_series(frame: pd.DataFrame, threshold: float = series.THRESHOLD,
                 holdoff: int | None = None) -> pd.DataFrame:
    """``timestamp, value, score, is_anomaly``: ``score`` is the anomaly likelihood in
    [0, 1] (6 decimals); ``is_anomaly`` is 1 on the value that raised an alert (after the
    probationary 15 % of the series, at most 750 values; at most one per hold-off)."""
    steps = score_steps(frame, threshold, holdoff)
    return pd.DataFrame({"timestamp": frame["timestamp"], "value": frame["value"],
                         "score": np.round([st.score for st in steps], 6),
                         "is_anomaly": np.array([st.alert for st in steps], dtype=int)})


def zscore_detections(values: np.ndarray, window: int = WINDOW,
                      threshold: float = Z_THRESHOLD) -> np.ndarray:
    """The earlier detector's alerts: every value whose robust z-score reaches ``threshold``."""
    return robust_scores(values, window) >= threshold
