"""Cohort-component projection by district, single year of age and sex.

The demographic engine (:mod:`analytics.demography`) supplies the life table, the fertility
schedule and the one-year step; this module estimates what is particular to each district
from its own history up to the base year and runs the step forward:

* survival: the engine's Gompertz-Makeham life table for each projection year, consistent
  with the reference life expectancy;
* fertility: the district's total fertility rate, measured as the births of recent years
  (infants at age 0, brought back to births with the first-year survival) over the births
  the national age pattern would give its women at a TFR of 1, held at the mean of the last
  :data:`RECENT_YEARS` years;
* migration: net migrants by sex and single age, the residual of each recent year
  (population minus the survivors of the year before), averaged over the same years.

Scenario variants, as official projections publish them (e.g. the UN World Population
Prospects' low/high fertility variants): fertility scaled by :data:`SCENARIOS` and net
migration moved by half its size towards less (low) or more (high) population. These
multipliers are documented assumptions, not published figures for the city.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from analytics import demography
from analytics.errors import CityBrainError
from analytics.forecast import targets as tg
from analytics.forecast.data import History

#: Years (transitions) of history the district rates are averaged over.
RECENT_YEARS = 3


@dataclass(frozen=True)
class Scenario:
    key: str
    fertility: float   # multiplier on the district's total fertility rate
    migration: float   # net migrants M become M + migration * |M|


SCENARIOS: dict[str, Scenario] = {
    "low": Scenario("low", 0.8, -0.5),
    "medium": Scenario("medium", 1.0, 0.0),
    "high": Scenario("high", 1.2, 0.5),
}


def get_scenario(key: str) -> Scenario:
    try:
        return SCENARIOS[key]
    except KeyError:
        raise CityBrainError(f"unknown scenario {key!r}; scenarios are "
                             f"{', '.join(SCENARIOS)}") from None


def project(pop: np.ndarray, first_year: int, horizon: int, tfr: np.ndarray,
            migrants: np.ndarray,
            mortality: Callable[[int], np.ndarray] = demography.mortality,
            schedule: Callable[[float], np.ndarray] = demography.fertility_schedule,
            ) -> np.ndarray:
    """Run the engine's step ``horizon`` times from ``pop[district, sex, age]``.

    ``first_year`` is the first projected year; ``tfr[district]`` the fertility held over the
    projection; ``migrants[district, sex, age]`` the net migrants of every year. Returns
    ``[horizon, district, sex, age]``. A cohort that net emigration would push below zero is
    clipped at zero.
    """
    out = np.empty((horizon,) + pop.shape)
    current = pop.astype(float)
    for i in range(horizon):
        q = mortality(first_year + i)
        for d in range(pop.shape[0]):
            step = demography.step_forward(current[d], q, schedule(float(tfr[d])), migrants[d])
            out[i, d] = np.clip(step.population, 0, None)
        current = out[i]
    return out


def estimate_rates(history: History, recent: int = RECENT_YEARS,
                   mortality: Callable[[int], np.ndarray] = demography.mortality,
                   schedule: Callable[[float], np.ndarray] = demography.fertility_schedule,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(tfr[district], migrants[district, sex, age])`` from the last ``recent`` years."""
    persons = history.persons
    n = len(history.years)
    if n < 2:
        raise CityBrainError("a cohort-component projection needs at least two years of "
                             "population to estimate migration")
    unit = schedule(1.0)
    tfrs, migs = [], []
    for i in range(max(1, n - recent), n):
        year = int(history.years[i])
        q = mortality(year)
        zero_f = np.zeros_like(unit)
        zero_m = np.zeros(persons.shape[2:])
        tfr_y, mig_y = [], []
        for d in range(persons.shape[1]):
            before, after = persons[i - 1, d], persons[i, d]
            natural = demography.step_forward(before, q, zero_f, zero_m).population
            resid = after - natural
            resid[:, 0] = 0.0  # infants: counted as births below
            births = (after[:, 0] / (1 - q[:, 0] / 2)).sum()
            exposure = (unit * before[1]).sum()
            tfr_y.append(births / exposure if exposure > 0 else 0.0)
            mig_y.append(resid)
        tfrs.append(tfr_y)
        migs.append(mig_y)
    return np.mean(tfrs, axis=0), np.mean(migs, axis=0)


class CohortComponentForecaster(BaseEstimator):
    """Cohort-component projection of every district, summed for the city.

    Parameters
    ----------
    scenario : ``low``, ``medium`` or ``high`` fertility and migration.
    recent : years of history the district's fertility and migration are averaged over.
    """

    def __init__(self, scenario: str = "medium", recent: int = RECENT_YEARS):
        self.scenario = scenario
        self.recent = recent

    def fit(self, history: History) -> CohortComponentForecaster:
        variant = get_scenario(self.scenario)
        tfr, mig = estimate_rates(history, self.recent)
        self.tfr_ = tfr * variant.fertility
        self.migrants_ = mig + variant.migration * np.abs(mig)
        self.base_population_ = history.persons[-1]
        self.base_year_ = history.base_year
        return self

    def project(self, horizon: int) -> np.ndarray:
        """Single-age projection ``[horizon, district, sex, age]``."""
        check_is_fitted(self, "tfr_")
        return project(self.base_population_, self.base_year_ + 1, horizon, self.tfr_,
                       self.migrants_)

    def predict(self, horizon: int):
        from analytics.forecast.models import from_district_counts

        return from_district_counts(tg.group_counts(self.project(horizon)))
