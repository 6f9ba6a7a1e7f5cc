"""The overview page shows what analytics computes, on the hand-made fixture city."""

from __future__ import annotations

import re

import pytest
from app_helpers import fixture_store_file, no_exception, run_app, shown_tables

from analytics import indicators
from analytics.store import Store
from dashboard.components.kpi import change_text, value_text


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    return fixture_store_file(tmp_path_factory.mktemp("overview"))


def metrics(at) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def test_tiles_equal_analytics(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch)
    no_exception(at)
    assert at.title[0].value == "杭州市 · 2020 年城市总览"
    shown = metrics(at)
    with Store.open(store_file) as store:
        values = indicators.ratio_values(store)
    for kpi_id in indicators.available(values):
        ind = indicators.indicator(kpi_id)
        tile = indicators.tile(values, kpi_id, 2020)
        assert shown[ind.label_zh] == (value_text(ind, tile["value"], "zh"),
                                       change_text(ind, tile["change_1y"], "zh"))
    # and by hand (tests/test_indicators.py): 760 of 4,860 aged 60+, 700 of 4,780 in 2019
    assert shown["常住人口"] == ("4,860人", "+80人")
    assert shown["60岁及以上人口占比"] == ("15.64%", "+0.99 个百分点")
    assert shown["每千名老年人养老床位"][0] == "26.3"  # 20 beds / 760 x 1,000
    # the day-care centre covers 西湖's 540 residents aged 60+ (not 滨江's 220)
    assert shown["老人300米内有日间照料"][0] == f"{100 * 540 / 760:.1f}%"
    captions = [c.value for c in at.caption]
    # 2015: 20 beds (滨江's home opened 2018) / 460 aged 60+ x 1,000 = 43.5; 26.3 - 43.5 = -17.2
    # and the caption says which years the sparkline spans (it ends at the year shown)
    assert "张/千人 · 较2015年 -17.2 · 曲线 2015–2020" in captions


def test_ranking_table_and_movers(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch)
    assert not at.dataframe  # a plain HTML table: no grid library for the browser to load
    table = shown_tables(at)[0]
    # sorted by population, largest first: 滨江 2,820 then 西湖 2,040
    assert list(table["区县"]) == ["滨江区", "西湖区"]
    assert list(table["常住人口（人）"]) == [2820, 2040]
    assert list(table["60岁及以上人口占比（%）"]) == [round(100 * 220 / 2820, 2),
                                                 round(100 * 540 / 2040, 2)]
    text = " ".join(m.value for m in at.markdown if "<table" not in m.value)
    # 西湖 grew from 1,640 to 2,040 residents (滨江 did not change)
    assert "**西湖区** · 常住人口" in text and "1,640人 → 2,040人" in text
    # rank by share aged 60+ (lower is calmer): 滨江 first
    at.selectbox(key="ov_kpi").select("share_60plus").run()
    assert list(shown_tables(at)[0]["区县"]) == ["滨江区", "西湖区"]
    at.selectbox(key="ov_kpi").select("care_beds_per_1000_60plus").run()
    assert list(shown_tables(at)[0]["区县"]) == ["西湖区", "滨江区"]  # 37.0 vs 0


def test_district_tiles(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, district="330106")
    no_exception(at)
    assert at.title[0].value.startswith("西湖区 · 2020 年")
    shown = metrics(at)
    assert shown["常住人口"][0] == "2,040人"
    assert shown["60岁及以上人口占比"][0] == f"{100 * 540 / 2040:.2f}%"


def test_english_view(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, lang="en")
    no_exception(at)
    assert at.title[0].value == "Hangzhou at a glance, 2020"
    shown = metrics(at)
    assert shown["Resident population"] == ("4,860", "+80")
    assert shown["Share aged 60+"][1] == "+0.99 pp"
    assert list(shown_tables(at)[0]["District"]) == ["Binjiang District", "Xihu District"]


def test_change_text_says_changes_as_people_do():
    share = indicators.indicator("share_60plus")
    places = indicators.indicator("primary_places_per_child")
    assert change_text(share, 0.993, "zh") == "+0.99 个百分点"
    assert change_text(share, -1.5, "en") == "-1.50 pp"
    assert change_text(places, -0.001, "en") == "0.00"  # rounds away: no "-0.00"
    assert change_text(indicators.indicator("population"), 596_000, "zh") == "+59.6 万人"
    assert value_text(places, 0.9212, "en") == "0.92"


def test_the_coverage_tile_has_a_value_for_every_year(store_file):
    """The day-care coverage sparkline is the whole series, not three evenly spaced points."""
    from dashboard.components import data

    with Store.open(store_file) as store:
        built_at, years = store.meta()["built_at"], tuple(store.query("population.years")
                                                          ["year"].astype(int))
    values = data.kpi_values((str(store_file), built_at), years[-1], years, ())
    cov = values[(values["indicator"] == "daycare_coverage_60plus") & values["district"].isna()]
    assert sorted(cov["year"]) == list(years)


def test_a_districts_coverage_tile_has_its_history(store_file):
    """Issue 15: with a district chosen, the day-care coverage tile had no changes and no
    sparkline. Every district now has the KPI in every year, and the tile its changes."""
    from dashboard.components import data

    with Store.open(store_file) as store:
        built_at, years = store.meta()["built_at"], tuple(store.query("population.years")
                                                          ["year"].astype(int))
    values = data.kpi_values((str(store_file), built_at), years[-1], years, (330106, 330108))
    for area in (330106, 330108):
        cov = indicators.of_area(values, area)
        cov = cov[cov["indicator"] == "daycare_coverage_60plus"]
        assert sorted(cov["year"]) == list(years), area
    tile = indicators.tile(values, "daycare_coverage_60plus", 2020, 330106)
    assert tile["change_1y"] is not None and tile["change_5y"] is not None
    assert len(tile["series"].dropna()) == len(years)


def test_overview_reconciles_the_ratio_with_walking_distance(store_file, monkeypatch):
    """The overview shows, for the chosen type, the standard's ratio beside walking
    coverage with the sentence that reconciles them; the figures are the library's
    (worked by hand in tests/test_accessibility.py on the planning fixture)."""
    from analytics.planning.reconcile import reconcile

    at = run_app(store_file, monkeypatch, lang="en")
    no_exception(at)
    at.selectbox(key="ov_rec_type").set_value("elderly_day_care").run()
    no_exception(at)
    with Store.open(store_file) as store:
        rec = reconcile(store, "elderly_day_care", 2020)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Capacity ÷ the standard's need (district level)"] == f"{rec.supply_pct:,.0f}%"
    assert shown["Within a 300 m walk (cell level)"] == f"{rec.coverage_pct:.1f}%"
    sentence = next(i.value for i in at.info if "300 m" in i.value)
    assert sentence.startswith("Why they differ") or sentence.startswith("Both fall short") \
        or sentence.startswith("The two agree")


def test_overview_coverage_tile_is_the_panels_released_figure(store_file, monkeypatch):
    """The headline tile '60+ within 300 m of day care' and the panel's walking coverage are
    one released figure: covered residents rounded to 10 over the exact residents."""
    from analytics.planning import accessibility

    at = run_app(store_file, monkeypatch, lang="en")
    no_exception(at)
    at.selectbox(key="ov_rec_type").set_value("elderly_day_care").run()
    no_exception(at)
    with Store.open(store_file) as store:
        cells = accessibility.analyse(store, "elderly_day_care", 2020).cells
    covered = int(cells.loc[cells["covered"], "persons"].sum())
    released = 10 * ((covered + 5) // 10)  # halves up, as published
    pct = f"{100 * released / int(cells['persons'].sum()):.1f}%"
    shown = {m.label: m.value for m in at.metric}
    assert shown["Within a 300 m walk (cell level)"] == pct
    tile = next(v for k, v in shown.items() if k.startswith("60+ within 300 m"))
    assert tile == pct


def test_sparkline_is_drawn_at_the_years_and_marks_the_year_shown():
    """The tile's sparkline (an SVG picture, not a Vega chart per tile): x at each year's
    true place, y from the lowest to the highest value, a dot on the year shown. Worked out
    by hand in the 240 x 44 box with a 4-unit margin (232 x 36 inside)."""
    import pandas as pd

    from dashboard.components.kpi import sparkline_markdown, sparkline_svg

    svg = sparkline_svg(pd.Series({2015: 1.0, 2017: 3.0, 2019: None, 2020: 2.0}))
    # 2015 -> x 4; 2017 -> 4 + 2/5 x 232 = 96.8; 2020 -> 236. 1 -> y 40, 3 -> 4, 2 -> 22
    assert 'points="4.0,40.0 96.8,4.0 236.0,22.0"' in svg
    assert '<circle cx="236.0" cy="22.0"' in svg
    assert sparkline_svg(pd.Series({2020: 2.0, 2021: None})) is None  # one point: no line
    flat = sparkline_svg(pd.Series({2019: 5.0, 2020: 5.0}))
    assert 'points="4.0,22.0 236.0,22.0"' in flat  # a flat series runs through the middle
    assert sparkline_markdown(pd.Series({2019: 1.0, 2020: 2.0}), "line 2019–2020") \
        .startswith("![line 2019–2020](data:image/svg+xml;base64,")


def test_tiles_draw_light_sparklines(store_file, monkeypatch):
    """Every tile with a history has its sparkline as a picture, none as a metric chart."""
    at = run_app(store_file, monkeypatch, lang="en")
    no_exception(at)
    assert all(not m.proto.chart_data for m in at.metric)
    pictures = [m.value for m in at.markdown if "data:image/svg+xml" in m.value]
    # the population tile's line runs 2015-2020 (the fixture's years), its alt text says so
    assert any(p.startswith("![line 2015–2020](") for p in pictures), pictures[:2]


def test_district_map_is_one_picture_with_each_districts_value(store_file, monkeypatch):
    """The map is an SVG picture drawn by the server, not a chart library's figure: each
    district is a path whose hover title gives its name and value (by hand, from the
    fixture: 滨江 2,820 and 西湖 2,040 residents in 2020); the largest gets the darkest
    colour of the scale (ColorBrewer Blues: #08306b), the smallest the lightest (#f7fbff)."""
    at = run_app(store_file, monkeypatch)
    no_exception(at)
    assert not at.get("plotly_chart")
    svg = next(m.value for m in at.markdown if m.value.startswith("<svg"))
    assert svg.count('<path class="district"') == 2
    assert "<title>滨江区&#58; 2,820</title>" in svg and "<title>西湖区&#58; 2,040</title>" in svg
    fills = dict(re.findall(r'fill="(rgb\([^)]*\))"[^>]*><title>(\S+)&#58;', svg))
    assert {v: k for k, v in fills.items()} == {"滨江区": "rgb(8, 48, 107)",
                                                "西湖区": "rgb(247, 251, 255)"}
    assert "下载地图（SVG）" in [b.label for b in at.download_button]
