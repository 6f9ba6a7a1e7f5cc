"""Population trends: pyramids, broad age groups over time, births, deaths and ageing.

Rates follow the statistical yearbooks: events in a year per 1,000 of the year's mean
population, the mean of the populations at the end of the previous year and of the year
(only the year-end population where the previous year is not in the store).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.identity import PUBLIC
from analytics.opendata import access, privacy
from analytics.population import MAX_AGE
from analytics.store import Store

#: Broad groups of the age-structure series, as (label, lower age, upper age).
BROAD_GROUPS = [("0-14", 0, 14), ("15-59", 15, 59), ("60-79", 60, 79), ("80+", 80, MAX_AGE)]
BAND_WIDTH = 5


def band_label(lower: int) -> str:
    return f"{lower}+" if lower >= MAX_AGE else f"{lower}-{lower + BAND_WIDTH - 1}"


def pyramid(store: Store, year: int, district: int | None = None) -> pd.DataFrame:
    """Residents by five-year age band and sex for one area and year.

    Columns ``band, lower, male, female`` (ages 100 and over in the last band ``100+``),
    youngest first. All-zero bands are kept so two pyramids line up.
    """
    raw = store.query("trends.single_age", year=int(year),
                      district=None if district is None else int(district))
    lowers = list(range(0, MAX_AGE, BAND_WIDTH)) + [MAX_AGE]
    out = pd.DataFrame({"lower": lowers})
    if not raw.empty:
        raw["lower"] = np.minimum(raw["age"].astype(int) // BAND_WIDTH * BAND_WIDTH, MAX_AGE)
        wide = raw.groupby(["lower", "sex"])["persons"].sum().unstack("sex")
        out = out.merge(wide, left_on="lower", right_index=True, how="left")
    for sex in ("M", "F"):
        if sex not in out:
            out[sex] = 0
    out = out.rename(columns={"M": "male", "F": "female"})
    out[["male", "female"]] = out[["male", "female"]].fillna(0).astype("int64")
    out.insert(0, "band", out["lower"].map(band_label))
    return out[["band", "lower", "male", "female"]]


def _area_base(store: Store, district: int | None, base: pd.DataFrame | None) -> pd.DataFrame:
    # without the KPIs' base frame at hand, read only the residents (its capacities are not
    # needed here, and reading the facilities layer would double the cost)
    if base is None:
        base = store.query("indicators.district_base").astype({"year": int, "adcode": int})
    if district is not None:
        base = base[base["adcode"] == int(district)]
    cols = [c for c in base.columns if c not in ("year", "adcode")]
    return base.groupby("year", as_index=True)[cols].sum().sort_index()


def age_groups(store: Store, district: int | None = None,
               base: pd.DataFrame | None = None) -> pd.DataFrame:
    """Residents in :data:`BROAD_GROUPS` by year (long form: ``year, group, persons``)."""
    b = _area_base(store, district, base)
    wide = pd.DataFrame({
        "0-14": b["age_0_14"],
        "15-59": b["population"] - b["age_0_14"] - b["age_60plus"],
        "60-79": b["age_60plus"] - b["age_80plus"],
        "80+": b["age_80plus"],
    })
    long = wide.reset_index().melt(id_vars="year", var_name="group", value_name="persons")
    long["persons"] = long["persons"].astype("int64")
    order = {name: i for i, (name, _, _) in enumerate(BROAD_GROUPS)}
    long["_order"] = long["group"].map(order)
    return (long.sort_values(["year", "_order"]).drop(columns="_order")
            .reset_index(drop=True))


def vital_rates(store: Store, district: int | None = None,
                base: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per year: population, births, deaths, natural increase and their rates (‰), and the
    ageing index (residents 65+ per 100 aged 0-14).

    Columns ``year, population, births, deaths, natural_increase, birth_rate, death_rate,
    natural_increase_rate, ageing_index``. Years without vital events have NaN there; years
    with vital events but no population (a health commission's file for years the residents
    register does not cover) have their births and deaths and NaN population and rates.
    """
    b = _area_base(store, district, base)
    out = pd.DataFrame({"population": b["population"]})
    out["ageing_index"] = 100 * b["age_65plus"] / b["age_0_14"].where(b["age_0_14"] > 0)
    vital = store.query("trends.vital_by_district")
    if district is not None:
        vital = vital[vital["adcode"] == int(district)]
    events = vital.groupby("year")[["births", "deaths"]].sum()
    events.index = events.index.astype(int)
    out = out.join(events, how="outer")
    out["natural_increase"] = out["births"] - out["deaths"]
    previous = out["population"].shift(1)
    consecutive = pd.Series(out.index, index=out.index).diff() == 1
    mean_pop = ((previous + out["population"]) / 2).where(consecutive, out["population"])
    for col, rate in [("births", "birth_rate"), ("deaths", "death_rate"),
                      ("natural_increase", "natural_increase_rate")]:
        out[rate] = 1000 * out[col] / mean_pop
    out = out.reset_index().rename(columns={"index": "year"})
    out["year"] = out["year"].astype(int)
    return out[["year", "population", "births", "deaths", "natural_increase", "birth_rate",
                "death_rate", "natural_increase_rate", "ageing_index"]]


def public_pyramid(store: Store, year: int, district: int | None = None, actor=None,
                   channel: str = "api") -> pd.DataFrame:
    """:func:`pyramid` as it may be published (a chart's CSV, the API): computed from the
    released district table (:func:`analytics.opendata.access.released`), so each band is a
    sum of published counts and is blank (``<NA>``) where any of its single ages was
    suppressed. The city's bands are sums of the city's single-age totals, which the district
    table's suppression already treats as published; city bands of 1-9 are blank. Logged."""
    actor = actor or PUBLIC
    lowers = list(range(0, MAX_AGE, BAND_WIDTH)) + [MAX_AGE]
    out = pd.DataFrame({"lower": lowers})
    if district is None:
        exact = pyramid(store, year)
        frame, _ = access.release_counts(store, exact, ["male", "female"],
                                         source="population_districts", grain="district",
                                         actor=actor, channel=channel, fmt="pyramid")
        for col in ("male", "female"):  # exact totals (published margins); only 1-9 blank
            frame[col] = exact[col].astype("Int64").mask(frame[col].isna())
        return frame.drop(columns="suppressed")[["band", "lower", "male", "female"]]
    rows = access.released(store, "population_districts", actor, channel=channel, year=int(year))
    rows = rows[rows["district_adcode"] == int(district)].copy()
    rows["lower"] = np.minimum(rows["age"].astype(int) // BAND_WIDTH * BAND_WIDTH, MAX_AGE)
    sums = privacy.released_sum(rows, ["lower", "sex"], "persons").unstack("sex")
    out = out.merge(sums, left_on="lower", right_index=True, how="left")
    out = out.rename(columns={"M": "male", "F": "female"})
    for col in ("male", "female"):
        out[col] = out[col].astype("Int64") if col in out else pd.array([0] * len(out), "Int64")
    out.insert(0, "band", out["lower"].map(band_label))
    return out[["band", "lower", "male", "female"]]
