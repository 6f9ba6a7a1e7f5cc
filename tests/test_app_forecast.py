"""The forecast page, run with Streamlit's AppTest on a small store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_helpers import chart_series, server_charts
from forecast_helpers import store_file
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).parent.parent / "pages" / "forecast.py")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("fc") / "city.duckdb"
    store_file(path)
    return path


def _run(store_path, monkeypatch, lang="en", **state):
    monkeypatch.setenv("CITYBRAIN_STORE", str(store_path))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["lang"] = lang
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def test_page_shows_forecast_backtest_and_gap(store_path, monkeypatch):
    at = _run(store_path, monkeypatch)
    assert not at.exception, at.exception
    assert not at.error
    assert at.title[0].value == "Population and demand forecast"
    assert at.selectbox(key="fc_target").value == "pop_60plus"
    assert at.selectbox(key="fc_base_year").value == 2021
    # the chart: history, forecast, interval and band per area, and a gap chart per type,
    # drawn by the server (no chart library for the browser to load)
    assert not at.get("plotly_chart")
    drawn = server_charts(at)
    assert len(drawn) == 3
    names = list(chart_series(drawn[0]))
    assert [n.split(" · ")[1] for n in names] == [
        "80% interval", "low–high scenarios", "history", "forecast"]
    captions = " ".join(c.value for c in at.caption)
    assert "Model used:" in captions and "nominal coverage 80%" in captions
    # the forecast's own table is made once its expander is opened (its CSV is there
    # anyway); the backtest and the gap are plain tables
    assert len(at.dataframe) == 0 and at.expander[0].label == "Forecast"
    assert "Download forecast (CSV)" in [b.label for b in at.download_button]
    backtest = at.table[0].value
    models = list(backtest["Model"])
    assert len(models) == 4 and models[0] == "Naive (last value held)"
    assert sum(m.endswith("✓ chosen") for m in models) == 1
    # 2010-2021: the first origin is 2012 (three years of data), so 9 years is the longest
    assert [c for c in backtest.columns if c.startswith("MAPE")] == [
        "MAPE % · 1y", "MAPE % · 3y", "MAPE % · 5y", "MAPE % · 9y"]
    cover = backtest["Interval coverage %"]
    assert ((cover >= 0) & (cover <= 100)).all()
    assert at.subheader[1].value == "Facility demand and gap: Ceshi (city)"  # pinyin of 测试市
    gap = at.table[1].value
    assert list(gap.index)[0] == "2021" and list(gap.index)[-1] == "2031"
    assert "Elderly care home" in gap.columns
    # gaps in words, not by sign: the library's signed gap (demand - capacity) of each cell
    from analytics import forecast as fc
    from analytics.store import Store

    with Store.open(store_path) as store:
        g = fc.gap(store, None, 2021, 10, "auto", "medium")
    one = g[(g["type"] == "elderly_care_home") & (g["year"] == 2031)].iloc[0]
    word = "shortfall" if one["gap"] > 0 else "surplus"
    assert gap.loc["2031", "Elderly care home"] == f"{word} of {abs(one['gap']):,.0f} beds"
    assert not any(str(v).startswith("-") for v in gap.to_numpy().ravel())


def test_page_in_chinese_for_a_district(store_path, monkeypatch):
    at = _run(store_path, monkeypatch, lang="zh", fc_areas=[330106, 330108],
              fc_target="pop_3_5", fc_horizon=5, fc_table_open=True)
    assert not at.exception, at.exception
    assert at.title[0].value == "人口与需求预测"
    table = at.dataframe[0].value
    assert set(table["地区"]) == {"西湖区", "滨江区"}
    assert len(table) == 10  # 2 areas x 5 years
    assert at.subheader[1].value == "设施需求与缺口：西湖区"


def test_no_area_chosen_says_so(store_path, monkeypatch):
    at = _run(store_path, monkeypatch, fc_areas=[])
    assert not at.exception
    assert at.info[0].value == "Choose at least one area."


def test_the_cohort_models_fertility_path_is_stated(store_path, monkeypatch):
    """China's birth rates 2018-2021 (10.94, 10.48, 8.52, 7.52 per 1,000): a log-linear
    slope of -13.3 % a year, worked out on centred years (-1.5 ... 1.5)."""
    at = _run(store_path, monkeypatch, fc_model="cohort")
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "China's birth-rate trend of 2018–2021 (-13.3% a year)" in captions
    assert "damped to 0.8 of itself" in captions


def test_scenario_band_is_drawn_above_the_interval_and_named(store_path, monkeypatch):
    """The low-high band (often far narrower than the 80 % interval) is drawn after the
    interval, opaque enough to see, with solid edges; the caption gives both ranges at the
    horizon, from the same forecasts as the chart."""
    at = _run(store_path, monkeypatch)
    svg = next(m.value for m in at.markdown if m.value.startswith("<svg"))
    polygons = re.findall(r'<polygon [^>]*fill-opacity="([\d.]+)" ([^>]*)><title>([^<]*)</title>',
                          svg)
    names = [name for _, _, name in polygons]
    interval = next(i for i, n in enumerate(names) if n.endswith("80% interval"))
    band = next(i for i, n in enumerate(names) if n.endswith("low–high scenarios"))
    assert band > interval            # drawn after (over) the interval
    alpha, edge, _ = polygons[band]
    assert float(alpha) >= 0.4 and 'stroke-width="1.5"' in edge
    marks = [m for m in server_charts(at)[0] if m["data-series"] == names[band]]
    last = max(marks, key=lambda m: int(m["data-x"]))
    low, high = float(last["data-lower"]), float(last["data-value"])
    note = next(c.value for c in at.caption if "low–high scenarios (orange)" in c.value)
    assert f"scenarios {low:,.0f}–{high:,.0f}" in note
