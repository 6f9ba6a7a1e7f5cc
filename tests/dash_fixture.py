"""A tiny city store whose every figure can be worked out by hand.

Two districts (西湖区 330106 and 滨江区 330108, drawn as simple boxes), years 2015-2020,
seven single ages per district, a few facilities. The expected values in the dashboard tests
are computed from the numbers written here, by hand, in the tests' comments.
"""

from __future__ import annotations

from pathlib import Path

import h3
import pandas as pd
import shapely

from analytics.store import Store

CITY = 330100
XIHU, BINJIANG = 330106, 330108
YEARS = list(range(2015, 2021))
#: age -> the service age group of the cell grain
AGE_GROUP = {1: "0-2", 4: "3-5", 8: "6-11", 30: "18-59", 62: "60-64", 70: "70-74", 85: "80+"}


def persons(district: int, year: int) -> dict[int, int]:
    """Residents by single age (both sexes, always even: half male, half female)."""
    k = year - 2015
    if district == XIHU:
        return {1: 100, 4: 100 + 20 * k, 8: 200, 30: 1000, 62: 100 + 20 * k,
                70: 100 + 20 * k, 85: 40 + 20 * k}
    return {1: 200, 4: 200, 8: 200, 30: 2000, 62: 100, 70: 100, 85: 20}


def fill(store: Store) -> Store:
    boxes = {XIHU: shapely.box(120.05, 30.20, 120.15, 30.30),
             BINJIANG: shapely.box(120.15, 30.15, 120.25, 30.22)}
    districts = pd.DataFrame({
        "city_adcode": CITY, "adcode": [XIHU, BINJIANG], "name": ["西湖区", "滨江区"],
        "name_en": ["Xihu District", "Binjiang District"], "kind": "district",
        "area_km2": [100.0, 60.0], "core_lon": [120.10, 120.20], "core_lat": [30.25, 30.185],
        "centroid_lon": [120.10, 120.20], "centroid_lat": [30.25, 30.185],
        "geometry": [shapely.to_wkb(boxes[XIHU]), shapely.to_wkb(boxes[BINJIANG])],
    })
    cells = []
    for adcode, lon, lat in [(XIHU, 120.10, 30.25), (BINJIANG, 120.20, 30.185)]:
        hexa = h3.latlng_to_cell(lat, lon, 9)
        cells.append({"city_adcode": CITY, "cell": h3.str_to_int(hexa), "h3": hexa,
                      "district_adcode": adcode, "lon": lon, "lat": lat, "urbanity": 1.0})
    cells = pd.DataFrame(cells)
    pd_rows, pc_rows, vital = [], [], []
    for year in YEARS:
        for cell in cells.itertuples():
            d = cell.district_adcode
            for age, n in persons(d, year).items():
                for sex in ("M", "F"):
                    pd_rows.append((CITY, year, d, age, sex, n // 2))
                    pc_rows.append((CITY, year, cell.cell, d, AGE_GROUP[age], sex, n // 2))
            births, deaths = (20, 10) if d == XIHU else (30, 5)
            vital.append((CITY, year, d, births, deaths, 0))
    pop_d = pd.DataFrame(pd_rows, columns=["city_adcode", "year", "district_adcode", "age",
                                           "sex", "persons"])
    pop_c = pd.DataFrame(pc_rows, columns=["city_adcode", "year", "cell", "district_adcode",
                                           "age_group", "sex", "persons"])
    pop_c = pop_c.groupby(["city_adcode", "year", "cell", "district_adcode", "age_group",
                           "sex"], as_index=False)["persons"].sum()
    vital = pd.DataFrame(vital, columns=["city_adcode", "year", "district_adcode", "births",
                                         "deaths", "net_migration"])
    cell_of = dict(zip(cells["district_adcode"], cells["cell"], strict=True))
    lonlat = {XIHU: (120.10, 30.25), BINJIANG: (120.20, 30.185)}
    fac = [
        # id, type, district, capacity, unit, opened, closed
        ("f1", "elderly_care_home", XIHU, 20, "beds", 2010, None),
        ("f2", "elderly_care_home", BINJIANG, 10, "beds", 2018, 2020),
        ("f3", "kindergarten", XIHU, 180, "places", 2016, None),
        ("f4", "kindergarten", BINJIANG, 200, "places", 2021, None),
        ("f5", "primary_school", BINJIANG, 400, "places", 2000, None),
        ("f6", "elderly_day_care", XIHU, 30, "places", 2012, None),
        ("f7", "hospital", XIHU, 500, "beds", 2000, None),
    ]
    facilities = pd.DataFrame([{
        "city_adcode": CITY, "facility_id": fid, "type": t, "name": f"{t} {fid}",
        "district_adcode": d, "cell": cell_of[d], "lon": lonlat[d][0], "lat": lonlat[d][1],
        "capacity": cap, "capacity_unit": unit, "opened_year": opened,
        "closed_year": closed, "occupancy_rate": None, "owner_department": "民政局",
    } for fid, t, d, cap, unit, opened, closed in fac])
    facilities["closed_year"] = facilities["closed_year"].astype("Int16")
    facilities["occupancy_rate"] = facilities["occupancy_rate"].astype("float64")
    with store.transaction() as cur:
        store.write("districts", districts, cur=cur)
        store.write("cells", cells, cur=cur)
        store.write("population_districts", pop_d, cur=cur)
        store.write("population_cells", pop_c, cur=cur)
        store.write("vital_events", vital, cur=cur)
        store.write("facilities", facilities, cur=cur)
        store.set_meta({"city_adcode": CITY, "city_name": "杭州市", "first_year": 2015,
                        "last_year": 2020, "data_vintage": "test fixture",
                        "built_at": "2026-01-01T00:00:00Z", "districts": "330106,330108"},
                       cur=cur)
    from analytics.opendata import catalog

    catalog.refresh(store)  # published counts of people go through the catalog's access rules
    return store


def make_store(path: Path | str | None = None) -> Store:
    """The fixture in memory (``None``) or written to a new file."""
    return fill(Store.create(path))
