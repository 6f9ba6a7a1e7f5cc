"""A hand-made 3 x 3 store for the planning tests: every figure can be worked out on paper.

Nine populated cells on a square grid 400 m apart (letters A-I, west to east, north to
south), centred on 120.15 E, 30.25 N. Positions are set in metres on the transverse
Mercator projection the accessibility code uses, so distances are exact::

    A(-400, 400)  B(0, 400)  C(400, 400)
    D(-400,   0)  E(0,   0)  F(400,   0)
    G(-400,-400)  H(0,-400)  I(400,-400)

Children aged 6-11: A..I = 10, 20, ..., 90 (450 in all).
Residents aged 60-64 and 80+ per cell: 60-64 = 5 x letter number, 80+ = letter number
(A=1 .. I=9), so 60+ per cell is 6 x letter number (270 in all).
Residents 18-59 (never counted by these tests): 1,000 per cell.
Districts: 330106 holds columns x = -400 and 0; 330108 holds column x = 400; 330110 (east
of x = 600) has no residents at all.
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from analytics.store import Store

ORIGIN = (120.15, 30.25)
LETTERS = "ABCDEFGHI"
XY = {L: ((n % 3 - 1) * 400.0, (1 - n // 3) * 400.0) for n, L in enumerate(LETTERS)}
YEAR = 2020

_to_geo = Transformer.from_crs(
    f"+proj=tmerc +lon_0={ORIGIN[0]} +lat_0={ORIGIN[1]} +k=1 +ellps=WGS84 +units=m",
    "EPSG:4326", always_xy=True)


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = _to_geo.transform(x, y)
    return float(lon), float(lat)


def district_of(letter: str) -> int:
    return 330108 if XY[letter][0] > 0 else 330106


def _cells() -> pd.DataFrame:
    rows = []
    for letter in LETTERS:
        lon, lat = lonlat(*XY[letter])
        cell = h3.latlng_to_cell(lat, lon, 9)
        rows.append({"city_adcode": 330100, "cell": h3.str_to_int(cell), "h3": cell,
                     "district_adcode": district_of(letter), "lon": lon, "lat": lat,
                     "urbanity": 1.0, "letter": letter})
    frame = pd.DataFrame(rows)
    assert frame["cell"].is_unique
    return frame


CELLS = _cells()


def _districts() -> pd.DataFrame:
    rows = []
    for adcode, (x0, x1) in ((330106, (-600, 200)), (330108, (200, 600)),
                             (330110, (600, 1400))):
        ring = [lonlat(x, y) for x, y in ((x0, -600), (x1, -600), (x1, 600), (x0, 600))]
        poly = shapely.MultiPolygon([shapely.Polygon(ring)])
        c = poly.centroid
        rows.append({"city_adcode": 330100, "adcode": adcode,
                     "name": {330106: "西湖区", 330108: "滨江区", 330110: "余杭区"}[adcode],
                     "name_en": {330106: "Xihu District", 330108: "Binjiang District",
                                 330110: "Yuhang District"}[adcode],
                     "kind": "district", "area_km2": (x1 - x0) * 1200 / 1e6,
                     "core_lon": c.x, "core_lat": c.y, "centroid_lon": c.x, "centroid_lat": c.y,
                     "geometry": shapely.to_wkb(poly)})
    return pd.DataFrame(rows)


def facility(fid: str, type_key: str, letter: str | None, capacity: int, *, xy=None,
             opened: int = 2015, closed: int | None = None, unit: str = "places") -> dict:
    x, y = XY[letter] if letter else xy
    lon, lat = lonlat(x, y)
    return {"city_adcode": 330100, "facility_id": fid, "type": type_key, "name": f"{fid} 名称",
            "district_adcode": 330108 if x > 200 else 330106,
            "cell": h3.str_to_int(h3.latlng_to_cell(lat, lon, 9)), "lon": lon, "lat": lat,
            "capacity": capacity, "capacity_unit": unit, "opened_year": opened,
            "closed_year": closed, "occupancy_rate": None, "owner_department": "教育局"}


#: Two primary schools (radius 500 m): at D with 85 places, at F with 46 places.
SCHOOLS = [facility("P1", "primary_school", "D", 85), facility("P2", "primary_school", "F", 46)]
#: Day-care centres (radius 300 m): at A and at E; one at I that closed in 2018.
DAY_CARE = [facility("DC1", "elderly_day_care", "A", 20), facility("DC2", "elderly_day_care",
                                                                  "E", 10),
            facility("DC3", "elderly_day_care", "I", 10, closed=2018)]


def make_store(facilities: list[dict] | None = None, years=(2019, YEAR), path=None) -> Store:
    store = Store.create(path)
    store.write("districts", _districts())
    store.write("cells", CELLS.drop(columns=["letter"]))
    pop = []
    for year in years:
        for n, row in enumerate(CELLS.itertuples(), start=1):
            for group, persons in (("6-11", 10 * n), ("60-64", 5 * n), ("80+", n),
                                   ("18-59", 1000)):
                pop.append({"city_adcode": 330100, "year": year, "cell": row.cell,
                            "district_adcode": row.district_adcode, "age_group": group,
                            "sex": "M", "persons": persons})
    pop = pd.DataFrame(pop)
    store.write("population_cells", pop)
    pd_rows = pop.groupby(["year", "district_adcode"], as_index=False)["persons"].sum()
    pd_rows = pd_rows.assign(city_adcode=330100, age=30, sex="M")
    store.write("population_districts", pd_rows)
    store.set_meta({"city_adcode": 330100, "city_name": "杭州市", "data_vintage": "test"})
    fac = facilities if facilities is not None else SCHOOLS + DAY_CARE
    if fac:
        store.write("facilities", pd.DataFrame(fac))
    from analytics.opendata import catalog

    catalog.refresh(store)  # published counts of people go through the catalog's access rules
    return store


def cell_of(letter: str) -> str:
    return str(CELLS.loc[CELLS["letter"] == letter, "h3"].iloc[0])


def letter_of(h3_str: str) -> str:
    return str(CELLS.loc[CELLS["h3"] == h3_str, "letter"].iloc[0])


__all__ = ["make_store", "CELLS", "LETTERS", "XY", "lonlat", "cell_of", "letter_of", "np"]
