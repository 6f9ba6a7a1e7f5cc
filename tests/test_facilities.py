"""The facilities build stage: real counts matched exactly, standards respected, placement
where the users live, the documented imbalances, determinism.

Most tests run the stage on a small hand-made city: Hangzhou's real district list with a
few dozen cells per district and a synthetic population whose 2020 district totals are the
census figures. The anchors then hold on that city exactly as on the full build.
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from analytics.citygen import facilities
from analytics.citygen.build import BuildConfig, BuildContext
from analytics.errors import CityBrainError
from analytics.population import AGE_GROUPS, SERVICE_GROUPS
from analytics.standards import FACILITY_TYPES

CENSUS_2020 = {330102: 1323467, 330105: 1120985, 330106: 1089229, 330108: 503859,
               330109: 2011699, 330110: 1226673, 330113: 1175841, 330114: 769150,
               330111: 832017, 330112: 634555, 330122: 453106, 330127: 328957,
               330182: 442709}
GROWING = (330108, 330110, 330113, 330114)
OLD_CORES = (330102, 330105)
#: Age structure of the synthetic residents (shares of each group), old cores older.
SHARES = {"0-2": 0.025, "3-5": 0.028, "6-11": 0.055, "12-14": 0.027, "15-17": 0.025,
          "18-59": 0.66, "60-64": 0.06, "65-69": 0.045, "70-74": 0.035, "75-79": 0.02,
          "80+": 0.02}
OLD_SHARES = {**SHARES, "18-59": 0.60, "60-64": 0.08, "65-69": 0.065, "70-74": 0.05,
              "75-79": 0.03}
CELLS_PER_DISTRICT = 37  # a disk of radius 3


def _district_list(adcodes=None) -> pd.DataFrame:
    from analytics.geo import district_index

    frame = district_index(330100)
    if adcodes:
        frame = frame[frame["adcode"].isin(adcodes)]
    return frame.reset_index(drop=True)


def synthetic_ctx(adcodes=None, seed: int = 7, city: int = 330100,
                  districts: pd.DataFrame | None = None, first_year: int = 2010) -> BuildContext:
    """A ctx holding districts, cells and population_cells as the population stage makes them."""
    dist = _district_list(adcodes) if districts is None else districts
    years = list(range(first_year, 2026))
    cell_rows, pop_rows = [], []
    for adcode in dist["adcode"]:
        k = int(adcode) % 100  # a district sits at the same place in any subset
        lat, lon = 29.5 + 0.05 * k, 119.5 + 0.05 * k
        disk = sorted(h3.grid_disk(h3.latlng_to_cell(lat, lon, 9), 3))
        assert len(disk) == CELLS_PER_DISTRICT
        ids = np.array([h3.str_to_int(c) for c in disk], dtype=np.uint64)
        ll = np.array([h3.cell_to_latlng(c) for c in disk])
        # urban at the centre cell, rural three rings out; one empty cell on the rim
        centre = h3.latlng_to_cell(lat, lon, 9)
        urbanity = np.clip(1 - 0.3 * np.array([h3.grid_distance(centre, c) for c in disk]), 0, 1)
        weights = 0.2 + urbanity
        weights[-1] = 0  # nobody lives in the last cell
        weights = weights / weights.sum()
        cell_rows.append(pd.DataFrame({"cell": ids, "h3": disk, "district_adcode": adcode,
                                       "lon": ll[:, 1], "lat": ll[:, 0], "urbanity": urbanity}))
        total_2020 = CENSUS_2020.get(int(adcode), 500_000)
        growth = 1.06 if adcode in GROWING else 1.005
        shares = OLD_SHARES if adcode in OLD_CORES else SHARES
        # years x groups x cells, the same for both sexes
        totals = total_2020 * growth ** (np.array(years) - 2020)
        share = np.array([shares[g] for g in AGE_GROUPS])
        persons = np.rint(totals[:, None, None] * share[None, :, None] * weights / 2)
        y, g, c = np.meshgrid(years, list(AGE_GROUPS), ids, indexing="ij")
        block = pd.DataFrame({"year": y.ravel(), "cell": c.ravel(), "district_adcode": adcode,
                              "age_group": g.ravel(), "persons": persons.ravel().astype(int)})
        pop_rows += [block.assign(sex="M"), block.assign(sex="F")]
    cfg = BuildConfig(city_adcode=city, seed=seed, first_year=first_year,
                      districts=tuple(int(a) for a in adcodes) if adcodes else ())
    ctx = BuildContext(cfg)
    ctx.tables["districts"] = dist.assign(city_adcode=city)
    ctx.tables["cells"] = pd.concat(cell_rows, ignore_index=True)
    population = pd.concat(pop_rows, ignore_index=True)
    ctx.tables["population_cells"] = population[population["persons"] > 0].reset_index(drop=True)
    return ctx


def open_in(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    closed = frame["closed_year"]
    return frame[(frame["opened_year"] <= year) & (closed.isna() | (closed > year))]


@pytest.fixture(scope="module")
def city_ctx() -> BuildContext:
    ctx = synthetic_ctx()
    facilities.stage(ctx)
    return ctx


@pytest.fixture(scope="module")
def city(city_ctx) -> pd.DataFrame:
    return city_ctx.tables["facilities"]


def test_columns_are_the_schema_columns(city):
    from analytics.store import Store

    store = Store.create(None)
    assert list(city.columns) == store.columns("synthetic_facilities")["column"].tolist()
    assert store.write("facilities", city) == len(city)
    assert city["facility_id"].is_unique


def test_citywide_anchors_hold_exactly(city, city_ctx):
    primary = city[city["type"] == "primary_school"]
    assert len(open_in(primary, 2021)) == 493
    assert len(open_in(primary, 2022)) == 507
    assert len(open_in(city[city["type"] == "junior_middle_school"], 2022)) == 305
    assert "493" in city_ctx.meta["facility_anchors"]
    assert "710700" in city_ctx.meta["facility_anchors"]


def test_jiande_anchors_hold_exactly(city):
    jiande = open_in(city[city["district_adcode"] == 330182], 2022)
    homes = jiande[jiande["type"] == "elderly_care_home"]
    assert len(homes) == 17
    assert homes["capacity"].sum() == 2926
    assert (jiande["type"] == "kindergarten").sum() == 40
    assert (jiande["type"] == "primary_school").sum() == 31


def test_units_departments_and_types_follow_the_standards(city):
    assert set(city["type"]) == set(FACILITY_TYPES)
    for key, spec in FACILITY_TYPES.items():
        rows = city[city["type"] == key]
        assert set(rows["capacity_unit"]) == {spec.capacity_unit}
        assert set(rows["owner_department"]) == {spec.department}
        if spec.capacity_unit == "none":
            assert (rows["capacity"] == 0).all()
        else:
            assert (rows["capacity"] > 0).all()


def test_every_facility_sits_in_a_populated_cell_of_its_district(city, city_ctx):
    cells = city_ctx.tables["cells"].set_index("cell")
    assert (cells.loc[city["cell"], "district_adcode"].to_numpy()
            == city["district_adcode"].to_numpy()).all()
    pop = city_ctx.tables["population_cells"]
    populated = set(pop.loc[pop["persons"] > 0, "cell"].astype("uint64"))
    assert set(city["cell"].astype("uint64")) <= populated
    # the point lies inside its cell
    back = [h3.str_to_int(h3.latlng_to_cell(la, lo, 9)) for la, lo in
            zip(city["lat"], city["lon"], strict=True)]
    assert (np.array(back, dtype=np.uint64) == city["cell"].to_numpy(np.uint64)).all()


def test_openings_and_closures_are_plausible(city):
    first_stock = city[city["opened_year"] <= 2010]
    assert len(first_stock) > 0 and (first_stock["opened_year"] >= 1950).all()
    assert (city["opened_year"] > 2010).any()
    closed = city.dropna(subset=["closed_year"])
    assert len(closed) > 0
    assert (closed["closed_year"] > closed["opened_year"]).all()
    assert (closed["closed_year"] <= 2025).all()
    # nurseries hardly existed in 2010 and grew to the 2020s
    nurseries = city[city["type"] == "nursery"]
    assert len(open_in(nurseries, 2025)) > 4 * len(open_in(nurseries, 2010))


def _provision(frame, ctx, ftype, groups, year):
    """Capacity over residents served, by district, in a year."""
    pop = ctx.tables["population_cells"]
    served = pop[(pop["year"] == year) & pop["age_group"].isin(groups)] \
        .groupby("district_adcode")["persons"].sum()
    cap = open_in(frame[frame["type"] == ftype], year).groupby("district_adcode")["capacity"].sum()
    return cap / served


def test_growing_districts_are_short_of_school_places(city, city_ctx):
    ratio = _provision(city, city_ctx, "primary_school", ["6-11"], 2022)
    others = ratio.drop(list(GROWING))
    assert ratio[list(GROWING)].max() < others.min()
    assert ratio[list(GROWING)].max() < 0.95


def test_old_cores_are_short_of_care_beds(city, city_ctx):
    old = ["60-64", "65-69", "70-74", "75-79", "80+"]
    ratio = _provision(city, city_ctx, "elderly_care_home", old, 2022)
    others = ratio.drop(list(OLD_CORES) + [330182])  # 建德's beds are the real figure
    assert ratio[list(OLD_CORES)].max() < others.min()
    # the standard is 40 beds per 1,000 aged 60+: the cores reach well under it
    assert ratio[list(OLD_CORES)].max() < 0.75 * 0.040


def test_supply_lands_near_but_not_at_the_standard(city, city_ctx):
    ratio = _provision(city, city_ctx, "kindergarten", ["3-5"], 2020).drop(list(GROWING))
    standard = FACILITY_TYPES["kindergarten"].per_person
    assert ratio.between(0.7 * standard, 1.4 * standard).all()
    assert ratio.round(3).nunique() > 3


def test_occupancy_known_for_care_homes_and_schools_only(city):
    last_open = open_in(city, 2025)
    for key in facilities.OCCUPANCY_TYPES:
        rates = last_open.loc[last_open["type"] == key, "occupancy_rate"]
        assert rates.notna().all() and (rates > 0).all()
    others = city[~city["type"].isin(facilities.OCCUPANCY_TYPES)]
    assert others["occupancy_rate"].isna().all()
    assert city.loc[city["closed_year"].notna(), "occupancy_rate"].isna().all()
    # short districts run their schools fuller than the rest of the city
    rate = last_open[last_open["type"] == "primary_school"] \
        .groupby(last_open["district_adcode"].isin(GROWING))["occupancy_rate"].mean()
    assert rate[True] > rate[False]


def test_names_are_district_place_ordinal_kind(city):
    assert city["name"].is_unique
    row = city[city["district_adcode"] == 330106].iloc[0]
    assert row["name"].startswith("西湖区")
    kg = city[city["type"] == "kindergarten"]["name"]
    assert kg.str.endswith("幼儿园").all()
    assert kg.str.fullmatch(r".+[区市县].{2}(?:街道|镇)(?:第[一二三四五六七八九十百零]+)?幼儿园").all()
    assert kg.str.contains("第二").any()


def test_same_seed_same_frame_other_seed_differs():
    a, b, c = (synthetic_ctx([330182, 330106], seed=s) for s in (1, 1, 2))
    for ctx in (a, b, c):
        facilities.stage(ctx)
    pd.testing.assert_frame_equal(a.tables["facilities"], b.tables["facilities"])
    assert not a.tables["facilities"].equals(c.tables["facilities"])


def test_subset_skips_citywide_anchors_and_keeps_jiande():
    ctx = synthetic_ctx([330182, 330106])
    facilities.stage(ctx)
    frame = ctx.tables["facilities"]
    assert set(frame["district_adcode"]) == {330182, 330106}
    jiande = open_in(frame[frame["district_adcode"] == 330182], 2022)
    assert (jiande["type"] == "primary_school").sum() == 31
    assert ctx.meta["facility_anchors"].count("建德市") == 4
    assert "杭州市 2022 primary schools=507 (a district subset is built)" in \
        ctx.meta["facility_anchors_skipped"]


def test_a_city_without_anchors_builds_by_the_same_ratios():
    dist = pd.DataFrame({"adcode": [230102, 230103], "name": ["道里区", "南岗区"],
                         "name_en": ["Daoli District", "Nangang District"],
                         "kind": ["district", "district"]})
    ctx = synthetic_ctx(city=230100, districts=dist)
    facilities.stage(ctx)
    frame = ctx.tables["facilities"]
    assert ctx.meta["facility_anchors"] == "none"
    assert set(frame["type"]) == set(FACILITY_TYPES)
    assert frame["name"].str.startswith(("道里区", "南岗区")).all()


def test_missing_population_is_a_clear_error():
    ctx = synthetic_ctx([330106])
    del ctx.tables["population_cells"]
    with pytest.raises(CityBrainError, match="population_cells"):
        facilities.stage(ctx)


def test_spread_is_exact_and_proportional():
    # 10 split 1:1:2 -> 2.5, 2.5, 5 -> floors 2, 2, 5; the leftover goes to the first largest
    # remainder
    assert facilities._spread(np.array([1.0, 1.0, 2.0]), 10).tolist() == [3, 2, 5]
    assert facilities._spread(np.array([0.2, 0.2, 0.6]), 3, floor=np.array([1, 1, 1])).tolist() \
        == [1, 1, 1]


def test_ordinals():
    assert [facilities._ordinal(k) for k in (1, 2, 10, 12, 20, 23)] == \
        ["", "第二", "第十", "第十二", "第二十", "第二十三"]


# -- the small real store: 建德 and 西湖 built by the real pipeline ------------------------------
@pytest.fixture(scope="module")
def jiande_store(tmp_path_factory):
    from analytics.citygen.build import build
    from analytics.store import Store

    out = tmp_path_factory.mktemp("fac") / "small.duckdb"
    build(BuildConfig(districts=(330182, 330106), out=out))
    store = Store.open(out, read_only=True)
    yield store
    store.close()


@pytest.mark.slow
def test_small_store_meets_jiande_anchors(jiande_store):
    def open_count(ftype):
        return jiande_store.query("facility_supply.open_count", type=ftype, year=2022,
                                 district=330182).iloc[0]

    homes = open_count("elderly_care_home")
    assert (homes["facilities"], homes["capacity"]) == (17, 2926)
    assert open_count("kindergarten")["facilities"] == 40
    assert open_count("primary_school")["facilities"] == 31
    meta = jiande_store.meta()
    assert meta["facility_anchors"].count("建德市") == 4
    assert "杭州市 2022 primary schools=507 (a district subset is built)" in \
        meta["facility_anchors_skipped"]


@pytest.mark.slow
def test_small_store_facilities_sit_in_populated_cells(jiande_store):
    facilities_ = jiande_store.table("facilities")
    cells = jiande_store.table("cells").set_index("cell")
    assert (cells.loc[facilities_["cell"], "district_adcode"].to_numpy()
            == facilities_["district_adcode"].to_numpy()).all()
    # each facility's cell has residents of the groups it serves in the year it opened
    # (the first year for the stock that was already there)
    placed = facilities_.assign(year=facilities_["opened_year"].clip(lower=2010))
    pop = jiande_store.table("population_cells")
    pop = pop[pop["persons"] > 0]
    for key, spec in FACILITY_TYPES.items():
        groups = list(AGE_GROUPS) if spec.serves == ("all",) else \
            [g for s in spec.serves for g in SERVICE_GROUPS[s]]
        served = pop.loc[pop["age_group"].isin(groups), ["year", "cell"]].drop_duplicates()
        mine = placed.loc[placed["type"] == key, ["year", "cell"]].astype(served.dtypes)
        found = mine.merge(served, on=["year", "cell"], how="left", indicator=True)
        assert (found["_merge"] == "both").all(), key


@pytest.mark.slow
def test_small_store_supply_near_the_standard(jiande_store):
    ratio = jiande_store.query("facility_supply.supply_ratio", type="primary_school", year=2020,
                              groups=["6-11"]).set_index("district_adcode")["per_resident"]
    # 1 place per child aged 6-11, within the documented jitter and rounding
    assert ratio.between(0.8, 1.25).all()


def test_a_shorter_span_keeps_the_anchors():
    ctx = synthetic_ctx(first_year=2016)
    facilities.stage(ctx)
    frame = ctx.tables["facilities"]
    primary = frame[frame["type"] == "primary_school"]
    assert (len(open_in(primary, 2021)), len(open_in(primary, 2022))) == (493, 507)
    assert (frame["opened_year"] <= 2025).all()
    assert frame.loc[frame["closed_year"].notna(), "closed_year"].min() >= 2017


def test_anchored_counts_by_hand():
    years = np.array([2020, 2021, 2022])
    adcodes = np.array([330182, 330106])
    n = np.array([[1.2, 2.4], [1.5, 3.0], [2.0, 4.0]])
    no_floor = np.zeros(2, dtype=int)

    def anchor(adcode, year, value):
        return facilities.Anchor("x", adcode, adcode == 330100, year, "primary_school",
                                 "count", value)

    # a city anchor of 6 in 2021 scales every year by 6 / 4.5: 2020 -> 1.6, 3.2 -> 2, 3;
    # 2021 -> 2, 4; 2022 -> 2.67, 5.33 -> 3, 5
    counts = facilities._anchored_counts(n, years, adcodes, [anchor(330100, 2021, 6)], no_floor)
    assert counts.tolist() == [[2, 3], [2, 4], [3, 5]]
    # 建德 (first column) fixed at 4 in 2022 doubles its series (2.4, 3, 4); the city's 6 in
    # 2021 then leaves 6 - 3 = 3 for 西湖, whose 3.0 needs no scaling
    counts = facilities._anchored_counts(
        n, years, adcodes, [anchor(330182, 2022, 4), anchor(330100, 2021, 6)], no_floor)
    assert counts.tolist() == [[2, 2], [3, 3], [4, 4]]


def test_supply_queries_on_a_hand_made_store():
    """Two kindergartens and a closed one in a district of 100 children aged 3-5."""
    from analytics.store import Store

    store = Store.create(None)
    store.write("districts", pd.DataFrame({
        "city_adcode": [330100], "adcode": [330106], "name": ["西湖区"],
        "name_en": ["Xihu District"], "kind": ["district"], "area_km2": [1.0],
        "core_lon": [120.1], "core_lat": [30.2], "centroid_lon": [120.1],
        "centroid_lat": [30.2], "geometry": [b"\x00"]}))
    store.write("population_cells", pd.DataFrame({
        "city_adcode": 330100, "year": [2021, 2021, 2021], "cell": np.array([1, 1, 2], "uint64"),
        "district_adcode": 330106, "age_group": ["3-5", "3-5", "60-64"], "sex": ["M", "F", "M"],
        "persons": [60, 40, 500]}))
    store.write("facilities", pd.DataFrame({
        "city_adcode": 330100, "facility_id": ["KG-1", "KG-2", "KG-3"],
        "type": "kindergarten", "name": ["a", "b", "c"], "district_adcode": 330106,
        "cell": np.array([1, 1, 2], "uint64"), "lon": 120.1, "lat": 30.2,
        "capacity": [90, 60, 30], "capacity_unit": "places",
        "opened_year": [2000, 2021, 2005], "closed_year": pd.array([None, None, 2021], "Int16"),
        "occupancy_rate": [0.9, None, None], "owner_department": "教育局"}))
    # in 2021: KG-1 and KG-2 run (KG-3 closed that year), 150 places for 100 children
    ratio = store.query("facility_supply.supply_ratio", type="kindergarten", year=2021,
                        groups=["3-5"]).iloc[0]
    assert (ratio["facilities"], ratio["capacity"], ratio["residents"]) == (2, 150, 100)
    assert ratio["per_resident"] == pytest.approx(1.5)
    # in 2020: KG-1 and KG-3 run
    row = store.query("facility_supply.open_by_district", year=2020).iloc[0]
    assert (row["facilities"], row["capacity"], row["mean_occupancy"]) == (2, 120, 0.9)
    count = store.query("facility_supply.open_count", type="kindergarten", year=2021,
                        district=None).iloc[0]
    assert (count["facilities"], count["capacity"]) == (2, 150)


def test_a_district_comes_out_the_same_in_a_subset_build(city):
    """Each district draws from its own streams: only the city-wide counts (primary and
    junior middle schools) differ between the whole city and a subset."""
    ctx = synthetic_ctx([330182, 330106])
    facilities.stage(ctx)
    anchored = ["primary_school", "junior_middle_school"]
    subset = ctx.tables["facilities"]
    subset = subset[~subset["type"].isin(anchored)].reset_index(drop=True)
    whole = city[city["district_adcode"].isin([330182, 330106]) & ~city["type"].isin(anchored)]
    pd.testing.assert_frame_equal(subset, whole.reset_index(drop=True))


def test_parents_match_h3():
    cells = [h3.latlng_to_cell(30.25, 120.16, 9), h3.latlng_to_cell(29.48, 119.28, 9)]
    ints = np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64)
    assert facilities._parents(ints, 7).tolist() == \
        [h3.str_to_int(h3.cell_to_parent(c, 7)) for c in cells]
