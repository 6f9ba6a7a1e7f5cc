"""Published figures the store is calibrated on, read from ``data/reference/*.csv``.

Every file keeps its source column; this module only reads and reshapes. A city is supported
with its own census detail when ``data/reference`` has it (Hangzhou), or from documented
defaults (the national pyramid, the city total and broad age shares in
``city_totals_2020.csv``, an area-and-urbanity split across districts).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd

from analytics.errors import CityBrainError
from analytics.settings import settings

REFERENCE_DIR = settings().reference_dir
CENSUS_BANDS = ("0-14", "15-59", "60-64", "65+")


def _read(name: str) -> pd.DataFrame:
    path = REFERENCE_DIR / name
    if not path.exists():
        raise CityBrainError(f"reference file {path} is missing; restore it from the repository")
    return pd.read_csv(path, dtype={"adcode": "Int64"})


@dataclass(frozen=True)
class LifeExpectancy:
    """Life expectancy at birth by year (both sexes) and the female-male gap."""

    points: dict[int, float]
    sex_gap: float
    source: str


@cache
def life_expectancy(adcode: int | None = None) -> LifeExpectancy:
    """The city's own published life expectancy where we have it, else the national one.

    Hangzhou publishes it for registered (户籍) residents: 80.67 (2010) to 83.12 (2020), men
    81.20 and women 85.13 in 2020. Applied here to all residents (an assumption: migrants are
    younger, so age-specific rates matter more than the level). National: 74.83 (2010), 77.93
    (2020), 78.2 (2021); the 2010 census sex gap was 4.99 years (flagged in the source).
    """
    if adcode == 330100:
        frame = _read("hangzhou_vital_2010_2022.csv")
        both = frame[frame["item"] == "life expectancy at birth (registered residents)"]
        male = float(frame.loc[frame["item"].str.contains("male \\(", regex=True)
                               & ~frame["item"].str.contains("female"), "value"].iloc[0])
        female = float(frame.loc[frame["item"].str.contains("female"), "value"].iloc[0])
        return LifeExpectancy({int(y): float(v) for y, v in zip(both["year"], both["value"],
                                                                strict=True)},
                              round(female - male, 2), "hangzhou_vital_2010_2022.csv")
    frame = _read("china_2020_fertility_mortality.csv")
    rows = frame[frame["kind"] == "LIFE_EXPECTANCY"]
    return LifeExpectancy({int(y): float(v) for y, v in zip(rows["year"], rows["value"],
                                                            strict=True)},
                          4.99, "china_2020_fertility_mortality.csv")


@cache
def yearend_population(adcode: int) -> dict[int, float]:
    """Published year-end resident population after the 2020 census (persons), if any."""
    if adcode != 330100:
        return {}
    frame = _read("hangzhou_vital_2010_2022.csv")
    rows = frame[frame["item"] == "resident population year-end"]
    return {int(y): float(v) for y, v in zip(rows["year"], rows["value"], strict=True)}


@cache
def birth_rates(adcode: int) -> dict[int, float]:
    """Published crude birth rates after the 2020 census (per 1,000 residents), if any."""
    if adcode != 330100:
        return {}
    frame = _read("hangzhou_vital_2010_2022.csv")
    rows = frame[(frame["item"] == "birth rate") & (frame["scope"] == "杭州市")]
    return {int(y): float(v) for y, v in zip(rows["year"], rows["value"], strict=True)}


@cache
def national_birth_rates() -> dict[int, float]:
    """China's crude birth rate by year (per 1,000), where the source publishes one."""
    frame = _read("china_births_deaths.csv")
    rows = frame[frame["birth_rate_permille"].notna()]
    return {int(y): float(v) for y, v in zip(rows["year"], rows["birth_rate_permille"],
                                              strict=True)}


@cache
def total_fertility() -> dict[int, float]:
    """National TFR by year; 2020 appears twice in the sources (1.30, 1.301): the mean."""
    frame = _read("china_2020_fertility_mortality.csv")
    rows = frame[frame["kind"] == "TFR"]
    return rows.groupby("year")["value"].mean().round(3).to_dict()


@cache
def asfr_2020() -> dict[tuple[int, int], float]:
    """2020 age-specific fertility (births per woman) by five-year group of the mother's age."""
    frame = _read("china_2020_fertility_mortality.csv")
    rows = frame[frame["kind"] == "ASFR_2020_DERIVED"]
    out = {}
    for group, value in zip(rows["age_group"], rows["value"], strict=True):
        lo, hi = (int(v) for v in group.split("-"))
        out[(lo, hi)] = float(value) / 1000
    return out


def pyramid(area: str) -> pd.DataFrame:
    """Five-year age groups by sex: ``lo, hi, male, female`` (``hi`` 100 for 100+).

    ``area`` is ``"zhejiang"`` or ``"china"`` (2020 census, long form tables 1-5).
    """
    frame = _read(f"{area}_2020_census_age_sex.csv")
    groups = frame["age_group"].str.replace("+", "-100", regex=False).str.split("-", expand=True)
    return pd.DataFrame({"lo": groups[0].astype(int), "hi": groups[1].astype(int),
                         "male": frame["male"].astype(float),
                         "female": frame["female"].astype(float)})


@dataclass(frozen=True)
class CityReference:
    adcode: int
    name: str
    population_2020: int
    bands_2020: dict[str, int]            # persons in 0-14, 15-59, 60-64, 65+
    pyramid_area: str                     # zhejiang | china
    district_2020: dict[int, int] | None  # census totals by district adcode
    district_share_2010: dict[int, float] | None  # percent
    population_2010: float | None         # 2010 census total
    history: dict[int, float] | None      # year-end totals (persons), for the growth path
    defaults_used: tuple[str, ...]        # what came from documented defaults
    sources: tuple[str, ...]
    shares_2010: dict[str, float] | None = None  # 2010 census percent of 0-14, 60+, 65+
    births: dict[int, float] | None = None  # published births (rate x year-end population)


@cache
def city_totals() -> pd.DataFrame:
    return _read("city_totals_2020.csv")


def city_reference(adcode: int, name: str) -> CityReference:
    totals = city_totals()
    row = totals[totals["adcode"] == adcode]
    if row.empty:
        raise CityBrainError(
            f"no 2020 population figures for city {adcode} ({name}) in "
            f"data/reference/city_totals_2020.csv: add a row (adcode, population, shares of "
            f"0-14, 15-59, 60+, 65+, source) from the city's 7th-census bulletin")
    r = row.iloc[0]
    total = int(r["population"])
    shares = {k: float(r[c]) for k, c in [("0-14", "share_0_14"), ("15-59", "share_15_59"),
                                          ("60+", "share_60plus"), ("65+", "share_65plus")]}
    bands = {"0-14": shares["0-14"], "15-59": shares["15-59"],
             "60-64": shares["60+"] - shares["65+"], "65+": shares["65+"]}
    scale = sum(bands.values())
    counts = {k: total * v / scale for k, v in bands.items()}
    rounded = {k: int(round(v)) for k, v in counts.items()}
    rounded["15-59"] += total - sum(rounded.values())
    if str(adcode).startswith("33"):
        pyramid_area = "zhejiang"
    else:
        pyramid_area = "china"
    defaults: list[str] = []
    if pyramid_area == "china":
        defaults.append("age-sex shape: national 2020 pyramid")
    district_2020 = share_2010 = history = shares_2010 = births = None
    pop_2010 = None
    if adcode == 330100:
        ages = _read("hangzhou_2020_census_age.csv").set_index("age_group")["persons"]
        rounded = {"0-14": int(ages["0-14"]), "15-59": int(ages["15-59"]),
                   "60-64": int(ages["60+"] - ages["65+"]), "65+": int(ages["65+"])}
        frame = _read("hangzhou_2020_census_districts.csv")
        scenic = frame[frame["adcode"].isna()]
        named = frame[frame["adcode"].notna() & (frame["adcode"] != adcode)]
        district_2020 = {int(a): int(p) for a, p in zip(named["adcode"], named["pop_2020_census"],
                                                         strict=True)}
        share_2010 = {int(a): float(s) for a, s in zip(named["adcode"], named["share_2010_pct"],
                                                        strict=True)}
        # The West Lake Scenic Area has no boundary of its own: its residents count in 西湖区.
        district_2020[330106] += int(scenic["pop_2020_census"].sum())
        share_2010[330106] += float(scenic["share_2010_pct"].sum())
        hist = _read("hangzhou_history_2010_2020.csv")
        history = {int(y): float(v) * 1e4 for y, v in zip(hist["year"],
                                                           hist["resident_pop_10k_yearend"],
                                                           strict=True)}
        pop_2010 = history[2010]
        first = hist[hist["year"] == 2010].iloc[0]
        shares_2010 = {"0-14": float(first["pop0to14_share_pct"]),
                       "60+": float(first["pop60plus_share_pct"]),
                       "65+": float(first["pop65plus_share_pct"])}
        # The bulletins publish rates per 1,000 residents; times the population the bureau
        # published for that year, they give the births it counted.
        rated = hist[hist["birth_rate_permille"].notna()]
        births = {int(y): float(rate) / 1000 * float(pop) * 1e4
                  for y, rate, pop in zip(rated["year"], rated["birth_rate_permille"],
                                          rated["resident_pop_10k_yearend"], strict=True)}
    else:
        defaults.append("district split: area and urbanity (no district census table)")
        defaults.append("2010-2020: no migration (no 2010 district figures)")
    return CityReference(adcode, name, total, rounded, pyramid_area, district_2020, share_2010,
                         pop_2010, history, tuple(defaults), (str(r["source"]),),
                         shares_2010, births)
