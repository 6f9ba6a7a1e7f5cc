"""The analyses that grow with the data, once, for any engine.

An *engine* is anything with the store's read methods (``query``, ``scalar``, ``arrow``,
``meta``): a :class:`~analytics.store.Store` (DuckDB over a city file, or over a lake through
views) or a :class:`~analytics.engines.spark.SparkEngine`. Each analysis is a named query of
``analytics/sql/`` plus, where needed, the same small pandas step the store-only code runs
on its (district-sized) result:

* population by area, year, group and sex: ``scale.population_by_group``;
* the overview indicators for every district and year: :func:`analytics.indicators.kpis.ratio_values`
  over ``indicators.district_base`` and ``indicators.capacity_by_year`` (the very functions
  the dashboard uses);
* trends: :func:`analytics.indicators.trends.vital_rates` and :func:`analytics.indicators.trends.age_groups`;
* coverage and 2SFCA of any facility type: ``scale.coverage_by_district`` over the lake's
  catchment pairs (the same figures as :func:`analytics.planning.accessibility.analyse`, which finds
  the pairs with a KD-tree in memory);
* supply against demand by district: :func:`analytics.planning.supply.supply_demand`;
* controlled exports: rows a city and year at a time, through the access decision and the
  same small-count suppression as every other download (:mod:`analytics.opendata.privacy`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.engines.lake import PAIRS_MIN_RADIUS_M, Lake
from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, Actor
from analytics.indicators import kpis as indicators
from analytics.indicators import trends
from analytics.opendata import access, exports, privacy
from analytics.planning import supply
from analytics.planning.accessibility import (
    cell_groups,
    check_year,
    city_as_missing,
    default_group,
)
from analytics.standards import NURSERY_PLACES_PER_RESIDENT, facility_type, service_radius
from analytics.store import DEFAULT_STORE, Store

ENGINES = ("duckdb", "spark")


@contextlib.contextmanager
def open_engine(engine: str = "duckdb", *, store: Path | str | None = None,
                lake: Path | str | None = None, spark: str | None = None,
                conf: dict[str, str] | None = None) -> Iterator:
    """DuckDB over the store (default) or over ``lake``; Spark over ``lake``.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        The engine.
    store : Path or str, optional
        The city store (DuckDB without a lake).
    lake : Path or str, optional
        A lake written by :func:`analytics.engines.lake.export`.
    spark : str, optional
        A Spark Connect URL (default: Spark in local mode).
    conf : dict, optional
        Spark settings.

    Returns
    -------
    contextlib.AbstractContextManager
        Yields the engine; closes it on exit.
    """
    if engine not in ENGINES:
        raise CityBrainError(f"unknown engine {engine!r}; engines are {', '.join(ENGINES)}")
    if engine == "duckdb":
        if spark:
            raise CityBrainError("--spark needs --engine spark")
        handle = Lake.open(lake).store() if lake else Store.open(store or DEFAULT_STORE,
                                                                 read_only=True)
    else:
        if lake is None:
            raise CityBrainError("--engine spark reads a lake: give --lake DIR (write one with "
                                 "`python -m analytics lake export --out DIR`)")
        from analytics.engines.spark import SparkEngine  # PySpark and a JVM only when asked

        handle = SparkEngine.open(lake, spark, conf)
    try:
        yield handle
    finally:
        handle.close()


def city_of(adcode: pd.Series) -> pd.Series:
    """The prefecture-level city of a district adcode (its first four digits)."""
    return (adcode.astype("int64") // 100) * 100


# -- population --------------------------------------------------------------------------------
def population(engine, year: int | None = None, city: int | None = None) -> pd.DataFrame:
    """Residents by city, district, year, age group and sex.

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).
    year : int, optional
        One year (default: every year).
    city : int, optional
        One city's adcode (default: every city the engine holds).

    Returns
    -------
    pandas.DataFrame
        ``city_adcode, district_adcode, year, age_group, sex, persons`` (integers).
    """
    out = engine.query("scale.population_by_group", year=None if year is None else int(year),
                       city=None if city is None else int(city))
    for col in ("city_adcode", "district_adcode", "year", "persons"):
        out[col] = out[col].astype("int64")
    return out


def summary(engine, year: int) -> pd.DataFrame:
    """Population and broad age shares: every city the engine holds, then each district.

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).
    year : int
        The year.

    Returns
    -------
    pandas.DataFrame
        ``adcode, name, population, share_0_14, share_15_59, share_60plus, share_65plus``
        (as ``python -m analytics info``); for one city its first row is the city.
    """
    bands = engine.query("population.district_age_bands", year=int(year))
    if bands.empty:
        raise CityBrainError(f"no population for {year} on this engine")
    count_cols = ["population", "age_0_14", "age_15_59", "age_60plus", "age_65plus"]
    bands[count_cols] = bands[count_cols].astype("int64")
    bands["adcode"] = bands["adcode"].astype("int64")
    cities = bands.assign(adcode=city_of(bands["adcode"])).groupby("adcode", as_index=False)[
        count_cols].sum()
    meta = engine.meta()
    city_names = _city_names(engine)
    cities["name"] = cities["adcode"].map(city_names).fillna(meta.get("city_name", ""))
    rows = pd.concat([cities, bands.drop(columns=["name_en"])], ignore_index=True)
    out = rows[["adcode", "name", "population"]].copy()
    for band, col in [("age_0_14", "share_0_14"), ("age_15_59", "share_15_59"),
                      ("age_60plus", "share_60plus"), ("age_65plus", "share_65plus")]:
        out[col] = (100 * rows[band] / rows["population"]).astype(float).round(2)
    return out


def _city_names(engine) -> dict[int, str]:
    lake = getattr(engine, "lake", None)
    if lake is not None:
        return {int(c): e.get("name", "") for c, e in lake.manifest["cities"].items()}
    meta = engine.meta()
    if meta.get("lake_cities"):
        return {}
    return {int(meta["city_adcode"]): meta.get("city_name", "")}


# -- indicators and trends ---------------------------------------------------------------------
def indicator_values(engine) -> pd.DataFrame:
    """Every ratio KPI, every year, for all the engine holds and each district.

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).

    Returns
    -------
    pandas.DataFrame
        As :func:`analytics.indicators.ratio_values` (``district`` missing for all the engine
        holds).
    """
    return indicators.ratio_values(engine, base=indicators.base_frame(engine))


def city_indicator_values(engine) -> pd.DataFrame:
    """The same KPIs for each city and for all the engine holds: the province view.

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).

    Returns
    -------
    pandas.DataFrame
        As :func:`analytics.indicators.ratio_values`, with the city's adcode in ``district``
        (missing: all the engine holds).
    """
    base = indicators.base_frame(engine)
    base = base.assign(adcode=city_of(base["adcode"]))
    cols = [c for c in base.columns if c not in ("year", "adcode")]
    by_city = base.groupby(["year", "adcode"], as_index=False)[cols].sum(min_count=1)
    return indicators.ratio_values(engine, base=by_city)


def vital_trends(engine, district: int | None = None) -> pd.DataFrame:
    """Births, deaths, rates and the ageing index by year.

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).
    district : int or None
        A district's adcode, or None for all the engine holds.

    Returns
    -------
    pandas.DataFrame
        As :func:`analytics.indicators.trends.vital_rates`.
    """
    return trends.vital_rates(engine, district)


def age_group_trends(engine, district: int | None = None) -> pd.DataFrame:
    return trends.age_groups(engine, district)


# -- coverage and 2SFCA ------------------------------------------------------------------------
def coverage(engine, type_key: str, year: int, group: str | None = None,
             radius_m: int | None = None, city: int | None = None) -> pd.DataFrame:
    """Coverage and 2SFCA of a facility type by district, as
    :func:`analytics.planning.accessibility.district_summary` gives them.

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).
    type_key : str
        A facility type.
    year : int
        The year.
    group : str, optional
        The residents served (default: the type's own group).
    radius_m : int, optional
        Walking radius in metres (default: the standard's).
    city : int, optional
        One city's adcode (default: every city the engine holds).

    Returns
    -------
    pandas.DataFrame
        ``city_adcode, adcode, name, name_en, persons, covered, coverage_pct, facilities,
        supply, access_per_1000, unmet``; the first row (adcode ``<NA>``) sums everything
        the engine holds, then one row per city when it holds several, then the districts.
    """
    ft = facility_type(type_key)
    group = group or default_group(type_key)
    groups = cell_groups(group)
    check_year(engine, year)
    radius = service_radius(type_key, {type_key: radius_m} if radius_m else None)
    prepared = max(ft.radius_m, PAIRS_MIN_RADIUS_M)
    if radius <= 0 or radius > prepared:
        raise CityBrainError(f"radius {radius} m is outside 1-{prepared:,} m, the catchments "
                             f"prepared for {type_key} (the standard's radius is "
                             f"{ft.radius_m} m)")
    need = need_all = None
    if ft.key == "nursery":
        need_all = NURSERY_PLACES_PER_RESIDENT
    elif ft.capacity_unit != "none":
        need = ft.per_person
    params = dict(type=type_key, year=int(year), groups=groups, radius=float(radius),
                  need=None if need is None else float(need),
                  need_all=None if need_all is None else float(need_all),
                  need_groups=cell_groups("0-2"), city=None if city is None else int(city))
    cov = engine.query("scale.coverage_by_district", **params)
    fac = engine.query("scale.open_supply_by_district", type=type_key, year=int(year),
                       city=params["city"])
    if cov.empty:
        raise CityBrainError(f"no residents of group {group} in {year}: choose another "
                             "group or year")
    keys = ["city_adcode", "adcode"]
    by = cov.merge(fac, on=keys, how="outer").fillna(0)
    for col in ("city_adcode", "adcode", "persons", "covered", "facilities"):
        by[col] = by[col].astype("int64")
    for col in ("weighted", "unmet", "supply"):
        by[col] = by[col].astype("float64")
    sums = ["persons", "covered", "weighted", "unmet", "facilities", "supply"]
    total = by[sums].sum().to_frame().T.assign(city_adcode=0, adcode=0)
    parts = [total]
    if by["city_adcode"].nunique() > 1:
        parts.append(by.groupby("city_adcode", as_index=False)[sums].sum()
                     .assign(adcode=lambda f: f["city_adcode"]))
    out = pd.concat([*parts, by.sort_values(keys)], ignore_index=True)
    for col in ("city_adcode", "adcode", "persons", "covered", "facilities"):
        out[col] = out[col].astype("int64")
    positive = out["persons"].where(out["persons"] > 0)
    out["coverage_pct"] = 100.0 * out["covered"] / positive
    out["access_per_1000"] = 1000.0 * out["weighted"] / positive
    names = engine.query("scale.district_names")
    names["adcode"] = names["adcode"].astype("int64")
    out = out.merge(names[["adcode", "name", "name_en"]], on="adcode", how="left")
    out.loc[out["adcode"] == 0, ["name", "name_en"]] = ["全部", "All"]
    city_names = _city_names(engine)
    is_city = out["adcode"].isin(list(city_names)) & out["name"].isna()
    out.loc[is_city, "name"] = out.loc[is_city, "adcode"].map(city_names)
    out.loc[is_city, "name_en"] = out.loc[is_city, "adcode"].astype(str)
    out["adcode"] = city_as_missing(out["adcode"])
    out["city_adcode"] = city_as_missing(out["city_adcode"])
    return out[["city_adcode", "adcode", "name", "name_en", "persons", "covered", "coverage_pct",
                "facilities", "supply", "access_per_1000", "unmet"]]


def supply_demand(engine, year: int, types: list[str] | None = None) -> pd.DataFrame:
    """Capacity against the standard's requirement by district and type.

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).
    year : int
        The year.
    types : list of str, optional
        Facility types (default: every type).

    Returns
    -------
    pandas.DataFrame
        As :func:`analytics.planning.supply.supply_demand`.
    """
    return supply.supply_demand(engine, year, types)


# -- controlled exports ------------------------------------------------------------------------
#: Count tables an engine exports a city and year at a time (every margin is inside one).
EXPORTABLE = {"population_cells": "scale.population_cells_year",
              "population_districts": "scale.population_districts_year"}


def controlled_chunks(engine, dataset_id: str, actor: Actor = PUBLIC, channel: str = "cli"
                      ) -> tuple[Iterator[pa.Table], privacy.DisclosureReport]:
    """The rows of a count dataset as released: a city and year at a time, through the access
    decision and small-count suppression (primary and secondary, on the dataset's margins).

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).
    dataset_id : str
        A count dataset of the registry.
    actor : Actor
        Who asks.
    channel : str
        Where the request comes from, for the access log.

    Returns
    -------
    chunks : iterator of pyarrow.Table
        The released rows (lazy).
    report : DisclosureReport
        Filled in as the chunks are read.
    """
    if dataset_id not in EXPORTABLE:
        raise CityBrainError(f"{dataset_id} is not exported from an engine; engines export "
                             f"{', '.join(EXPORTABLE)} (others: `python -m analytics export` "
                             "on the store)")
    decision = access.decide(engine, dataset_id, actor, channel)
    if not decision.allowed:
        raise access.AccessRefused(decision.reason, code=decision.code, **dict(decision.params))
    spec = access.spec_of(engine, dataset_id)
    report = privacy.DisclosureReport(dataset_id=dataset_id)
    parts = engine.query("scale.table_years")

    def chunks() -> Iterator[pa.Table]:
        for city, year in parts[["city_adcode", "year"]].astype("int64").itertuples(
                index=False, name=None):
            table = engine.arrow(EXPORTABLE[dataset_id], city=int(city), year=int(year))
            table = table.cast(_export_schema(table.schema))
            part = privacy.DisclosureReport(rows_in=table.num_rows, rows_out=table.num_rows)
            for col in spec.count_columns:
                table, sup = privacy.suppress_small_counts_arrow(table, col, spec.margins)
                part.primary_suppressed += sup.primary_suppressed
                part.secondary_suppressed += sup.secondary_suppressed
            report.merge(part)
            yield table

    return chunks(), report


def _export_schema(schema: pa.Schema) -> pa.Schema:
    """One schema whichever engine read the rows: 32-bit codes, 64-bit cells and counts."""
    wide = {"cell": pa.int64(), "persons": pa.int64()}
    return pa.schema([pa.field(f.name, wide.get(f.name, pa.int32() if pa.types.is_integer(
        f.type) else f.type)) for f in schema])


def controlled_export(engine, dataset_id: str, out: Path, fmt: str = "csv",
                      actor: Actor = PUBLIC) -> tuple[int, privacy.DisclosureReport]:
    """Write a controlled export (CSV with BOM or Parquet).

    Parameters
    ----------
    engine
        An engine from :func:`open_engine` (DuckDB over a store or a lake, or Spark).
    dataset_id : str
        A count dataset of the registry.
    out : Path
        The file to write.
    fmt : {"csv", "parquet"}
        The format.
    actor : Actor
        Who asks.

    Returns
    -------
    rows : int
        Rows written.
    report : DisclosureReport
        What disclosure control did.
    """
    chunks, report = controlled_chunks(engine, dataset_id, actor)
    writer = {"csv": exports._write_csv, "parquet": exports._write_parquet}.get(fmt)
    if writer is None:
        raise CityBrainError(f"an engine export writes csv or parquet, not {fmt}")
    try:
        with open(out, "wb") as f:
            rows = writer(chunks, f)
    except OSError as exc:
        raise CityBrainError(f"cannot write {out}: {exc.strerror}") from None
    return rows, report


def suppressed_cells(table: pa.Table, column: str = "persons") -> np.ndarray:
    """Row positions whose count was blanked (for checks)."""
    return np.flatnonzero(table[column].is_null().to_numpy(zero_copy_only=False))


__all__ = ["ENGINES", "EXPORTABLE", "age_group_trends", "city_indicator_values",
           "controlled_chunks", "controlled_export", "coverage", "indicator_values",
           "open_engine", "population", "summary", "supply_demand", "suppressed_cells",
           "vital_trends"]
