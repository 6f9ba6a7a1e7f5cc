"""The demographic engine: life tables, fertility, migration by age, one cohort-component step.

Arrays are indexed ``[sex, age]`` with sex 0 = male, 1 = female and ages 0..100 (100 is the
open group "100 and over"). Populations are at the end of a year; one step moves the
population from the end of year *y* to the end of year *y + 1*: survivors age one year,
births of the year enter at age 0, and net migrants of the year are added at the age they
have at its end.

The build uses it to run the population back from the 2020 census to 2010 and forward to
2025; the forecasts use the same functions forward from any base year.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import brentq

from analytics import reference

MAX_AGE = 100
AGES = np.arange(MAX_AGE + 1)
SEXES = ("M", "F")
#: Male births per female birth (Zhejiang 2020 census, ages 0-4: 110.66 boys per 100 girls).
SEX_RATIO_AT_BIRTH = 1.1066

# Gompertz-Makeham hazard mu(x) = gamma + alpha * exp(beta * x) for ages >= 1, the classic
# adult-mortality model. beta (the rate of ageing) and gamma (background hazard) are fixed at
# values typical of low-mortality populations; alpha is solved so that the life table
# reproduces a given life expectancy at birth.
GOMPERTZ_BETA = 0.092
MAKEHAM_GAMMA = 0.0002
#: Probability of dying in the first year (assumption, close to China's infant mortality
#: around 2020; it barely moves life expectancy at the levels used here).
INFANT_Q0 = 0.006


def life_expectancy(q: np.ndarray) -> float:
    """Life expectancy at birth of a life table given its death probabilities q(0..100)."""
    lx = np.concatenate([[1.0], np.cumprod(1 - q[:-1])])
    person_years = (lx[:-1] + lx[1:]) / 2
    # open interval: expected remaining years at 100 = 1 / hazard
    mu_open = -np.log(max(1 - q[-1], 1e-9))
    return float(person_years.sum() + lx[-1] / mu_open)


def _gompertz_q(alpha: float) -> np.ndarray:
    x = AGES.astype(float)
    mu = MAKEHAM_GAMMA + alpha * np.exp(GOMPERTZ_BETA * (x + 0.5))
    q = 1 - np.exp(-mu)
    q[0] = INFANT_Q0
    return np.clip(q, 0, 1)


@cache
def death_probabilities(e0: float) -> np.ndarray:
    """q(0..100) of the Gompertz-Makeham life table whose life expectancy is ``e0``."""
    alpha = brentq(lambda a: life_expectancy(_gompertz_q(a)) - e0, 1e-8, 1e-2, xtol=1e-14)
    return _gompertz_q(alpha)


def life_expectancy_path(year: int, adcode: int | None = None) -> float:
    """Life expectancy at birth in ``year``: the reference figures, interpolated.

    After the last published year it rises 0.2 years a year (assumption: the pace of
    2010-2020 in both the national and the Hangzhou series).
    """
    points = reference.life_expectancy(adcode).points
    years = sorted(points)
    if year <= years[-1]:
        return float(np.interp(year, years, [points[y] for y in years]))
    return points[years[-1]] + 0.2 * (year - years[-1])


def mortality(year: int, adcode: int | None = None) -> np.ndarray:
    """q[sex, age] for a year: male and female tables the reference sex gap apart."""
    e0 = life_expectancy_path(year, adcode)
    gap = reference.life_expectancy(adcode).sex_gap
    return np.stack([death_probabilities(round(e0 - gap / 2, 3)),
                     death_probabilities(round(e0 + gap / 2, 3))])


def tfr_path(year: int) -> float:
    """National total fertility rate: the reference figures, interpolated; held after the last."""
    points = reference.total_fertility()
    years = sorted(points)
    return float(np.interp(year, years, [points[y] for y in years]))


def fertility_schedule(tfr: float) -> np.ndarray:
    """Births per woman by single year of age (0..100), shaped like the 2020 national ASFR."""
    shape = np.zeros(MAX_AGE + 1)
    for (lo, hi), rate in reference.asfr_2020().items():
        shape[lo : hi + 1] = rate
    return shape * tfr / shape.sum()


@dataclass(frozen=True)
class MigrationSchedule:
    """Parameters of a Rogers-Castro net-migration age schedule (Rogers and Castro 1981).

    ``m(x) = child * exp(-child_decline * x)
    + labour * exp(-labour_decline * (x - labour_peak) - exp(-labour_rise * (x - labour_peak)))
    + constant`` (the constant fading after 55), normalised to sum to 1. The defaults are the
    model's standard values with the labour peak widened (decline 0.07, rise 0.25, peak 22)
    for migration that goes on into the thirties. A city with published 2010 age shares and
    births gets its own schedule fitted by the build (``analytics.citygen.population``).
    """

    child: float = 0.02
    child_decline: float = 0.10
    labour: float = 0.06
    labour_decline: float = 0.07
    labour_peak: float = 22.0
    labour_rise: float = 0.25
    constant: float = 0.003


STANDARD_MIGRATION = MigrationSchedule()


def rogers_castro(ages: np.ndarray = AGES,
                  schedule: MigrationSchedule = STANDARD_MIGRATION) -> np.ndarray:
    """Net migrants' ages on a Rogers-Castro schedule, summing to 1.

    Children moving with their parents, a labour-force peak in the twenties, and a small
    constant that fades after 55 (few people move to a city to retire there).
    """
    x = ages.astype(float)
    s = schedule
    u = x - s.labour_peak
    m = (s.child * np.exp(-s.child_decline * x)
         + s.labour * np.exp(-s.labour_decline * u - np.exp(-s.labour_rise * u))
         + s.constant * np.where(x > 55, np.exp(-(x - 55) / 8.0), 1.0))
    return m / m.sum()


def migration_profile(schedule: MigrationSchedule = STANDARD_MIGRATION) -> np.ndarray:
    """[sex, age] shares of a year's net migrants (half men, half women), summing to 1."""
    by_age = rogers_castro(AGES, schedule)
    return np.stack([by_age / 2, by_age / 2])


@dataclass(frozen=True)
class StepResult:
    population: np.ndarray  # [sex, age] at the end of the year
    births: float
    deaths: float


def step_forward(pop: np.ndarray, q: np.ndarray, fertility: np.ndarray,
                 migrants: np.ndarray) -> StepResult:
    """One year of the cohort-component process.

    ``pop`` [sex, age] at the end of year y; ``q`` death probabilities of year y + 1;
    ``fertility`` births per woman by age; ``migrants`` [sex, age] net migrants of the year at
    their end-of-year age. Births use the women of the start of the year as the exposure;
    infants born during the year die at half the first-year probability before its end.
    """
    survivors = pop * (1 - q)
    nxt = np.zeros_like(pop, dtype=float)
    nxt[:, 1:] = survivors[:, :-1]
    nxt[:, MAX_AGE] += survivors[:, MAX_AGE]
    births = float((fertility * pop[1]).sum())
    boys = births * SEX_RATIO_AT_BIRTH / (1 + SEX_RATIO_AT_BIRTH)
    born = np.array([boys, births - boys])
    nxt[:, 0] = born * (1 - q[:, 0] / 2)
    deaths = float((pop * q).sum() + (born * q[:, 0] / 2).sum())
    return StepResult(nxt + migrants, births, deaths)


def step_back(nxt: np.ndarray, q: np.ndarray,
              migrants: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
    """Invert :func:`step_forward` for ages 1..100: the population a year earlier.

    Returns the earlier population and the births of the year implied by age 0. Works on
    ``[sex, age]`` (births a number) or on any leading axes, e.g. ``[district, sex, age]``
    (births per district). The split of the open group between 99 and 100+ a year earlier
    assumes the 99-year-olds are as many as a year later (there are a few hundred of them;
    any split gives the same totals). Values are clipped at zero, which bites where more
    people arrived at an age than the cohort holds.
    """
    native = nxt - migrants
    pop = np.zeros_like(native, dtype=float)
    pop[..., :-2] = native[..., 1:-1] / (1 - q[:, :-2])
    pop[..., MAX_AGE - 1] = nxt[..., MAX_AGE - 1]
    open_rest = native[..., MAX_AGE] - pop[..., MAX_AGE - 1] * (1 - q[:, MAX_AGE - 1])
    pop[..., MAX_AGE] = open_rest / (1 - q[:, MAX_AGE])
    births = (native[..., 0] / (1 - q[:, 0] / 2)).sum(axis=-1)
    return np.clip(pop, 0, None), float(births) if births.ndim == 0 else births
