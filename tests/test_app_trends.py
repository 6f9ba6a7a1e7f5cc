"""The trends page plots what analytics computes, on the hand-made fixture city."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from app_helpers import fixture_store_file, no_exception, run_app


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    return fixture_store_file(tmp_path_factory.mktemp("trends"))


def _decode(obj):
    """Plotly sends numeric arrays as ``{"dtype", "bdata"}`` (base64); make them lists."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            return np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"]).tolist()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def figures(at) -> list[dict]:
    return [_decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def seq(values) -> list:
    return list(values)


def test_pyramid_shares_and_comparison(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, page="trends.py")
    no_exception(at)
    assert at.title[0].value == "人口趋势 · 杭州市"
    pyramid = figures(at)[0]
    male, female, *compare = pyramid["data"]
    bands = seq(male["y"])
    # city 2020, ages 0-4: males 50 + 100 (西湖) + 100 + 100 (滨江) = 350 of 4,860 residents
    assert bands[0] == "0-4" and bands[-1] == "100+"
    assert -male["x"][0] == pytest.approx(100 * 350 / 4860)
    assert female["x"][bands.index("85-89")] == pytest.approx(100 * 80 / 4860)  # 70 + 10
    # compared with the first year (2015): two outline traces; 2015 ages 0-4 males:
    # 50 + 50 (西湖, age 4: 100) + 100 + 100 = 300 of 4,460
    assert len(compare) == 2
    assert -compare[0]["x"][0] == pytest.approx(100 * 300 / 4460)
    # the axis is symmetric and holds every bar and both outlines whole
    low, high = pyramid["layout"]["xaxis"]["range"]
    assert low == pytest.approx(-high)
    widest = max(abs(x) for trace in pyramid["data"] for x in seq(trace["x"]))
    assert widest < high
    at.selectbox(key="tr_compare").select_index(0).run()
    assert len(figures(at)[0]["data"]) == 2
    at.toggle(key="tr_share").set_value(False).run()  # persons, not shares
    assert -figures(at)[0]["data"][0]["x"][0] == pytest.approx(350)


def test_groups_vital_and_multiples(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, page="trends.py", district="330106")
    no_exception(at)
    figs = figures(at)
    groups = {t["name"]: dict(zip(seq(t["x"]), seq(t["y"]), strict=True))
              for t in figs[1]["data"]}
    # 西湖 2020: 0-14 = 100 + 200 + 200; 60-79 = 200 + 200; 80+ = 140
    assert groups["0–14 岁"][2020] == 500
    assert groups["60–79 岁"][2020] == 400
    assert groups["80 岁及以上"][2020] == 140
    births, deaths, rate = figs[2]["data"]
    assert seq(births["y"])[-1] == 20 and seq(deaths["y"])[-1] == 10
    # natural increase 10 over the mean of 1,960 and 2,040 residents, per 1,000
    assert seq(rate["y"])[-1] == pytest.approx(1000 * 10 / 2000)
    ageing = figs[3]["data"][0]
    assert seq(ageing["y"])[-1] == pytest.approx(100 * 340 / 500)  # 65+ per 100 aged 0-14
    multiples = figs[4]
    assert multiples["layout"]["title"]["text"] == "60岁及以上人口占比（%）"
    panels = {a["text"] for a in multiples["layout"]["annotations"]}
    assert panels == {"西湖区", "滨江区"}
    xihu = next(t for t in multiples["data"] if t.get("xaxis", "x") == "x" and
                t["line"].get("dash") != "dot")
    assert seq(xihu["y"])[-1] == pytest.approx(100 * 540 / 2040)


def test_english_labels(store_file, monkeypatch):
    at = run_app(store_file, monkeypatch, page="trends.py", lang="en")
    no_exception(at)
    assert at.title[0].value == "Population trends · Hangzhou"
    names = {t["name"] for t in figures(at)[1]["data"]}
    assert names == {"0-14", "15-59", "60-79", "80+"}
    assert [b.label for b in at.download_button][0] == "Download the data (CSV)"


def test_small_multiples_are_laid_out_once(store_file, monkeypatch):
    """The districts' grid is drawn without automatic margins (with them Plotly laid its
    axes out again for each panel's labels): every axis says so, and the fixed margins leave
    room for the left column's values and the last year on the right."""
    at = run_app(store_file, monkeypatch, page="trends.py", lang="en")
    no_exception(at)
    grid = figures(at)[-1]["layout"]
    axes = [k for k in grid if k.startswith(("xaxis", "yaxis"))]
    assert axes and all(grid[k].get("automargin") is False for k in axes)
    assert grid["margin"]["l"] >= 40 and grid["margin"]["r"] >= 20 and grid["margin"]["b"] >= 20


def test_small_multiples_draw_no_empty_panel():
    """Five districts in rows of four leave three spare slots: those draw no axes and no
    city line; each of the five panels has the city's dotted line and its year labels."""
    import pandas as pd
    import plotly.express as px

    from pages.trends import only_panels

    frame = pd.DataFrame({"year": [2020, 2021] * 5, "value": range(10),
                          "district": [d for d in "ABCDE" for _ in range(2)]})
    fig = px.line(frame, x="year", y="value", facet_col="district", facet_col_wrap=4)
    only_panels(fig, city=([2020, 2021], [1.0, 2.0], "city"))
    panels = {(t.xaxis, t.yaxis) for t in fig.data}
    assert len(panels) == 5
    city = [t for t in fig.data if t.name == "city"]
    assert {(t.xaxis, t.yaxis) for t in city} == panels and len(city) == 5
    shown_x = [a for a in fig.layout if a.startswith("xaxis") and fig.layout[a].visible is not False]
    hidden = [a for a in fig.layout if a.startswith(("xaxis", "yaxis"))
              and fig.layout[a].visible is False]
    assert len(shown_x) == 5 and len(hidden) == 6      # 3 spare slots x (x and y axis)
    assert all(fig.layout[a].showticklabels for a in shown_x)


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
