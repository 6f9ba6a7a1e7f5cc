"""Rolling-origin backtest, accuracy by model, target and horizon, and conformal intervals.

Every year inside the history (after the first :data:`~analytics.forecast.data.MIN_HISTORY`
minus one) serves as an origin: each model is fitted on the data up to it and forecasts the
years after it that the history still covers. The errors, pooled over origins and areas,
give MAPE and WAPE by model, target, level (district or city) and horizon.

Intervals are split-conformal (Vovk et al., *Algorithmic Learning in a Random World*, 2005;
Lei et al. 2018): the empirical quantiles of the backtest's log errors ``log(actual /
forecast)`` at the same horizon, with the finite-sample correction ``ceil((n+1) p) / n``.
Past the longest horizon the backtest reaches, the quantiles of that horizon are widened in
proportion to the horizon (errors of a growth rate grow linearly with time). Coverage is
checked in the backtest itself, origin by origin: the interval for one origin is built from
the errors of the other origins only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analytics.forecast.data import MIN_HISTORY, History
from analytics.forecast.models import series

#: Nominal coverage of the prediction intervals.
LEVEL = 0.8
#: Below this many errors at a horizon, the city's interval borrows the districts' errors.
MIN_CALIBRATION = 8


def areas_of(history: History) -> np.ndarray:
    return np.concatenate([history.districts, [history.city_adcode]])


def run(history: History, models: dict[str, Callable[[], object]],
        max_horizon: int = 10) -> pd.DataFrame:
    """Errors of every model at every origin: a tidy frame.

    Columns ``model, target, area, level, origin, horizon, actual, forecast``.
    """
    actual = series(history)
    areas = areas_of(history)
    is_city = np.array([False] * len(history.districts) + [True])
    model_names, target_names = list(models), list(actual)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (
        "model", "target", "area", "city", "origin", "horizon", "actual", "forecast")}
    first_origin = MIN_HISTORY - 2  # index: MIN_HISTORY - 1 years of data at the origin
    for oi in range(first_origin, len(history.years) - 1):
        past = history.until(int(history.years[oi]))
        horizon = min(max_horizon, len(history.years) - 1 - oi)
        size = horizon * len(areas)
        for mi, name in enumerate(model_names):
            pred = models[name]().fit(past).predict(horizon)
            for ti, target in enumerate(target_names):
                parts["model"].append(np.full(size, mi))
                parts["target"].append(np.full(size, ti))
                parts["area"].append(np.tile(areas, horizon))
                parts["city"].append(np.tile(is_city, horizon))
                parts["origin"].append(np.full(size, int(history.years[oi])))
                parts["horizon"].append(np.repeat(np.arange(1, horizon + 1), len(areas)))
                parts["actual"].append(actual[target][oi + 1: oi + 1 + horizon].ravel())
                parts["forecast"].append(pred[target].ravel())
    if not parts["model"]:
        return pd.DataFrame(columns=["model", "target", "area", "level", "origin", "horizon",
                                     "actual", "forecast", "log_error"])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    out = pd.DataFrame({
        "model": pd.Categorical.from_codes(cat["model"], model_names).astype(object),
        "target": pd.Categorical.from_codes(cat["target"], target_names).astype(object),
        "area": cat["area"].astype(int),
        "level": np.where(cat["city"], "city", "district").astype(object),
        "origin": cat["origin"], "horizon": cat["horizon"],
        "actual": cat["actual"], "forecast": cat["forecast"]})
    out["log_error"] = np.log(np.maximum(out["actual"], 1e-9)
                              / np.maximum(out["forecast"], 1e-9))
    return out


def accuracy(errors: pd.DataFrame) -> pd.DataFrame:
    """MAPE and WAPE (percent) by model, target, level and horizon, with the number of errors."""
    e = errors[errors["actual"] > 0].copy()
    e["abs"] = (e["forecast"] - e["actual"]).abs()
    e["ape"] = 100 * e["abs"] / e["actual"]
    g = e.groupby(["model", "target", "level", "horizon"], sort=True)
    out = g.agg(mape=("ape", "mean"), abs_sum=("abs", "sum"), actual_sum=("actual", "sum"),
                n=("ape", "size")).reset_index()
    out["wape"] = 100 * out["abs_sum"] / out["actual_sum"]
    return out[["model", "target", "level", "horizon", "mape", "wape", "n"]]


def choose(acc: pd.DataFrame, target: str, horizon: int, candidates: list[str]) -> str:
    """The model with the lowest district-level MAPE over horizons 1..``horizon``."""
    a = acc[(acc["target"] == target) & (acc["level"] == "district")
            & (acc["horizon"] <= horizon) & acc["model"].isin(candidates)]
    if a.empty:
        a = acc[(acc["target"] == target) & acc["model"].isin(candidates)]
    if a.empty:
        return candidates[0]
    score = a.groupby("model")["mape"].mean()
    return str(score.idxmin())


def _conformal(errors: np.ndarray, level: float) -> tuple[float, float]:
    """Split-conformal lower and upper quantiles of ``errors`` for coverage ``level``."""
    n = len(errors)
    lo_p, hi_p = (1 - level) / 2, (1 + level) / 2
    lo = np.quantile(errors, max(0.0, np.floor((n + 1) * lo_p) / n), method="lower")
    hi = np.quantile(errors, min(1.0, np.ceil((n + 1) * hi_p) / n), method="higher")
    return float(lo), float(hi)


def error_index(errors: pd.DataFrame) -> dict[tuple, np.ndarray]:
    """Log errors grouped once: ``(model, target, level, h)`` and ``(model, target, None, h)``
    (both levels pooled) -> array."""
    index: dict[tuple, np.ndarray] = {}
    for (model, target, lev, h), g in errors.groupby(["model", "target", "level", "horizon"]):
        index[(model, target, lev, int(h))] = g["log_error"].to_numpy()
    for (model, target, h), g in errors.groupby(["model", "target", "horizon"]):
        index[(model, target, None, int(h))] = g["log_error"].to_numpy()
    return index


def interval_bounds(index: dict[tuple, np.ndarray], model: str, target: str, level_name: str,
                    horizon: int, level: float = LEVEL) -> np.ndarray:
    """``[[lo, hi] for h in 1..horizon]`` multiplicative log bounds for one model and target.

    ``index`` is :func:`error_index` of the backtest errors. Each horizon uses the errors of
    its own level (district or city); where they are too few, the last horizon that had
    enough is widened in proportion to the horizon, and where even the first horizon has too
    few, both levels' errors are pooled. The bounds always hold the forecast (``lo <= 0 <=
    hi``) and never narrow as the horizon grows.
    """
    empty = np.zeros(0)
    bounds = []
    last: tuple[int, tuple[float, float]] | None = None
    for h in range(1, horizon + 1):
        at_h = index.get((model, target, level_name, h), empty)
        if len(at_h) < MIN_CALIBRATION and last is None:
            at_h = index.get((model, target, None, h), empty)
        if len(at_h) >= MIN_CALIBRATION or (last is None and len(at_h) >= 2):
            lo, hi = _conformal(at_h, level)
            q = (min(lo, 0.0), max(hi, 0.0))
            last = (h, q)
        elif last is not None:
            h0, (lo0, hi0) = last
            q = (lo0 * h / h0, hi0 * h / h0)
        else:
            q = (-np.inf, np.inf)
        if bounds:
            q = (min(q[0], bounds[-1][0]), max(q[1], bounds[-1][1]))
        bounds.append(q)
    return np.array(bounds)


def coverage(errors: pd.DataFrame, level: float = LEVEL, min_other: int = 4) -> pd.DataFrame:
    """Share of backtest actuals inside intervals calibrated on the *other* origins.

    Columns ``model, target, level, horizon, coverage, n`` (coverage in percent).
    """
    cols = ["model", "target", "level", "horizon"]
    if errors.empty:
        return pd.DataFrame(columns=[*cols, "coverage", "n"])
    codes, uniques = pd.MultiIndex.from_frame(errors[cols]).factorize()
    origin = errors["origin"].to_numpy()
    err = errors["log_error"].to_numpy()
    order = np.lexsort((origin, codes))
    codes, origin, err = codes[order], origin[order], err[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    rows = []
    for idx in np.split(np.arange(len(codes)), bounds):
        e, o = err[idx], origin[idx]
        hits = n = 0
        for u in np.unique(o):
            own = o == u
            other = e[~own]
            if len(other) < min_other:
                continue
            lo, hi = _conformal(other, level)
            hits += int(((e[own] >= lo) & (e[own] <= hi)).sum())
            n += int(own.sum())
        if n:
            rows.append((*uniques[codes[idx[0]]], 100.0 * hits / n, n))
    return pd.DataFrame(rows, columns=[*cols, "coverage", "n"])
