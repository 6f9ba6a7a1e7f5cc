"""Headline indicators (KPIs) for leaders: one definition each, computed from the store.

Each :class:`Indicator` says what it is (id, Chinese and English label, unit), how it is
worked out (formula text and the store tables it reads), what it is judged against (a
standard with its source, taken from :mod:`analytics.standards` where the standard is a
planning ratio) and how it is coloured (``bands``). Most KPIs are a ratio of two counts that
:func:`base_frame` gives for every year and district in one query, so the city's value is the
ratio of the summed counts (never an average of district ratios). The day-care coverage KPI
is a spatial computation owned by :mod:`analytics.planning.accessibility` and is evaluated per call.

Facilities count towards a year when they are open at its end: ``opened_year <= year`` and
``closed_year`` empty or later than the year.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics import population, standards
from analytics.errors import CityBrainError, lookup
from analytics.planning.accessibility import analyse, coverage_share
from analytics.store import Store

#: Ageing stages. The 7 % (65+) and 10 % (60+) thresholds of an "ageing society" are the
#: United Nations' (1956 report on population ageing; Vienna World Assembly on Ageing, 1982);
#: the moderate and severe stages (60+ above 20 % / 30 %, 65+ above 14 % / 21 %) are those the
#: office of China's National Working Commission on Ageing (全国老龄工作委员会办公室) uses.
AGEING_SOURCE = ("UN 1956 / Vienna World Assembly on Ageing 1982 (ageing society); "
                 "全国老龄工作委员会办公室 (moderate and severe ageing)")
#: Child-share bands (少子化) as used in Chinese demographic literature: below 20 % of the
#: population aged 0-14 is low, below 18 % severely low, below 15 % ultra-low.
CHILD_SHARE_SOURCE = "少子化 bands of Chinese demographic literature (20 % / 18 % / 15 %)"


@dataclass(frozen=True)
class Band:
    """From ``lower`` (inclusive) upwards the value is in this band, until the next one."""

    lower: float
    status: str  # good | fair | poor | alert (worst)
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Standard:
    """The value a standard or convention sets for an indicator, worded, with its source.
    """
    value: float
    text_zh: str
    text_en: str
    source: str


@dataclass(frozen=True)
class Indicator:
    """A headline indicator: its labels, unit, formula and sources, its standard and colour
    bands, and how it is computed (``numerator / denominator * scale`` of
    :func:`base_frame`'s counts, or ``compute``).
    """
    id: str
    label_zh: str
    label_en: str
    unit_zh: str
    unit_en: str
    formula_zh: str
    formula_en: str
    sources: tuple[str, ...]            # store tables read
    standard: Standard | None
    direction: str                      # higher_better | lower_better | neutral
    bands: tuple[Band, ...] = ()        # ascending by lower bound; empty: not coloured
    numerator: str | None = None        # base column (ratio KPIs)
    denominator: str | None = None      # base column, or None for a plain count
    scale: float = 1.0                  # value = scale * numerator / denominator
    digits: int = 1                     # decimals shown
    #: non-ratio KPIs: (store, year, districts) -> {None (the city) or adcode: value}
    compute: Callable[[Store, int, list[int]], dict] | None = field(default=None, repr=False)

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def unit(self, lang: str) -> str:
        return self.unit_zh if lang == "zh" else self.unit_en

    def formula(self, lang: str) -> str:
        return self.formula_zh if lang == "zh" else self.formula_en

    def band(self, value: float | None) -> Band | None:
        """The colour band ``value`` falls in (None when not coloured or no value)."""
        if value is None or not np.isfinite(value) or not self.bands:
            return None
        chosen = None
        for band in self.bands:
            if value >= band.lower:
                chosen = band
        return chosen if chosen is not None else self.bands[0]

    @property
    def is_ratio(self) -> bool:
        return self.compute is None


def _ratio_bands(standard: float) -> tuple[Band, ...]:
    """Facility provision judged against its standard: met, 80-100 % of it, below 80 %."""
    return (
        Band(-np.inf, "alert", "低于标准八成", "Below 80 % of standard"),
        Band(0.8 * standard, "fair", "接近标准", "Near the standard"),
        Band(standard, "good", "达到标准", "Meets the standard"),
    )


def _coverage_60plus_daycare(store: Store, year: int, districts: list[int]
                             ) -> dict[int | None, float]:
    """Percent of residents aged 60+ within the day-care centre's walking radius, for the
    city (key ``None``) and each of ``districts``.

    This is :func:`analytics.planning.accessibility.coverage_share` from the covered residents
    as released (rounded to 10, as the planning map and its tables show them); when districts
    are asked for,
    the city and every district are read from one whole-city analysis (what
    ``coverage_share`` runs inside; a catchment crosses district lines), not one per area.
    """
    radius = standards.service_radius("elderly_day_care")
    if not districts:
        return {None: coverage_share(store, facility_type="elderly_day_care", group="60+",
                                     year=year, radius_m=radius, district=None,
                                     released=True)}
    result = analyse(store, "elderly_day_care", year, group="60+", radius_m=radius)
    out: dict[int | None, float] = {None: result.coverage_pct(None, released=True)}
    present = set(result.cells["district_adcode"])
    for d in districts:
        out[d] = result.coverage_pct(d, released=True) if d in present else np.nan
    return out


_CARE = standards.facility_type("elderly_care_home")
_KG = standards.facility_type("kindergarten")
_PRIMARY = standards.facility_type("primary_school")
_DAYCARE = standards.facility_type("elderly_day_care")
_POP = ("population_districts",)


def _ageing_share(age: int, ageing: int, moderate: int, severe: int) -> Indicator:
    """The share of residents aged ``age``+, banded by the thresholds of an ageing,
    moderately aged and severely aged society."""
    return Indicator(
        f"share_{age}plus", f"{age}岁及以上人口占比", f"Share aged {age}+", "%", "%",
        f"{age}岁及以上人口 ÷ 常住人口 × 100", f"Residents aged {age}+ / all residents × 100",
        _POP, Standard(float(ageing), f"≥{ageing}% 即进入老龄化社会",
                       f"{ageing} % marks an ageing society", AGEING_SOURCE),
        "lower_better",
        (Band(-np.inf, "good", "未进入老龄化", "Not yet ageing"),
         Band(ageing, "fair", "老龄化社会", "Ageing society"),
         Band(moderate, "poor", "中度老龄化", "Moderately aged"),
         Band(severe, "alert", "重度老龄化", "Severely aged")),
        numerator=f"age_{age}plus", denominator="population", scale=100, digits=2)


INDICATORS: dict[str, Indicator] = {
    i.id: i
    for i in [
        Indicator(
            "population", "常住人口", "Resident population", "人", "persons",
            "全部年龄常住人口之和", "Residents of all ages",
            _POP, None, "neutral", numerator="population", digits=0),
        # the UN's ageing thresholds: 60+ at 10/20/30 %, 65+ at 7/14/21 %
        _ageing_share(60, 10, 20, 30),
        _ageing_share(65, 7, 14, 21),
        Indicator(
            "pop_80plus", "80岁及以上人口", "Residents aged 80+", "人", "persons",
            "80岁及以上常住人口之和", "Residents aged 80 and over",
            _POP, None, "neutral", numerator="age_80plus", digits=0),
        Indicator(
            "share_0_14", "0–14岁人口占比", "Share aged 0-14", "%", "%",
            "0–14岁人口 ÷ 常住人口 × 100", "Residents aged 0-14 / all residents × 100",
            _POP, Standard(20.0, "低于20% 为少子化", "below 20 % is a low child share",
                           CHILD_SHARE_SOURCE),
            "higher_better",
            (Band(-np.inf, "alert", "超少子化", "Ultra-low child share"),
             Band(15, "poor", "严重少子化", "Severely low child share"),
             Band(18, "fair", "少子化", "Low child share"),
             Band(20, "good", "正常", "Normal child share")),
            numerator="age_0_14", denominator="population", scale=100, digits=2),
        Indicator(
            "children_3_5", "3–5岁儿童", "Children aged 3-5", "人", "persons",
            "3–5岁常住儿童之和（幼儿园学龄）", "Children aged 3-5 (kindergarten age)",
            _POP, None, "neutral", numerator="age_3_5", digits=0),
        Indicator(
            "old_age_dependency", "老年抚养比", "Old-age dependency ratio", "%", "%",
            "65岁及以上人口 ÷ 15–64岁人口 × 100（统计年鉴口径）",
            "Residents aged 65+ / residents aged 15-64 × 100 (the statistical yearbooks' "
            "definition)",
            _POP, None, "neutral", numerator="age_65plus", denominator="age_15_64",
            scale=100, digits=1),
        Indicator(
            "care_beds_per_1000_60plus", "每千名老年人养老床位", "Care beds per 1,000 aged 60+",
            "张/千人", "beds per 1,000",
            "养老机构床位数（年末在营） ÷ 60岁及以上人口 × 1000",
            "Beds of elderly care homes open at year end / residents aged 60+ × 1,000",
            ("facilities", "population_districts"),
            Standard(1000 * _CARE.per_person, "每千名老年人 40 张床位", _CARE.ratio_label,
                     _CARE.ratio_source),
            "higher_better", _ratio_bands(1000 * _CARE.per_person),
            numerator="cap_elderly_care_home", denominator="age_60plus", scale=1000,
            digits=1),
        Indicator(
            "kindergarten_places_per_child", "3–5岁儿童人均幼儿园学位",
            "Kindergarten places per child", "个/人", "places / child",
            "幼儿园学位数（年末在营） ÷ 3–5岁儿童数",
            "Places of kindergartens open at year end / children aged 3-5",
            ("facilities", "population_districts"),
            Standard(_KG.per_person, "每名3–5岁儿童 0.9 个学位（毛入园率 90%）", _KG.ratio_label,
                     _KG.ratio_source),
            "higher_better", _ratio_bands(_KG.per_person),
            numerator="cap_kindergarten", denominator="age_3_5", digits=2),
        Indicator(
            "primary_places_per_child", "6–11岁儿童人均小学学位",
            "Primary places per child", "个/人", "places / child",
            "小学学位数（年末在营） ÷ 6–11岁儿童数",
            "Places of primary schools open at year end / children aged 6-11",
            ("facilities", "population_districts"),
            Standard(_PRIMARY.per_person, "每名6–11岁儿童 1 个学位", _PRIMARY.ratio_label,
                     _PRIMARY.ratio_source),
            "higher_better", _ratio_bands(_PRIMARY.per_person),
            numerator="cap_primary_school", denominator="age_6_11", digits=2),
        Indicator(
            "daycare_coverage_60plus", "老人300米内有日间照料",
            "60+ within 300 m of day care", "%", "%",
            "居住在老年人日间照料中心 300 米步行半径内的 60岁及以上人口 ÷ 60岁及以上人口 × 100",
            "Residents aged 60+ living within 300 m of an elderly day-care centre / residents "
            "aged 60+ × 100",
            ("facilities", "population_cells", "cells"),
            Standard(100.0, "每个5分钟生活圈配置日间照料中心（300 米）",
                     "a day-care centre in every 5-minute living circle (300 m)",
                     _DAYCARE.radius_source),
            "higher_better",
            (Band(-np.inf, "alert", "覆盖不足", "Low coverage"),
             Band(70, "fair", "基本覆盖", "Partial coverage"),
             Band(90, "good", "充分覆盖", "Good coverage")),
            digits=1, compute=_coverage_60plus_daycare),
    ]
}

#: Counts behind the ratio KPIs (columns of :func:`base_frame`).
BASE_COUNTS = ["population", "age_0_14", "age_15_64", "age_60plus", "age_65plus",
               "age_80plus", "age_3_5", "age_6_11"]
CAPACITY_TYPES = ["elderly_care_home", "kindergarten", "primary_school"]


def indicator(indicator_id: str) -> Indicator:
    """The definition of a KPI.

    Parameters
    ----------
    indicator_id : str
        A key of :data:`INDICATORS`.

    Returns
    -------
    Indicator

    Examples
    --------
    >>> indicator("share_60plus").standard.value
    10.0
    """
    return lookup(INDICATORS, indicator_id, "indicator", "indicators",
                  code="unknown_indicator")


def base_frame(store: Store) -> pd.DataFrame:
    """Counts by year and district: residents by band and open capacity by facility type.

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    pandas.DataFrame
        ``year, adcode`` then :data:`BASE_COUNTS` and ``cap_<type>`` for
        :data:`CAPACITY_TYPES` (0 where a district has no such facility that year; NaN for
        every row when the store holds no facility of the type, so its KPI shows as missing,
        not 0).
    """
    pop = store.query("indicators.district_base")
    if pop.empty:
        raise CityBrainError("the store has no population: rebuild it with "
                             "`python -m analytics build`", code="no_population")
    cap = store.query("indicators.capacity_by_year")
    cap = cap[cap["type"].isin(CAPACITY_TYPES)]
    out = pop
    if not cap.empty:
        wide = (cap.groupby(["year", "adcode", "type"])["capacity"].sum().unstack("type")
                .add_prefix("cap_").reset_index())
        out = pop.merge(wide, on=["year", "adcode"], how="left")
    for t in CAPACITY_TYPES:
        if f"cap_{t}" not in out:
            out[f"cap_{t}"] = np.nan
    held = set(store.query("indicators.facility_types")["type"])
    for col in BASE_COUNTS:
        out[col] = out[col].fillna(0).astype("float64")
    for t in CAPACITY_TYPES:
        # 0 where the type exists but not in that district and year; NaN (unknown, not
        # zero) where the store holds no facility of the type at all
        out[f"cap_{t}"] = out[f"cap_{t}"].fillna(0).astype("float64") if t in held \
            else np.nan
    out["year"] = out["year"].astype(int)
    out["adcode"] = out["adcode"].astype(int)
    return out.sort_values(["year", "adcode"]).reset_index(drop=True)


def _ratio(ind: Indicator, frame: pd.DataFrame) -> pd.Series:
    num = frame[ind.numerator].astype(float)
    if ind.denominator is None:
        return num * ind.scale
    den = frame[ind.denominator].astype(float)
    return (ind.scale * num / den.where(den > 0)).astype(float)


def ratio_values(store: Store, base: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every ratio KPI for every year, for the city and each district (long form).

    The city's value is the ratio of the city's summed counts.

    Parameters
    ----------
    store : Store
        The city store.
    base : pandas.DataFrame, optional
        :func:`base_frame` already read.

    Returns
    -------
    pandas.DataFrame
        ``indicator, year, district, value`` where ``district`` is a district's adcode, or
        missing (``<NA>``) for the whole city.

    Examples
    --------
    >>> v = ratio_values(store)
    >>> city = of_area(v, None)
    >>> bool((city[city["indicator"] == "share_60plus"]["value"].between(0, 100)).all())
    True
    """
    base = base_frame(store) if base is None else base
    count_cols = [c for c in base.columns if c not in ("year", "adcode")]
    city = base.groupby("year", as_index=False)[count_cols].sum(min_count=1)
    city["district"] = pd.NA
    districts = base.drop(columns="adcode").assign(district=base["adcode"].astype(int))
    both = pd.concat([city, districts], ignore_index=True)
    both["district"] = both["district"].astype("Int64")
    frames = []
    for ind in INDICATORS.values():
        if not ind.is_ratio:
            continue
        frames.append(pd.DataFrame({"indicator": ind.id, "year": both["year"],
                                    "district": both["district"], "value": _ratio(ind, both)}))
    return pd.concat(frames, ignore_index=True)


def computed_values(store: Store, years: list[int], districts: list[int] | None = None,
                    ) -> pd.DataFrame:
    """The non-ratio KPIs (spatial coverage) for the given years, city and ``districts``.

    Parameters
    ----------
    store : Store
        The city store.
    years : list of int
        The years.
    districts : list of int, optional
        The districts (default: none, the city only).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`ratio_values`.
    """
    rows = []
    for ind in INDICATORS.values():
        if ind.is_ratio:
            continue
        for year in years:
            for area, value in ind.compute(store, int(year), list(districts or [])).items():
                rows.append((ind.id, int(year), pd.NA if area is None else int(area),
                             float(value)))
    out = pd.DataFrame(rows, columns=["indicator", "year", "district", "value"])
    return out.astype({"district": "Int64"})


#: One computation of the stored KPIs at a time per process: a second caller (the server's
#: refresh after a load, the dashboard's warm-up, a page) waits for it and then reads it.
_STORING = threading.Lock()
#: Columns of the long KPI frame, as :func:`ratio_values` gives them.
VALUE_COLUMNS = ["indicator", "year", "district", "value"]


def all_values(store: Store) -> pd.DataFrame:
    """Every KPI for every year of the store, for the city and each district, computed now.

    The ratio KPIs (:func:`ratio_values`) and then the spatial ones (:func:`computed_values`,
    one whole-city analysis per year), one row per indicator, year and area.

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    pandas.DataFrame
        ``indicator, year, district, value`` (``district`` missing for the whole city).

    Examples
    --------
    >>> v = all_values(store)
    >>> sorted(set(v["indicator"])) == sorted(INDICATORS)
    True
    """
    years = population.years(store)
    areas = [int(a) for a in districts(store)["adcode"]]
    frames = [ratio_values(store), computed_values(store, years, areas)]
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    return out.drop_duplicates(["indicator", "year", "district"], keep="first") \
        .reset_index(drop=True)


def stored_values(store: Store, generation: str | None = None) -> pd.DataFrame | None:
    """The KPIs kept in the store for its current data (``generation``: its
    :meth:`~analytics.store.Store.vintage`), or None when none are kept for it (the data
    changed since they were computed, or they never were).

    Parameters
    ----------
    store : Store
        The city store.
    generation : str, optional
        The vintage to read (default: the store's current one).

    Returns
    -------
    pandas.DataFrame or None
        As :func:`all_values`, in the order it gave them.

    Examples
    --------
    >>> stored_values(store, generation="a build that never was") is None
    True
    """
    generation = store.vintage() if generation is None else generation
    if "kpi_values" not in store.tables():
        return None
    frame = store.query("indicators.stored_values", generation=generation)
    if frame.empty:
        return None
    return frame[VALUE_COLUMNS].astype({"year": "int64", "district": "Int64",
                                        "value": "float64"}).reset_index(drop=True)


def store_values(store: Store) -> pd.DataFrame:
    """Compute every KPI (:func:`all_values`) and keep them in the store under its current
    generation, in place of any kept before; returns them.

    The build calls it once the store is complete, and the server after each department
    load; a reader (:func:`values`) then finds the series ready instead of computing one
    whole-city analysis per year. Values computed while a load changed the data are not
    kept (they belong to no generation); they are returned all the same.

    Parameters
    ----------
    store : Store
        The city store (writable).

    Returns
    -------
    pandas.DataFrame
        As :func:`all_values`.

    Examples
    --------
    >>> kept = store_values(store)
    >>> stored_values(store).equals(kept)
    True
    """
    generation = store.vintage()
    frame = all_values(store)
    rows = frame.assign(generation=generation, position=range(len(frame)))
    if "kpi_values" not in store.tables():
        store.ensure_tables()  # a store built before indicators were kept
    with store.transaction() as cur:
        # kept only if the data is still the data they were computed from
        if store.vintage() == generation:
            store.execute("indicators.clear_stored", cur=cur)
            store.write("kpi_values", rows[["generation", "position", *VALUE_COLUMNS]],
                        cur=cur)
    return frame


def values(store: Store) -> pd.DataFrame:
    """Every KPI for every year, city and district: as kept in the store for its current
    data, else computed now (and kept, where the store is writable).

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    pandas.DataFrame
        As :func:`all_values`; the same values whether read or computed.

    Examples
    --------
    >>> v = values(store)
    >>> city = of_area(v, None)
    >>> int(city[(city["indicator"] == "population") & (city["year"] == 2020)]["value"].iloc[0]) > 0
    True
    """
    kept = stored_values(store)
    if kept is not None:
        return kept
    with _STORING:
        kept = stored_values(store)  # made by another caller while this one waited
        if kept is not None:
            return kept
        if store.read_only:
            return all_values(store)
        return store_values(store)


def available(values: pd.DataFrame) -> list[str]:
    """Indicator ids present in ``values``, in registry order.

    Parameters
    ----------
    values : pandas.DataFrame
        A long KPI frame (:func:`ratio_values`, :func:`computed_values`).

    Returns
    -------
    list of str
    """
    present = set(values["indicator"])
    return [i for i in INDICATORS if i in present]


def of_area(values: pd.DataFrame, district: int | None = None) -> pd.DataFrame:
    """The rows of a long KPI frame for one area.

    Parameters
    ----------
    values : pandas.DataFrame
        A long KPI frame.
    district : int or None
        A district's adcode, or None for the whole city.

    Returns
    -------
    pandas.DataFrame
        The area's rows.
    """
    if district is None:
        return values[values["district"].isna()]
    return values[(values["district"] == int(district)).fillna(False).astype(bool)]


def of_districts(values: pd.DataFrame) -> pd.DataFrame:
    """The rows of a long KPI frame for the districts (not the city).

    Parameters
    ----------
    values : pandas.DataFrame
        A long KPI frame.

    Returns
    -------
    pandas.DataFrame
    """
    return values[values["district"].notna()]


def tile(values: pd.DataFrame, indicator_id: str, year: int, district: int | None = None
         ) -> dict:
    """What a KPI tile shows: value, change on one and five years, the series, the band.

    Parameters
    ----------
    values : pandas.DataFrame
        The long frame of :func:`ratio_values` / :func:`computed_values`.
    indicator_id : str
        The KPI.
    year : int
        The year shown.
    district : int or None
        A district's adcode, or None for the whole city.

    Returns
    -------
    dict
        ``indicator, value, change_1y, change_5y, series, span, band``. Changes are ``None``
        when the earlier year is not in the store. The series runs from the first year up to
        ``year`` (its last point is the value shown, so a sparkline never runs on past the
        chosen year); ``span`` is its first and last year.
    """
    ind = indicator(indicator_id)
    rows = of_area(values, district)
    rows = rows[rows["indicator"] == indicator_id]
    series = rows.set_index("year")["value"].sort_index()
    series = series[series.index <= year]
    known = series.dropna()

    def at(y: int) -> float | None:
        v = series.get(y)
        return None if v is None or pd.isna(v) else float(v)

    value = at(year)
    prev, five = at(year - 1), at(year - 5)
    return {
        "indicator": ind,
        "value": value,
        "change_1y": None if value is None or prev is None else value - prev,
        "change_5y": None if value is None or five is None else value - five,
        "series": series,
        "span": (int(known.index[0]), int(known.index[-1])) if len(known) else None,
        "band": ind.band(value),
    }


def district_table(values: pd.DataFrame, year: int) -> pd.DataFrame:
    """One row per district (by adcode), one column per available KPI, for ``year``.

    Parameters
    ----------
    values : pandas.DataFrame
        A long KPI frame.
    year : int
        The year.

    Returns
    -------
    pandas.DataFrame
        Indexed by adcode.
    """
    rows = of_districts(values)
    rows = rows[rows["year"] == year]
    wide = rows.pivot_table(index="district", columns="indicator", values="value",
                            aggfunc="first")
    wide.index = wide.index.astype(int)
    wide.index.name = "adcode"
    cols = [i for i in INDICATORS if i in wide.columns]
    return wide[cols].sort_index()


def largest_movers(values: pd.DataFrame, year: int, indicator_ids: list[str], span: int = 5,
                   n: int = 1) -> pd.DataFrame:
    """For each KPI, the ``n`` districts whose value changed most (in absolute terms)
    between ``year - span`` and ``year``.

    Parameters
    ----------
    values : pandas.DataFrame
        A long KPI frame.
    year : int
        The later year.
    indicator_ids : list of str
        The KPIs.
    span : int
        Years between the two values compared.
    n : int
        Districts per KPI.

    Returns
    -------
    pandas.DataFrame
        ``indicator, adcode, before, after, change``; empty if the earlier year is missing.
    """
    dist = of_districts(values)
    out = []
    for ind_id in indicator_ids:
        rows = dist[dist["indicator"] == ind_id]
        now = rows[rows["year"] == year].set_index("district")["value"]
        then = rows[rows["year"] == year - span].set_index("district")["value"]
        both = pd.DataFrame({"before": then, "after": now}).dropna()
        if both.empty:
            continue
        both["change"] = both["after"] - both["before"]
        top = both.reindex(both["change"].abs().sort_values(ascending=False).index).head(n)
        for area, r in top.iterrows():
            out.append((ind_id, int(area), r["before"], r["after"], r["change"]))
    return pd.DataFrame(out, columns=["indicator", "adcode", "before", "after", "change"])


def districts(store: Store) -> pd.DataFrame:
    """The store's districts.

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    pandas.DataFrame
        ``adcode, name, name_en, area_km2``.

    Examples
    --------
    >>> districts(store)["name"].tolist()
    ['西湖区', '滨江区']
    """
    out = store.query("indicators.districts")
    out["adcode"] = out["adcode"].astype(int)
    return out


def district_shapes(store: Store):
    """The districts as a WGS-84 GeoDataFrame.

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    geopandas.GeoDataFrame
        ``adcode, name, name_en, geometry``.
    """
    import geopandas as gpd

    raw = store.query("indicators.district_shapes")
    geom = gpd.GeoSeries.from_wkb(raw["geometry"].map(bytes, na_action="ignore"),
                                  crs="EPSG:4326")
    return gpd.GeoDataFrame(raw.drop(columns="geometry").assign(adcode=raw["adcode"].astype(int)),
                            geometry=geom, crs="EPSG:4326")
