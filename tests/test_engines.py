"""The lake and the engines: one definition of each growing analysis, on DuckDB and Spark.

Everything here but the tests marked ``spark`` runs without a JVM. The Spark tests share one
local-mode session (starting one costs 8-10 s) and compare Spark with DuckDB on the same
lake: integers exactly, ratios to 1e-9. DuckDB over the lake is itself compared with the
store-only analytics (accessibility, indicators, supply, trends), which are checked by hand
in their own test files, and coverage once more with distances measured independently
(geodesic, pyproj.Geod) instead of the projection and KD-tree both engines' pairs come from.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from analytics import population
from analytics.cli import main
from analytics.engines import analyses, lake
from analytics.indicators import kpis as indicators
from analytics.indicators import trends
from analytics.planning import accessibility, supply
from analytics.standards import FACILITY_TYPES
from analytics.store import SCHEMA_VERSION, Store

REPO = Path(__file__).resolve().parents[1]
YEAR = 2020


@pytest.fixture(scope="session")
def engine_store_path(small_store_path, tmp_path_factory) -> Path:
    """A copy of the small store that this module only ever opens read-only (other modules'
    AppTests keep the shared one open read-write in this process)."""
    out = tmp_path_factory.mktemp("engines") / "small.duckdb"
    shutil.copyfile(small_store_path, out)
    return out


@pytest.fixture(scope="session")
def small_lake(engine_store_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lake") / "lake"
    lake.export(engine_store_path, out)
    return out


@pytest.fixture(scope="session")
def province_lake(tmp_path_factory) -> Path:
    """Two small cities of Zhejiang (滨江区 of Hangzhou, 嵊泗县 of Zhoushan), 2019-2021,
    built by the province command."""
    out = tmp_path_factory.mktemp("province") / "lake"
    run = subprocess.run(
        [sys.executable, "-m", "analytics", "build", "--province", "330000", "--cities",
         "330100,330900", "--districts", "330108,330922", "--years", "2019-2021",
         "--lake", str(out), "--quiet"], capture_output=True, text=True, cwd=REPO, check=False)
    assert run.returncode == 0, run.stderr
    return out


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "lake"
    shutil.copytree(path, target)
    return target


def assert_frames_equal(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    """Integers exactly, floats to a relative 1e-9, after sorting on ``keys``."""
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xf = x.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            yf = y.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            if pd.api.types.is_integer_dtype(x) and pd.api.types.is_integer_dtype(y):
                assert x.isna().tolist() == y.isna().tolist(), col
                assert (x.dropna().astype("int64").to_numpy()
                        == y.dropna().astype("int64").to_numpy()).all(), col
            else:
                np.testing.assert_allclose(xf, yf, rtol=1e-9, atol=1e-9, equal_nan=True,
                                           err_msg=col)
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), col


# -- the lake --------------------------------------------------------------------------------
def test_lake_manifest_counts_every_row_of_the_store(engine_store_path, small_lake):
    opened = lake.Lake.open(small_lake, verify=True)
    with Store.open(engine_store_path, read_only=True) as store:
        counts = dict(store.row_counts().itertuples(index=False, name=None))
        years = population.years(store)
    assert opened.manifest["schema_version"] == SCHEMA_VERSION
    for table in lake.LAKE_TABLES:
        assert opened.rows(table) == counts[table], table
    # one file per year of the yearly tables, under city_adcode=330100/year=Y
    files = [f.relative_to(small_lake).as_posix() for f in opened.files("population_cells")]
    assert files == [f"population_cells/city_adcode=330100/year={y}/part-0.parquet"
                     for y in years]
    # H3 ids as BIGINT, the same ids as the store's UBIGINT cells
    with opened.store() as view, Store.open(engine_store_path, read_only=True) as store:
        types = dict(view.columns("cells").itertuples(index=False, name=None))
        assert types["cell"] == "BIGINT"
        assert set(view.table("cells")["cell"]) == set(store.table("cells")["cell"].astype(int))


def test_catchment_pairs_are_the_pairs_within_reach(engine_store_path):
    """Every pair of a day-care centre and a populated cell within 1,000 m, and none beyond."""
    with Store.open(engine_store_path, read_only=True) as store:
        pairs = lake.catchment_pairs(store).to_pandas()
        cells = store.table("cells", ["cell", "lon", "lat"])
        fac = store.table("facilities", ["facility_id", "type", "lon", "lat"])
    fac = fac[fac["type"] == "elderly_day_care"].head(5)
    geod = Geod(ellps="WGS84")
    for f in fac.itertuples():
        _, _, dist = geod.inv(np.full(len(cells), f.lon), np.full(len(cells), f.lat),
                              cells["lon"].to_numpy(), cells["lat"].to_numpy())
        mine = pairs[pairs["facility_id"] == f.facility_id]
        expected = set(cells.loc[dist <= 999.5, "cell"].astype(int))
        assert expected <= set(mine["cell"])
        assert set(mine["cell"]) <= set(cells.loc[dist <= 1000.5, "cell"].astype(int))
        got = mine.set_index("cell")["distance_m"]
        measured = pd.Series(dist, index=cells["cell"].astype(int))[got.index]
        np.testing.assert_allclose(got.to_numpy(), measured.to_numpy(), atol=0.5)


def test_a_lake_of_another_schema_version_says_how_to_fix_it(small_lake, tmp_path):
    copy = _copy(small_lake, tmp_path)
    manifest = json.loads((copy / lake.MANIFEST).read_text())
    manifest["schema_version"] = SCHEMA_VERSION - 1
    (copy / lake.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(lake.LakeError, match=rf"schema version {SCHEMA_VERSION - 1}, this code "
                       rf"reads {SCHEMA_VERSION}: re-export it with `python -m analytics lake "
                       "export"):
        lake.Lake.open(copy)


def test_a_missing_partition_is_named(small_lake, tmp_path, capsys):
    copy = _copy(small_lake, tmp_path)
    shutil.rmtree(copy / "population_cells" / "city_adcode=330100" / "year=2020")
    code = main(["info", "--lake", str(copy), "--year", "2020"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "missing partition population_cells/city_adcode=330100/year=2020" in err[0]
    assert "lake export" in err[0]


def test_a_changed_file_fails_verification(small_lake, tmp_path):
    copy = _copy(small_lake, tmp_path)
    target = copy / "districts" / "city_adcode=330100" / "part-0.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    lake.Lake.open(copy)  # same size: opening checks sizes only
    with pytest.raises(lake.LakeError, match="differs from its manifest"):
        lake.Lake.open(copy, verify=True)


def test_a_dead_spark_url_is_one_line_without_starting_spark(small_lake, capsys):
    code = main(["plan", "coverage", "--type", "kindergarten", "--year", "2020", "--engine",
                 "spark", "--lake", str(small_lake), "--spark", "sc://127.0.0.1:18897"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "Spark Connect at sc://127.0.0.1:18897 does not answer" in err[0]
    assert "start-connect-server" in err[0]


# -- DuckDB over the lake equals the store-only analytics --------------------------------------
@pytest.mark.parametrize("type_key", list(FACILITY_TYPES))
def test_lake_coverage_equals_the_store_analysis(engine_store_path, small_lake, type_key):
    with Store.open(engine_store_path, read_only=True) as store:
        ref = accessibility.district_summary(accessibility.analyse(store, type_key, YEAR))
    with analyses.open_engine("duckdb", lake=small_lake) as engine:
        got = analyses.coverage(engine, type_key, YEAR)
    got = got.drop(columns=["city_adcode", "name", "name_en"])
    ref = ref.drop(columns=["name", "name_en"])
    got["unmet"] = got["unmet"].round().astype("int64")
    assert_frames_equal(got[ref.columns], ref, ["adcode"])


def test_lake_coverage_against_geodesic_distances(small_lake):
    """Share of 60+ within 300 m of a day-care centre, with distances from pyproj.Geod."""
    with analyses.open_engine("duckdb", lake=small_lake) as engine:
        got = analyses.coverage(engine, "elderly_day_care", YEAR)
        cells = engine.query("planning.group_cells", groups=list(population.SERVICE_GROUPS["60+"]),
                             year=YEAR, district=None)
        fac = engine.query("planning.facilities_open", type="elderly_day_care", year=YEAR,
                           district=None)
    geod = Geod(ellps="WGS84")
    covered = np.zeros(len(cells), dtype=bool)
    for f in fac.itertuples():
        _, _, d = geod.inv(np.full(len(cells), f.lon), np.full(len(cells), f.lat),
                           cells["lon"].to_numpy(), cells["lat"].to_numpy())
        covered |= d <= 300
    expected = 100 * cells.loc[covered, "persons"].sum() / cells["persons"].sum()
    assert got.loc[got["adcode"].isna(), "coverage_pct"].item() == pytest.approx(expected,
                                                                                abs=0.01)


def test_lake_indicators_trends_supply_population_equal_the_store(engine_store_path, small_lake):
    with Store.open(engine_store_path, read_only=True) as store, \
            analyses.open_engine("duckdb", lake=small_lake) as engine:
        keys = ["indicator", "year", "district"]
        assert_frames_equal(analyses.indicator_values(engine), indicators.ratio_values(store),
                            keys)
        assert_frames_equal(analyses.vital_trends(engine), trends.vital_rates(store), ["year"])
        assert_frames_equal(analyses.supply_demand(engine, YEAR), supply.supply_demand(store, YEAR),
                            ["adcode", "type"])
        pop = analyses.population(engine, YEAR)
        ref = store.query("planning.groups_by_district", year=YEAR)
        by = pop.groupby(["district_adcode", "age_group"], as_index=False)["persons"].sum()
        ref["persons"] = ref["persons"].astype("int64")
        assert_frames_equal(by, ref, ["district_adcode", "age_group"])
        # the info command's rows: the store's own district summary
        mine = analyses.summary(engine, YEAR)
        theirs = population.district_summary(store, YEAR)
        assert_frames_equal(mine, theirs, ["adcode"])


# -- Spark local mode: one session for every JVM test ------------------------------------------
@pytest.fixture(scope="session")
def spark_session():
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (Debian: apt-get install openjdk-17-jre-headless)")
    from analytics.engines.spark import session

    spark = session(conf={"spark.driver.port": "18810", "spark.blockManager.port": "18830",
                          "spark.port.maxRetries": "40"})
    yield spark
    spark.stop()


def _spark(spark_session, path):
    from analytics.engines.spark import SparkEngine

    return SparkEngine(lake.Lake.open(path), spark_session)


@pytest.mark.spark
def test_spark_equals_duckdb_on_a_two_district_lake(spark_session, small_lake):
    with _spark(spark_session, small_lake) as spark, \
            analyses.open_engine("duckdb", lake=small_lake) as duck:
        for type_key in ("elderly_day_care", "nursery", "community_health_centre"):
            assert_frames_equal(analyses.coverage(spark, type_key, YEAR),
                                analyses.coverage(duck, type_key, YEAR), ["adcode"])
        assert_frames_equal(analyses.coverage(spark, "kindergarten", YEAR, radius_m=800),
                            analyses.coverage(duck, "kindergarten", YEAR, radius_m=800),
                            ["adcode"])
        assert_frames_equal(analyses.indicator_values(spark), analyses.indicator_values(duck),
                            ["indicator", "year", "district"])
        assert_frames_equal(analyses.population(spark), analyses.population(duck),
                            ["district_adcode", "year", "age_group", "sex"])
        assert_frames_equal(analyses.vital_trends(spark), analyses.vital_trends(duck), ["year"])
        assert_frames_equal(analyses.age_group_trends(spark, 330108),
                            analyses.age_group_trends(duck, 330108), ["year", "group"])
        assert_frames_equal(analyses.supply_demand(spark, YEAR), analyses.supply_demand(duck, YEAR),
                            ["adcode", "type"])
        assert_frames_equal(analyses.summary(spark, YEAR), analyses.summary(duck, YEAR),
                            ["adcode"])


@pytest.mark.spark
def test_disclosure_control_blanks_the_same_cells_on_both(spark_session, small_lake):
    with _spark(spark_session, small_lake) as spark, \
            analyses.open_engine("duckdb", lake=small_lake) as duck:
        for dataset in ("population_districts",):
            s_chunks, s_report = analyses.controlled_chunks(spark, dataset)
            d_chunks, d_report = analyses.controlled_chunks(duck, dataset)
            for s_table, d_table in zip(s_chunks, d_chunks, strict=True):
                assert s_table.schema == d_table.schema
                assert s_table.equals(d_table)  # the same values, and the same blanks
            assert s_report.lines() == d_report.lines()
            assert s_report.primary_suppressed > 0 and s_report.secondary_suppressed > 0


@pytest.mark.spark
def test_a_province_lake_of_two_cities_on_both_engines(spark_session, province_lake):
    opened = lake.Lake.open(province_lake, verify=True)
    assert opened.cities == [330100, 330900]
    with _spark(spark_session, province_lake) as spark, \
            analyses.open_engine("duckdb", lake=province_lake) as duck:
        cities = analyses.city_indicator_values(duck)
        assert_frames_equal(analyses.city_indicator_values(spark), cities,
                            ["indicator", "year", "district"])
        assert set(cities["district"].dropna()) == {330100, 330900}
        assert cities["district"].isna().any()  # the province as a whole
        cov = analyses.coverage(duck, "elderly_care_home", 2020)
        assert_frames_equal(analyses.coverage(spark, "elderly_care_home", 2020), cov, ["adcode"])
        # first all, then each city, then each district; each city row is its district's
        assert cov["adcode"].fillna(0).tolist() == [0, 330100, 330900, 330108, 330922]
        for city, district in ((330100, 330108), (330900, 330922)):
            a = cov.set_index("adcode").loc[city]
            b = cov.set_index("adcode").loc[district]
            assert a["persons"] == b["persons"] and a["covered"] == b["covered"]
        # the province's residents are the two cities' (each built on its own)
        pop = analyses.population(spark, 2020)
        assert pop["persons"].sum() == sum(
            int(analyses.summary(duck, 2020).set_index("adcode").loc[c, "population"])
            for c in (330100, 330900))
        assert set(pop["city_adcode"]) == {330100, 330900}


def test_lake_export_and_verify_commands(engine_store_path, tmp_path, capsys):
    out = tmp_path / "lake"
    assert main(["lake", "export", "--store", str(engine_store_path), "--out", str(out)]) == 0
    assert main(["lake", "verify", str(out)]) == 0
    text = capsys.readouterr().out
    assert "every file matches its SHA-256" in text
    with Store.open(engine_store_path, read_only=True) as store:
        n = int(store.row_counts().set_index("table").loc["population_cells", "rows"])
    assert re.search(rf"population_cells\s+{n:,} rows", text)


@pytest.mark.parametrize(("argv", "message"), [
    (["--province", "330100", "--lake", "x"], "is not a province adcode"),
    (["--province", "330000"], "needs both --province ADCODE and --lake DIR"),
    (["--province", "330000", "--cities", "320100", "--lake", "x"], "not in province 330000"),
])
def test_province_build_bad_input(argv, message, capsys):
    assert main(["build", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_zhejiang_city_totals_sum_to_the_province():
    """The 11 cities' 2020 totals in city_totals_2020.csv are the bulletin's 64,567,588."""
    from analytics.engines.province import province_cities
    from analytics.reference import city_totals

    cities = province_cities(330000)
    assert len(cities) == 11
    totals = city_totals().set_index("adcode")["population"]
    assert sum(int(totals[c]) for c, _ in cities) == 64_567_588
