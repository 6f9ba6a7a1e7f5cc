"""The store-contents page shows what analytics says is in the store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from app_helpers import switch_page
from streamlit.testing.v1 import AppTest

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference"
APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture()
def app(small_store_path, monkeypatch):
    monkeypatch.setenv("CITYBRAIN_STORE", str(small_store_path))
    return AppTest.from_file(APP, default_timeout=60)


PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "store_contents.py")


def test_store_page_shows_the_district_summary(app, small_store):
    app.query_params["year"] = "2020"
    app.run()
    switch_page(app, PAGE).run()
    assert not app.exception
    frames = [df.value for df in app.dataframe]
    shown = next(f for f in frames if "share_60plus" in f.columns)
    # 2020 totals are the 7th census figures (data/reference/hangzhou_2020_census_districts.csv)
    # (the first row is the store's whole area: here the two districts together)
    census = pd.read_csv(REFERENCE / "hangzhou_2020_census_districts.csv")
    count = census.set_index("district")["pop_2020_census"]
    # the West Lake Scenic Area has no adcode: its residents count in 西湖区 (see the CSV)
    xihu = int(count["西湖区"] + count["西湖风景名胜区"])
    binjiang = int(count["滨江区"])
    assert shown["population"].tolist() == [xihu + binjiang, xihu, binjiang]
    assert [int(a) for a in shown["adcode"][1:]] == [330106, 330108]
    # the share aged 60+ summed here from the single-year table, not by the page's query
    with small_store.cursor() as cur:
        rows = cur.execute("SELECT district_adcode, sum(persons) FILTER (WHERE age >= 60) * 100.0"
                           " / sum(persons) FROM population_districts WHERE year = 2020"
                           " GROUP BY 1").fetchall()
    by_hand = {int(a): share for a, share in rows}
    assert shown["share_60plus"].tolist()[1:] == pytest.approx(
        [by_hand[330106], by_hand[330108]], abs=0.01)
    assert any("2020" in h.value for h in app.subheader)


def test_missing_store_shows_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYBRAIN_STORE", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("make store" in e.value for e in at.error)


def test_store_page_in_english_names_the_city_in_english(app, small_store_path):
    """The caption and the city's own row of the district table say Hangzhou (the districts
    keep both forms); no Chinese-only name on the English page."""
    app.query_params["lang"] = "en"
    app.query_params["year"] = "2020"
    app.run()
    switch_page(app, PAGE).run()
    assert not app.exception
    shown = next(df.value for df in app.dataframe if "share_60plus" in df.value.columns)
    assert shown["name"].iloc[0] == "杭州市 Hangzhou"
    assert shown["name"].iloc[1] == "西湖区 Xihu District"
    assert ": Hangzhou (330100)" in app.caption[0].value
    # the store is named by its file only, not by where it lies on the server
    assert app.caption[0].value.startswith(f"City store `{small_store_path.name}`:")
    assert str(small_store_path.parent) not in app.caption[0].value
