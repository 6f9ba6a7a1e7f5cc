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
    for name, (lo, hi) in AGE_GROUPS.items():
        if lo <= age <= hi:
            return name
    raise ValueError(f"age {age} outside 0..{MAX_AGE}")


def years(store: Store) -> list[int]:
    return [int(y) for y in store.query("population.years")["year"]]


#: The census year: the year every view opens on when the store holds it.
CENSUS_YEAR = 2020


def default_year(years: Sequence[int]) -> int:
    """The year a view opens on: the latest the store holds (the census year is one click
    away in the dashboard's sidebar).

    >>> default_year([2018, 2019, 2020, 2021]), default_year([2021, 2022])
    (2021, 2022)
    """
    return int(max(years))


def district_summary(store: Store, year: int) -> pd.DataFrame:
    """One row for the city, then one per district.

    Columns ``adcode, name, population, share_0_14, share_15_59, share_60plus,
    share_65plus``; shares in percent, rounded to two decimals.
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
    """The cell-grain age groups making up a service group such as ``60+`` or ``3-5``."""
    if name in SERVICE_GROUPS:
        return SERVICE_GROUPS[name]
    if name in AGE_GROUPS:
        return (name,)
    raise CityBrainError(f"unknown age group {name!r}; groups are "
                         f"{', '.join(list(SERVICE_GROUPS) + list(AGE_GROUPS))}", code="unknown_group",
                             group=name, choices=", ".join(list(SERVICE_GROUPS) + list(AGE_GROUPS)))


def group_by_cell(store: Store, year: int, group: str) -> pd.DataFrame:
    """``cell, district_adcode, persons``: one year's residents of a service group per cell."""
    return store.query("population.group_by_cell", year=year, groups=list(service_group(group)))


def district_trend(store: Store) -> pd.DataFrame:
    """``year, adcode, population, age_0_14, age_60plus, age_65plus`` for every year."""
    return store.query("population.district_trend")


def pyramid(store: Store, year: int, district: int | None = None) -> pd.DataFrame:
    """``age, sex, persons`` by single year of age (100 = 100+), a district or the city."""
    return store.query("population.single_age", year=year, district=district)
