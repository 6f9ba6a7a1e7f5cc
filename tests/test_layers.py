"""Department data drives the analyses: layers replace synthetic rows, roll back, carry provenance.

The tiny store is the hand-made 3 x 3 grid of ``planning_store`` (cells 400 m apart; 60+
residents per cell = 6 x letter number: A=6 .. I=54, 270 in all; district 330106 holds the
columns x = -400 and 0, 330108 the column x = 400). Every expected value below is worked out
on paper from those figures.
"""

from __future__ import annotations

import json

import h3
import pandas as pd
import pytest

from analytics import layers
from analytics.identity import Actor
from analytics.indicators import kpis
from analytics.opendata import catalog, exports
from analytics.planning import accessibility
from analytics.pooling import ingest
from dashboard.format import source_label
from tests.planning_store import CELLS, XY, YEAR, facility, lonlat, make_store

ADMIN = Actor("ada", "administrator")
HOMES = "civil_affairs_care_homes"
GRID = "public_security_population_grid"
#: Synthetic care homes: 30 beds at A (district 330106), 50 beds at C (330108).
SYNTHETIC = [facility("SH1", "elderly_care_home", "A", 30, opened=2010, unit="beds"),
             facility("SH2", "elderly_care_home", "C", 50, opened=2010, unit="beds")]
#: The civil affairs bureau's register for 西湖区 (330106): three homes at D, E and H.
REGISTER = [("R1", "D", 20), ("R2", "E", 40), ("R3", "H", 60)]
#: 60+ residents by district (6 x letter number): 330106 = A,B,D,E,G,H; 330108 = C,F,I.
OLD = {330106: 6 * (1 + 2 + 4 + 5 + 7 + 8), 330108: 6 * (3 + 6 + 9)}


@pytest.fixture
def store():
    s = make_store(SYNTHETIC)
    # residents aged 70 by district, so the KPI's 60+ denominator is the grid's 60+
    s.write("population_districts", pd.DataFrame(
        [{"city_adcode": 330100, "year": y, "district_adcode": d, "age": 70, "sex": "M",
          "persons": n} for y in (2019, YEAR) for d, n in OLD.items()]))
    yield s
    s.close()


def _register(tmp_path, rows=REGISTER, name="homes.csv", district="西湖区"):
    lines = ["home_id,name,district,lon,lat,beds,residents,operator,opened_year"]
    for hid, letter, beds in rows:
        lon, lat = lonlat(*XY[letter])
        lines.append(f"{hid},{hid} 养老院,{district},{lon:.7f},{lat:.7f},{beds},,public,2012")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _beds_per_1000(store, district: int | None) -> float:
    values = kpis.of_area(kpis.ratio_values(store), district)
    row = values[(values["indicator"] == "care_beds_per_1000_60plus") & (values["year"] == YEAR)]
    return float(row["value"].iloc[0])


def _access(store) -> dict[str, float]:
    result = accessibility.analyse(store, "elderly_care_home", YEAR, group="60+")
    letters = dict(zip(CELLS["cell"], CELLS["letter"], strict=True))
    return {letters[c]: a for c, a in zip(result.cells["cell"], result.cells["access"],
                                          strict=True)}


def test_register_replaces_synthetic_homes_of_its_district_only(store, tmp_path):
    # Before: synthetic. SH1 at A reaches every cell but I (A-I is 1,131 m > 1,000 m):
    # 30 / (270 - 54); SH2 at C every cell but G: 50 / (270 - 42).
    before = _access(store)
    assert before["E"] == pytest.approx(30 / 216 + 50 / 228)
    assert before["G"] == pytest.approx(30 / 216)
    assert before["I"] == pytest.approx(50 / 228)
    assert _beds_per_1000(store, 330106) == pytest.approx(30 / OLD[330106] * 1000)

    report = ingest.load(store, _register(tmp_path), HOMES, ADMIN, datum="wgs84")
    assert report.version == 1

    listed = layers.facilities_list(store, "elderly_care_home", district=330106)
    assert listed["facility_id"].tolist() == ["R1", "R2", "R3"]
    assert set(listed["source"]) == {f"{HOMES} v1"}
    other = layers.facilities_list(store, "elderly_care_home", district=330108)
    assert other["facility_id"].tolist() == ["SH2"] and other["source"].tolist() == ["synthetic"]

    # D, E and H reach all nine cells (the farthest pair, D-C, is 894 m): ratio
    # (20 + 40 + 60) / 270; SH2 still 50 / 228 everywhere but G.
    after = _access(store)
    assert after["E"] == pytest.approx(120 / 270 + 50 / 228)
    assert after["G"] == pytest.approx(120 / 270)
    assert after["I"] == pytest.approx(120 / 270 + 50 / 228)
    cover = accessibility.coverage_share(store, "elderly_care_home", "60+", YEAR,
                                         district=330106)
    assert cover == pytest.approx(100.0)
    # beds per 1,000 aged 60+: 330106 = 120 / 162; 330108 keeps 50 / 108; city 170 / 270
    assert _beds_per_1000(store, 330106) == pytest.approx(120 / 162 * 1000)
    assert _beds_per_1000(store, 330108) == pytest.approx(50 / 108 * 1000)
    assert _beds_per_1000(store, None) == pytest.approx(170 / 270 * 1000)


def test_rollback_brings_the_old_values_back(store, tmp_path):
    ingest.load(store, _register(tmp_path), HOMES, ADMIN, datum="wgs84")
    smaller = _register(tmp_path, [("R1", "D", 20)], name="v2.csv")
    ingest.load(store, smaller, HOMES, ADMIN, datum="wgs84")
    assert _beds_per_1000(store, 330106) == pytest.approx(20 / 162 * 1000)
    assert ingest.rollback(store, HOMES, ADMIN) == 1
    assert _beds_per_1000(store, 330106) == pytest.approx(120 / 162 * 1000)
    assert ingest.rollback(store, HOMES, ADMIN) == 0     # nothing left: synthetic again
    assert _beds_per_1000(store, 330106) == pytest.approx(30 / 162 * 1000)
    assert _access(store)["G"] == pytest.approx(30 / 216)
    log = store.table("ingest_log")
    assert (log["status"] == "rolled_back").sum() == 2
    with pytest.raises(ingest.IngestError, match="nothing to roll back"):
        ingest.rollback(store, HOMES, ADMIN)


def test_a_grid_for_one_year_changes_that_year_only(store, tmp_path):
    # The bureau counts 100 residents aged 80+ (men) in each of C, F and I for 2020.
    rows = [("2020-11-01", CELLS.loc[CELLS["letter"] == L, "h3"].iloc[0], "80+", "M", 100)
            for L in "CFI"]
    path = tmp_path / "grid.csv"
    pd.DataFrame(rows, columns=["as_of", "h3", "age_group", "sex", "persons"]).to_csv(
        path, index=False)
    report = ingest.load(store, path, GRID, ADMIN)
    cells = store.table("population_cells")
    east = cells[cells["district_adcode"] == 330108]
    assert east.loc[east["year"] == YEAR, "persons"].sum() == 300
    assert set(east.loc[east["year"] == YEAR, "source"]) == {f"{GRID} v1"}
    # 2019 and the other district keep the synthetic grid: 3 cells x 4 groups in 330108
    assert east.loc[east["year"] == 2019, "persons"].sum() == sum(
        10 * n + 5 * n + n + 1000 for n in (3, 6, 9))
    west = cells[(cells["district_adcode"] == 330106) & (cells["year"] == YEAR)]
    assert set(west["source"]) == {"synthetic"}
    # 60+ within 1,000 m of a care home in 330108: only the grid's 300 residents count
    share = accessibility.coverage_share(store, "elderly_care_home", "60+", YEAR,
                                         district=330108)
    assert share == pytest.approx(100.0)
    result = accessibility.analyse(store, "elderly_care_home", YEAR, group="60+")
    assert result.cells.loc[result.cells["district_adcode"] == 330108, "persons"].sum() == 300
    before = accessibility.analyse(store, "elderly_care_home", 2019, group="60+")
    assert before.cells.loc[before.cells["district_adcode"] == 330108, "persons"].sum() == \
        6 * 18
    # the grid disagrees with the district table (108 residents aged 70 there): reported,
    # not refused
    found = report.findings.set_index("finding")
    assert found.loc["grid_vs_districts", "district_adcode"] == 330108
    # and the pages say so beside the figures: the grid's 300 against the district table's
    # residents of 330108, its synthetic 3,288 (the grid's 3 cells x 4 groups) and the 108
    # aged 70 written above
    synthetic = sum(10 * n + 5 * n + n + 1000 for n in (3, 6, 9))
    assert synthetic == 3288
    assert layers.grid_gap(store, YEAR, 330108) == {
        "grid": 300, "table": 3288 + 108, "share": pytest.approx(300 / 3396)}
    # 2019 keeps its synthetic grid: 3,288 against 3,396 is 3.2 % short, more than 2 %
    assert layers.grid_gap(store, 2019, 330108)["grid"] == 3288
    # no residents that year: nothing to say
    assert layers.grid_gap(store, 2010, 330108) is None


def test_sources_and_provenance_labels(store, tmp_path):
    ingest.load(store, _register(tmp_path), HOMES, ADMIN, datum="wgs84")
    frame = layers.sources(store, YEAR)
    homes = frame[(frame["layer"] == "facilities") & (frame["type"] == "elderly_care_home")]
    by_district = dict(zip(homes["district_adcode"], homes["source"], strict=True))
    assert by_district == {330106: f"{HOMES} v1", 330108: "synthetic"}
    # what a per-district download's source column says
    assert layers.source_by_district(store, "facilities", types=["elderly_care_home"],
                                     year=YEAR) == by_district
    row = homes[homes["district_adcode"] == 330106].iloc[0]
    assert (row["department"], row["loaded_by"], row["rows"]) == ("民政局", "ada", 3)
    summary = layers.source_summary(store, "facilities", types=["elderly_care_home"])
    labels = [source_label(r, "en") for _, r in summary.iterrows()]
    assert labels[0].startswith("Civil Affairs Bureau · Registered elderly care homes · "
                                "version 1, loaded ")
    assert source_label(summary.iloc[0], "zh").startswith("民政局 · 养老机构名录 · 第 1 版，")
    assert labels[0].endswith("by ada, 3 rows")
    assert labels[1] == "synthetic, calibrated to the 2020 census"


@pytest.mark.parametrize("content, column, rule", [
    # a district the city does not have
    ("home_id,name,district,lon,lat,beds,operator,opened_year\n"
     "R9,x,拱墅区,{lon},{lat},10,public,2012\n", "district", "unknown_district"),
])
def test_bad_register_one_clear_line_store_unchanged(store, tmp_path, content, column, rule):
    lon, lat = lonlat(*XY["E"])
    path = tmp_path / "bad.csv"
    path.write_text(content.format(lon=lon, lat=lat), encoding="utf-8")
    before = store.table("facilities")
    with pytest.raises(ingest.IngestRejected) as info:
        ingest.load(store, path, HOMES, ADMIN, datum="wgs84")
    assert str(info.value).startswith(f"bad.csv: row 2, column {column}: ")
    assert info.value.report.problems["rule"].tolist() == [rule]
    pd.testing.assert_frame_equal(store.table("facilities"), before)


def test_bad_grid_future_date_and_cell_outside_the_city(store, tmp_path):
    outside = h3.latlng_to_cell(31.23, 121.47, 9)   # Shanghai
    inside = CELLS["h3"].iloc[0]
    path = tmp_path / "grid.csv"
    path.write_text("as_of,h3,age_group,sex,persons\n"
                    f"2020-11-01,{outside},80+,M,5\n"
                    f"2999-01-01,{inside},80+,M,5\n", encoding="utf-8")
    with pytest.raises(ingest.IngestRejected) as info:
        ingest.load(store, path, GRID, ADMIN)
    problems = info.value.report.problems.set_index("rule")
    assert problems.loc["cell_outside_city", "message"] == (
        f"grid.csv: row 2, column h3: cell {outside} lies outside the city's boundary: check "
        "the cell id")
    assert problems.loc["future_date", "message"].startswith(
        "grid.csv: row 3, column as_of: 2999-01-01 is in the future")
    assert set(store.table("population_cells")["source"]) == {"synthetic"}


def test_missing_layers_name_the_dataset_that_fills_them(store):
    missing = layers.missing_layers(store)
    hospitals = missing[missing["type"] == "hospital"]
    assert hospitals["dataset_id"].tolist() == ["health_hospitals"]
    assert hospitals["example"].tolist() == ["data/examples/health_hospitals.xlsx"]
    # vital events: the tiny store has none; the health commission's statistics fill them
    vital = missing[missing["layer"] == "vital_events"]
    assert vital["dataset_id"].tolist() == ["health_vital_events"]
    assert vital["example"].tolist() == ["data/examples/health_vital_events.csv"]


@pytest.mark.parametrize("fmt", ["csv", "geojson", "parquet", "xlsx"])
def test_layer_downloads_say_where_each_row_comes_from(store, tmp_path, fmt):
    # the care-home layer after the 西湖区 register: R1-R3 from the register, SH2 synthetic
    ingest.load(store, _register(tmp_path), HOMES, ADMIN, datum="wgs84")
    out = tmp_path / f"elderly.{fmt}"
    exports.export(store, "facilities_elderly", fmt, out)
    if fmt == "csv":
        frame = pd.read_csv(out, encoding="utf-8-sig")
    elif fmt == "geojson":
        frame = pd.DataFrame([f["properties"] for f in json.loads(out.read_text())["features"]])
    elif fmt == "parquet":
        frame = pd.read_parquet(out)
    else:
        frame = pd.read_excel(out)
    homes = frame[frame["type"] == "elderly_care_home"]
    assert dict(zip(homes["facility_id"], homes["source"], strict=True)) == {
        "R1": f"{HOMES} v1", "R2": f"{HOMES} v1", "R3": f"{HOMES} v1", "SH2": "synthetic"}


def test_catalog_counts_follow_loads_and_rollbacks(store, tmp_path):
    """The catalog's entry for care homes and day care (read from the facilities layer) counts
    what the map shows: 2 synthetic homes; after the register for 西湖区, its 3 homes and
    滨江区's synthetic one (4); after a rollback, 2 again. A load was not seen before (it
    kept the build's count)."""
    catalog.refresh(store)

    def listed() -> int:
        rows = store.query("open_data.datasets")
        return int(rows.loc[rows["dataset_id"] == "facilities_elderly", "row_count"].iloc[0])

    assert listed() == 2
    ingest.load(store, _register(tmp_path), HOMES, ADMIN, datum="wgs84")
    assert listed() == 4
    ingest.rollback(store, HOMES, ADMIN)
    assert listed() == 2
