"""The data pooling and data quality pages, run with Streamlit's AppTest on small stores."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from ingest_helpers import EXAMPLES, MALFORMED, districts_frame
from streamlit.testing.v1 import AppTest

from analytics.identity import Actor
from analytics.opendata import accounts
from analytics.pooling import ingest
from analytics.store import Store

PAGES = Path(__file__).parent.parent / "pages"


def _store_file(path: Path, districts: tuple[int, ...] = ()) -> Path:
    store = Store.create(path)
    frame = districts_frame()
    store.write("districts", frame[frame["adcode"].isin(districts)] if districts else frame)
    store.set_meta({"city_adcode": 330100, "city_name": "杭州市"})
    # the shell's year selector needs a population year
    store.write("population_districts", pd.DataFrame({
        "city_adcode": 330100, "year": 2020, "district_adcode": 330106, "age": 0, "sex": "M",
        "persons": 1}, index=[0]))
    admin = accounts.create_first_admin(store, "admin", "Root-pass-123")
    accounts.add_user(store, admin, "jiao", "data_steward", "Green-tea-42", department="教育局")
    accounts.add_user(store, admin, "min", "data_steward", "Red-apple-99", department="民政局")
    store.close()
    return path


@pytest.fixture()
def city_path(tmp_path):
    return _store_file(tmp_path / "city.duckdb")


def _text(element) -> str:
    """An element's text as people read it (the page escapes Markdown in file content)."""
    return element.value.replace("\\", "")


def _run(page, path, monkeypatch, lang="en", **state):
    monkeypatch.setenv("CITYBRAIN_STORE", str(path))
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state["lang"] = lang
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def _token(path: Path, user: str, password: str) -> str:
    store = Store.open(path)
    try:
        return accounts.sign_in(store, user, password).token
    finally:
        store.close()


def test_steward_validates_and_loads_the_gbk_example(city_path, monkeypatch):
    token = _token(city_path, "jiao", "Green-tea-42")
    at = _run("data_pooling.py", city_path, monkeypatch, _session_token=token,
              ingest_dataset="education_schools", ingest_source="example")
    assert not at.exception
    assert "Signed in as jiao (data steward · Education Bureau)" in at.caption[1].value
    at.button(key="ingest_validate").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Rows read": "60", "Rows to load": "60", "Exact duplicates (dropped)": "0",
                       "Problems": "0"}
    assert "encoding gbk · datum gcj02 → WGS-84" in " ".join(c.value for c in at.caption)
    assert at.success[0].value == "The file meets its contract and can be loaded."
    at.button(key="ingest_load").click().run()
    assert not at.exception
    assert at.success[0].value == "Loaded: Schools and kindergartens version 1, 60 rows."
    q = _run("data_quality.py", city_path, monkeypatch)
    assert not q.exception
    # one of the thirteen contracts in data/contracts/ has a version
    assert {m.label: m.value for m in q.metric}["Datasets loaded"] == "1 / 13"


def test_a_steward_of_another_department_may_validate_but_not_load(city_path, monkeypatch):
    token = _token(city_path, "min", "Red-apple-99")
    at = _run("data_pooling.py", city_path, monkeypatch, lang="zh", _session_token=token)
    # the steward's own department's datasets come first
    assert at.selectbox(key="ingest_dataset").value == "civil_affairs_care_homes"
    at.selectbox(key="ingest_dataset").set_value("education_schools").run()
    at.radio(key="ingest_source").set_value("example").run()
    at.button(key="ingest_validate").click().run()
    assert not at.exception
    assert any("min 是民政局的数据管理员，不能加载教育局的数据集 education_schools" in _text(w)
               for w in at.warning)
    assert at.button(key="ingest_load").disabled


def test_public_may_validate_but_not_load_and_sees_the_problems(tmp_path, monkeypatch):
    # a store of two districts only: most example care homes lie outside it
    path = _store_file(tmp_path / "two.duckdb", districts=(330106, 330108))
    at = _run("data_pooling.py", path, monkeypatch, ingest_dataset="civil_affairs_care_homes",
              ingest_source="example")
    assert "not signed in as a data steward" in at.info[0].value
    at.button(key="ingest_validate").click().run()
    assert not at.exception
    problems = at.dataframe[0].value
    assert set(problems["rule"]) <= {"outside_city", "unknown_district"}
    assert len(problems) > 10
    assert _text(at.error[0]).startswith("civil_affairs_care_homes_bd09.csv: row ")
    assert len(at.get("download_button")) == 1


def test_wrong_encoding_is_one_clear_error(city_path, monkeypatch):
    at = _run("data_pooling.py", city_path, monkeypatch, lang="zh",
              ingest_dataset="education_schools", ingest_source="example",
              ingest_encoding="utf-8")
    at.button(key="ingest_validate").click().run()
    assert not at.exception
    # worded in the page's language, naming the page's control rather than a CLI flag
    assert _text(at.error[0]) == ("education_schools_gbk.csv：第 1 行（第 4 字节）不是有效的 "
                                 "utf-8 文本（看似 GBK）：请将编码选为“auto”")


def test_quality_page_shows_freshness_and_history(city_path, monkeypatch):
    store = Store.open(city_path)
    ingest.load(store, EXAMPLES / "transport_bus_stops.geoparquet", "transport_bus_stops",
                Actor("ada", "administrator"))
    with pytest.raises(ingest.IngestRejected):
        ingest.load(store, MALFORMED / "outside_city.csv", "civil_affairs_care_homes",
                    Actor("ada", "administrator"), datum="wgs84")
    store.close()
    at = _run("data_quality.py", city_path, monkeypatch, dq_dataset="civil_affairs_care_homes")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Datasets loaded": "1 / 13", "Stale": "0", "Last attempt rejected": "1"}
    table = at.dataframe[0].value.set_index("title")
    assert table.loc["Bus stops", "freshness"] == "Fresh (0 d ago)"
    assert table.loc["Registered elderly care homes", "freshness"] == "Never loaded"
    assert table.loc["Bus stops", "rows"] == "80"
    assert _text(at.error[0]).startswith("outside_city.csv: row 3, column lon/lat: (116.4, 39.9)")
    history = at.dataframe[1].value
    assert history["status"].tolist() == ["rejected"]


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_english_pages_name_departments_in_english(city_path, monkeypatch):
    """A steward of 民政局 refused another department's dataset reads both departments by the
    registry's English names; the quality table's departments are English too, and no
    never-loaded dataset shows a raw None."""
    token = _token(city_path, "min", "Red-apple-99")
    at = _run("data_pooling.py", city_path, monkeypatch, lang="en", _session_token=token)
    assert "data steward · Civil Affairs Bureau" in " ".join(c.value for c in at.caption)
    at.selectbox(key="ingest_dataset").set_value("education_schools").run()
    at.radio(key="ingest_source").set_value("example").run()
    at.button(key="ingest_validate").click().run()
    assert not at.exception
    warning = next(_text(w) for w in at.warning if "may not load" in w.value)
    assert warning == ("min is a data steward of Civil Affairs Bureau and may not load "
                       "education_schools, which belongs to Education Bureau: ask that "
                       "department's steward or an administrator")
    shown = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)] + [s.value for s in at.selectbox]
    assert not [s for s in shown if isinstance(s, str) and CJK.search(s)]
    q = _run("data_quality.py", city_path, monkeypatch, lang="en")
    table = q.dataframe[0].value
    assert set(table["department"]) == {"Civil Affairs Bureau", "Education Bureau",
                                        "Ecology and Environment Bureau", "Health Commission",
                                        "Public Security Bureau", "Transport Bureau",
                                        "Urban Management Bureau"}
    assert not table.astype(str).apply(lambda c: c.str.contains(CJK)).any().any()
    never = table[table["freshness"] == "Never loaded"]
    assert (never["rows"] == "—").all() and (never["last_loaded"] == "—").all()
