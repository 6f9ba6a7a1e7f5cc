"""Births and deaths from the health commission feed the vital-events layer (by hand).

The store is ``dash_fixture``'s: 西湖区 (330106) has 20 births and 10 deaths a year in the
synthetic layer, 滨江区 (330108) 30 and 5, 2015-2020; 西湖区's residents number
1,640 + 80 x (year - 2015): 1,880 in 2018, 1,960 in 2019.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from dash_fixture import make_store

from analytics import layers
from analytics.identity import Actor
from analytics.indicators import trends
from analytics.pooling import contracts, ingest

ADMIN = Actor("ada", "administrator")
VITAL = "health_vital_events"


@pytest.fixture
def store():
    s = make_store()
    yield s
    s.close()


def _file(tmp_path, rows, name="vital.csv"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=["年份", "区县", "性别", "出生人数", "死亡人数"]).to_csv(
        path, index=False)
    return path


def _events(store, year, district):
    frame = store.table("vital_events")
    return frame[(frame["year"] == year) & (frame["district_adcode"] == district)] \
        .drop(columns="city_adcode").to_dict("records")


def test_commission_figures_replace_synthetic_per_year_and_district(store, tmp_path):
    # 2019 in 西湖区: boys 12 + girls 11 = 23 births; men 4 + women 3 = 7 deaths
    path = _file(tmp_path, [(2019, "西湖区", "M", 12, 4), (2019, "西湖区", "F", 11, 3)])
    report = ingest.load(store, path, VITAL, ADMIN)
    assert (report.rows_out, report.version) == (2, 1)
    assert _events(store, 2019, 330106) == [{
        "year": 2019, "district_adcode": 330106, "births": 23, "deaths": 7,
        "net_migration": None, "source": f"{VITAL} v1"}]
    # replaced, never summed: the other years and the other district stay synthetic
    assert _events(store, 2020, 330106)[0] | {"source": "synthetic"} == _events(store, 2020,
                                                                                330106)[0]
    assert (_events(store, 2020, 330106)[0]["births"], _events(store, 2019, 330108)[0]["births"]) \
        == (20, 30)
    # the trends' vital rates follow: 2019 births per 1,000 over the mean of 1,880 and 1,960
    rates = trends.vital_rates(store, 330106).set_index("year")
    assert rates.loc[2019, "births"] == 23 and rates.loc[2019, "deaths"] == 7
    assert rates.loc[2019, "birth_rate"] == pytest.approx(23 * 1000 / 1920)
    assert rates.loc[2018, "birth_rate"] == pytest.approx(20 * 1000 / 1840)  # (1,800+1,880)/2
    city = trends.vital_rates(store).set_index("year")
    assert city.loc[2019, "births"] == 23 + 30
    # provenance: the layer says, per district, which feeds it
    src = layers.sources(store, 2019)
    vital = src[src["layer"] == "vital_events"].set_index("district_adcode")["source"]
    assert vital.to_dict() == {330106: f"{VITAL} v1", 330108: "synthetic"}
    # a chart's CSV over years says, year by year, what its figures rest on
    years = layers.source_by_year(store, "vital_events")
    assert years[2019] == f"{VITAL} v1 (330106); synthetic (330108)"
    assert years[2020] == "synthetic"
    assert layers.source_by_year(store, "vital_events", 330106)[2019] == f"{VITAL} v1"
    # rolled back: the synthetic 20 births return
    assert ingest.rollback(store, VITAL, ADMIN) == 0
    assert _events(store, 2019, 330106)[0]["births"] == 20


def test_the_grid_and_the_district_table_agree_so_no_page_warns(store):
    # the fixture's grid cells hold exactly the district table's residents (2,040 and 2,820
    # in 2020), so no page warns that they disagree
    assert layers.grid_gap(store, 2020) is None and layers.grid_gap(store, 2020, 330106) is None


def test_a_future_year_is_refused_naming_file_row_and_column(store, tmp_path):
    late = date.today().year + 1  # within the column's range, but not over yet
    path = _file(tmp_path, [(2019, "西湖区", "M", 12, 4), (late, "西湖区", "F", 11, 3)],
                 name="late.csv")
    with pytest.raises(ingest.IngestRejected) as err:
        ingest.load(store, path, VITAL, ADMIN)
    assert str(err.value) == (f"late.csv: row 3, column year: {late} is in the future: give "
                              "the date the figures are as of; nothing was loaded")
    assert set(store.table("vital_events")["source"]) == {"synthetic"}


def test_the_example_file_meets_its_contract(store):
    c = contracts.contract(VITAL)
    plan = ingest.validate(store, c.example_path, VITAL)
    # 13 districts x 2 years x 2 sexes, of which the fixture store knows two
    assert plan.report.rows_in == 52
