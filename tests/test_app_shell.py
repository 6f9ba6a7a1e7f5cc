"""The app shell: views restored from links, bad links, the language switch, bad stores."""

from __future__ import annotations

import sys

import pytest
from app_helpers import PAGES, fixture_store_file, no_exception, run_app, switch_page

from analytics.store import Store


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    return fixture_store_file(tmp_path_factory.mktemp("shell"))


def test_view_restored_from_link(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, lang="en", year="2016", district="330108",
                 city="330100")
    no_exception(at)
    assert not at.warning
    assert at.selectbox(key="year").value == 2016
    assert at.selectbox(key="district").value == 330108
    assert at.radio(key="lang").value == "en"
    # the title names the chosen area, not the city (issue 15)
    assert at.title[0].value == "Binjiang District at a glance, 2016"
    shown = {m.label: m.value for m in at.metric}
    assert shown["Resident population"] == "2,820"  # 滨江 is the same every year
    # the fixture store holds two of the city's districts, and the sidebar says so
    assert "2 districts only (Xihu District, Binjiang District)" in at.sidebar.info[0].value
    # and the link keeps saying so
    assert (qp(at, "year"), qp(at, "district"), qp(at, "lang")) == ("2016", "330108", "en")


def qp(at, key):
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def test_unknown_year_district_and_city_fall_back_with_notices(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, year="1999", district="999999", city="230100")
    no_exception(at)
    notices = " ".join(w.value for w in at.warning)
    assert "year=1999" in notices and "2020" in notices
    assert "district=999999" in notices and "全市" in notices
    assert "230100" in notices and "杭州市" in notices
    assert at.selectbox(key="year").value == 2020
    assert at.selectbox(key="district").value == "city"
    assert qp(at, "year") == "2020" and qp(at, "city") == "330100"
    at.run()  # notices are shown once, not on every rerun
    assert not at.warning


def test_non_numeric_year_falls_back(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, year="latest")
    no_exception(at)
    assert "year=latest" in " ".join(w.value for w in at.warning)


def test_language_switch(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch)
    assert at.title[0].value == "杭州市 · 2020 年城市总览"
    at.radio(key="lang").set_value("en").run()
    no_exception(at)
    assert at.title[0].value == "Hangzhou at a glance, 2020"
    assert qp(at, "lang") == "en"
    assert "Whole city" in at.selectbox(key="district").options
    at.radio(key="lang").set_value("zh").run()
    assert at.title[0].value == "杭州市 · 2020 年城市总览"


def test_year_change_follows_to_other_pages(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch)
    at.selectbox(key="year").select(2017).run()
    switch_page(at, str(PAGES / "trends.py"))
    at.run()
    no_exception(at)
    assert at.select_slider(key="tr_year").value == 2017
    assert qp(at, "year") == "2017"


def test_missing_store_says_how_to_build(tmp_path, monkeypatch):
    at = run_app(tmp_path / "nowhere.duckdb", monkeypatch)
    no_exception(at)
    assert at.title[0].value == "尚未找到城市数据库"
    assert "python -m analytics build" in at.error[0].value
    assert "make store" in at.error[0].value


def test_outdated_store_says_how_to_rebuild(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    with Store.create(path) as store:
        store.set_meta({"schema_version": 0})
    at = run_app(path, monkeypatch, lang="en")
    no_exception(at)
    assert at.title[0].value == "The city store is not available"
    assert "schema version 0" in at.error[0].value
    assert "rebuild" in at.error[0].value


@pytest.fixture(scope="module")
def store_to_2021(tmp_path_factory):
    """The fixture store with 2021 as well (2020's residents again): a store whose latest
    year is not the census year."""
    import duckdb

    path = fixture_store_file(tmp_path_factory.mktemp("shell2021"))
    con = duckdb.connect(str(path))
    for table in ("synthetic_population_cells", "synthetic_population_districts"):
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        picked = ", ".join("year + 1" if c == "year" else c for c in cols)
        con.execute(f"INSERT INTO {table} SELECT {picked} FROM {table} WHERE year = 2020")  # noqa: S608 (table names from DESCRIBE of the test store)
    con.close()
    return path


def test_pages_open_on_the_latest_year_with_the_census_one_click_away(store_to_2021,
                                                                       monkeypatch):
    """Issue 15: the overview opened on 2020 though the store ran to 2025."""
    at = run_app(store_to_2021, monkeypatch, lang="en")
    no_exception(at)
    assert at.selectbox(key="year").value == 2021
    assert at.title[0].value == "Hangzhou at a glance, 2021"
    at.button(key="census_year").click().run()
    assert at.selectbox(key="year").value == 2020
    assert at.title[0].value == "Hangzhou at a glance, 2020"
    assert not [b for b in at.button if b.key == "census_year"]


def test_warming_fills_the_shared_caches(store_file, monkeypatch):
    """The background warm-up computes what the overview then reads: the KPI values of
    every year for the city and each district."""
    from dashboard import warm
    from dashboard.components import data

    monkeypatch.setenv("CITYBRAIN_WARM", "1")
    with Store.open(store_file) as store:
        built_at = store.meta()["built_at"]
    key = (str(store_file), built_at + "-warm-test")
    thread = warm.start(key, (2019, 2020), (330106, 330108))
    assert thread is not None and warm.start(key, (2019, 2020), ()) is None  # once
    thread.join(timeout=120)
    values = data.kpi_values(key, 2020, (2019, 2020), (330106, 330108))
    cov = values[values["indicator"] == "daycare_coverage_60plus"]
    assert set(cov["district"].fillna(0).astype(int)) == {0, 330106, 330108}
    monkeypatch.setenv("CITYBRAIN_WARM", "0")
    assert warm.start((str(store_file), "other"), (2020,), ()) is None


def test_warming_starts_from_the_store_path(store_file, monkeypatch):
    """What the server calls as it starts: from the store's path alone, the analysis of every
    facility type in the latest year is made (so a visitor who switches type finds it ready)."""
    from analytics import population
    from analytics.errors import CityBrainError
    from analytics.planning import accessibility
    from analytics.standards import FACILITY_TYPES
    from dashboard import shell, warm

    monkeypatch.setenv("CITYBRAIN_WARM", "1")
    thread = warm.at_start(store_file)
    assert thread is not None
    thread.join(timeout=300)
    store = shell.open_store(str(store_file))  # the process's one connection, as warmed
    latest = max(population.years(store))
    for k in FACILITY_TYPES:  # warmed, or a type this small store cannot analyse at all
        if f"planning analysis: {k}" not in warm.done:
            with pytest.raises(CityBrainError):
                accessibility.analyse(store, k, latest, group=accessibility.default_group(k))
    assert "all" in warm.done and "planning analysis: elderly_day_care" in warm.done
    # and, for every other type analysed, what its page draws beside the map (its sources;
    # its need in 5 and 10 years where the type has a demand ratio)
    from analytics.forecast import DEMAND_TYPES
    for k in FACILITY_TYPES:
        if k != warm.DEFAULT_TYPE and f"planning analysis: {k}" in warm.done:
            assert f"facility sources: {k}" in warm.done
            assert (f"looking ahead: {k}" in warm.done) == (k in DEMAND_TYPES)
    # every step ran as the pages call it (a page's changed signature fails here, not
    # silently at the first visit); only the types this small store cannot analyse refuse
    assert all(why.startswith("CityBrainError: no residents") for why in warm.failed.values())
    # the landing pages' part first: the dashboard is served from then on
    assert warm.ready.is_set() and warm.done["landing"] <= warm.done["all"]
    assert warm.progress["phase"] == "done"
    # the overview's own figures and every page's module were loaded before anyone asked
    assert {"overview page", "overview figures", "planning map page",
            "page site_recommendation", "page forecast", "site names",
            "3D map widget"} <= set(warm.done)
    # and the first visit of the trends and forecast pages and of the year before the latest
    assert {"overview, the year before (zh)", "overview, the year before (en)", "trends page",
            "forecast page"} <= set(warm.done)
    assert {"pages.overview", "pages.trends"} <= set(sys.modules)
    monkeypatch.setenv("CITYBRAIN_WARM", "0")
    assert warm.at_start(store_file) is None
