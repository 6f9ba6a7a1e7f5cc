"""Population read models: what the store says about who lives where."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analytics.errors import CityBrainError
from analytics.store import Store

#: The service age groups of the cell grain, in order, with their age bounds (inclusive).
AGE_GROUPS: dict[str, tuple[int, int]] = {
    "0-2": (0, 2), "3-5": (3, 5), "6-11": (6, 11), "12-14": (12, 14), "15-17": (15, 17),
    "18-59": (18, 59), "60-64": (60, 64), "65-69": (65, 69), "70-74": (70, 74),
    "75-79": (75, 79), "80+": (80, 100),
}
#: Groups planners select, as unions of the service age groups.
SERVICE_GROUPS: dict[str, tuple[str, ...]] = {
    "60+": ("60-64", "65-69", "70-74", "75-79", "80+"),
    "65+": ("65-69", "70-74", "75-79", "80+"),
    "80+": ("80+",),
    "0-2": ("0-2",),
    "3-5": ("3-5",),
    "6-11": ("6-11",),
    "12-14": ("12-14",),
}
MAX_AGE = 100  # the last single-year age stands for 100 and over


def age_group_of(age: int) -> str:
    """The five-year (or service) age group a single year of age belongs to.

    Parameters
    ----------
    age : int
        Completed years, 0 to 100 (100 stands for 100 and over).

    Returns
    -------
    str
        The key of :data:`AGE_GROUPS` whose span holds ``age``.

    Examples
    --------
    >>> age_group_of(0), age_group_of(100)
    ('0-2', '80+')
    """
    for name, (lo, hi) in AGE_GROUPS.items():
        if lo <= age <= hi:
            return name
    raise ValueError(f"age {age} outside 0..{MAX_AGE}")


def years(store: Store) -> list[int]:
    """The years of population the store holds, oldest first.

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    list of int

    Examples
    --------
    >>> years(store)[-1] >= 2020
    True
    """
    return [int(y) for y in store.query("population.years")["year"]]


#: The census year: the year every view opens on when the store holds it.
CENSUS_YEAR = 2020


def default_year(years: Sequence[int]) -> int:
    """The year a view opens on: the latest the store holds (the census year is one click
    away in the dashboard's sidebar).

    Parameters
    ----------
    years : sequence of int
        The years the store holds.

    Returns
    -------
    int

    Examples
    --------
    >>> default_year([2018, 2019, 2020, 2021]), default_year([2021, 2022])
    (2021, 2022)
    """
    return int(max(years))


def district_summary(store: Store, year: int) -> pd.DataFrame:
    """One row for the city, then one per district.

    Parameters
    ----------
    store : Store
        The city store.
    year : int
        The year.

    Returns
    -------
    pandas.DataFrame
        ``adcode, name, population, share_0_14, share_15_59, share_60plus, share_65plus``;
        shares in percent, rounded to two decimals.

    Examples
    --------
    >>> s = district_summary(store, 2020)
    >>> int(s["population"].iloc[0]) == int(s["population"].iloc[1:].sum())
    True
    """
    bands = store.query("population.district_age_bands", year=year)
    if bands.empty:
        raise ValueError(f"no population for {year} in this store")
    meta = store.meta()
    city = bands.drop(columns=["adcode", "name", "name_en"]).sum().to_frame().T
    city.insert(0, "adcode", int(meta["city_adcode"]))
    city.insert(1, "name", meta.get("city_name", ""))
    rows = pd.concat([city, bands.drop(columns=["name_en"])], ignore_index=True)
    out = rows[["adcode", "name", "population"]].copy()
    for band, col in [("age_0_14", "share_0_14"), ("age_15_59", "share_15_59"),
                      ("age_60plus", "share_60plus"), ("age_65plus", "share_65plus")]:
        out[col] = (100 * rows[band] / rows["population"]).astype(float).round(2)
    out["adcode"] = out["adcode"].astype(int)
    out["population"] = out["population"].astype("int64")
    return out


def service_group(name: str) -> tuple[str, ...]:
    """The cell-grain age groups making up a service group such as ``60+`` or ``3-5``.

    Parameters
    ----------
    name : str
        A service group (:data:`SERVICE_GROUPS`) or a single age group (:data:`AGE_GROUPS`).

    Returns
    -------
    tuple of str
        The age groups summed for it.

    Examples
    --------
    >>> service_group("3-5")
    ('3-5',)
    """
    if name in SERVICE_GROUPS:
        return SERVICE_GROUPS[name]
    if name in AGE_GROUPS:
        return (name,)
    raise CityBrainError(f"unknown age group {name!r}; groups are "
                         f"{', '.join(list(SERVICE_GROUPS) + list(AGE_GROUPS))}", code="unknown_group",
                             group=name, choices=", ".join(list(SERVICE_GROUPS) + list(AGE_GROUPS)))


def group_by_cell(store: Store, year: int, group: str) -> pd.DataFrame:
    """One year's residents of a service group per H3 cell.

    Parameters
    ----------
    store : Store
        The city store.
    year : int
        The year.
    group : str
        A service or age group (see :func:`service_group`).

    Returns
    -------
    pandas.DataFrame
        ``cell, district_adcode, persons``.
    """
    return store.query("population.group_by_cell", year=year, groups=list(service_group(group)))


def district_trend(store: Store) -> pd.DataFrame:
    """Population and broad age groups of every district in every year.

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    pandas.DataFrame
        ``year, adcode, population, age_0_14, age_60plus, age_65plus``.
    """
    return store.query("population.district_trend")


def pyramid(store: Store, year: int, district: int | None = None) -> pd.DataFrame:
    """Residents by single year of age and sex, for a district or the city.

    Parameters
    ----------
    store : Store
        The city store.
    year : int
        The year.
    district : int or None
        A district's adcode, or None for the whole city.

    Returns
    -------
    pandas.DataFrame
        ``age, sex, persons`` (age 100 stands for 100 and over).

    Examples
    --------
    >>> p = pyramid(store, 2020, 330106)
    >>> sorted(p["sex"].unique()), int(p["age"].max())
    (['F', 'M'], 100)
    """
    return store.query("population.single_age", year=year, district=district)
