"""The forecast API: one call from a store to a tidy forecast with intervals.

``forecast(store, "pop_60plus", 330106, 2025, 10)`` (``None`` for the whole city) reads the population up to 2025 (never
later), backtests every model on that history, picks the most accurate one for the target
(``model="auto"``), fits it on everything up to the base year and returns
``year, value, lo, hi, model``: the forecast and its conformal interval.

Backtests are cached by a digest of the history they ran on, so a page or a notebook asking
for many targets and areas pays for one backtest per base year.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.errors import CityBrainError
from analytics.forecast import backtest as bt
from analytics.forecast import targets as tg
from analytics.forecast.cohort import SCENARIOS, CohortComponentForecaster, get_scenario
from analytics.forecast.data import (
    MAX_HORIZON,
    History,
    check_area,
    check_horizon,
    load_history,
)
from analytics.forecast.models import (
    CohortRatioRegressor,
    LinearTrendForecaster,
    NaiveForecaster,
    Prediction,
    series,
)
from analytics.store import Store

#: name -> (estimator factory, English label). Baselines first.
MODELS: dict[str, tuple[type, str]] = {
    "naive": (NaiveForecaster, "Naive (last value held)"),
    "trend": (LinearTrendForecaster, "Linear trend"),
    "ccr_ridge": (CohortRatioRegressor, "Cohort-change ratios, ridge regression"),
    "cohort": (CohortComponentForecaster, "Cohort-component projection"),
}
BASELINES = ("naive", "trend")
BACKTEST_HORIZON = 10
_CACHE_SIZE = 8


@dataclass(frozen=True)
class Evaluation:
    """A backtest on the history up to a base year."""

    history: History
    errors: pd.DataFrame      # one row per model, target, area, origin and horizon
    accuracy: pd.DataFrame    # MAPE / WAPE by model, target, level and horizon
    index: dict = field(default_factory=dict, repr=False)  # grouped log errors

    def half_widths(self, model: str, target: str, horizon: int,
                    level: float = bt.LEVEL) -> np.ndarray:
        """Conformal log half-widths ``[horizon, area]`` (areas as :func:`bt.areas_of`)."""
        key = ("w", model, target, horizon, level)
        if key not in self.index:
            errors = self.index.get((model, target), self.errors.iloc[:0])
            areas = bt.areas_of(self.history)
            is_city = np.arange(len(areas)) == len(areas) - 1
            self.index[key] = bt.half_widths(errors, areas, is_city, horizon, level)
        return self.index[key]

    def choose(self, target: str, horizon: int) -> str:
        """The model the backtest picks for ``target`` up to ``horizon`` years ahead."""
        return bt.choose(self.accuracy, target, min(horizon, BACKTEST_HORIZON), list(MODELS))

    def coverage(self, target: str | None = None, level: float = bt.LEVEL) -> pd.DataFrame:
        """Backtest interval coverage by model, target, level and horizon."""
        errors = self.errors if target is None else self.errors[self.errors["target"] == target]
        return bt.coverage(errors, level)


_evaluations: OrderedDict[str, Evaluation] = OrderedDict()
_predictions: OrderedDict[tuple, Prediction] = OrderedDict()


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_SIZE * 8:
        cache.popitem(last=False)
    return value


def check_model(model: str) -> None:
    if model != "auto" and model not in MODELS:
        raise CityBrainError(f"unknown model {model!r}; models are auto, {', '.join(MODELS)}",
                             code="unknown_model", model=model, choices=", ".join(MODELS))


def evaluate(store: Store | History, base_year: int | None = None) -> Evaluation:
    """The rolling-origin backtest of every model on the history up to ``base_year``.

    Cached by a digest of the history, so many targets and areas pay for one backtest.

    Parameters
    ----------
    store : Store or History
        The city store (or a :class:`History` already loaded).
    base_year : int or None
        The last year read (None: the store's last).

    Returns
    -------
    Evaluation
        The errors of every model, target, area, origin and horizon, and their accuracy.
    """
    history = store if isinstance(store, History) else load_history(store, base_year)
    key = history.fingerprint
    if key in _evaluations:
        _evaluations.move_to_end(key)
        return _evaluations[key]
    errors = bt.run(history, {name: cls for name, (cls, _) in MODELS.items()},
                    BACKTEST_HORIZON)
    evaluation = Evaluation(history, errors, bt.accuracy(errors), bt.error_index(errors))
    while len(_evaluations) >= _CACHE_SIZE:
        _evaluations.popitem(last=False)
    _evaluations[key] = evaluation
    return evaluation


def _prediction(history: History, model: str, scenario: str) -> Prediction:
    """Every target of ``model`` to :data:`MAX_HORIZON` years, cached per history."""
    key = (history.fingerprint, model, scenario)
    if key in _predictions:
        return _predictions[key]
    if model == "cohort":
        pred = CohortComponentForecaster(scenario=scenario).fit(history).predict(MAX_HORIZON)
    else:
        pred = MODELS[model][0]().fit(history).predict(MAX_HORIZON)
        if scenario != "medium":
            # Scenarios are cohort-component variants; other models take the same relative
            # change, so every model answers "what if fertility and migration were lower?"
            low = _prediction(history, "cohort", scenario)
            mid = _prediction(history, "cohort", "medium")
            pred = {k: v * np.where(mid[k] > 0, low[k] / np.maximum(mid[k], 1e-9), 1.0)
                    for k, v in pred.items()}
    return _remember(_predictions, key, pred)


def _target_forecast(evaluation: Evaluation, name: str, horizon: int, model: str,
                     scenario: str, level: float) -> pd.DataFrame:
    history = evaluation.history
    areas = bt.areas_of(history)
    chosen = model if model != "auto" else evaluation.choose(name, horizon)
    values = _prediction(history, chosen, scenario)[name][:horizon]
    width = evaluation.half_widths(chosen, name, horizon, level)
    lo_q, hi_q = -width, width
    years = np.arange(history.base_year + 1, history.base_year + horizon + 1)
    return pd.DataFrame({
        "target": name, "area": np.tile(areas, horizon).astype(int),
        "year": np.repeat(years, len(areas)), "value": values.ravel(),
        "lo": (values * np.exp(lo_q)).ravel(), "hi": (values * np.exp(hi_q)).ravel(),
        "model": chosen})


def forecast_all(store: Store | History, base_year: int | None, horizon: int,
                 model: str = "auto", scenario: str = "medium",
                 level: float = bt.LEVEL) -> pd.DataFrame:
    """Every target for every area (each district and the city) in one go.

    Parameters
    ----------
    store : Store or History
        The city store (or a :class:`History` already loaded).
    base_year : int or None
        The last year of data used (None: the store's last).
    horizon : int
        Years ahead, 1 to 30.
    model, scenario, level
        As for :func:`forecast`.

    Returns
    -------
    pandas.DataFrame
        ``target, area, year, value, lo, hi, model``; ``area`` is a district's adcode or the
        city's.
    """
    check_horizon(horizon)
    check_model(model)
    get_scenario(scenario)
    evaluation = evaluate(store, base_year)
    frames = [_target_forecast(evaluation, name, horizon, model, scenario, level)
              for name in tg.TARGETS]
    return (pd.concat(frames, ignore_index=True)
            .sort_values(["target", "area", "year"], kind="stable").reset_index(drop=True))


def forecast(store: Store | History, target: str, district: int | None, base_year: int | None,
             horizon: int, model: str = "auto", scenario: str = "medium",
             level: float = bt.LEVEL) -> pd.DataFrame:
    """Forecast one target for one district or the whole city.

    Parameters
    ----------
    store : Store or History
        The city store (or a :class:`History` already loaded).
    target : str
        E.g. ``pop_total``, ``pop_3_5``, ``pop_60plus_share`` (see ``TARGETS``).
    district : int or None
        A district's adcode, or None for the whole city.
    base_year : int or None
        The last year of data used; nothing after it is read (None: the store's last).
    horizon : int
        Years ahead, 1 to 30.
    model : str
        ``auto`` (the backtest's pick for this target) or one of ``MODELS``.
    scenario : str
        ``low``, ``medium`` or ``high`` fertility and migration.
    level : float
        Nominal coverage of the ``lo``-``hi`` interval.

    Returns
    -------
    pandas.DataFrame
        ``year, value, lo, hi, model``, one row per year ahead.

    Examples
    --------
    On the small store of 西湖区 and 滨江区, ten years ahead of 2025:

    >>> out = forecast(store, "pop_60plus", 330106, 2025, 10)
    >>> out["year"].tolist() == list(range(2026, 2036))
    True
    >>> bool(((out["lo"] <= out["value"]) & (out["value"] <= out["hi"])).all())
    True
    """
    tg.target(target)
    check_horizon(horizon)
    check_model(model)
    get_scenario(scenario)
    history = store if isinstance(store, History) else load_history(store, base_year)
    area = check_area(history, district)
    frame = _target_forecast(evaluate(history), target, horizon, model, scenario, level)
    one = frame[frame["area"] == area]
    return one[["year", "value", "lo", "hi", "model"]].reset_index(drop=True)


def history_of(store: Store | History, target: str, district: int | None,
               base_year: int | None) -> pd.DataFrame:
    """The observed series of a district (None: the whole city) up to the base year.

    Parameters
    ----------
    store : Store or History
        The city store (or a :class:`History` already loaded).
    target : str
        One of ``TARGETS``.
    district : int or None
        A district's adcode, or None for the whole city.
    base_year : int or None
        The last year read (None: the store's last).

    Returns
    -------
    pandas.DataFrame
        ``year, value``.
    """
    tg.target(target)
    history = store if isinstance(store, History) else load_history(store, base_year)
    j = list(bt.areas_of(history)).index(check_area(history, district))
    return pd.DataFrame({"year": history.years, "value": series(history)[target][:, j]})


def scenarios(store: Store | History, target: str, district: int | None,
              base_year: int | None, horizon: int, model: str = "auto") -> pd.DataFrame:
    """The forecast of a district (None: the whole city) under every scenario.

    Parameters
    ----------
    store, target, district, base_year, horizon, model
        As for :func:`forecast`.

    Returns
    -------
    pandas.DataFrame
        ``year, scenario, value``.
    """
    history = store if isinstance(store, History) else load_history(store, base_year)
    frames = []
    for key in SCENARIOS:
        f = forecast(history, target, district, None, horizon, model, key)
        frames.append(f.assign(scenario=key)[["year", "scenario", "value"]])
    return pd.concat(frames, ignore_index=True)


def backtest_table(store: Store | History, target: str, base_year: int | None,
                   level_name: str = "district") -> pd.DataFrame:
    """MAPE, WAPE and interval coverage by model and horizon for one target and level.

    Parameters
    ----------
    store : Store or History
        The city store (or a :class:`History` already loaded).
    target : str
        One of ``TARGETS``.
    base_year : int or None
        The last year read (None: the store's last).
    level_name : {"district", "city"}
        Errors of the districts' forecasts, or of the city's.

    Returns
    -------
    pandas.DataFrame
        ``model, horizon, mape, wape, coverage, n``.
    """
    tg.target(target)
    evaluation = evaluate(store, base_year)
    acc = evaluation.accuracy
    acc = acc[(acc["target"] == target) & (acc["level"] == level_name)]
    cov = bt.coverage(evaluation.errors[(evaluation.errors["target"] == target)
                                        & (evaluation.errors["level"] == level_name)])
    out = acc.merge(cov[["model", "horizon", "coverage"]], on=["model", "horizon"], how="left")
    return out[["model", "horizon", "mape", "wape", "coverage", "n"]].reset_index(drop=True)
