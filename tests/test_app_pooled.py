"""The steward's view of a load: consistency findings and the rollback button (AppTest).

The store is the hand-made 3 x 3 grid of ``planning_store`` (60+ residents per cell = 6 x
letter number; 西湖区 330106 holds A, B, D, E, G, H: 162 aged 60+; 滨江区 330108 holds C, F,
I: 108; 余杭区 330110 has nobody). Synthetic care homes: SH1 at A (30 beds, 330106), SH2 at C
(50 beds, 330108). Version 1 of the civil affairs register gives 西湖区 three homes at D, E
and H (20 + 40 + 60 = 120 beds); version 2 keeps only R1 at D (20 beds) and adds a home in
余杭区, where nobody lives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import layers
from analytics.identity import Actor
from analytics.indicators import kpis
from analytics.opendata import accounts
from analytics.planning import accessibility
from analytics.pooling import ingest
from analytics.store import Store
from dashboard import maps
from dashboard.components import canvasmap
from tests.app_helpers import switch_page
from tests.planning_store import CELLS, XY, YEAR, facility, lonlat, make_store

PAGES = Path(__file__).parent.parent / "pages"
HOMES = "civil_affairs_care_homes"
ADMIN = Actor("ada", "administrator")
OLD = {330106: 162, 330108: 108}
#: A facility id that would be a link and emphasis if it were rendered as Markdown.
TRICKY = "R9*[see](http://example.invalid)*"


def _register(path: Path, rows) -> Path:
    lines = ["home_id,name,district,lon,lat,beds,residents,operator,opened_year"]
    for hid, district, (x, y), beds in rows:
        lon, lat = lonlat(x, y)
        lines.append(f"{hid},{hid} 养老院,{district},{lon:.7f},{lat:.7f},{beds},,public,2012")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


V1 = [("R1", "西湖区", XY["D"], 20), ("R2", "西湖区", XY["E"], 40), ("R3", "西湖区", XY["H"], 60)]
V2 = [("R1", "西湖区", XY["D"], 20), (TRICKY, "余杭区", (1000.0, 0.0), 30)]


@pytest.fixture
def city(tmp_path):
    """The 3 x 3 store on disk with v1 of the register loaded, and an administrator's token."""
    path = tmp_path / "city.duckdb"
    store = make_store([facility("SH1", "elderly_care_home", "A", 30, opened=2010, unit="beds"),
                        facility("SH2", "elderly_care_home", "C", 50, opened=2010, unit="beds")],
                       path=path)
    store.write("population_districts", pd.DataFrame(
        [{"city_adcode": 330100, "year": y, "district_adcode": d, "age": 70, "sex": "M",
          "persons": n} for y in (2019, YEAR) for d, n in OLD.items()]))
    admin = accounts.create_first_admin(store, "ada", "Root-pass-123")
    assert admin.role == "administrator"
    ingest.load(store, _register(tmp_path / "v1.csv", V1), HOMES, ADMIN, datum="wgs84")
    token = accounts.sign_in(store, "ada", "Root-pass-123").token
    store.close()
    return path, token, _register(tmp_path / "v2.csv", V2)


def _run(page: str, path: Path, monkeypatch, lang: str, **state) -> AppTest:
    monkeypatch.setenv("CITYBRAIN_STORE", str(path))
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _shown_as_text(at: AppTest) -> str:
    """Everything the page rendered as Markdown (text, captions, alerts)."""
    kinds = [at.markdown, at.caption, at.warning, at.info, at.success, at.error, at.subheader]
    return "\n".join(str(e.value) for k in kinds for e in k)


def _figures(path: Path) -> tuple[list[str], float, float]:
    """Care homes of 西湖区 as the analyses see them, beds per 1,000 aged 60+ there, and the
    2SFCA access of cell G."""
    with Store.open(path) as store:
        listed = layers.facilities_list(store, "elderly_care_home", district=330106)
        values = kpis.of_area(kpis.ratio_values(store), 330106)
        beds = values[(values["indicator"] == "care_beds_per_1000_60plus")
                      & (values["year"] == YEAR)]["value"].iloc[0]
        result = accessibility.analyse(store, "elderly_care_home", YEAR, group="60+")
        g = CELLS.loc[CELLS["letter"] == "G", "cell"].iloc[0]
        access = result.cells.loc[result.cells["cell"] == g, "access"].iloc[0]
    return listed["facility_id"].tolist(), float(beds), float(access)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_findings_are_shown_after_validation_before_loading(city, monkeypatch, tmp_path, lang):
    path, token, v2 = city
    monkeypatch.setattr(ingest, "example_path", lambda name: v2)
    at = _run("data_pooling.py", path, monkeypatch, lang, _session_token=token,
              ingest_dataset=HOMES, ingest_source="example", ingest_datum_civil_affairs_care_homes=
              "wgs84")
    at.button(key="ingest_validate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # valid, with two findings: 西湖区 falls from 120 beds to 20 (17 %), and one home lies
    # in 余杭区 where nobody lives
    warning = at.warning[0].value
    assert warning.startswith("The consistency checks raised 2 finding(s)" if lang == "en"
                              else "一致性检查发现 2 处可疑之处")
    found = pd.concat(at.dataframe[i].value for i in range(len(at.dataframe)))
    district, detail = found.columns[0], found.columns[2]
    if lang == "en":
        assert found[district].tolist() == ["Xihu District", "Yuhang District"]
        assert found[detail].tolist() == ["capacity falls to 17% of today's",
                                          "1 in cells where nobody lives"]
        assert "Check: does the register list every facility of the district?" in \
            _shown_as_text(at)
    else:
        assert found[district].tolist() == ["西湖区", "余杭区"]
        assert found[detail].tolist() == ["容量将降至现有的 17%", "1 处位于无人居住的网格"]
        assert "请核对：这些设施的坐标和坐标系" in _shown_as_text(at)
    # the file's own text is shown in a table, never as Markdown
    assert found.iloc[1, -1] == TRICKY
    assert "example.invalid" not in _shown_as_text(at)
    # shown before loading: the Load button is there and nothing was loaded yet
    assert not at.button(key="ingest_load").disabled
    assert _figures(path)[0] == ["R1", "R2", "R3"]


def test_quality_page_findings_and_rollback_button(city, monkeypatch):
    path, token, v2 = city
    ids, beds, access = _figures(path)
    # v1 by hand: beds per 1,000 aged 60+ in 西湖区 = 120 / 162 x 1,000; D, E and H reach all
    # nine cells within 1,000 m, SH2 (C) all but G: access at G = 120 / 270
    assert ids == ["R1", "R2", "R3"]
    assert beds == pytest.approx(120 / 162 * 1000)
    assert access == pytest.approx(120 / 270)
    with Store.open(path) as store:
        ingest.load(store, v2, HOMES, ADMIN, datum="wgs84")
    ids, beds, access = _figures(path)
    # v2: only R1 (20 beds at D, which reaches all nine cells): 20 / 162 x 1,000 and 20 / 270
    # at G; the 余杭区 home (1,000 m east of E, 1,077 m from G) reaches C, F and I only
    assert ids == ["R1"]
    assert beds == pytest.approx(20 / 162 * 1000)
    assert access == pytest.approx(20 / 270)

    at = _run("data_quality.py", path, monkeypatch, "en", _session_token=token,
              dq_dataset=HOMES)
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value.set_index("title")
    assert table.loc["Registered elderly care homes", "findings"] == "2"
    # a dataset never loaded has no findings to count: a dash, not "None"
    assert table.loc["Registered hospitals", "findings"] == "—"
    assert any(w.value.startswith("Loading raised 2 consistency finding(s) (reported, not "
                                  "refused)") for w in at.warning)
    found = pd.concat(d.value for d in at.dataframe[2:] if "Version" in d.value.columns)
    assert found["Version"].tolist() == [2, 2]
    assert set(found["Finding"]) == {"capacity falls to 17% of today's",
                                     "1 in cells where nobody lives"}
    assert "example.invalid" not in _shown_as_text(at)

    at.button(key="dq_rollback").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value == ("Rolled back: version 1 is current; the analyses use it at "
                                   "their next run.")
    ids, beds, access = _figures(path)
    assert ids == ["R1", "R2", "R3"]
    assert beds == pytest.approx(120 / 162 * 1000)
    assert access == pytest.approx(120 / 270)


APP = Path(__file__).parent.parent / "dashboard" / "app.py"


def _app(path: Path, monkeypatch, page: str, lang: str, **params) -> AppTest:
    monkeypatch.setenv("CITYBRAIN_STORE", str(path))
    at = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in {"lang": lang, "year": str(YEAR), **params}.items():
        at.query_params[k] = v
    switch_page(at, page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]


@pytest.mark.parametrize(("lang", "homes", "grid"), [
    ("en", "● Elderly care home · Source: Civil Affairs Bureau · Registered elderly care homes "
           "v1 (Xihu District); synthetic (Binjiang District)",
     "⬢ Residents · Source: synthetic"),
    ("zh", "● 养老机构 · 数据来源：民政局 · 养老机构名录 第 1 版（西湖区）；合成数据（滨江区）",
     "⬢ 居民 · 数据来源：合成数据"),
])
def test_map_legend_says_which_districts_are_department_data(city, monkeypatch, lang, homes,
                                                             grid):
    # v1 covers 西湖区's care homes; 滨江区 keeps its synthetic home SH2
    path, _, _ = city
    at = _app(path, monkeypatch, "planning_map", lang, pl_type="elderly_care_home")
    captions = _captions(at)
    assert homes in captions, captions
    assert grid in captions, captions
    # the caption above the map gives the full label, with the districts each source feeds
    full = [c for c in captions if c.startswith(("Facilities · ", "服务设施 · "))]
    assert full and ("(Xihu District)" in full[0] or "（西湖区）" in full[0]), full
    # each point's tooltip says whether it is a register's or synthetic
    drawn = json.loads(json.loads(at.get("bidi_component")[0].proto.json)["spec"])
    points = {d["facility_id"]: d["u"] for layer in drawn["layers"]
              if maps.base_id(layer["id"]) == "facilities" for d in canvasmap.rows(layer)}
    said = ("synthetic, not a department's register", "department data: ") if lang == "en" \
        else ("合成数据，非部门名录", "部门数据： ")
    assert points["SH2"].endswith(" · " + said[0]), points
    assert all(points[r].endswith(" · " + said[1] + f"{HOMES} v1") for r in ("R1", "R2", "R3"))


def test_trends_say_what_each_year_rests_on(city, monkeypatch):
    path, _, _ = city
    at = _app(path, monkeypatch, "trends", "en")
    captions = _captions(at)
    # the residents of every year are the synthetic layer here (no register of residents)
    assert "Residents by district, age and sex · Source: synthetic, calibrated to the 2020 " \
           "census, 2019–2020" in captions, captions


@pytest.mark.parametrize(("lang", "expected"), [
    ("zh", ["第 2 版已回退；第 1 版为当前版本", "载入 2 行，为第 2 版；文本编码 utf-8",
            "载入 1 行，为第 1 版；文本编码 utf-8"]),
    ("en", ["version 2 rolled back; version 1 is current",
            "2 rows loaded as version 2; encoding utf-8", "1 rows loaded as version 1; encoding utf-8"]),
])
def test_load_history_is_worded_in_the_page_language(tmp_path, lang, expected):
    """The lineage log's messages (loads and a rollback) as the data-quality page shows them."""
    from dash_fixture import make_store as fixture_store

    from dashboard.i18n import translate
    from pages.data_quality import history_message

    store = fixture_store()
    admin = Actor("ada", "administrator")
    for n, rows in enumerate([[(2019, "西湖区", "M", 12, 4)],
                              [(2019, "西湖区", "M", 12, 4), (2019, "西湖区", "F", 11, 3)]]):
        path = tmp_path / f"vital{n}.csv"
        pd.DataFrame(rows, columns=["年份", "区县", "性别", "出生人数", "死亡人数"]).to_csv(
            path, index=False)
        ingest.load(store, path, "health_vital_events", admin)
    ingest.rollback(store, "health_vital_events", admin)
    history = ingest.history(store, "health_vital_events")
    store.close()
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    assert [history_message(t, r) for _, r in history.iterrows()] == expected
