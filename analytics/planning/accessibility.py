"""Who can reach a facility: coverage, the two-step floating catchment, gaps.

Residents are counted per H3 resolution-9 cell (edge about 175 m) at the cell centre;
facilities sit at their own coordinates. A resident is *covered* when a facility of the
type lies within the type's walking radius (GB 50180-2018 living circle, from
:mod:`analytics.standards`; settings may override it). Distances are straight-line metres
on a local transverse Mercator projection, found with a KD-tree (``scipy.spatial.cKDTree``)
so a whole city takes well under a second.

The two-step floating catchment (2SFCA, Luo & Wang 2003) gives each cell the supply it can
reach per resident: step 1 divides each facility's capacity by the residents within its
radius, step 2 sums those ratios over the facilities within reach of the cell. It is
computed here with sparse arrays rather than with PySAL ``access`` because ``access`` builds
a dense demand-by-supply cost table first; ``tests/test_accessibility.py`` shows the two agree
on a shared case.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

from analytics import population
from analytics.errors import CityBrainError
from analytics.identity import PUBLIC
from analytics.opendata import access, privacy
from analytics.standards import (
    FACILITY_TYPES,
    NURSERY_PLACES_PER_RESIDENT,
    facility_type,
    service_radius,
)
from analytics.store import Store

#: Planner-facing groups: population.SERVICE_GROUPS plus "all" residents.
ALL = "all"


def cell_groups(group: str) -> list[str]:
    """The cell-grain age groups that make up a service group (``all`` is every group)."""
    if group == ALL:
        return list(population.AGE_GROUPS)
    try:
        return list(population.SERVICE_GROUPS[group])
    except KeyError:
        raise CityBrainError(f"unknown group {group!r}; groups are "
                             f"{', '.join([*population.SERVICE_GROUPS, ALL])}", code="unknown_group",
                             group=group, choices=", ".join([*population.SERVICE_GROUPS, ALL])
                             ) from None


def default_group(type_key: str) -> str:
    """The group a facility type serves first (its standard's demand group)."""
    return facility_type(type_key).serves[0]


# -- geometry ----------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _transformer(lon0: float, lat0: float) -> Transformer:
    return Transformer.from_crs(
        "EPSG:4326", f"+proj=tmerc +lon_0={lon0} +lat_0={lat0} +k=1 +ellps=WGS84 +units=m",
        always_xy=True)


def project(lon, lat, origin: tuple[float, float]) -> np.ndarray:
    """Metres east/north of ``origin`` on a transverse Mercator centred there (n x 2)."""
    x, y = _transformer(round(origin[0], 2), round(origin[1], 2)).transform(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([x, y])


def pairs_within(demand_xy: np.ndarray, supply_xy: np.ndarray, radius_m: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (demand i, supply j) pair at most ``radius_m`` apart, with its distance.

    Returns ``i, j, d`` arrays (zero distances included); two KD-trees keep it near-linear.
    """
    if len(demand_xy) == 0 or len(supply_xy) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    pairs = cKDTree(demand_xy).sparse_distance_matrix(cKDTree(supply_xy), radius_m,
                                                       output_type="ndarray")
    i = pairs["i"].astype(np.int64)
    j = pairs["j"].astype(np.int64)
    d = pairs["v"].astype(float)
    return i, j, d


# -- the numeric core (arrays in, arrays out) --------------------------------------------
def two_step_fca(persons: np.ndarray, supply: np.ndarray, i: np.ndarray, j: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment area (2SFCA) access from reach pairs.

    Step 1: ``R_j = S_j / sum(P_i for i within reach of j)`` (0 where no one is in reach).
    Step 2: ``A_i = sum(R_j for j within reach of i)``, in supply units per resident.

    Parameters
    ----------
    persons : numpy.ndarray
        Demand ``P_i`` per demand point.
    supply : numpy.ndarray
        Supply ``S_j`` per facility.
    i, j : numpy.ndarray
        Reach pairs: demand point ``i[n]`` is within the radius of facility ``j[n]``.

    Returns
    -------
    access : numpy.ndarray
        ``A_i`` per demand point.
    ratio : numpy.ndarray
        ``R_j`` per facility.

    Examples
    --------
    Two residents share one place; a third, out of reach, has none:

    >>> import numpy as np
    >>> access, ratio = two_step_fca(np.array([1.0, 1.0, 1.0]), np.array([1.0]),
    ...                              np.array([0, 1]), np.array([0, 0]))
    >>> access.tolist(), ratio.tolist()
    ([0.5, 0.5, 0.0], [0.5])
    """
    persons = np.asarray(persons, dtype=float)
    supply = np.asarray(supply, dtype=float)
    demand_in_reach = np.bincount(j, weights=persons[i], minlength=len(supply))
    ratio = np.divide(supply, demand_in_reach, out=np.zeros_like(supply),
                      where=demand_in_reach > 0)
    access = np.bincount(i, weights=ratio[j], minlength=len(persons))
    return access, ratio


def covered_mask(n_demand: int, i: np.ndarray) -> np.ndarray:
    """True for demand points with at least one supply point in reach."""
    return np.bincount(i, minlength=n_demand) > 0


# -- reading the store -------------------------------------------------------------------
def check_year(store: Store, year: int) -> None:
    years = population.years(store)
    if year not in years:
        span = f"{years[0]}-{years[-1]}" if years else "none"
        raise CityBrainError(f"no population for {year} in this store (years: {span})",
                             code="no_population_year", year=year, span=span)


def demand_cells(store: Store, group: str, year: int, district: int | None = None
                 ) -> pd.DataFrame:
    """``cell, h3, district_adcode, lon, lat, persons`` of one group (persons > 0)."""
    frame = store.query("planning.group_cells", groups=cell_groups(group), year=int(year),
                        district=None if district is None else int(district))
    frame["persons"] = frame["persons"].astype("int64")
    return frame[frame["persons"] > 0].reset_index(drop=True)


def open_facilities(store: Store, type_key: str, year: int, district: int | None = None
                    ) -> pd.DataFrame:
    """Facilities of a type open in ``year`` (all columns of the facilities table)."""
    facility_type(type_key)
    return store.query("planning.facilities_open", type=type_key, year=int(year),
                       district=None if district is None else int(district))


def supply_values(facilities: pd.DataFrame) -> np.ndarray:
    """Capacity per facility; one unit per facility where capacity is not counted."""
    if facilities.empty:
        return np.empty(0)
    uncounted = (facilities["capacity_unit"] == "none") | (facilities["capacity"] <= 0)
    return np.where(uncounted, 1.0, facilities["capacity"].astype(float)).astype(float)


def supply_unit(type_key: str) -> str:
    unit = facility_type(type_key).capacity_unit
    return "facilities" if unit == "none" else unit


def need_per_person(store: Store, type_key: str, year: int) -> float | None:
    """Capacity the standard asks for per resident of the type's group (None: no ratio).

    Nursery places are set per resident of all ages (4.5 per 1,000); they are turned into
    places per child aged 0-2 with the city's own ratio of residents to 0-2 children that year.
    """
    ft = facility_type(type_key)
    if ft.key == "nursery":
        everyone = store.scalar("planning.group_total", groups=cell_groups(ALL), year=int(year),
                                district=None)
        children = store.scalar("planning.group_total", groups=cell_groups("0-2"),
                                year=int(year), district=None)
        return None if not children else NURSERY_PLACES_PER_RESIDENT * everyone / children
    if ft.capacity_unit == "none":
        return None
    return ft.per_person


# -- results -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Accessibility:
    """Coverage and 2SFCA for one facility type, group and year (the whole city).

    ``cells``: ``cell, h3, district_adcode, lon, lat, persons, facilities_in_reach,
    covered, access`` (supply per resident), ``access_per_1000``, ``unmet`` (residents
    without a place at the standard's ratio, or uncovered where the type has no ratio).
    ``facilities``: the open facilities plus ``demand_in_reach`` and ``ratio_per_1000``.
    """

    type_key: str
    group: str
    year: int
    radius_m: int
    standard_radius_m: int
    need_per_person: float | None
    unit: str
    cells: pd.DataFrame
    facilities: pd.DataFrame

    @property
    def radius_overridden(self) -> bool:
        return self.radius_m != self.standard_radius_m

    def coverage_pct(self, district: int | None = None, released: bool = False) -> float:
        """Percent of the group within the radius; ``released``: from the covered residents
        rounded as published (:func:`public_summary`: nearest 10, 1-9 blank gives NaN), so a
        headline share equals the one the tables and the planning map show."""
        cells = self.cells if district is None else \
            self.cells[self.cells["district_adcode"] == district]
        total = cells["persons"].sum()
        if total == 0:
            raise _no_residents(self.group, self.year, district)
        covered = float(cells.loc[cells["covered"], "persons"].sum())
        if released:
            covered = float(privacy.round_counts([covered])[0][0])
        return float(100.0 * covered / total)


def _no_residents(group: str, year: int, district: int | None) -> CityBrainError:
    if district is None:
        return CityBrainError(f"no residents of group {group} in the city in {year}: choose "
                              "another group or year", code="no_residents_city", group=group,
                              year=year)
    return CityBrainError(f"no residents of group {group} in district {district} in {year}: "
                          "choose another district, group or year",
                          code="no_residents_district", group=group, year=year,
                          district=district)


def analyse(store: Store, type_key: str, year: int, group: str | None = None,
            radius_m: int | None = None) -> Accessibility:
    """Coverage and 2SFCA for a facility type over the whole city.

    The city is always computed whole, because a facility's catchment crosses district
    lines; filter the result by district afterwards.

    Parameters
    ----------
    store : Store
        The city store.
    type_key : str
        A facility type of :data:`analytics.standards.FACILITY_TYPES`.
    year : int
        The year: its residents and the facilities open in it.
    group : str, optional
        The residents served (default: the type's own group, e.g. ``60+`` for care homes).
    radius_m : int, optional
        Walking radius in metres, 1 to 5,000 (default: the standard's).

    Returns
    -------
    Accessibility
        Cells and facilities with coverage, 2SFCA access and unmet demand.

    Examples
    --------
    >>> a = analyse(store, "elderly_day_care", 2020)
    >>> a.group, a.radius_m == a.standard_radius_m
    ('60+', True)
    >>> 0 <= a.coverage_pct() <= 100
    True
    """
    ft = facility_type(type_key)
    group = group or default_group(type_key)
    cell_groups(group)
    check_year(store, year)
    radius = service_radius(type_key, {type_key: radius_m} if radius_m else None)
    if radius <= 0 or radius > 5000:
        raise CityBrainError(f"radius {radius} m is outside 1-5,000 m (the standard's is "
                             f"{ft.radius_m} m)", code="radius", radius=radius, standard=ft.radius_m)
    cells = demand_cells(store, group, year)
    fac = open_facilities(store, type_key, year)
    if cells.empty:
        raise _no_residents(group, year, None)
    origin = (float(cells["lon"].median()), float(cells["lat"].median()))
    cxy = project(cells["lon"], cells["lat"], origin)
    fxy = project(fac["lon"], fac["lat"], origin) if len(fac) else np.empty((0, 2))
    i, j, _ = pairs_within(cxy, fxy, radius)
    persons = cells["persons"].to_numpy(dtype=float)
    supply = supply_values(fac)
    access, ratio = two_step_fca(persons, supply, i, j)
    need = need_per_person(store, type_key, year)
    cells["facilities_in_reach"] = np.bincount(i, minlength=len(cells)).astype("int64")
    cells["covered"] = cells["facilities_in_reach"] > 0
    cells["access"] = access
    cells["access_per_1000"] = 1000.0 * access
    if need:
        cells["unmet"] = persons * np.clip(1.0 - access / need, 0.0, 1.0)
    else:
        cells["unmet"] = np.where(cells["covered"], 0.0, persons)
    fac = fac.copy()
    fac["demand_in_reach"] = np.bincount(j, weights=persons[i], minlength=len(fac)) \
        if len(fac) else np.empty(0)
    fac["ratio_per_1000"] = 1000.0 * ratio
    return Accessibility(type_key, group, int(year), int(radius), ft.radius_m, need,
                         supply_unit(type_key), cells, fac)


def coverage_share(store: Store, facility_type: str, group: str, year: int,
                   radius_m: int | None = None, district: int | None = None,
                   released: bool = False) -> float:
    """Percent (0-100) of a group living within the radius of at least one open facility.

    E.g. the leadership KPI "share of 60+ within 300 m of an elderly day-care centre" is
    ``coverage_share(store, "elderly_day_care", "60+", 2020)``.

    Parameters
    ----------
    store : Store
        The city store.
    facility_type : str
        A facility type.
    group : str
        The residents served.
    year : int
        The year.
    radius_m : int, optional
        Walking radius in metres (default: the standard's).
    district : int or None
        A district's adcode, or None for the whole city.

    Returns
    -------
    float
        The percentage, NaN where the area has no such residents.
    """
    result = analyse(store, facility_type, year, group=group, radius_m=radius_m)
    if district is not None and district not in set(result.cells["district_adcode"]):
        raise _no_residents(group, year, district)
    return result.coverage_pct(district, released=released)


def district_summary(result: Accessibility, names: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row for the city, then one per district.

    Columns ``adcode`` (``<NA>`` on the first row, the whole city), ``name, name_en,
    persons, covered, coverage_pct, facilities, supply, access_per_1000`` (persons-weighted
    mean), ``unmet``.
    """
    cells = result.cells.assign(
        covered_persons=np.where(result.cells["covered"], result.cells["persons"], 0),
        weighted=result.cells["persons"] * result.cells["access"])
    fac = result.facilities.assign(supply=supply_values(result.facilities))
    by = cells.groupby("district_adcode").agg(
        persons=("persons", "sum"), covered=("covered_persons", "sum"),
        weighted=("weighted", "sum"), unmet=("unmet", "sum"))
    fby = fac.groupby("district_adcode").agg(facilities=("facility_id", "count"),
                                             supply=("supply", "sum"))
    by = by.join(fby, how="outer").fillna(0)
    city = by.sum().to_frame().T
    city.index = [0]
    out = pd.concat([city, by]).rename_axis("adcode").reset_index()
    out["adcode"] = out["adcode"].astype(int)
    out["coverage_pct"] = np.where(out["persons"] > 0,
                                   100.0 * out["covered"] / out["persons"].where(
                                       out["persons"] > 0, 1), np.nan)
    out["access_per_1000"] = np.where(out["persons"] > 0, 1000.0 * out["weighted"] /
                                      out["persons"].where(out["persons"] > 0, 1), np.nan)
    for col in ("persons", "covered", "facilities"):
        out[col] = out[col].astype("int64")
    out["unmet"] = out["unmet"].round().astype("int64")
    if names is not None:
        out = out.merge(names[["adcode", "name", "name_en"]], on="adcode", how="left")
        # the whole city's row has no name: a page or the CLI words it in its language
    else:
        out["name"] = out["name_en"] = ""
    out["adcode"] = city_as_missing(out["adcode"])
    return out[["adcode", "name", "name_en", "persons", "covered", "coverage_pct",
                "facilities", "supply", "access_per_1000", "unmet"]]


def city_as_missing(adcodes: pd.Series) -> pd.Series:
    """District adcodes with the whole city's row (computed under key 0) as ``<NA>``: an area
    is a district's adcode, or missing for the whole city."""
    return adcodes.astype("Int64").where(adcodes != 0)


def underserved_cells(result: Accessibility, n: int = 50, district: int | None = None
                      ) -> pd.DataFrame:
    """The cells with the most unmet demand (residents without a place), largest first."""
    cells = result.cells
    if district is not None:
        cells = cells[cells["district_adcode"] == district]
    cells = cells[cells["unmet"] >= 0.5]
    return cells.sort_values(["unmet", "cell"], ascending=[False, True]).head(n).reset_index(
        drop=True)


def type_availability(store: Store, type_key: str, year: int) -> str | None:
    """None when the type has open facilities in ``year``; else a message saying why not."""
    ft = facility_type(type_key)
    counts = store.query("planning.facility_type_counts")
    row = counts[counts["type"] == type_key]
    if row.empty:
        return (f"the store has no {ft.name_en.lower()} facilities (type {type_key}) at all: "
                "load the facilities dataset or choose another type")
    if open_facilities(store, type_key, year).empty:
        first = int(row["first_opened"].iloc[0])
        hint = f"the first opened in {first}" if first > year else "all had closed by then"
        return (f"no {ft.name_en.lower()} was open in {year} ({hint}): choose another year")
    return None


__all__ = ["ALL", "FACILITY_TYPES", "Accessibility", "analyse", "coverage_share",
           "district_summary", "underserved_cells", "two_step_fca", "pairs_within",
           "type_availability", "need_per_person"]


# -- published outputs (through the access decision and disclosure control) -------------------
def public_cells(store: Store, result: Accessibility, actor=None, channel: str = "api",
                 fmt: str = "cells") -> pd.DataFrame:
    """The cell table as it may be shown or exported: ``persons`` and ``unmet`` rounded to the
    nearest 10 with 1-9 blank, a ``suppressed`` flag, and the use logged
    (:func:`analytics.opendata.access.release_counts`)."""
    out, _ = access.release_counts(store, result.cells, ["persons", "unmet"],
                                   source="population_cells", grain="cell",
                                   actor=actor or PUBLIC, channel=channel, fmt=fmt,
                                   parts="parts" if "parts" in result.cells else None)
    return out


def public_summary(store: Store, result: Accessibility, names: pd.DataFrame | None = None,
                   actor=None, channel: str = "api", fmt: str = "coverage") -> pd.DataFrame:
    """:func:`district_summary` as it may be published: ``persons`` (a sum of published
    district-by-age-group totals) stays exact; ``covered`` (a sum over a set of cells) is
    rounded to the nearest 10, 1-9 blank, and ``coverage_pct`` is computed from the rounded
    ``covered``, so none of them pins a cell's count. One decision, one line in the log.

    ``beyond`` (residents with no facility within the radius) is ``persons - covered`` of the
    released figures, never rounded on its own: two independently rounded parts of an exact
    total would pin each other. ``near_full`` (with a capacity ratio: the 2SFCA shortfall of
    the covered cells, residents within reach of facilities whose places are all taken) is
    rounded like ``covered`` (blank when 1-9 from fewer than nine cells), and ``unmet`` is
    ``beyond + near_full``: one figure, whose parts a page can name and which add up. For a
    type without a ratio ``near_full`` is 0 and ``unmet`` *is* ``beyond``. Every figure a page
    shows about these residents comes from this table."""
    table = district_summary(result, names)
    cells = result.cells
    shortfall = np.where(cells["covered"], cells["unmet"], 0.0) if result.need_per_person \
        else np.zeros(len(cells))
    near = pd.DataFrame({"district_adcode": cells["district_adcode"].to_numpy(),
                         "near_full": shortfall, "parts": (shortfall > 0).astype("int64")})
    by = near.groupby("district_adcode")[["near_full", "parts"]].sum()
    by.loc[0] = by.sum()
    key = table["adcode"].fillna(0).astype("int64")
    table = table.assign(near_full=by["near_full"].reindex(key).fillna(0.0).to_numpy(),
                         parts=by["parts"].reindex(key).fillna(0).to_numpy())
    released, _ = access.release_counts(store, table.drop(columns="unmet"),
                                        ["covered", "near_full"],
                                        source="population_districts", grain="district",
                                        actor=actor or PUBLIC, channel=channel, fmt=fmt,
                                        parts={"near_full": "parts"})
    out = released
    persons = out["persons"].astype("Int64")
    out["coverage_pct"] = (100.0 * out["covered"].astype("Float64")
                           / persons.where(persons > 0)).astype("Float64")
    out.insert(out.columns.get_loc("covered") + 1, "beyond", (persons - out["covered"]))
    out.insert(out.columns.get_loc("access_per_1000") + 1, "unmet",
               (out["beyond"] + out["near_full"]).astype("Int64"))
    return out
