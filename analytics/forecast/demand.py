"""Beds and places needed, by facility type and year, and the gap against capacity.

Demand = forecast population of the group a facility type serves × the planning standard's
service ratio (:mod:`analytics.standards`, each ratio with its source): e.g. 40 elderly-care
beds per 1,000 residents aged 60+, 0.9 kindergarten places per child aged 3-5. Capacity is
what the ``facilities`` table says is open in the year: *existing* (open in the base year
and not yet closed) and *planned* (opening after the base year). The gap is demand minus
capacity: positive means a shortfall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.errors import CityBrainError
from analytics.forecast import targets as tg
from analytics.forecast.api import forecast_all, history_of
from analytics.forecast.data import MAX_HORIZON, History, check_area, load_history
from analytics.standards import FACILITY_TYPES, NURSERY_PLACES_PER_RESIDENT, balance
from analytics.store import Store


def target_of_group(group: str) -> str:
    """The count target of a service group label (``60+`` -> ``pop_60plus``; ``all`` ->
    ``pop_total``)."""
    return "pop_total" if group == "all" else f"pop_{tg.group_of_label(group).key}"


def _demand_types() -> dict[str, tuple[str, float]]:
    """facility type -> (target it is driven by, capacity per person of that target)."""
    out = {}
    for key, ft in FACILITY_TYPES.items():
        if ft.capacity_unit == "none":
            continue  # counted in centres, not beds or places
        if key == "nursery":
            out[key] = ("pop_total", NURSERY_PLACES_PER_RESIDENT)  # stated per resident
            continue
        if ft.per_person is None:
            continue
        out[key] = (target_of_group(ft.serves[0]), ft.per_person)
    return out


#: facility type -> (driving target, service ratio), from the standards table.
DEMAND_TYPES: dict[str, tuple[str, float]] = _demand_types()


def _check_types(types) -> list[str]:
    if types is None:
        return list(DEMAND_TYPES)
    types = [types] if isinstance(types, str) else list(types)
    for t in types:
        if t not in DEMAND_TYPES:
            raise CityBrainError(f"no demand ratio for facility type {t!r}; types with one are "
                                 f"{', '.join(DEMAND_TYPES)}", code="no_demand_ratio", type=t,
                                 choices=", ".join(DEMAND_TYPES))
    return types


def demand(store: Store, district: int | None, base_year: int, horizon: int,
           model: str = "auto", scenario: str = "medium", types=None) -> pd.DataFrame:
    """Beds or places needed in a district (None: the whole city) from the base year to
    ``base_year + horizon``.

    Parameters
    ----------
    store : Store
        The city store.
    district : int or None
        A district's adcode, or None for the whole city.
    base_year : int
        The last year of data used.
    horizon : int
        Years ahead, 1 to 30.
    model, scenario
        As for :func:`~analytics.forecast.api.forecast`.
    types : str or list of str, optional
        Facility types of :data:`DEMAND_TYPES` (default: all of them).

    Returns
    -------
    pandas.DataFrame
        ``year, type, unit, target, population, ratio, demand, demand_lo, demand_hi,
        model``; the base-year row is observed, the others forecast.
    """
    types = _check_types(types)
    history = load_history(store, base_year)
    area = check_area(history, district)
    return _needs(history, forecast_all(history, None, horizon, model, scenario), area, types)


def _needs(history: History, fc: pd.DataFrame, area: int, types: list[str]) -> pd.DataFrame:
    """:func:`demand`'s frame for ``area`` from a forecast of every target and area (the
    years ``fc`` holds, after the observed base-year row)."""
    fc = fc[fc["area"] == int(area)]
    rows = []
    for key in types:
        name, ratio = DEMAND_TYPES[key]
        district = None if int(area) == history.city_adcode else int(area)
        observed = history_of(history, name, district, None).iloc[[-1]]
        base = pd.DataFrame({"year": observed["year"], "value": observed["value"],
                             "lo": observed["value"], "hi": observed["value"],
                             "model": "observed"})
        ahead = fc.loc[fc["target"] == name, ["year", "value", "lo", "hi", "model"]]
        both = pd.concat([base, ahead], ignore_index=True)
        rows.append(pd.DataFrame({
            "year": both["year"].astype(int), "type": key,
            "unit": FACILITY_TYPES[key].capacity_unit, "target": name,
            "population": both["value"], "ratio": ratio,
            "demand": both["value"] * ratio, "demand_lo": both["lo"] * ratio,
            "demand_hi": both["hi"] * ratio, "model": both["model"]}))
    return pd.concat(rows, ignore_index=True)


def _against(need: pd.DataFrame, cap: pd.DataFrame) -> pd.DataFrame:
    """``need`` with the capacity open each year and the gap (demand - capacity)."""
    out = need.merge(cap, on=["year", "type"], how="left")
    out["capacity"] = out["existing"] + out["planned"]
    out["gap"] = out["demand"] - out["capacity"]
    return out


def capacity(store: Store, district: int | None, base_year: int, years, types) -> pd.DataFrame:
    """Capacity open in each year in a district (None: the whole city).

    Parameters
    ----------
    store : Store
        The city store.
    district : int or None
        A district's adcode, or None for the whole city.
    base_year : int
        Facilities opened after it count as planned.
    years : iterable of int
        The years to count.
    types : list of str
        Facility types.

    Returns
    -------
    pandas.DataFrame
        ``year, type, existing, planned``.
    """
    history = load_history(store, base_year)
    area = check_area(history, district)
    return _capacity(store.query("forecast.capacity_by_year"), set(history.districts.tolist()),
                     area, base_year, years, types)


def _capacity(fac: pd.DataFrame, districts: set[int], area: int, base_year: int, years,
              types) -> pd.DataFrame:
    if int(area) in districts:
        fac = fac[fac["district_adcode"] == int(area)]
    rows = []
    for key in types:
        f = fac[fac["type"] == key]
        opened = f["opened_year"].to_numpy()
        closed = f["closed_year"].to_numpy(dtype=float, na_value=np.inf)
        cap = f["capacity"].to_numpy(dtype=float)
        for y in years:
            open_now = (opened <= y) & (closed > y)
            existing = cap[open_now & (opened <= base_year)].sum()
            planned = cap[open_now & (opened > base_year)].sum()
            rows.append((int(y), key, existing, planned))
    return pd.DataFrame(rows, columns=["year", "type", "existing", "planned"])


def gap(store: Store, district: int | None, base_year: int, horizon: int,
        model: str = "auto", scenario: str = "medium", types=None) -> pd.DataFrame:
    """Demand against capacity by facility type and year.

    Parameters
    ----------
    store, district, base_year, horizon, model, scenario, types
        As for :func:`demand`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`demand` plus ``existing, planned, capacity, gap`` (gap =
        demand - capacity; positive is a shortfall).
    """
    need = demand(store, district, base_year, horizon, model, scenario, types)
    return _against(need, capacity(store, district, base_year, sorted(need["year"].unique()),
                                   list(need["type"].unique())))


def district_gaps(store: Store, base_year: int, years_ahead=(5, 10), types=None,
                  model: str = "auto", scenario: str = "medium") -> pd.DataFrame:
    """Every district's (and the city's) need against capacity now and some years ahead: the
    planner's view of where to build next.

    One forecast serves every area (:func:`~analytics.forecast.api.forecast_all`).

    Parameters
    ----------
    store : Store
        The city store.
    base_year : int
        The last year of data used.
    years_ahead : sequence of int
        Years after the base year to look at (default 5 and 10).
    types : str or list of str, optional
        Facility types of :data:`DEMAND_TYPES` (default: all of them).
    model, scenario
        As for :func:`~analytics.forecast.api.forecast`.

    Returns
    -------
    pandas.DataFrame
        ``area, type, year, population, demand, demand_lo, demand_hi, existing, planned,
        capacity, gap, status, amount``: ``status`` is shortfall, surplus or meets and
        ``amount`` its size, never negative (the product's one convention; ``gap`` keeps the
        sign, positive = shortfall). The base-year rows are observed
        (``demand_lo == demand_hi``).
    """
    types = _check_types(types)
    history = load_history(store, base_year)
    ahead = sorted({int(h) for h in years_ahead})
    fc = forecast_all(history, None, max(ahead), model, scenario)
    fc = fc[fc["year"].isin([history.base_year + h for h in ahead])]
    districts = set(history.districts.tolist())
    fac = store.query("forecast.capacity_by_year")
    parts = []
    for area in [*history.districts.tolist(), history.city_adcode]:
        need = _needs(history, fc, area, types)
        cap = _capacity(fac, districts, area, history.base_year, sorted(need["year"].unique()),
                        types)
        parts.append(_against(need, cap).assign(area=int(area)))
    out = pd.concat(parts, ignore_index=True)
    both = [balance(c, d) for c, d in zip(out["capacity"], out["demand"], strict=True)]
    out["status"] = [b[0] for b in both]
    out["amount"] = [b[1] for b in both]
    return out[["area", "type", "year", "population", "demand", "demand_lo", "demand_hi",
                "existing", "planned", "capacity", "gap", "status", "amount"]]


def group_growth(store: Store, group: str, base_year: int, year: int, model: str = "auto",
                 scenario: str = "medium") -> dict[int, float]:
    """Each district's forecast residents of a service group in ``year`` over those of the
    base year: the factor a district's cells are grown by when siting for future demand.

    Parameters
    ----------
    store : Store
        The city store.
    group : str
        A service group with a forecast target (``60+``, ``3-5``, ...).
    base_year : int
        The last year of data used.
    year : int
        The demand year, 1 to 30 years after the base year.
    model, scenario
        As for :func:`~analytics.forecast.api.forecast`.

    Returns
    -------
    dict of int to float
        District adcode -> growth factor (1.0 where the base year has no such residents).
    """
    if not base_year < year <= base_year + MAX_HORIZON:
        raise CityBrainError(f"the demand year must be 1 to {MAX_HORIZON} years after "
                             f"{base_year} (got {year})", code="demand_year", base=base_year,
                             year=year)
    name = target_of_group(group)
    history = load_history(store, base_year)
    fc = forecast_all(history, None, year - history.base_year, model, scenario)
    ahead = fc[(fc["target"] == name) & (fc["year"] == year)].set_index("area")["value"]
    now = {int(a): history_of(history, name, int(a), None)["value"].iloc[-1]
           for a in history.districts}
    return {a: float(ahead[a] / v) if v > 0 else 1.0 for a, v in now.items()}
