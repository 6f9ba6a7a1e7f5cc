"""KPIs and trends on the hand-made fixture city (see tests/dash_fixture.py).

2020 by hand (k = 5):
  西湖区: ages 1:100, 4:200, 8:200, 30:1000, 62:200, 70:200, 85:140 -> population 2,040;
          0-14 500; 15-64 1,200; 60+ 540; 65+ 340; 80+ 140; 3-5 200; 6-11 200
  滨江区: ages 1:200, 4:200, 8:200, 30:2000, 62:100, 70:100, 85:20 -> population 2,820;
          0-14 600; 15-64 2,100; 60+ 220; 65+ 120; 80+ 20; 3-5 200; 6-11 200
  city:   population 4,860; 0-14 1,100; 15-64 3,300; 60+ 760; 65+ 460; 80+ 160; 3-5 400; 6-11 400
2019 (k = 4): 西湖区 1,960 (60+ 480) -> city 4,780, 60+ 700.
2015 (k = 0): 西湖区 1,640 (60+ 240) -> city 4,460, 60+ 460.
Facilities open at the end of 2020: care beds 20 (西湖; 滨江's 10 closed in 2020),
kindergarten places 180 (西湖; 滨江's opens 2021), primary places 400 (滨江).
"""

from __future__ import annotations

import pytest
from dash_fixture import BINJIANG, XIHU, make_store

from analytics import indicators as ind
from analytics.errors import CityBrainError
from analytics.indicators import trends
from analytics.planning.accessibility import coverage_share
from analytics.store import Store


@pytest.fixture(scope="module")
def store():
    s = make_store()
    yield s
    s.close()


@pytest.fixture(scope="module")
def values(store):
    return ind.ratio_values(store)


def v(values, kpi, year, district=None):
    rows = ind.of_area(values, district)
    rows = rows[(rows["indicator"] == kpi) & (rows["year"] == year)]
    assert len(rows) == 1, (kpi, year, district)
    return float(rows["value"].iloc[0])


def test_city_ratios_2020_by_hand(values):
    assert v(values, "population", 2020) == 4860
    assert v(values, "share_60plus", 2020) == pytest.approx(100 * 760 / 4860)
    assert v(values, "share_65plus", 2020) == pytest.approx(100 * 460 / 4860)
    assert v(values, "pop_80plus", 2020) == 160
    assert v(values, "share_0_14", 2020) == pytest.approx(100 * 1100 / 4860)
    assert v(values, "children_3_5", 2020) == 400
    # old-age dependency: 65+ / 15-64 x 100 (age 62 is working age, 70 and 85 are not)
    assert v(values, "old_age_dependency", 2020) == pytest.approx(100 * 460 / 3300)
    assert v(values, "care_beds_per_1000_60plus", 2020) == pytest.approx(1000 * 20 / 760)
    assert v(values, "kindergarten_places_per_child", 2020) == pytest.approx(180 / 400)
    assert v(values, "primary_places_per_child", 2020) == pytest.approx(400 / 400)


def test_district_ratios_and_open_facilities(values):
    assert v(values, "share_60plus", 2020, str(XIHU)) == pytest.approx(100 * 540 / 2040)
    assert v(values, "care_beds_per_1000_60plus", 2020, str(XIHU)) == pytest.approx(
        1000 * 20 / 540)
    # 滨江's care home closed in 2020: open in 2019 (10 beds / 220 aged 60+), not in 2020
    assert v(values, "care_beds_per_1000_60plus", 2019, str(BINJIANG)) == pytest.approx(
        1000 * 10 / 220)
    assert v(values, "care_beds_per_1000_60plus", 2020, str(BINJIANG)) == 0
    # 西湖's kindergarten opened in 2016: nothing in 2015
    assert v(values, "kindergarten_places_per_child", 2015, str(XIHU)) == 0
    assert v(values, "primary_places_per_child", 2020, str(BINJIANG)) == pytest.approx(2.0)
    # city 2019 beds: 20 + 10 over 700 aged 60+
    assert v(values, "care_beds_per_1000_60plus", 2019) == pytest.approx(1000 * 30 / 700)


def test_tile_changes_and_bands(values):
    t = ind.tile(values, "share_60plus", 2020)
    assert t["value"] == pytest.approx(100 * 760 / 4860)
    assert t["change_1y"] == pytest.approx(100 * 760 / 4860 - 100 * 700 / 4780)
    assert t["change_5y"] == pytest.approx(100 * 760 / 4860 - 100 * 460 / 4460)
    assert list(t["series"].index) == list(range(2015, 2021))
    # 15.6 % aged 60+: an ageing society (10-20 %)
    assert t["band"].status == "fair"
    # five years before 2015 is not in the store
    assert ind.tile(values, "share_60plus", 2015)["change_5y"] is None
    # beds: 26.3 per 1,000 < 0.8 x 40 -> alert; 西湖 37.0 in 32-40 -> fair
    assert ind.tile(values, "care_beds_per_1000_60plus", 2020)["band"].status == "alert"
    assert ind.tile(values, "care_beds_per_1000_60plus", 2020,
                    str(XIHU))["band"].status == "fair"
    # kindergarten 西湖 0.9 per child exactly meets 0.9 -> good
    assert ind.tile(values, "kindergarten_places_per_child", 2020,
                    str(XIHU))["band"].status == "good"
    assert ind.tile(values, "population", 2020)["band"] is None
    # the sparkline ends at the chosen year: a 2017 tile's line is 2015-2017, its last
    # point the value shown
    t17 = ind.tile(values, "share_60plus", 2017)
    assert list(t17["series"].index) == [2015, 2016, 2017] and t17["span"] == (2015, 2017)
    assert t17["series"].iloc[-1] == t17["value"]


def test_standards_come_from_the_standards_table():
    from analytics import standards

    care = ind.indicator("care_beds_per_1000_60plus").standard
    assert care.value == pytest.approx(40.0)
    assert care.source == standards.facility_type("elderly_care_home").ratio_source
    assert ind.indicator("kindergarten_places_per_child").standard.value == pytest.approx(0.9)
    assert "15-64" in ind.indicator("old_age_dependency").formula_en
    for kpi in ind.INDICATORS.values():
        assert kpi.label_zh and kpi.label_en and kpi.formula_zh and kpi.formula_en
        assert kpi.sources
        if kpi.standard:
            assert kpi.standard.source
        lowers = [b.lower for b in kpi.bands]
        assert lowers == sorted(lowers)
    with pytest.raises(CityBrainError, match="unknown indicator"):
        ind.indicator("nope")


def test_district_table_and_movers(values):
    table = ind.district_table(values, 2020)
    assert list(table.index) == [XIHU, BINJIANG]
    assert table.loc[BINJIANG, "population"] == 2820
    movers = ind.largest_movers(values, 2020, ["share_60plus", "population"], span=5)
    # 滨江 does not change; 西湖 grows from 1,640 to 2,040 and 240/1640 -> 540/2040 aged 60+
    pop = movers[movers["indicator"] == "population"].iloc[0]
    assert (pop["adcode"], pop["before"], pop["after"]) == (XIHU, 1640, 2040)
    share = movers[movers["indicator"] == "share_60plus"].iloc[0]
    assert share["change"] == pytest.approx(100 * 540 / 2040 - 100 * 240 / 1640)


def test_coverage_kpi_is_the_accessibility_coverage(store):
    out = ind.computed_values(store, [2020], [XIHU, BINJIANG])
    for district in [None, XIHU, BINJIANG]:
        got = ind.of_area(out, district)["value"]
        assert len(got) == 1
        assert got.iloc[0] == pytest.approx(coverage_share(
            store, facility_type="elderly_day_care", group="60+", year=2020, radius_m=300,
            district=district, released=True))
    # by hand: the one day-care centre sits at 西湖's only cell (0 m), 滨江's cell is
    # about 11 km away: all 540 of 西湖's 60+ are covered, none of 滨江's 220
    assert ind.of_area(out, XIHU)["value"].iloc[0] == pytest.approx(100.0)
    assert ind.of_area(out, BINJIANG)["value"].iloc[0] == pytest.approx(0.0)
    assert ind.of_area(out)["value"].iloc[0] == pytest.approx(100 * 540 / 760)


def test_pyramid_by_hand(store):
    p = trends.pyramid(store, 2020, XIHU)
    rows = p.set_index("band")
    assert (rows.loc["0-4", "male"], rows.loc["0-4", "female"]) == (150, 150)  # ages 1 and 4
    assert rows.loc["85-89", "male"] == 70
    assert rows.loc["100+", "male"] == 0
    assert p["male"].sum() + p["female"].sum() == 2040
    assert len(p) == 21


def test_age_groups_and_vital_rates(store):
    g = trends.age_groups(store).query("year == 2020").set_index("group")["persons"]
    # 15-59 = 4,860 - 1,100 - 760; 60-79 = 760 - 160
    assert g.to_dict() == {"0-14": 1100, "15-59": 3000, "60-79": 600, "80+": 160}
    r = trends.vital_rates(store).set_index("year")
    # births 20 + 30, deaths 10 + 5; 2020 mean population (4,780 + 4,860) / 2
    assert r.loc[2020, "natural_increase"] == 35
    assert r.loc[2020, "birth_rate"] == pytest.approx(1000 * 50 / 4820)
    assert r.loc[2020, "natural_increase_rate"] == pytest.approx(1000 * 35 / 4820)
    assert r.loc[2015, "birth_rate"] == pytest.approx(1000 * 50 / 4460)  # first year: year end
    assert r.loc[2020, "ageing_index"] == pytest.approx(100 * 460 / 1100)
    x = trends.vital_rates(store, XIHU).set_index("year")
    assert x.loc[2020, "death_rate"] == pytest.approx(1000 * 10 / ((1960 + 2040) / 2))


def test_empty_store_is_a_clear_error():
    with Store.create(None) as empty, pytest.raises(CityBrainError, match="no population"):
        ind.base_frame(empty)


def test_facility_type_absent_from_store_is_missing_not_zero():
    # a store with facilities but no primary school at all: the KPI is unknown, not 0
    from dash_fixture import fill

    store = Store.create(None)
    fill(store)
    facilities = store.table("facilities")
    store.write("facilities", facilities[facilities["type"] != "primary_school"], replace=True)
    values = ind.ratio_values(store)
    assert values[values["indicator"] == "primary_places_per_child"]["value"].isna().all()
    assert ind.tile(values, "primary_places_per_child", 2020)["value"] is None
    # other facility KPIs are unaffected: 西湖's kindergarten, 180 places / 400 children
    assert v(values, "kindergarten_places_per_child", 2020) == pytest.approx(0.45)
    store.close()
