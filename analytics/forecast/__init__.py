"""Forecasts of population and of the demand for care beds and school places.

The public API: :func:`forecast` (one target, one area), :func:`forecast_all`,
:func:`evaluate` (the rolling-origin backtest), :func:`backtest_table`, :func:`demand` and
:func:`gap` (beds and places needed against capacity) and :func:`district_gaps` (every
district at once, some years ahead). See the submodules for the methods.
"""

from analytics.forecast.api import (
    BASELINES,
    MODELS,
    Evaluation,
    backtest_table,
    evaluate,
    forecast,
    forecast_all,
    history_of,
    scenarios,
)
from analytics.forecast.cohort import SCENARIOS, CohortComponentForecaster
from analytics.forecast.data import MAX_HORIZON, History, load_history
from analytics.forecast.demand import DEMAND_TYPES, demand, district_gaps, gap, group_growth
from analytics.forecast.models import (
    CohortRatioRegressor,
    LinearTrendForecaster,
    NaiveForecaster,
)
from analytics.forecast.targets import TARGETS

__all__ = [
    "BASELINES", "DEMAND_TYPES", "MAX_HORIZON", "MODELS", "SCENARIOS", "TARGETS",
    "CohortComponentForecaster", "CohortRatioRegressor", "Evaluation", "History",
    "LinearTrendForecaster", "NaiveForecaster", "backtest_table", "demand", "district_gaps",
    "evaluate",
    "forecast", "forecast_all", "gap", "group_growth", "history_of", "load_history",
    "scenarios",
]
