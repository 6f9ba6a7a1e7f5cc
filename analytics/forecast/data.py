"""What a forecast may see: the single-year population up to the base year, as an array.

:class:`History` holds ``persons[year, district, sex, age]`` (sex 0 = M, 1 = F; ages 0..100,
100 = 100 and over) for the years up to the base year and nothing later, so no model can peek
past it. Target series (:mod:`analytics.forecast.targets`) are sums over this array.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from analytics.errors import CityBrainError
from analytics.store import Store

MAX_AGE = 100
SEXES = ("M", "F")
#: Years of population a forecast needs up to its base year: the backtest's first origin has
#: three (two changes of a year to learn migration and trend from) and one more year to be
#: checked against.
MIN_HISTORY = 4
MAX_HORIZON = 30


@dataclass(frozen=True)
class History:
    """Population by year, district, sex and single year of age, up to ``years[-1]``."""

    years: np.ndarray        # [Y] consecutive calendar years
    districts: np.ndarray    # [D] district adcodes
    persons: np.ndarray      # [Y, D, 2, 101] float
    city_adcode: int
    #: [Y, D] births a department reports for the year and district (the vital-events layer
    #: fed by a department dataset), NaN where none does; None: no registered births at all
    births: np.ndarray | None = None
    #: [Y, D] deaths a department reports, as ``births``; the cohort model scales each
    #: district's life table to them
    deaths: np.ndarray | None = None

    @property
    def base_year(self) -> int:
        return int(self.years[-1])

    def until(self, year: int) -> History:
        """The same history cut at ``year`` (for rolling-origin backtests)."""
        keep = self.years <= year
        births = None if self.births is None else self.births[keep]
        deaths = None if self.deaths is None else self.deaths[keep]
        return History(self.years[keep], self.districts, self.persons[keep], self.city_adcode,
                       births, deaths)

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the data, so results computed from it can be cached safely."""
        h = hashlib.sha256()
        h.update(self.years.tobytes())
        h.update(self.districts.tobytes())
        h.update(np.ascontiguousarray(self.persons).tobytes())
        if self.births is not None:
            h.update(np.ascontiguousarray(self.births).tobytes())
        if self.deaths is not None:
            h.update(b"deaths")
            h.update(np.ascontiguousarray(self.deaths).tobytes())
        return h.hexdigest()


def store_years(store: Store) -> list[int]:
    return [int(y) for y in store.query("forecast.years")["year"]]


def districts(store: Store) -> pd.DataFrame:
    """``adcode, city_adcode, first_year, last_year, n_years, name, name_en`` per district."""
    return store.query("forecast.districts")


def city_adcode(store: Store) -> int:
    meta = store.meta()
    if "city_adcode" in meta:
        return int(meta["city_adcode"])
    frame = districts(store)
    if frame.empty:
        raise CityBrainError("the store has no population: build it with "
                             "`python -m analytics build --out PATH`", code="no_population")
    return int(frame["city_adcode"].iloc[0])


def check_base_year(store: Store, base_year: int) -> None:
    years = store_years(store)
    if not years:
        raise CityBrainError("the store has no population: build it with "
                             "`python -m analytics build --out PATH`", code="no_population")
    if base_year not in years:
        raise CityBrainError(f"base year {base_year} is not in the store (it has "
                             f"{years[0]}-{years[-1]}); choose a base year in that range",
                             code="base_year", year=base_year, first=years[0], last=years[-1])


def check_horizon(horizon: int) -> None:
    if not isinstance(horizon, int | np.integer) or horizon < 1 or horizon > MAX_HORIZON:
        raise CityBrainError(f"horizon {horizon!r} is out of range: give a whole number of "
                             f"years from 1 to {MAX_HORIZON}", code="horizon", horizon=horizon,
                             max=MAX_HORIZON)


def load_history(store: Store, base_year: int) -> History:
    """The population up to ``base_year`` (inclusive), checked for gaps and length.

    Parameters
    ----------
    store : Store
        The city store.
    base_year : int or None
        The last year read (None: the store's last).

    Returns
    -------
    History
        ``persons[year, district, sex, age]`` and the areas.

    Examples
    --------
    >>> h = load_history(store, 2020)
    >>> h.base_year, h.districts.tolist()
    (2020, [330106, 330108])
    """
    check_base_year(store, base_year)
    frame = store.query("forecast.history", base_year=int(base_year))
    years = np.sort(frame["year"].unique()).astype(int)
    dists = np.sort(frame["district_adcode"].unique()).astype(int)
    for d in dists:
        have = frame.loc[frame["district_adcode"] == d, "year"].unique()
        if len(have) < MIN_HISTORY or len(have) != base_year - int(have.min()) + 1:
            raise CityBrainError(
                f"district {d} has too little history up to {base_year} "
                f"({len(have)} years of population; a forecast needs {MIN_HISTORY} consecutive "
                f"years ending in the base year): choose a later base year or another area",
                code="short_history", district=d, year=base_year, have=len(have),
                need=MIN_HISTORY)
    # Every district has population in every year of the common span.
    first = max(int(frame.loc[frame["district_adcode"] == d, "year"].min()) for d in dists)
    frame = frame[frame["year"] >= first]
    years = np.arange(first, base_year + 1)
    persons = np.zeros((len(years), len(dists), 2, MAX_AGE + 1))
    yi = np.searchsorted(years, frame["year"].to_numpy())
    di = np.searchsorted(dists, frame["district_adcode"].to_numpy())
    si = (frame["sex"].to_numpy() == "F").astype(int)
    ai = frame["age"].to_numpy().astype(int)
    np.add.at(persons, (yi, di, si, ai), frame["persons"].to_numpy().astype(float))
    return History(years, dists, persons, city_adcode(store),
                   *registered_events(store, years, dists))


def registered_events(store: Store, years: np.ndarray, dists: np.ndarray
                      ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(births, deaths)``, each ``[year, district]``, as a department reports them
    (``health_vital_events``, through the vital-events layer): NaN where the layer is
    synthetic or empty, and None where no department reports any.

    The synthetic layer's events are not read: the synthetic population's infants are its
    births already, and its deaths follow the life table the model uses.

    Parameters
    ----------
    store : Store
        The city store.
    years, dists : numpy.ndarray
        The history's years and district adcodes.

    Returns
    -------
    tuple of (numpy.ndarray or None)
    """
    frame = store.query("forecast.registered_events", base_year=int(years[-1]))
    frame = frame[frame["year"].isin(years) & frame["district_adcode"].isin(dists)]
    out = []
    for column in ("births", "deaths"):
        have = frame[frame[column].notna()]
        if have.empty:
            out.append(None)
            continue
        grid = np.full((len(years), len(dists)), np.nan)
        grid[np.searchsorted(years, have["year"].to_numpy().astype(int)),
             np.searchsorted(dists, have["district_adcode"].to_numpy().astype(int))] = \
            have[column].to_numpy().astype(float)
        out.append(grid)
    return out[0], out[1]


def check_area(history: History, district: int | None) -> int:
    """The adcode a forecast of ``district`` is indexed by: the district's, or the city's
    for ``None`` (the whole city, as everywhere in the library).

    Parameters
    ----------
    history : History
        The population the forecast reads.
    district : int or None
        A district's adcode, or None for the whole city.

    Returns
    -------
    int
        The area's adcode in the history's areas.

    Raises
    ------
    CityBrainError
        ``unknown_district`` where the adcode is none of the city's districts.
    """
    if district is None:
        return history.city_adcode
    if int(district) not in set(history.districts.tolist()):
        raise CityBrainError(
            f"unknown district {district}: give None for the whole city or one of its "
            f"districts ({', '.join(str(d) for d in history.districts)})",
            code="unknown_district", district=district,
            districts=", ".join(str(d) for d in history.districts))
    return int(district)
