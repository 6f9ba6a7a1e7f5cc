"""The trends page plots what analytics computes, on the hand-made fixture city."""

from __future__ import annotations

import pytest
from app_helpers import chart_series as series
from app_helpers import fixture_store_file, no_exception, run_app
from app_helpers import server_charts as charts


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    return fixture_store_file(tmp_path_factory.mktemp("trends"))


def test_pyramid_shares_and_comparison(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, page="trends.py")
    no_exception(at)
    assert at.title[0].value == "人口趋势 · 杭州市"
    assert not at.get("plotly_chart")   # drawn by the server: no chart library to load
    pyramid = charts(at)[0]
    (male_name, male), (female_name, female), *compare = series(pyramid).items()
    assert (male_name, female_name) == ("男 2020", "女 2020")
    bands = list(male)
    # city 2020, ages 0-4: males 50 + 100 (西湖) + 100 + 100 (滨江) = 350 of 4,860 residents
    assert bands[0] == "0-4" and bands[-1] == "100+"
    assert male["0-4"] == pytest.approx(100 * 350 / 4860)
    assert female["85-89"] == pytest.approx(100 * 80 / 4860)  # 70 + 10
    # compared with the first year (2015): two outlines; 2015 ages 0-4 males:
    # 50 + 50 (西湖, age 4: 100) + 100 + 100 = 300 of 4,460
    assert [name for name, _ in compare] == ["男 2015", "女 2015"]
    assert compare[0][1]["0-4"] == pytest.approx(100 * 300 / 4460)
    # males left of the middle, females right, every bar and outline inside the plot
    # (x from 64 to 984 in the picture's units), the longest bar short of the edge
    middle = (64 + 984) / 2
    for m in pyramid:
        if m["tag"] == "rect":
            x0, x1 = float(m["x"]), float(m["x"]) + float(m["width"])
            assert 64 <= x0 and x1 <= 984
            edge = x1 if m["data-series"].startswith("男") else x0
            assert edge == pytest.approx(middle, abs=0.1)
        else:
            assert 64 <= float(m["x1"]) <= 984
    at.selectbox(key="tr_compare").select_index(0).run()
    assert len(series(charts(at)[0])) == 2
    at.toggle(key="tr_share").set_value(False).run()  # persons, not shares
    assert series(charts(at)[0])["男 2020"]["0-4"] == 350


def test_groups_vital_and_multiples(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, page="trends.py", district="330106")
    no_exception(at)
    drawn = charts(at)
    groups = series(drawn[1])
    # 西湖 2020: 0-14 = 100 + 200 + 200; 60-79 = 200 + 200; 80+ = 140
    assert groups["0–14 岁"]["2020"] == 500
    assert groups["60–79 岁"]["2020"] == 400
    assert groups["80 岁及以上"]["2020"] == 140
    births, deaths, rate = series(drawn[2]).values()
    assert births["2020"] == 20 and deaths["2020"] == 10
    # natural increase 10 over the mean of 1,960 and 2,040 residents, per 1,000
    assert rate["2020"] == pytest.approx(1000 * 10 / 2000)
    (ageing,) = series(drawn[3]).values()
    assert ageing["2020"] == pytest.approx(100 * 340 / 500)  # 65+ per 100 aged 0-14
    # the districts' grid: one more picture, a panel per district with its name, each
    # point's value on hover: 西湖 2020 540 / 2040 aged 60+
    assert len(drawn) == 4
    grid = next(m.value for m in at.markdown
                if m.value.startswith("<svg") and 'class="mark"' not in m.value)
    assert ">60岁及以上人口占比（%）</text>" in grid
    assert ">西湖区</text>" in grid and ">滨江区</text>" in grid
    assert f"<title>西湖区 2020&#58; {100 * 540 / 2040:.2f}</title>" in grid


def test_english_labels(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, page="trends.py", lang="en")
    no_exception(at)
    assert at.title[0].value == "Population trends · Hangzhou"
    assert set(series(charts(at)[1])) == {"0-14", "15-59", "60-79", "80+"}
    assert [b.label for b in at.download_button][0] == "Download the data (CSV)"


def test_small_multiples_draw_no_empty_panel():
    """Five districts in rows of four: five panels (a name, a frame, the district's line and
    the city's dotted line each), nothing in the three spare slots; on one shared scale,
    by hand: values 0..9 and the city's 1..2 padded by 5 % of 9 (-0.45 .. 9.45), so each
    panel's 120 units of height put 0 at 120 x 9.45 / 9.9 = 114.5 below its top."""
    import pandas as pd

    from dashboard.components.multiples import grid_svg

    frame = pd.DataFrame({"year": [2020, 2021] * 5, "value": range(10),
                          "district": [d for d in "ABCDE" for _ in range(2)]})
    svg = grid_svg(frame, "T", lambda v: f"{v:.1f}",
                   city=pd.Series([1.0, 2.0], index=[2020, 2021]), city_name="city")
    assert svg.count("<rect") == 5
    assert svg.count('class="district"') == 5 and svg.count('class="city"') == 5
    assert [f">{d}</text>" in svg for d in "ABCDE"] == [True] * 5
    # two rows: 32 for the title, then 22 + 120 + 20 + 14 a row
    assert 'viewBox="0 0 1000 384"' in svg
    # panel A: from y = 32 + 22 = 54; A's 2020 value 0 at 54 + 114.5 = 168.5
    assert '<circle cx="46.0" cy="168.5" r="4" fill="transparent"><title>A 2020&#58; 0.0' in svg


def downloads(monkeypatch) -> dict[str, bytes]:
    """Every download button's file of the next runs, by file name (Streamlit keeps them in
    its media storage, which AppTest gives an in-memory one)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, bytes):
            files[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def test_district_csv_says_where_each_years_figures_come_from(tmp_path, monkeypatch):
    import io

    import pandas as pd
    from dash_fixture import make_store

    from analytics.identity import Actor
    from analytics.pooling import ingest

    path = tmp_path / "city.duckdb"
    store = make_store(path)
    # the bureau's residents of 西湖区 for 2019: 1,000 at age 30 (half men, half women) and
    # 100 aged 62 (50 + 50), so 100 / 1,100 = 9.0909 % are 60+
    rows = [("2019-12-31", "西湖区", 30, "M", 500), ("2019-12-31", "西湖区", 30, "F", 500),
            ("2019-12-31", "西湖区", 62, "M", 50), ("2019-12-31", "西湖区", 62, "F", 50)]
    registered = tmp_path / "residents.csv"
    pd.DataFrame(rows, columns=["as_of", "district", "age", "sex", "persons"]).to_csv(
        registered, index=False)
    ingest.load(store, registered, "public_security_residents", Actor("ada", "administrator"))
    store.close()
    files = downloads(monkeypatch)
    at = run_app(path, monkeypatch, page="trends.py", lang="en", district="330106")
    no_exception(at)
    csv = pd.read_csv(io.BytesIO(files["districts_share_60plus.csv"]), encoding="utf-8-sig")
    # the chart shows every district whatever area is chosen: so does its source column
    assert list(csv.columns) == ["Year", "Xihu District", "Binjiang District", "source"]
    by_year = csv.set_index("Year")
    assert by_year.loc[2019, "Xihu District"] == pytest.approx(100 * 100 / 1100, abs=0.01)
    assert by_year.loc[2019, "source"] == \
        "public_security_residents v1 (330106); synthetic (330108)"
    assert by_year.loc[2020, "source"] == "synthetic"
