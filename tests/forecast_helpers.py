"""Small stores with known populations for the forecast tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.store import Store

CITY = 330100
AGES = np.arange(101)


def pop_frame(persons: np.ndarray, years, districts) -> pd.DataFrame:
    """``population_districts`` rows from ``persons[year, district, sex, age]``."""
    y, d, s, a = np.meshgrid(np.arange(len(years)), np.arange(len(districts)), [0, 1], AGES,
                             indexing="ij")
    return pd.DataFrame({
        "city_adcode": CITY,
        "year": np.asarray(years)[y.ravel()].astype("int16"),
        "district_adcode": np.asarray(districts)[d.ravel()].astype("int32"),
        "age": a.ravel().astype("int16"),
        "sex": np.where(s.ravel() == 0, "M", "F"),
        "persons": np.round(persons.ravel()).astype("int32"),
    })


def store_from(persons: np.ndarray, years, districts, facilities: pd.DataFrame | None = None
               ) -> Store:
    store = Store.create(None)
    store.set_meta({"city_adcode": CITY, "city_name": "测试市"})
    store.write("population_districts", pop_frame(persons, years, districts))
    if facilities is not None:
        store.write("facilities", facilities)
    return store


def simulate(districts=(330106, 330108), years=range(2010, 2022), seed: int = 0) -> np.ndarray:
    """A plausible, noisy population history, made with its own simple rates.

    Deaths from a Gompertz hazard, births from women 20-39, net migration peaking in the
    twenties with a district-specific level that drifts, and multiplicative noise: the
    forecasters know none of these.
    """
    rng = np.random.default_rng(seed)
    years = list(years)
    n_d = len(districts)
    q = np.clip(0.0004 + 0.00004 * np.exp(0.095 * AGES), 0, 0.6)
    shape = np.exp(-((AGES - 35) / 28.0) ** 2) + 0.25 * (AGES < 70)
    persons = np.zeros((len(years), n_d, 2, 101))
    for d in range(n_d):
        persons[0, d] = (60_000 + 40_000 * d) * shape / shape.sum() * np.array([[1.02], [1.0]])
    profile = np.exp(-((AGES - 24) / 8.0) ** 2) + 0.3 * np.exp(-AGES / 4.0)
    profile /= profile.sum()
    level = np.array([1_500.0 + 1_000 * d for d in range(n_d)])
    fert = 0.065
    for i in range(1, len(years)):
        level = level * (1 + rng.normal(0.0, 0.08, n_d))
        fert *= 1 + rng.normal(-0.03, 0.03)
        for d in range(n_d):
            prev = persons[i - 1, d]
            nxt = np.zeros_like(prev)
            nxt[:, 1:] = prev[:, :-1] * (1 - q[:-1])
            nxt[:, 100] += prev[:, 100] * (1 - q[100])
            births = fert * prev[1, 20:40].sum()
            nxt[:, 0] = births * np.array([0.525, 0.475])
            nxt += level[d] * profile / 2
            persons[i, d] = np.round(np.clip(nxt * rng.normal(1, 0.003, nxt.shape), 0, None))
    return persons


def facilities(rows) -> pd.DataFrame:
    """Facility rows from ``(id, type, district, capacity, opened, closed)`` tuples."""
    frame = pd.DataFrame(rows, columns=["facility_id", "type", "district_adcode", "capacity",
                                        "opened_year", "closed_year"])
    frame["city_adcode"] = CITY
    frame["name"] = frame["facility_id"]
    frame["cell"] = 0
    frame["lon"] = 120.1
    frame["lat"] = 30.2
    frame["capacity_unit"] = "places"
    frame["occupancy_rate"] = None
    frame["owner_department"] = "民政局"
    frame["closed_year"] = frame["closed_year"].astype("Int16")
    return frame


def district_rows(districts) -> pd.DataFrame:
    """Minimal ``districts`` rows (names for the page; geometry is not drawn there)."""
    names = {330106: ("西湖区", "Xihu District"), 330108: ("滨江区", "Binjiang District")}
    return pd.DataFrame({
        "city_adcode": CITY, "adcode": list(districts),
        "name": [names.get(d, (str(d), str(d)))[0] for d in districts],
        "name_en": [names.get(d, (str(d), str(d)))[1] for d in districts],
        "kind": "district", "area_km2": 100.0, "core_lon": 120.1, "core_lat": 30.2,
        "centroid_lon": 120.1, "centroid_lat": 30.2, "geometry": [b"\x00"] * len(districts)})


def store_file(path, districts=(330106, 330108), years=range(2010, 2022)) -> None:
    """A small store on disk (for the page and the notebooks), with facilities."""
    years = list(years)
    store = Store.create(path)
    store.set_meta({"city_adcode": CITY, "city_name": "测试市", "data_vintage": "test"})
    store.write("districts", district_rows(districts))
    store.write("population_districts", pop_frame(simulate(districts, years), years, districts))
    store.write("facilities", facilities([
        ("e1", "elderly_care_home", districts[0], 400, 2012, None),
        ("e2", "elderly_care_home", districts[-1], 250, 2016, None),
        ("k1", "kindergarten", districts[0], 900, 2011, None),
        ("k2", "kindergarten", districts[-1], 600, 2018, None)]))
    store.close()
