"""Forecasters of every target for every area, under scikit-learn's estimator contract.

Each forecaster is a :class:`sklearn.base.BaseEstimator`: ``__init__`` only stores
parameters, ``fit(history)`` learns from a :class:`~analytics.forecast.data.History` (data up
to its last year, nothing later) and returns ``self``, learned state ends in ``_``, and
``predict(horizon)`` checks it is fitted. ``predict`` returns ``{target: values[h, area]}``
for horizons 1..horizon and areas ``districts + [city]`` (the city last), so one fit serves
every target, and the backtest can score them all at once.

Models
------
naive
    The last observed value, held. The baseline every forecaster must beat.
trend
    A straight line through the last ``window`` years (ordinary least squares, one
    scikit-learn fit for all series at once).
ratio
    Cohort-change ratios (the Hamilton-Perry method) learned by ridge regression. The people
    who will be in an age group in ``h`` years are, but for deaths and migration, those
    ``h`` years younger today (the 55-59 of today are 60-64 in five years); the ones not yet
    born are stood in for by this year's infants. The model learns the annual log ratio of
    the group to that cohort-shifted base from the district's recent ratios, its growth and
    the trend of its births, pooled over districts, origins and horizons.
cohort
    The cohort-component projection by single year of age and sex
    (:mod:`analytics.forecast.cohort`), with fertility and migration scenarios.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from analytics.forecast import targets as tg
from analytics.forecast.data import History

Prediction = dict[str, np.ndarray]  # target name -> values[h, area]
#: Fewer training rows than this and the ratio model uses the recent ratios unchanged.
MIN_TRAINING_ROWS = 10
#: Margin (annual log rate) around the observed rates that a predicted rate may reach.
RATE_MARGIN = 0.02


def series(history: History) -> dict[str, np.ndarray]:
    """Every target's history as ``values[year, area]`` (districts, then the city)."""
    counts = tg.group_counts(history.persons)            # each [Y, D]
    counts = {k: np.concatenate([v, v.sum(axis=1, keepdims=True)], axis=1)
              for k, v in counts.items()}
    return {name: tg.values(counts, t) for name, t in tg.TARGETS.items()}


def from_district_counts(counts: dict[str, np.ndarray]) -> Prediction:
    """Targets from forecast group counts ``[h, district]``: the city is their sum."""
    full = {k: np.concatenate([v, v.sum(axis=1, keepdims=True)], axis=1)
            for k, v in counts.items()}
    return {name: tg.values(full, t) for name, t in tg.TARGETS.items()}


class NaiveForecaster(BaseEstimator):
    """The last observed value, held for every horizon."""

    def fit(self, history: History) -> NaiveForecaster:
        self.last_ = {k: v[-1] for k, v in series(history).items()}
        return self

    def predict(self, horizon: int) -> Prediction:
        check_is_fitted(self, "last_")
        return {k: np.repeat(v[None, :], horizon, axis=0) for k, v in self.last_.items()}


class LinearTrendForecaster(BaseEstimator):
    """A least-squares line through the last ``window`` years of each series, extended."""

    def __init__(self, window: int = 8):
        self.window = window

    def fit(self, history: History) -> LinearTrendForecaster:
        hist = series(history)
        years = history.years[-self.window:].astype(float)
        names = list(hist)
        stacked = np.concatenate([hist[k][-self.window:] for k in names], axis=1)
        self.model_ = LinearRegression().fit(years[:, None], stacked)
        self.names_ = names
        self.n_areas_ = hist[names[0]].shape[1]
        self.base_year_ = history.base_year
        return self

    def predict(self, horizon: int) -> Prediction:
        check_is_fitted(self, "model_")
        future = np.arange(self.base_year_ + 1, self.base_year_ + horizon + 1, dtype=float)
        flat = np.clip(self.model_.predict(future[:, None]), 0, None)
        out = {}
        for i, k in enumerate(self.names_):
            out[k] = flat[:, i * self.n_areas_:(i + 1) * self.n_areas_]
        return out


# -- cohort-change ratios ----------------------------------------------------------------------
def _cohort_base(by_age: np.ndarray, group: tg.Group, h: int) -> np.ndarray:
    """The cohort-shifted base of ``group`` ``h`` years ahead, from ``by_age[..., age]``.

    The already-born part: everyone aged ``lo-h .. hi-h`` now (the open top group keeps all
    ages above). The unborn part: one year of births per unborn single age, each stood in
    for by today's infants (age 0).
    """
    lo, hi = group.lo - h, group.hi - h
    top = by_age.shape[-1] - 1
    if group.hi >= top:
        hi = top
    born = by_age[..., max(lo, 0):hi + 1].sum(axis=-1) if hi >= 0 else 0.0
    n_unborn = max(0, min(group.hi, h - 1) - group.lo + 1)
    return born + n_unborn * by_age[..., 0]


def _n_unborn(group: tg.Group, h: int) -> int:
    return max(0, min(group.hi, h - 1) - group.lo + 1)


def _common_features(by_age: np.ndarray, counts: np.ndarray, group: tg.Group) -> np.ndarray:
    """Horizon-free features for every year ``[Y, D, 3]`` (row 0 is undefined).

    The group's annual log cohort-change ratio averaged over the last three years, the
    district's growth and the growth of its births.
    """
    eps = 1e-9
    base1 = _cohort_base(by_age, group, 1)                       # [Y, D]
    ccr1 = np.zeros_like(counts)
    ccr1[1:] = np.log(np.maximum(counts[1:], eps) / np.maximum(base1[:-1], eps))
    ccr = np.zeros_like(counts)
    for t in range(1, len(counts)):
        ccr[t] = ccr1[max(1, t - 2):t + 1].mean(axis=0)
    totals = by_age.sum(axis=-1)
    growth = np.zeros_like(counts)
    growth[1:] = np.log(np.maximum(totals[1:], eps) / np.maximum(totals[:-1], eps))
    births = np.zeros_like(counts)
    births[1:] = np.log(np.maximum(by_age[1:, :, 0], eps) / np.maximum(by_age[:-1, :, 0], eps))
    return np.stack([ccr, growth, births], axis=-1)


def _design(common: np.ndarray, by_age: np.ndarray, group: tg.Group, h: int) -> np.ndarray:
    """Features ``[..., 4]`` for horizon ``h`` from the horizon-free ones."""
    base = _cohort_base(by_age, group, h)
    unborn = _n_unborn(group, h) * by_age[..., 0] / np.maximum(base, 1e-9)
    return np.concatenate([common[..., :2], (common[..., 2] * unborn)[..., None],
                           unborn[..., None]], axis=-1)


class CohortRatioRegressor(BaseEstimator):
    """Hamilton-Perry cohort-change ratios learned by ridge regression (see module notes).

    Parameters
    ----------
    alpha : ridge penalty on the standardised features.
    max_train_horizon : the longest horizon used to build training rows.
    """

    def __init__(self, alpha: float = 1.0, max_train_horizon: int = 10):
        self.alpha = alpha
        self.max_train_horizon = max_train_horizon

    def fit(self, history: History) -> CohortRatioRegressor:
        by_age = history.persons.sum(axis=2)            # [Y, D, age]
        all_counts = tg.group_counts(history.persons)
        n_years = len(history.years)
        self.models_, self.bounds_, self.common_ = {}, {}, {}
        for key, group in tg.GROUPS.items():
            counts = all_counts[key]
            common = _common_features(by_age, counts, group)
            xs, ys = [], []
            for h in range(1, min(self.max_train_horizon, n_years - 2) + 1):
                t = np.arange(1, n_years - h)            # origins with an answer h years on
                base = _cohort_base(by_age[t], group, h)
                later = counts[t + h]
                ok = (base > 0) & (later > 0)
                xs.append(_design(common[t], by_age[t], group, h)[ok])
                ys.append(np.log(later[ok] / base[ok]) / h)
            y = np.concatenate(ys) if ys else np.zeros(0)
            self.common_[key] = common[-1]
            if len(y) < MIN_TRAINING_ROWS:
                # Too little history to learn from: the recent ratios, as Hamilton-Perry.
                self.models_[key] = None
                self.bounds_[key] = (-np.inf, np.inf)
                continue
            model = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
            self.models_[key] = model.fit(np.concatenate(xs), y)
            # Never extrapolate a rate beyond what the history has shown (plus a margin).
            self.bounds_[key] = (y.min() - RATE_MARGIN, y.max() + RATE_MARGIN)
        self.last_by_age_ = by_age[-1]
        return self

    def predict(self, horizon: int) -> Prediction:
        check_is_fitted(self, "models_")
        counts = {}
        hs = np.arange(1, horizon + 1)
        for key, group in tg.GROUPS.items():
            base = np.array([_cohort_base(self.last_by_age_, group, h) for h in hs])  # [H, D]
            x = np.concatenate([_design(self.common_[key], self.last_by_age_, group, h)
                                for h in hs])
            model = self.models_[key]
            rate = x[:, 0] if model is None else model.predict(x)   # one call, all horizons
            rate = np.clip(rate, *self.bounds_[key]).reshape(base.shape)
            counts[key] = base * np.exp(hs[:, None] * rate)
        return from_district_counts(counts)
