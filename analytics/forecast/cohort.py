"""Cohort-component projection by district, single year of age and sex.

The demographic engine (:mod:`analytics.population.demography`) supplies the life table, the fertility
schedule and the one-year step; this module estimates what is particular to each district
from its own history up to the base year and runs the step forward:

* survival: the engine's Gompertz-Makeham life table for each projection year, consistent
  with the reference life expectancy; where a department reports a district's deaths
  (the vital-events layer), the table is scaled for that district by its ratio of registered
  to expected deaths over the last :data:`RECENT_YEARS` reported years (indirect
  standardisation: the standardised mortality ratio), bounded by
  :data:`MORTALITY_SCALE_BOUNDS`;
* fertility: the district's total fertility rate, measured as the year's births (those a
  department reports through the vital-events layer, e.g. the health commission's
  ``health_vital_events``; else the infants at age 0, brought back to births with the
  first-year survival) over the births the national
  age pattern would give its women at a TFR of 1, taken from the last
  :data:`FERTILITY_YEARS` year(s) and then moved along the fertility path: the national
  crude birth rate's trend over the last :data:`TREND_YEARS` years up to the base year (a
  least-squares line in logs), damped by :data:`DAMPING` a year (Gardner and McKenzie's
  damped trend, *Management Science* 31, 1985). A city's births follow the country's
  swings (the 2016 two-child peak, the fall after 2017), which its own few years cannot
  foresee;
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
from functools import cache, partial

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from analytics import reference
from analytics.errors import CityBrainError, lookup
from analytics.forecast import targets as tg
from analytics.forecast.data import History
from analytics.forecast.models import from_district_counts
from analytics.population import demography

#: Years (transitions) of history the district's migration is averaged over.
RECENT_YEARS = 3
#: Years the district's fertility is measured over: the latest, because fertility moves
#: fast (on the Hangzhou store, 1 year against 3 cut the 5-year district MAPE of the 3-5
#: from 9.7 % to 8.4 % before the trend; see the README's forecast section).
FERTILITY_YEARS = 1
#: Years of the national birth rate the fertility trend is fitted on.
TREND_YEARS = 4
#: Share of the fertility trend kept each further year (damped trend).
DAMPING = 0.8
#: Bounds on a district's mortality relative to the city's life table (its standardised
#: mortality ratio from registered deaths): a register with a district's deaths half missing,
#: or counted twice, moves its survival by no more than this.
MORTALITY_SCALE_BOUNDS = (0.5, 2.0)
#: Share of the gap between recent and long-run net migration that is left after each
#: projected year: migration surges and slumps fade towards the district's long-run level.
PERSISTENCE = 0.5


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
    return lookup(SCENARIOS, key, "scenario", "scenarios", code="unknown_scenario")


@cache
def city_mortality(year: int, adcode: int | None = None) -> np.ndarray:
    """The engine's life table for a year and city (the city's own life expectancy where the
    reference has it), computed once per year."""
    q = demography.mortality(year, adcode)
    q.setflags(write=False)
    return q


def project(pop: np.ndarray, first_year: int, horizon: int, tfr: np.ndarray,
            migrants: np.ndarray,
            mortality: Callable[[int], np.ndarray] = city_mortality,
            schedule: Callable[[float], np.ndarray] = demography.fertility_schedule,
            scale: np.ndarray | None = None) -> np.ndarray:
    """Run the engine's step ``horizon`` times from ``pop[district, sex, age]``.

    ``first_year`` is the first projected year; ``tfr[district]`` the fertility held over the
    projection (or ``[horizon, district]``, one per projected year);
    ``migrants[district, sex, age]`` the net migrants of every year (or
    ``[horizon, district, sex, age]``, one set per projected year); ``scale[district]``
    multiplies each district's death probabilities (:func:`mortality_scale`; 1 when None).
    Returns ``[horizon, district, sex, age]``. A cohort that net emigration would push below
    zero is clipped at zero.
    """
    out = np.empty((horizon,) + pop.shape)
    current = pop.astype(float)
    yearly = migrants if migrants.ndim == pop.ndim + 1 else np.broadcast_to(
        migrants, (horizon,) + migrants.shape)
    tfrs = tfr if np.ndim(tfr) == 2 else np.broadcast_to(tfr, (horizon, len(tfr)))
    for i in range(horizon):
        q = mortality(first_year + i)
        for d in range(pop.shape[0]):
            step = demography.step_forward(current[d], _scaled(q, scale, d),
                                           schedule(float(tfrs[i, d])), yearly[i, d])
            out[i, d] = np.clip(step.population, 0, None)
        current = out[i]
    return out


def _scaled(q: np.ndarray, scale: np.ndarray | None, d: int) -> np.ndarray:
    """District ``d``'s death probabilities: the city's ``q`` times its scale, at most 1."""
    return q if scale is None or scale[d] == 1.0 else np.minimum(q * scale[d], 1.0)


def mortality_scale(history: History,
                    mortality: Callable[[int], np.ndarray] = city_mortality,
                    recent: int = RECENT_YEARS) -> np.ndarray:
    """``[district]``: registered deaths over the deaths the life table expects, per district.

    Over the last ``recent`` years in which a department reports the district's deaths
    (``history.deaths``), the expected deaths are the residents of the start of each year
    times the year's death probabilities, plus the year's births (its infants brought back
    with half the first-year probability) dying at half that probability, as
    :func:`~analytics.population.demography.step_forward` counts them. The ratio is bounded
    by :data:`MORTALITY_SCALE_BOUNDS`; 1 where no department reports deaths.

    >>> import numpy as np
    >>> from analytics.forecast.data import History
    >>> persons = np.zeros((2, 1, 2, 101)); persons[:, 0, 0, 50] = 1000.0
    >>> h = History(np.array([2020, 2021]), np.array([330106]), persons, 330100,
    ...             deaths=np.array([[np.nan], [150.0]]))
    >>> mortality_scale(h, lambda year: np.full((2, 101), 0.1)).tolist()  # 150 / 100
    [1.5]
    """
    n_dist = len(history.districts)
    scale = np.ones(n_dist)
    if history.deaths is None:
        return scale
    observed, expected = np.zeros(n_dist), np.zeros(n_dist)
    counted = np.zeros(n_dist, dtype=int)
    for i in range(len(history.years) - 1, 0, -1):  # the latest years first
        q = mortality(int(history.years[i]))
        for d in range(n_dist):
            reported = history.deaths[i, d]
            if not np.isfinite(reported) or counted[d] >= recent:
                continue
            before, after = history.persons[i - 1, d], history.persons[i, d]
            born = after[:, 0] / (1 - q[:, 0] / 2)
            expected[d] += float((before * q).sum() + (born * q[:, 0] / 2).sum())
            observed[d] += float(reported)
            counted[d] += 1
    have = (counted > 0) & (expected > 0)
    scale[have] = np.clip(observed[have] / expected[have], *MORTALITY_SCALE_BOUNDS)
    return scale


def rate_history(history: History,
                 mortality: Callable[[int], np.ndarray] = city_mortality,
                 schedule: Callable[[float], np.ndarray] = demography.fertility_schedule,
                 scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every year's ``(tfr[year, district], migrants[year, district, sex, age])``.

    One row per transition ``years[i-1] -> years[i]``. Fertility: the year's registered
    births (``history.births``, where a department reports them), else its infants brought
    back to births with half the first-year death probability, over the births the national
    age pattern at a TFR of 1 gives the women of the start of the year. Migration: the
    population minus the survivors of the year before, by sex and age (infants who moved are
    in the births). ``scale[district]`` multiplies each district's death probabilities, as in
    :func:`project`.
    """
    persons = history.persons
    n = len(history.years)
    if n < 2:
        raise CityBrainError("a cohort-component projection needs at least two years of "
                             "population to estimate migration", code="cohort_history")
    unit = schedule(1.0)
    zero_f = np.zeros_like(unit)
    zero_m = np.zeros(persons.shape[2:])
    tfrs = np.zeros((n - 1, persons.shape[1]))
    migs = np.zeros((n - 1,) + persons.shape[1:])
    for i in range(1, n):
        q_city = mortality(int(history.years[i]))
        for d in range(persons.shape[1]):
            q = _scaled(q_city, scale, d)
            before, after = persons[i - 1, d], persons[i, d]
            natural = demography.step_forward(before, q, zero_f, zero_m).population
            resid = after - natural
            resid[:, 0] = 0.0  # infants: counted as births
            registered = np.nan if history.births is None else history.births[i, d]
            births = registered if np.isfinite(registered) \
                else (after[:, 0] / (1 - q[:, 0] / 2)).sum()
            exposure = (unit * before[1]).sum()
            tfrs[i - 1, d] = births / exposure if exposure > 0 else 0.0
            migs[i - 1, d] = resid
    return tfrs, migs


def trend_points(base_year: int, years: int = TREND_YEARS) -> list[tuple[int, float]]:
    """The published national birth rates ``(year, per 1,000)`` of the ``years`` years up to
    ``base_year`` (never later) that the fertility trend is fitted on."""
    rates = reference.national_birth_rates()
    return [(y, rates[y]) for y in range(base_year - years + 1, base_year + 1) if y in rates]


def fertility_trend(base_year: int, years: int = TREND_YEARS) -> float:
    """Annual log change of the national crude birth rate over the ``years`` years up to
    ``base_year``: the slope of a least-squares line through :func:`trend_points`, 0 with
    fewer than two."""
    points = trend_points(base_year, years)
    if len(points) < 2:
        return 0.0
    x, r = np.array(points, float).T
    return float(np.polyfit(x, np.log(r), 1)[0])


def fertility_path(tfr: np.ndarray, trend: float, horizon: int,
                   damping: float = DAMPING) -> np.ndarray:
    """``[horizon, district]``: ``tfr`` moved by ``trend`` a year, damped by ``damping``
    (year ``h`` moves by ``trend * (damping + ... + damping**h)``)."""
    steps = np.cumsum(trend * damping ** np.arange(1, horizon + 1))
    return tfr[None, :] * np.exp(steps)[:, None]


def estimate_rates(history: History, recent: int = RECENT_YEARS,
                   mortality: Callable[[int], np.ndarray] = city_mortality,
                   schedule: Callable[[float], np.ndarray] = demography.fertility_schedule,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(tfr[district], migrants[district, sex, age])``: means of the last ``recent`` years."""
    tfrs, migs = rate_history(history, mortality, schedule)
    return tfrs[-recent:].mean(axis=0), migs[-recent:].mean(axis=0)


class CohortComponentForecaster(BaseEstimator):
    """Cohort-component projection of every district, summed for the city.

    Parameters
    ----------
    scenario : ``low``, ``medium`` or ``high`` fertility and migration.
    recent : years of history the district's migration is averaged over.
    persistence : share of the gap between recent and long-run migration left each year.
    fertility_years : years of history the district's fertility is averaged over.
    damping : share of the national fertility trend kept each further year.
    """

    def __init__(self, scenario: str = "medium", recent: int = RECENT_YEARS,
                 persistence: float = PERSISTENCE, fertility_years: int = FERTILITY_YEARS,
                 damping: float = DAMPING):
        self.scenario = scenario
        self.recent = recent
        self.persistence = persistence
        self.fertility_years = fertility_years
        self.damping = damping

    def fit(self, history: History) -> CohortComponentForecaster:
        variant = get_scenario(self.scenario)
        self.mortality_ = partial(city_mortality, adcode=history.city_adcode)
        self.mortality_scale_ = mortality_scale(history, self.mortality_, self.recent)
        tfrs, migs = rate_history(history, self.mortality_, scale=self.mortality_scale_)
        recent, long_run = migs[-self.recent:].mean(axis=0), migs.mean(axis=0)
        self.tfr_ = tfrs[-self.fertility_years:].mean(axis=0) * variant.fertility
        self.fertility_trend_ = fertility_trend(history.base_year)
        self.migrants_recent_ = recent + variant.migration * np.abs(recent)
        self.migrants_long_ = long_run + variant.migration * np.abs(long_run)
        self.base_population_ = history.persons[-1]
        self.base_year_ = history.base_year
        return self

    def project(self, horizon: int) -> np.ndarray:
        """Single-age projection ``[horizon, district, sex, age]``."""
        check_is_fitted(self, "tfr_")
        weight = self.persistence ** np.arange(horizon)[:, None, None, None]
        migrants = self.migrants_long_ + weight * (self.migrants_recent_ - self.migrants_long_)
        tfr = fertility_path(self.tfr_, self.fertility_trend_, horizon, self.damping)
        return project(self.base_population_, self.base_year_ + 1, horizon, tfr,
                       migrants, self.mortality_, scale=self.mortality_scale_)

    def predict(self, horizon: int):
        return from_district_counts(tg.group_counts(self.project(horizon)))
