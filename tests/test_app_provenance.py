"""Provenance text on the pages that show analyses (AppTest on the fixture store).

The fixture store is all synthetic, so every figure's source reads as the synthetic layer
calibrated to the 2020 census; a register loaded for one district is named beside it.
"""

from __future__ import annotations

import pytest
from app_helpers import fixture_store_file, no_exception, run_app

SYNTHETIC = "Source: synthetic, calibrated to the 2020 census"


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    return fixture_store_file(tmp_path_factory.mktemp("prov"))


@pytest.mark.parametrize("page", ["overview", "planning_map", "site_recommendation"])
def test_pages_say_where_their_figures_come_from(store_file, monkeypatch, page):
    at = run_app(store_file, monkeypatch, page=page if page != "overview" else None, lang="en")
    no_exception(at)
    captions = [c.value for c in at.caption]
    # each caption names the layer it is about: the page shows residents and facilities
    assert any(c.endswith(" · " + SYNTHETIC) for c in captions), captions
    named = [c.split(" · ")[0] for c in captions if c.endswith(SYNTHETIC)]
    assert len(named) == len(set(named)), captions


@pytest.mark.parametrize(("page", "expected"), [
    # the fixture's residents cover 2015-2020, all synthetic; its births and deaths too
    ("trends", ["Residents by district, age and sex · Source: synthetic, calibrated to the "
                "2020 census, 2015–2020",
                "Births, deaths and migration · Source: synthetic, calibrated to the 2020 "
                "census, 2015–2020"]),
    # the forecast says what history its models are fitted on, and the gap's capacity side
    ("forecast", ["Residents by district, age and sex · Source: synthetic, calibrated to the "
                  "2020 census, 2015–2020"]),
])
def test_pages_over_years_say_what_each_year_rests_on(store_file, monkeypatch, page, expected):
    at = run_app(store_file, monkeypatch, page=page, lang="en")
    no_exception(at)
    captions = [c.value.replace("\\", "") for c in at.caption]
    for text in expected:
        assert text in captions, captions


def test_forecast_names_the_registered_births_its_fertility_rests_on(tmp_path, monkeypatch):
    import pandas as pd
    from dash_fixture import make_store

    from analytics.identity import Actor
    from analytics.pooling import ingest

    path = tmp_path / "city.duckdb"
    store = make_store(path)
    births = tmp_path / "vital.csv"
    pd.DataFrame([(2020, "西湖区", "M", 16, 4), (2020, "西湖区", "F", 14, 3)],
                 columns=["年份", "区县", "性别", "出生人数", "死亡人数"]).to_csv(births, index=False)
    ingest.load(store, births, "health_vital_events", Actor("ada", "administrator"))
    store.close()
    at = run_app(path, monkeypatch, page="forecast", lang="en")
    at.selectbox(key="fc_model").set_value("cohort").run()
    no_exception(at)
    captions = [c.value.replace("\\", "") for c in at.caption]
    # the base year is the store's last (2020), and the cohort model measures fertility there
    assert ("The cohort model's fertility is measured on registered births: Health Commission "
            "· Births and deaths by district, year and sex v1, 2020; in districts without "
            "them, births are those the infants of the population imply.") in captions, captions
    # and the survival: the same register's deaths scale 西湖区's life table
    assert any(c.startswith("The cohort model's survival is calibrated on registered deaths: "
                            "Health Commission · Births and deaths by district, year and sex "
                            "v1, 2020; each district's life table is scaled") for c in captions)
