"""A city on its own data: a store built --no-synthetic, then the Hangzhou example files.

Every page opens with no exception; with no population loaded the app names the missing
layers and the department dataset that fills each; with the examples loaded the planning
map works for the facility types they cover and says where its facilities come from.
"""

from __future__ import annotations

import pytest
from app_helpers import PAGES, no_exception, run_app

from analytics.citygen.build import BuildConfig, build
from analytics.identity import Actor
from analytics.pooling import contracts, ingest
from analytics.store import Store

pytestmark = pytest.mark.slow
ADMIN = Actor("ada", "administrator")
LOADED = ["civil_affairs_care_homes", "civil_affairs_day_care", "public_security_residents",
          "health_vital_events",
          "public_security_population_grid"]


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "bare.duckdb"
    build(BuildConfig(out=path, synthetic=False))
    return path


@pytest.fixture(scope="module")
def loaded(bare, tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "loaded.duckdb"
    path.write_bytes(bare.read_bytes())
    with Store.open(path) as store:
        for dataset in LOADED:
            c = contracts.contract(dataset)
            ingest.load(store, c.example_path, dataset, ADMIN)
        store.checkpoint()
    return path


def test_bare_store_names_what_is_missing(bare, monkeypatch):
    with Store.open(bare, read_only=True) as store:
        assert store.meta()["synthetic_layers"] == "none"
        assert len(store.table("facilities")) == 0 and len(store.table("cells")) > 100_000
    at = run_app(bare, monkeypatch, lang="en")
    no_exception(at)
    assert at.title[0].value == "No population data yet"
    shown = " ".join(m.value for m in at.markdown)
    assert "Public Security Bureau · Registered residents by district, age and sex " \
           "(`public_security_residents`)" in shown
    assert "Health Commission · Registered hospitals (`health_hospitals`)" in shown


@pytest.mark.parametrize("page", sorted(p.name for p in PAGES.glob("*.py")))
def test_every_page_opens_on_the_examples(loaded, monkeypatch, page):
    at = run_app(loaded, monkeypatch, page=page, lang="en")
    no_exception(at)
    # the missing-layers panel is on every page: hospitals are not among the loaded files
    assert any("Registered hospitals" in m.value for m in at.markdown)


def test_planning_map_uses_the_registers(loaded, monkeypatch):
    with Store.open(loaded) as store:  # as the app opens it (AppTest runs in this process)
        homes = store.table("facilities")
    homes = homes[homes["type"] == "elderly_care_home"]
    assert len(homes) == 40 and set(homes["source"]) == {"civil_affairs_care_homes v1"}
    at = run_app(loaded, monkeypatch, page="planning_map.py", lang="en", year="2025")
    no_exception(at)


def test_trends_on_one_year_of_residents(loaded, monkeypatch):
    """The examples hold residents for 2025 only and births for 2023-2024: the age groups
    are one stacked bar per group, and the births are drawn for their own years."""
    import pandas as pd
    from app_helpers import chart_series, server_charts

    residents = pd.read_parquet(contracts.contract("public_security_residents").example_path)
    ages = residents["年龄" if "年龄" in residents else "age"].clip(upper=100)
    persons = residents["人数" if "人数" in residents else "persons"]
    expected = {"0-14": persons[ages <= 14].sum(), "15-59": persons[ages.between(15, 59)].sum(),
                "60-79": persons[ages.between(60, 79)].sum(), "80+": persons[ages >= 80].sum()}
    vital = pd.read_csv(contracts.contract("health_vital_events").example_path)
    births = vital.groupby("年份")["出生人数"].sum()

    at = run_app(loaded, monkeypatch, page="trends.py", lang="en")
    no_exception(at)
    drawn = server_charts(at)
    # one year of residents: a stacked bar per group (an area over one year has no width)
    assert {m["tag"] for m in drawn[1]} == {"rect"}
    assert chart_series(drawn[1]) == {k: {"2025": v} for k, v in expected.items()}
    births_drawn = chart_series(drawn[2])["Births"]
    assert {int(y): v for y, v in births_drawn.items()} == births.to_dict()
    assert not any("No births" in i.value or "no births" in i.value for i in at.info)


def test_pages_say_the_example_grid_is_not_the_district_table(loaded, monkeypatch):
    """The example grid holds a sample of cells: its residents fall far short of the
    district table's, and the pages whose figures mix the two say so."""
    with Store.open(loaded) as store:
        cells = store.table("population_cells")
        table = store.table("population_districts")
    grid, total = cells["persons"].sum(), table["persons"].sum()
    assert grid < 0.98 * total
    for page in ("overview", "planning_map.py"):
        at = run_app(loaded, monkeypatch, page=None if page == "overview" else page,
                     lang="en", year="2025")
        no_exception(at)
        assert any(f"holds {grid:,} residents, the district table {total:,}" in w.value
                   for w in at.warning), [w.value for w in at.warning]


def test_load_history_in_the_page_language(loaded, monkeypatch):
    at = run_app(loaded, monkeypatch, page="data_quality.py", lang="zh")
    no_exception(at)
    history = at.dataframe[1].value  # the quality table, then the history of the first dataset
    assert history["message"].tolist() == ["载入 40 行，为第 1 版；文本编码 utf-8；坐标由 bd09 转为 WGS-84"]
