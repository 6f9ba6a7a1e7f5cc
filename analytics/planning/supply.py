"""Supply against demand per district and facility type, at the standards' service ratios.

Demand is the residents of the group a type serves times the standard's ratio (e.g. 40
care-home beds per 1,000 residents aged 60+); supply is the capacity of the facilities open
in the year. Ratios and their sources come from :mod:`analytics.standards` only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import population
from analytics.planning import accessibility
from analytics.standards import FACILITY_TYPES, NURSERY_PLACES_PER_RESIDENT, balance
from analytics.store import Store

COLUMNS = ["adcode", "name", "name_en", "type", "type_zh", "type_en", "group", "residents",
           "ratio_label", "required", "facilities", "capacity", "unit", "gap", "supply_pct",
           "status", "amount"]


def supply_demand(store: Store, year: int, types: list[str] | None = None) -> pd.DataFrame:
    """One row per (city or district) x facility type for ``year``.

    Parameters
    ----------
    store : Store
        The city store.
    year : int
        The year.
    types : list of str, optional
        Facility types (default: every type).

    Returns
    -------
    pandas.DataFrame
        ``required`` is the capacity the standard asks for (NaN where the standard sets no
        capacity ratio, e.g. community health centres), ``gap = capacity - required``
        (negative: shortfall) and ``supply_pct = 100 * capacity / required``; ``status``
        (shortfall, surplus, meets, no_standard) and ``amount`` (never negative) say the same
        without a sign, which is how people read it (:func:`balance`). The city's rows come
        first, with adcode ``<NA>`` and no name.
    """
    accessibility.check_year(store, year)
    types = types or list(FACILITY_TYPES)
    for key in types:
        accessibility.facility_type(key)
    groups = store.query("planning.groups_by_district", year=int(year))
    names = store.query("planning.district_names")
    cap = store.query("planning.capacity_by_district", year=int(year))
    wide = groups.pivot_table(index="district_adcode", columns="age_group", values="persons",
                              aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=list(population.AGE_GROUPS), fill_value=0)
    wide.loc[0] = wide.sum()
    rows = []
    for key in types:
        ft = FACILITY_TYPES[key]
        group = ft.serves[0]
        residents = wide[accessibility.cell_groups(group)].sum(axis=1)
        if key == "nursery":
            required = wide.sum(axis=1) * NURSERY_PLACES_PER_RESIDENT
        elif ft.capacity_unit == "none" or ft.per_person is None:
            required = pd.Series(np.nan, index=wide.index)
        else:
            required = residents * ft.per_person
        c = cap[cap["type"] == key].set_index("district_adcode")[["facilities", "capacity"]]
        c.loc[0] = c.sum() if len(c) else [0, 0]
        frame = pd.DataFrame({
            "adcode": wide.index.astype(int), "type": key, "type_zh": ft.name_zh,
            "type_en": ft.name_en, "group": group, "residents": residents.astype("int64").values,
            "ratio_label": ft.ratio_label, "required": required.values,
            "facilities": c["facilities"].reindex(wide.index).fillna(0).astype("int64").values,
            "capacity": c["capacity"].reindex(wide.index).fillna(0).astype(float).values,
            "unit": accessibility.supply_unit(key)})
        if ft.capacity_unit == "none":
            frame["capacity"] = frame["facilities"].astype(float)
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    out["gap"] = out["capacity"] - out["required"]
    out["supply_pct"] = np.where(out["required"] > 0,
                                 100.0 * out["capacity"] / out["required"].where(
                                     out["required"] > 0, 1), np.nan)
    both = [balance(c, r) for c, r in zip(out["capacity"], out["required"], strict=True)]
    out["status"] = [b[0] for b in both]
    out["amount"] = [b[1] for b in both]
    out = out.merge(names, on="adcode", how="left")
    # the whole city's row has no name (NaN): a page or the CLI words it in its language
    order = {k: n for n, k in enumerate(types)}
    out = out.sort_values(["adcode", "type"], key=lambda s: s.map(order) if s.name == "type"
                          else s, kind="stable").reset_index(drop=True)
    out["adcode"] = accessibility.city_as_missing(out["adcode"])  # the city first, as <NA>
    return out[COLUMNS]
