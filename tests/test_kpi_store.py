"""Headline indicators kept in the store: written for one generation of the data, read back
as they were computed, and made again when a department's load changes the data.

The store is the hand-made 3 x 3 grid of ``planning_store`` with the care homes of
``test_layers``: synthetic homes of 30 beds in 西湖区 (330106) and 50 in 滨江区 (330108);
residents aged 60+ 162 in 330106 and 108 in 330108 (270 in all). Care beds per 1,000 aged
60+ are worked out on paper: before the civil affairs register, city 80 / 270 x 1,000 =
296.3, 330106 30 / 162 x 1,000 = 185.2; after it (homes of 20, 40 and 60 beds replace
西湖区's synthetic one), city 170 / 270 x 1,000 = 629.6, 330106 120 / 162 x 1,000 = 740.7.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analytics import indicators
from analytics.citygen.build import BuildConfig, build
from analytics.pooling import ingest
from analytics.server.state import ServerState
from analytics.store import Store
from tests.planning_store import YEAR, make_store
from tests.test_layers import ADMIN, HOMES, OLD, SYNTHETIC, _register


def grid_store(path=None) -> Store:
    s = make_store(SYNTHETIC, path=path)
    s.write("population_districts", pd.DataFrame(
        [{"city_adcode": 330100, "year": y, "district_adcode": d, "age": 70, "sex": "M",
          "persons": n} for y in (2019, YEAR) for d, n in OLD.items()]))
    return s


@pytest.fixture
def store():
    s = grid_store()
    yield s
    s.close()


def beds(values: pd.DataFrame, district: int | None) -> float:
    rows = indicators.of_area(values, district)
    rows = rows[(rows["indicator"] == "care_beds_per_1000_60plus") & (rows["year"] == YEAR)]
    assert len(rows) == 1
    return float(rows["value"].iloc[0])


def test_kept_values_are_the_computed_ones_by_hand(store):
    assert indicators.stored_values(store) is None  # nothing kept yet
    kept = indicators.store_values(store)
    read = indicators.stored_values(store)
    pd.testing.assert_frame_equal(read, kept)
    assert beds(read, None) == pytest.approx(1000 * 80 / 270)
    assert beds(read, 330106) == pytest.approx(1000 * 30 / 162)
    assert beds(read, 330108) == pytest.approx(1000 * 50 / 108)
    # every indicator of both years: the ten ratio KPIs for the city and the two districts
    # with residents, the day-care coverage for the city and all three districts (blank
    # for 330110, where nobody lives)
    assert len(read) == 10 * 2 * (1 + 2) + 1 * 2 * (1 + 3)
    # a reader takes them as kept (no second computation: the same frame comes back)
    pd.testing.assert_frame_equal(indicators.values(store), kept)


def test_a_load_makes_them_again_and_a_rollback_too(store, tmp_path):
    before = store.vintage()
    indicators.values(store)
    assert beds(indicators.stored_values(store), None) == pytest.approx(1000 * 80 / 270)

    ingest.load(store, _register(tmp_path), HOMES, ADMIN, datum="wgs84")
    after = store.vintage()
    assert after != before
    # what was kept belongs to the data before the load: never read for the new data
    assert indicators.stored_values(store) is None
    values = indicators.values(store)
    assert beds(values, None) == pytest.approx(1000 * 170 / 270)
    assert beds(values, 330106) == pytest.approx(1000 * 120 / 162)
    assert beds(values, 330108) == pytest.approx(1000 * 50 / 108)
    kept = indicators.stored_values(store)
    assert kept is not None and beds(kept, None) == pytest.approx(1000 * 170 / 270)
    assert indicators.stored_values(store, generation=before) is None  # replaced

    ingest.rollback(store, HOMES, ADMIN)
    assert indicators.stored_values(store) is None
    assert beds(indicators.values(store), 330106) == pytest.approx(1000 * 30 / 162)


def test_the_server_keeps_them_again_after_a_load(store, tmp_path):
    state = ServerState(store, "http://127.0.0.1:1")
    try:
        indicators.values(store)
        ingest.load(store, _register(tmp_path), HOMES, ADMIN, datum="wgs84")
        state.changed(HOMES)  # what the API's push does after each load
        state.indicators_thread.join(timeout=120)
        kept = indicators.stored_values(store)
        assert kept is not None
        assert beds(kept, None) == pytest.approx(1000 * 170 / 270)
    finally:
        state.close()


def test_a_read_only_store_computes_without_keeping(tmp_path):
    path = tmp_path / "grid.duckdb"
    grid_store(path).close()
    with Store.open(path, read_only=True) as ro:
        assert ro.read_only
        values = indicators.values(ro)  # nothing may be written: computed, not kept
        assert beds(values, None) == pytest.approx(1000 * 80 / 270)
        assert indicators.stored_values(ro) is None


def test_the_build_keeps_them(small_store_path, tmp_path):
    # a copy: other tests of the session hold the shared store open read-write
    copy = tmp_path / "built.duckdb"
    shutil.copyfile(small_store_path, copy)
    with Store.open(copy, read_only=True) as s:
        kept = indicators.stored_values(s)
        assert kept is not None
        # the kept series is what the store's counts give: the city's population in 2020
        # is the sum of its districts' rows
        base = indicators.base_frame(s)
        city = indicators.of_area(kept, None)
        pop = city[(city["indicator"] == "population") & (city["year"] == 2020)]["value"]
        assert float(pop.iloc[0]) == float(base[base["year"] == 2020]["population"].sum())
        pd.testing.assert_frame_equal(kept, indicators.all_values(s))


def test_a_build_without_population_keeps_none(tmp_path):
    out = tmp_path / "own.duckdb"
    said: list[str] = []
    build(BuildConfig(districts=(330106,), out=out, synthetic=False), progress=said.append)
    assert any("[indicators] none kept" in line for line in said)
    with Store.open(out, read_only=True) as s:
        assert indicators.stored_values(s) is None
