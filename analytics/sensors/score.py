"""Score any ``timestamp,value`` series: a robust streaming z-score.

Each value is compared with the median of the ``window`` values before it, in units of
their median absolute deviation (scaled to a standard deviation). Median and MAD are not
pulled by the spikes they are meant to find, and only past values are used, so the score of
a row is what a live feed would have computed on arrival — the same property the detector's
drift score has. Scoring a labelled public series (e.g. the Numenta Anomaly Benchmark's
``timestamp,value`` files) checks the method against outside ground truth.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from analytics.errors import CityBrainError

WINDOW = 60
THRESHOLD = 6.0
MIN_PERIODS = 10
MAD_TO_SIGMA = 1.4826
CHUNK = 50_000


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
    return pd.DataFrame({"timestamp": frame["timestamp"], "value": value.astype(float)})


def robust_scores(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Score of each value against the ``window`` values before it (0 for the first
    ``MIN_PERIODS`` values, which have too little past)."""
    if window < MIN_PERIODS:
        raise CityBrainError(f"--window must be at least {MIN_PERIODS}, got {window}")
    x = np.asarray(values, dtype=float)
    n = len(x)
    scores = np.zeros(n)
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
        # a flat past (MAD 0) still flags a change: use a floor tied to the level
        floor = 1e-9 + 1e-3 * np.abs(med)
        s = np.abs(x[lo:hi] - med) / np.maximum(mad, floor)
        s[count < MIN_PERIODS] = 0.0
        scores[lo:hi] = s
    return scores


def score_series(frame: pd.DataFrame, window: int = WINDOW,
                 threshold: float = THRESHOLD) -> pd.DataFrame:
    """``timestamp, value, score, is_anomaly`` (score rounded to 3 decimals; is_anomaly 0/1)."""
    if threshold <= 0:
        raise CityBrainError(f"--threshold must be positive, got {threshold}")
    s = robust_scores(frame["value"].to_numpy(), window)
    return pd.DataFrame({"timestamp": frame["timestamp"], "value": frame["value"],
                         "score": np.round(s, 3), "is_anomaly": (s >= threshold).astype(int)})
