"""A tiny city store, made by hand, for the open-data tests (two districts, six cells)."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import shapely

from analytics.citygen import registry
from analytics.opendata import catalog
from analytics.population import AGE_GROUPS
from analytics.store import Store

CITY = 330100
DISTRICTS = [(330106, "西湖区", "Xihu District", 120.13, 30.26),
             (330108, "滨江区", "Binjiang District", 120.21, 30.21)]


def tiny_store(seed: int = 7, path=None) -> Store:
    store = Store.create(path)
    rng = np.random.default_rng(seed)
    d = pd.DataFrame([{
        "city_adcode": CITY, "adcode": a, "name": n, "name_en": e, "kind": "district",
        "area_km2": 100.0, "core_lon": lon, "core_lat": lat, "centroid_lon": lon,
        "centroid_lat": lat,
        "geometry": shapely.to_wkb(shapely.box(lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)),
    } for a, n, e, lon, lat in DISTRICTS])
    store.write("districts", d)
    cells = []
    for a, _, _, lon, lat in DISTRICTS:
        for i in range(3):
            hx = h3.latlng_to_cell(lat + 0.01 * i, lon, 9)
            cells.append({"city_adcode": CITY, "cell": h3.str_to_int(hx), "h3": hx,
                          "district_adcode": a, "lon": lon, "lat": lat + 0.01 * i,
                          "urbanity": 0.5})
    cells = pd.DataFrame(cells)
    store.write("cells", cells)
    rows = []
    for year in (2024, 2025):
        for c in cells.itertuples():
            for g in AGE_GROUPS:
                for sex in ("M", "F"):
                    big = g in ("18-59", "80+", "75-79")
                    rows.append({"city_adcode": CITY, "year": year, "cell": c.cell,
                                 "district_adcode": c.district_adcode, "age_group": g, "sex": sex,
                                 "persons": int(rng.integers(400, 900) if big else rng.integers(0, 40))})
    pc = pd.DataFrame(rows)
    store.write("population_cells", pc)
    pdist = []
    for (year, dist, sex), _grp in pc.groupby(["year", "district_adcode", "sex"]):
        for age in range(0, 101):
            pdist.append({"city_adcode": CITY, "year": year, "district_adcode": dist, "age": age,
                          "sex": sex, "persons": int(rng.integers(3, 300))})
    store.write("population_districts", pd.DataFrame(pdist))
    store.write("vital_events", pd.DataFrame([
        {"city_adcode": CITY, "year": y, "district_adcode": a, "births": 5000, "deaths": 3000,
         "net_migration": 1000} for y in (2024, 2025) for a, *_ in DISTRICTS]))
    fac = []
    for i, t in enumerate(["elderly_care_home", "hospital", "kindergarten", "nursery",
                           "primary_school", "elderly_day_care"]):
        c = cells.iloc[i % len(cells)]
        fac.append({"city_adcode": CITY, "facility_id": f"F{i}", "type": t, "name": f"设施{i}",
                    "district_adcode": c.district_adcode, "cell": c.cell, "lon": c.lon,
                    "lat": c.lat, "capacity": 100, "capacity_unit": "places", "opened_year": 2012,
                    "closed_year": None, "occupancy_rate": None, "owner_department": "民政局"})
    store.write("facilities", pd.DataFrame(fac))
    reg = registry.draw(pc[pc["year"] == 2025], d, 2025, CITY, np.random.default_rng(seed))
    store.write("care_subsidy_registry", reg)
    store.set_meta({"city_adcode": CITY, "city_name": "杭州市", "last_year": 2025})
    catalog.refresh(store)
    return store
