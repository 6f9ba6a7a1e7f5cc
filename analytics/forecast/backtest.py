"""Rolling-origin backtest, accuracy by model, target and horizon, and conformal intervals.

Every year inside the history (after the first :data:`~analytics.forecast.data.MIN_HISTORY`
minus one) serves as an origin: each model is fitted on the data up to it and forecasts the
years after it that the history still covers. The errors, pooled over origins and areas,
give MAPE and WAPE by model, target, level (district or city) and horizon.

Intervals are split-conformal (Vovk et al., *Algorithmic Learning in a Random World*, 2005;
Lei et al. 2018), calibrated per area and horizon (:func:`half_widths`): symmetric in log
terms around the forecast, as wide as the larger of the pooled quantile of ``|log(actual /
forecast)|`` at that horizon and the area's own error scale times the pooled normalised
quantile, with the finite-sample correction ``ceil((n+1) p) / n``. Past the longest horizon
the backtest reaches, they widen in proportion to the horizon (errors of a growth rate grow
linearly with time). Coverage is checked in the backtest itself, origin by origin: the
interval for one origin is built from the errors of the other origins only.
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


def _conformal_q(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile of non-negative ``scores`` for coverage ``level``:
    the ``ceil((n+1) level)``-th smallest (Vovk et al. 2005)."""
    n = len(scores)
    return float(np.quantile(scores, min(1.0, np.ceil((n + 1) * level) / n), method="higher"))


def _conformal(errors: np.ndarray, level: float) -> tuple[float, float]:
    """Symmetric split-conformal log bounds ``(-q, q)`` from signed log errors."""
    q = _conformal_q(np.abs(errors), level)
    return -q, q


def error_index(errors: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """The backtest errors grouped once by ``(model, target)``."""
    return {(m, t): g for (m, t), g in errors.groupby(["model", "target"], sort=False)}


def area_scales(errors: pd.DataFrame) -> pd.Series:
    """Each area's own error per year of horizon: the root mean square of
    ``log_error / horizon`` over its backtest errors (a floor keeps it positive)."""
    rate = errors["log_error"].to_numpy() / errors["horizon"].to_numpy()
    frame = pd.DataFrame({"area": errors["area"].to_numpy(), "r2": rate ** 2})
    return np.sqrt(frame.groupby("area")["r2"].mean()).clip(lower=1e-4)


def half_widths(errors: pd.DataFrame, areas: np.ndarray, is_city: np.ndarray, horizon: int,
                level: float = LEVEL) -> np.ndarray:
    """Log half-widths ``[horizon, area]`` of the intervals for one model and target.

    The interval is ``forecast * exp(+-w)``: symmetric in log terms, because the backtest's
    bias need not persist (on Hangzhou the cohort model over-forecast ageing before 2020 and
    under-forecast it after, so intervals centred on the past bias missed the held-out
    years). For area ``a`` and horizon ``h``, ``w`` is the larger of

    * the level's (district or city) conformal quantile of ``|log error|`` at ``h``, and
    * the area's own scale (:func:`area_scales`) times ``h`` times the conformal quantile
      at ``h`` of the normalised scores ``|log error| / (scale * h)`` pooled over areas
      (locally weighted conformal, Lei et al. 2018, section 5.2),

    so a district whose own forecasts erred more gets a wider interval. Where a horizon has
    fewer than :data:`MIN_CALIBRATION` errors, the last horizon that had enough is widened
    in proportion to the horizon. Half-widths never narrow as the horizon grows.
    """
    out = np.full((horizon, len(areas)), np.inf)
    if errors.empty:
        return out
    scale_s = area_scales(errors)
    fallback = float(scale_s.median())
    scale = np.array([float(scale_s.get(int(a), fallback)) for a in areas])
    err_area = errors["area"].to_numpy()
    err_h = errors["horizon"].to_numpy()
    err_abs = np.abs(errors["log_error"].to_numpy())
    err_city = (errors["level"] == "city").to_numpy()
    score = err_abs / (scale_s.reindex(err_area).to_numpy() * err_h)
    last_norm: float | None = None
    last_lev: dict[bool, tuple[int, float]] = {}
    for h in range(1, horizon + 1):
        at = err_h == h
        if at.sum() >= MIN_CALIBRATION:
            last_norm = _conformal_q(score[at], level)
        pooled = np.zeros(len(areas))
        for city in (False, True):
            sel = at & (err_city == city)
            if sel.sum() < MIN_CALIBRATION:
                sel = at
            if sel.sum() >= MIN_CALIBRATION or (city not in last_lev and sel.sum() >= 2):
                q = _conformal_q(err_abs[sel], level)
                last_lev[city] = (h, q)
            elif city in last_lev:
                h0, q0 = last_lev[city]
                q = q0 * h / h0
            else:
                q = np.inf
            pooled[is_city == city] = q
        own = last_norm * scale * h if last_norm is not None else np.full(len(areas), np.inf)
        out[h - 1] = np.maximum(pooled, own)
    return np.maximum.accumulate(out, axis=0)


def coverage(errors: pd.DataFrame, level: float = LEVEL, min_other: int = 4) -> pd.DataFrame:
    """Share of backtest actuals inside intervals calibrated on the *other* origins.

    The intervals are those of :func:`half_widths`, rebuilt for each origin from the errors
    of every other origin. Columns ``model, target, level, horizon, coverage, n`` (coverage
    in percent).
    """
    cols = ["model", "target", "level", "horizon"]
    if errors.empty:
        return pd.DataFrame(columns=[*cols, "coverage", "n"])
    hits: dict[tuple, list[int]] = {}
    for (model, target), g in errors.groupby(["model", "target"], sort=True):
        origins = np.unique(g["origin"].to_numpy())
        for u in origins:
            own = g[g["origin"] == u]
            other = g[g["origin"] != u]
            if len(other) < min_other:
                continue
            areas = np.unique(own["area"].to_numpy())
            is_city = np.array([bool(c) for c in own.groupby("area")["level"].first()
                                .reindex(areas).eq("city")])
            h_max = int(own["horizon"].max())
            w = half_widths(other, areas, is_city, h_max, level)
            col = np.searchsorted(areas, own["area"].to_numpy())
            inside = (np.abs(own["log_error"].to_numpy())
                      <= w[own["horizon"].to_numpy() - 1, col])
            for lev, h, ok in zip(own["level"], own["horizon"], inside, strict=True):
                cell = hits.setdefault((model, target, lev, int(h)), [0, 0])
                cell[0] += int(ok)
                cell[1] += 1
    rows = [(*k, 100.0 * v[0] / v[1], v[1]) for k, v in sorted(hits.items())]
    return pd.DataFrame(rows, columns=[*cols, "coverage", "n"])
