"""The store-contents page shows what analytics says is in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import population

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture()
def app(small_store_path, monkeypatch):
    monkeypatch.setenv("CITYBRAIN_STORE", str(small_store_path))
    return AppTest.from_file(APP, default_timeout=60)


PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "store_contents.py")


def test_store_page_shows_the_district_summary(app, small_store):
    app.query_params["year"] = "2015"
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception
    frames = [df.value for df in app.dataframe]
    shown = next(f for f in frames if "share_60plus" in f.columns)
    expected = population.district_summary(small_store, 2015)
    assert shown["population"].tolist() == expected["population"].tolist()
    assert shown["share_60plus"].tolist() == expected["share_60plus"].tolist()
    assert any("2015" in h.value for h in app.subheader)


def test_missing_store_shows_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYBRAIN_STORE", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("make store" in e.value for e in at.error)
