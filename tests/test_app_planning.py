"""The planning pages in Streamlit's AppTest, on the hand-made 3 x 3 store.

Checks what a planner sees: the headline figures equal the analytics (and the hand-worked
values), the map holds the expected layers, the legend is there, the view is in the URL, and
bad input shows a clear message instead of a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from app_helpers import shown_tables, switch_page
from planning_store import DAY_CARE, SCHOOLS, YEAR, cell_of, lonlat, make_store
from server_helpers import streamlit_app
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from dashboard import layerdocs, maps
from dashboard import planning as pl
from dashboard.components import canvasmap

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
MAP_PAGE = str(ROOT / "pages" / "planning_map.py")
SITES_PAGE = str(ROOT / "pages" / "site_recommendation.py")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "city.duckdb"
    store = make_store(path=path)
    store.checkpoint()
    store.close()
    return path


def run(store_path, monkeypatch, page: str, params: dict[str, str]) -> AppTest:
    monkeypatch.setenv("CITYBRAIN_STORE", str(store_path))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in {"lang": "en", "year": str(YEAR), **params}.items():
        at.query_params[k] = v
    switch_page(at, page)
    at.run()
    assert not at.exception, at.exception
    return at


def map_element(at: AppTest, n: int = 0):
    """The page's flat map (the canvas map component), as AppTest holds it."""
    found = at.get("bidi_component")
    assert found, "no map on the page"
    return found[n]


def map_text(at: AppTest, n: int = 0) -> str:
    """The map's spec as the browser gets it (JSON text)."""
    return json.loads(map_element(at, n).proto.json)["spec"]


def deck_spec(at: AppTest, n: int = 0) -> dict:
    """The flat map as the browser gets it, in deck.gl's terms: its view as
    ``initialViewState`` and each layer's rows (turned back from columns) as ``data``."""
    spec = json.loads(map_text(at, n))
    return {"initialViewState": spec["view"],
            "layers": [{**layer, "data": canvasmap.rows(layer)} for layer in spec["layers"]]}


def metric(at: AppTest, label_start: str) -> str:
    for m in at.metric:
        if m.label.startswith(label_start):
            return m.value
    raise AssertionError(f"no metric {label_start!r}; have {[m.label for m in at.metric]}")


def test_map_page_day_care_kpi_layers_legend(store_path, monkeypatch):
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_day_care"})
    # 60+ within 300 m of an open day-care centre: 6 + 30 = 36, released as 40 (rounded to
    # 10, as every count below district level): 40 / 270 = 14.8 % (hand-worked).
    assert metric(at, "Covered within 300 m") == "14.8%"
    assert metric(at, "Residents aged 60+") == "270"
    assert metric(at, "Facilities open") == "2"      # the centre at I closed in 2018
    spec = deck_spec(at)
    layers = {maps.base_id(layer["id"]): layer for layer in spec["layers"]}
    assert {"cells", "facilities", "districts", "underserved"} <= set(layers)
    assert len(layers["cells"]["data"]) == 9
    assert len(layers["facilities"]["data"]) == 2
    # drawn on the page's own canvas, over no basemap: nothing leaves the machine
    assert not at.get("deck_gl_json_chart") and set(spec) == {"initialViewState", "layers"}
    legend = [m.value for m in at.markdown if "planning-legend" in m.value]
    assert legend and "Residents aged 60+ (per cell)" in legend[0]
    assert at.query_params["pl_type"] == ["elderly_day_care"] or \
        at.query_params["pl_type"] == "elderly_day_care"


def test_map_page_reconciles_the_ratio_with_walking_distance(store_path, monkeypatch):
    """By hand (tests/test_accessibility.py): 30 day-care places against 2.7 required
    (1,111 % of the standard, a surplus of 27.3), yet of 270 residents aged 60+ only 36
    (released: 40, 14.8 %) within 300 m; the sentence says the places stand elsewhere."""
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_day_care"})
    assert metric(at, "Capacity ÷ the standard's need (district level)") == "1,111%"
    assert metric(at, "Within a 300 m walk (cell level)") == "14.8%"
    text = " ".join(m.value for m in at.markdown)
    assert "surplus of 27.3 places" in text
    assert "Of 270 residents aged 60+, 40 live within 300 m and 230 beyond" in text
    sentence = next(i.value for i in at.info if i.value.startswith("Why they differ"))
    assert "enough elderly day-care centre capacity (1,111%)" in sentence
    assert "230 residents aged 60+ live farther (14.8% covered)" in sentence
    # the supply tab says gaps in words: the city's primary schools are short by 450 - 131
    supply = next(df for df in shown_tables(at) if "Shortfall or surplus" in df.columns)
    assert "shortfall of 319 places" in set(supply["Shortfall or surplus"])


def _unmet_parts(text: str) -> tuple[int, int, int]:
    """(unmet, beyond, near a full facility) from the panel's unmet-demand line."""
    import re

    m = re.search(r"Unmet demand: ([\d,]+)\*\* have no .* = the ([\d,]+) beyond \d+ m \+ "
                  r"([\d,]+) within reach", text)
    assert m, text
    return tuple(int(g.replace(",", "")) for g in m.groups())


@pytest.mark.parametrize("params, figures", [
    # day care, city: 270 aged 60+, 36 covered -> 40, beyond 230; nobody near a full
    # centre: unmet 230 = 230 + 0
    ({"pl_type": "elderly_day_care"}, (270, "14.8%", 40, 230, 0, 230)),
    # primary schools in 西湖区: 270 children, 170 covered, beyond 100; the covered cells'
    # 2SFCA shortfall 5 + 20 + 15 + 35 = 75 -> 80: unmet 100 + 80 = 180
    ({"pl_type": "primary_school", "district": "330106"}, (270, "63.0%", 170, 100, 80, 180)),
])
def test_every_count_on_the_map_is_the_one_released_figure(store_path, monkeypatch, params,
                                                           figures):
    """The tiles, the reconciliation panel, its sentence and the district table show the
    same released figures (worked by hand above), each under its own label: "beyond" and
    "no place in reach" are different people, and the panel says how they add up."""
    residents, pct, covered, beyond, near, unmet = figures
    at = run(store_path, monkeypatch, MAP_PAGE, params)
    radius = "300" if params["pl_type"] == "elderly_day_care" else "500"
    assert metric(at, f"Covered within {radius} m") == pct
    assert metric(at, f"Within a {radius} m walk") == pct
    assert metric(at, "Residents aged") == f"{residents:,}"
    assert metric(at, "Unmet: no place in reach") == f"{unmet:,}"
    text = " ".join(m.value for m in at.markdown)
    assert (f"Of {residents:,} residents" in text and f"{covered:,} live within {radius} m and "
            f"{beyond:,} beyond" in text)
    assert _unmet_parts(text) == (unmet, beyond, near)
    sentence = next(i.value for i in at.info if "Why they differ" in i.value
                    or "Both fall short" in i.value)
    assert f"{beyond:,} residents" in sentence and pct in sentence
    table = shown_tables(at)[0]
    area = table[table.iloc[:, 0] == ("Whole city" if "district" not in params
                                      else "Xihu District")].iloc[0]
    assert int(area.iloc[1]) == residents and int(area.iloc[2]) == covered
    assert int(area.iloc[3]) == beyond and int(area["Unmet demand (residents)"]) == unmet


def test_map_page_schools_district_and_url_view(store_path, monkeypatch):
    params = {"pl_type": "primary_school", "district": "330106", "pl_metric": "access",
              "pl_layers": "facilities,catchments,districts"}
    at = run(store_path, monkeypatch, MAP_PAGE, params)
    # 330106: children 6-11 in A, B, D, E, G, H = 270; covered A, D, E, G = 170 -> 63.0 %.
    assert metric(at, "Covered within 500 m") == "63.0%"
    assert metric(at, "Residents aged 6-11") == "270"
    layers = {maps.base_id(layer["id"]) for layer in deck_spec(at)["layers"]}
    # the chosen district's outline is drawn thicker over every district's
    assert layers == {"cells", "facilities", "catchments", "districts", "districts_highlight"}
    legend = next(m.value for m in at.markdown if "planning-legend" in m.value)
    # 2SFCA by hand: P1 (85 places) reaches A, D, G, E (170 children): 0.5 each; P2 (46)
    # reaches C, F, I, E (230): 0.2; so A, D, G have 500 and E 700 places per 1,000
    # against the standard's 1,000. B and H reach no school: grey, and it says why.
    assert "Grey: no primary school within 500 m" in legend and "places per 1,000" in legend
    assert "500 – 700 · half the standard to the standard" in legend
    assert "0 – 500 · below half the standard" in legend and "≥" not in legend
    # the district summary table is the analytics' table (city row first)
    table = shown_tables(at)[0]
    assert table.iloc[0, 0] == "Whole city" and int(table.iloc[0, 1]) == 450
    # each column written with the decimals its shown values have (77.8 %, 291.1 places),
    # not four (the format must be read from the table as shown, after rounding)
    markup = next(m.value for m in at.markdown if "<table" in m.value)
    row = re.search(r"Whole city</th>(.*?)</tr>", markup).group(1)
    cells = re.findall(r">([^<>]*)</td>", row)
    assert cells[:2] == ["450", "350"] and "77.8" in cells and "291.1" in cells


def test_map_page_radius_override_is_recorded(store_path, monkeypatch):
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_day_care",
                                                  "pl_radius": "450"})
    # 450 m: A covers A, B, D; E covers B, D, E, F, H -> 6 x 26 = 156, released as 160:
    # 160 / 270 = 59.3 %
    assert metric(at, "Covered within 450 m") == "59.3%"
    assert any("450 m" in i.value and "300 m" in i.value for i in at.info)


def test_map_page_bad_link_values(store_path, monkeypatch):
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "library", "district": "330110"})
    assert any("pl_type=library" in w.value for w in at.warning)
    # 330110 exists but nobody lives there
    assert any("has no residents" in e.value for e in at.error)


def test_map_page_type_without_facilities(store_path, monkeypatch):
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_care_home"})
    assert any("no elderly care home facilities" in w.value for w in at.warning)
    assert metric(at, "Covered within 1000 m") == "0.0%"


def test_sites_page_recommends_the_centre(store_path, monkeypatch):
    at = run(store_path, monkeypatch, SITES_PAGE, {"pl_type": "primary_school", "pl_k": "1"})
    assert metric(at, "Coverage now") == "77.78%"
    assert metric(at, "Coverage after") == "100.00%"
    assert metric(at, "Residents newly covered") == "100"
    assert metric(at, "Optimality gap") == "0.00%"
    sites = shown_tables(at)[0]
    assert sites["Site id"].iloc[0] == cell_of("E")
    # a site a planner can name: its district and the nearest open facility (the day-care
    # centre DC2 stands in the same cell E; no name of 西湖区's says its sub-district)
    assert (sites["District"].iloc[0], sites["Where (sub-district, community)"].iloc[0]) == \
        ("Xihu District", "")
    # (the name in both forms: 名称 míng chēng; the name does not say its kind, so it is added)
    assert sites["Nearest open facility"].iloc[0] == \
        "DC2 Mingcheng (DC2 名称) (elderly day-care centre)"
    assert sites["Distance to it (m)"].iloc[0] == 0
    layers = {maps.base_id(layer["id"]) for layer in deck_spec(at)["layers"]}
    assert {"cells", "facilities", "sites", "site_catchments", "districts"} <= layers
    # the site's gain as a bar drawn by the server: one bar, its 100 residents written on it
    pictures = [m.value for m in at.markdown if 'class="bar"' in m.value]
    assert len(pictures) == 1 and pictures[0].count('<rect class="bar"') == 1
    assert ">100</text>" in pictures[0]
    assert not at.get("arrow_vega_lite_chart")  # no chart library to load for it


def test_bars_are_drawn_to_scale_from_zero():
    """Bars of 300 and 100 on a 0-300 axis: heights 3 to 1, both standing on the axis; a
    value that is not a number gets its label and no bar; text is escaped."""
    import re

    from dashboard.components.bars import ABOVE, PLOT_H, bars_svg

    svg = bars_svg(["1", "2", "<3>"], [300.0, 100.0, float("nan")], "Rank", "Gain",
                   "{:,.0f}".format)
    bars = [dict(zip(("y", "h"), map(float, m), strict=True)) for m in
            re.findall(r'<rect class="bar" x="[\d.]+" y="([\d.]+)" width="[\d.]+" '
                       r'height="([\d.]+)"', svg)]
    assert len(bars) == 2
    assert bars[0]["h"] == pytest.approx(PLOT_H, abs=0.1)  # 300 is the axis' top tick
    assert bars[0]["h"] / bars[1]["h"] == pytest.approx(3.0, rel=1e-3)
    assert all(b["y"] + b["h"] == pytest.approx(ABOVE + PLOT_H, abs=0.1) for b in bars)
    assert "&lt;3&gt;" in svg and "<3>" not in svg
    assert bars_svg([], [], "Rank", "Gain", str) == ""


def test_sites_page_shows_the_existing_facilities_before_it_is_asked(store_path, monkeypatch):
    """Before any sites are asked for, the map already shows where the type's facilities are
    (the two primary schools, at D and at F, 400 m either side of E) and who is out of their
    500 m reach: the cells B and H (566 m from both schools; A, C, G and I are 400 m from
    one, E 400 m from both), no proposed sites yet; the map is the one an answer then redraws
    (the same key), the prompt above it."""
    at = run(store_path, monkeypatch, SITES_PAGE, {"pl_type": "primary_school"})
    assert any("press “Recommend sites”" in i.value for i in at.info)
    assert not at.metric and len(at.get("bidi_component")) == 1
    before = map_element(at).proto.id
    layers = {maps.base_id(layer["id"]): layer for layer in deck_spec(at)["layers"]}
    assert set(layers) == {"cells", "facilities", "districts"}
    assert sorted(r["h3"] for r in layers["cells"]["data"]) == sorted([cell_of("B"),
                                                                        cell_of("H")])
    where = sorted((round(r["lon"], 6), round(r["lat"], 6)) for r in layers["facilities"]["data"])
    assert where == sorted((round(lon, 6), round(lat, 6))
                           for lon, lat in (lonlat(-400.0, 0.0), lonlat(400.0, 0.0)))
    assert any("beyond the reach of the existing facilities (Primary school)" in c.value
               for c in at.caption)
    # asked: the same map (one, under the same id) now also draws who is left and the site
    next(b for b in at.button if b.label == "Recommend sites").click()
    at.run()
    assert len(at.get("bidi_component")) == 1 and map_element(at).proto.id == before
    layers = {maps.base_id(layer["id"]) for layer in deck_spec(at)["layers"]}
    assert {"cells", "facilities", "sites", "districts"} <= layers


def test_sites_page_says_why_before_it_is_asked_when_a_type_cannot_be_analysed(
        store_path, monkeypatch):
    """A type whose residents the store lacks (no child aged 3-5 in the fixture) is said so
    at once, in words, where the map of the existing facilities would be."""
    at = run(store_path, monkeypatch, SITES_PAGE, {"pl_type": "kindergarten"})
    # (shown as text: Markdown's punctuation escaped)
    assert any("no residents of group 3-5 in the city" in re.sub(r"\\(.)", r"\1", e.value)
               for e in at.error)
    assert not at.get("bidi_component")


def test_sites_page_k_too_large(store_path, monkeypatch):
    at = run(store_path, monkeypatch, SITES_PAGE, {"pl_type": "primary_school", "pl_k": "10"})
    assert any("k = 10 but there are only 9 candidate sites" in e.value for e in at.error)


def test_a_typed_site_id_is_repeated_as_written_not_as_markdown(store_path, monkeypatch):
    """A planner's typed lock list comes back in the refusal as text: no link, no bold, no
    terminal escape, but every character still there for them to read."""
    typed = "[x](http://evil.example) **b** \x1b[2J"
    at = run(store_path, monkeypatch, SITES_PAGE, {"pl_type": "primary_school"})
    at.text_input(key="pl_lock").set_value(typed)
    next(b for b in at.button if b.label == "Recommend sites").click()
    at.run()
    refusal = next(e.value for e in at.error if "not among the candidate sites" in e.value)
    assert "](http" not in refusal and "**" not in refusal and "\x1b" not in refusal
    # Markdown drops the backslash before punctuation: what is read is what was typed
    assert "locked site(s) " + typed.replace("\x1b", "\\x1b") in re.sub(
        r"\\(.)", r"\1", refusal)


def test_classes_and_parents():
    """Legend classes and the vectorised H3 parent agree with hand values and with h3."""
    import h3
    import numpy as np

    from analytics.planning.cells import parent_cells
    from dashboard import maps

    # quintile breaks of 1..10 are 2.8, 4.6, 6.4, 8.2, 10, shown rounded: 3, 5, 6, 8, 10
    idx, labels = maps.classify(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), k=5)
    assert labels == ["1 – 3", "4 – 5", "6", "7 – 8", "9 – 10"]
    assert idx.tolist() == [0, 0, 0, 1, 1, 2, 3, 3, 4, 4]
    # the median of 1, 2, 3, 400 is 2.5; the top class is closed at the largest value
    _, labels = maps.classify(np.array([1.0, 2.0, 3.0, 400.0]), k=2, decimals=1)
    assert labels == ["1.0 – 2.5", "2.6 – 400.0"]
    # breaks a planner can quote: two significant figures
    assert [maps.nice_number(x) for x in (1234.5, 0.04561, 18000.1)] == [1200, 0.046, 18000]
    # the standard's bands (kindergarten: 900 places per 1,000 children): below half,
    # half to it, meets, twice or more up to the largest value (no "≥")
    idx, labels, bands = maps.standard_classes(np.array([100, 500, 900, 1000, 5000.0]), 900)
    assert labels == ["0 – 450", "450 – 900", "900 – 1,800", "1,800 – 5,000"]
    assert idx.tolist() == [0, 1, 2, 2, 3] and bands == [0, 1, 2, 3]
    _, labels, bands = maps.standard_classes(np.array([100, 700.0]), 900)
    assert (labels, bands) == (["0 – 450", "450 – 700"], [0, 1])
    cells = [h3.latlng_to_cell(30 + n * 0.01, 120 + n * 0.013, 9) for n in range(50)]
    parents = parent_cells([h3.str_to_int(c) for c in cells], 8)
    assert [h3.int_to_str(int(p)) for p in parents] == [h3.cell_to_parent(c, 8) for c in cells]


def test_map_tooltip_says_unmet_once_for_cells_out_of_reach():
    """A hexagon that reaches no day-care centre has all its residents unmet: its tooltip
    says the centre is out of reach and leaves the unmet line empty (it would repeat the
    residents' figure); a hexagon in reach says its unmet demand."""
    from analytics.planning import accessibility
    from dashboard import planning as pl

    store = make_store()
    result = accessibility.analyse(store, "elderly_day_care", YEAR)
    rows, _, res = pl.hex_data.__wrapped__(store, result, "k", "elderly_day_care", YEAR,
                                           "60+", 300, "persons", "en", None)
    assert res == 9
    reach = result.cells.set_index("h3")["facilities_in_reach"]
    shown = rows.set_index("h3").loc[reach.index]
    out, within = reach == 0, reach > 0
    assert out.any() and within.any()
    assert (shown.loc[out, "u"] == "").all()
    assert shown.loc[out, "d"].str.startswith("Grey: no elderly day-care centre within").all()
    assert shown.loc[within, "u"].str.match(r"^Unmet demand (\d[\d,]*|1-9 \(suppressed\)) ").all()
    store.close()


@pytest.mark.e2e
def test_map_page_in_chromium(tmp_path, browser):
    """Real server, real browser: hexagons, facilities and outlines drawn; no outside request."""
    import time

    import numpy as np
    from PIL import Image

    # a store file of its own: the AppTests above keep theirs open in this process, and
    # DuckDB lets one process at a time hold a file
    store_path = tmp_path / "e2e.duckdb"
    make_store(path=store_path).close()
    port = None
    if __import__("os").environ.get("CITYBRAIN_TEST_PORT"):  # the e2e server holds that one
        port = int(__import__("os").environ["CITYBRAIN_TEST_PORT"]) + 1
    shots = ROOT / "screenshots"
    shots.mkdir(exist_ok=True)
    t_start = time.time()
    with streamlit_app(APP, {"CITYBRAIN_STORE": str(store_path)}, port) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.add_init_script("""(() => { window.__webgl = 0;
          const get = HTMLCanvasElement.prototype.getContext;
          HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
            const made = this.__made; const ctx = get.call(this, kind, ...rest);
            if (ctx && String(kind).startsWith('webgl') && !made) {
              this.__made = true; window.__webgl += 1; }
            return ctx; }; })();""")
        errors, outside, missing = [], [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
            (url, url.replace("127.0.0.1", "localhost"), "data:", "blob:"))
            else None)
        page.goto(f"{url}/planning_map?lang=en&pl_type=primary_school"
                  "&pl_layers=facilities,districts,catchments")
        print(f"server up after {time.time() - t_start:.1f} s")
        page.wait_for_selector(".st-key-pl_map canvas", timeout=60000)
        print(f"map drawn after {time.time() - t_start:.1f} s")
        time.sleep(5)
        chart = page.locator(".st-key-pl_map")
        chart.screenshot(path=str(shots / "e2e_planning_map_chart.png"))
        page.screenshot(path=str(shots / "e2e_planning_map.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.get_by_text("Covered within 500 m").count() >= 1
        # click along the middle row (schools at D and F, cells in between) until an
        # object is picked and its details appear
        box = chart.bounding_box()
        # (either language: the shell may switch it back to Chinese on this rerun)
        details = page.get_by_text("Selected on the map").or_(page.get_by_text("所选对象详情"))
        t_click = time.time()
        for dx in (0.0, 0.11, -0.11, 0.05, -0.05, 0.15, -0.15):
            page.mouse.click(box["x"] + box["width"] * (0.5 + dx), box["y"] + box["height"] / 2)
            try:
                details.wait_for(timeout=4000)
                break
            except Exception:  # noqa: BLE001 (nothing picked at this point; try the next)
                continue
        print(f"picked at dx={dx} after {time.time() - t_click:.1f} s")
        assert details.count() == 1, "clicking the map showed no details"
        assert "pl_sel=" in page.url

        def choose(key: str, option: str, option_zh: str, param: str) -> None:
            """Pick ``option`` (in either language) in the selectbox of Streamlit key ``key``;
            wait for the run and the redraw."""
            target = page.get_by_role("option", name=option, exact=True).or_(
                page.get_by_role("option", name=option_zh, exact=True)).first
            for _ in range(5):  # a click during a rerun can miss: open until the list shows
                page.locator(f".st-key-{key} [data-testid='stSelectbox']").first.click()
                try:
                    target.wait_for(state="visible", timeout=3000)
                    break
                except Exception:  # noqa: BLE001
                    page.keyboard.press("Escape")
                    time.sleep(0.5)
            target.click()
            page.wait_for_url(f"**{param}**", timeout=60000)
            page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')"
                                   " && !document.querySelector('[data-stale=\"true\"]')",
                                   timeout=60000)
            page.mouse.move(0, 0)   # no hover highlight or tooltip on the map
            time.sleep(3)

        # one map for every view: a change of type, then of area, redraws the same canvas
        # (the flat map needs no WebGL at all), and the view moves to the chosen district as
        # a fresh load of that district's link shows it
        choose("pl_type", "Elderly day-care centre", "老年人日间照料中心", "pl_type=elderly_day_care")
        choose("district", "Xihu District", "西湖区", "district=330106")
        assert page.evaluate("() => window.__webgl") == 0
        assert int(page.eval_on_selector(".st-key-pl_map .cm-root", "e => e.dataset.drawn")) > 0
        chart.screenshot(path=str(shots / "e2e_planning_map_district_changed.png"))
        fresh = browser.new_page(viewport={"width": 1400, "height": 1200})
        fresh.goto(f"{url}/planning_map?lang=en&pl_type=elderly_day_care"
                   "&pl_layers=facilities,districts,catchments&district=330106")
        fresh.wait_for_selector(".st-key-pl_map canvas", timeout=60000)
        time.sleep(5)
        fresh.locator(".st-key-pl_map").screenshot(
            path=str(shots / "e2e_planning_map_district_link.png"))
        fresh.close()
        page.close()
    # Streamlit's front end first probes /<page>/_stcore/health and host-config on a deep
    # link (404) and then the root; those are its own, every other failure counts.
    probes = [u for u in missing if u.endswith(("/_stcore/health", "/_stcore/host-config"))]
    assert missing == probes, missing
    errors = [e for e in errors if not (probes and "status of 404" in e)]
    assert not errors, errors
    assert not outside, outside
    img = Image.open(shots / "e2e_planning_map_chart.png").convert("RGB")
    colours = {c for _, c in img.getcolors(1 << 20)}

    def near(rgb, tol=40):
        return any(sum(abs(a - b) for a, b in zip(c, rgb, strict=True)) <= tol for c in colours)

    assert near((33, 33, 120)), "no facility dots drawn"
    assert near((60, 60, 60)), "no district outlines drawn"
    assert near((5, 90, 141), tol=90) or near((43, 140, 190), tol=90) or near((253, 141, 60)), \
        "no classed hexagons drawn"
    # the district chosen on the page is drawn as its own link draws it: same view, same map
    changed, linked = (np.asarray(Image.open(shots / f"e2e_planning_map_district_{n}.png")
                                  .convert("L"), dtype=float) for n in ("changed", "link"))
    assert changed.shape == linked.shape
    assert np.mean(np.abs(changed - linked) > 24) < 0.02, "the view did not follow the area"


@pytest.fixture()
def real_copy(small_store_path, tmp_path) -> Path:
    """A copy of the two-district build: the app keeps its store open in this process, and
    the shared file must stay free for the notebooks' kernels."""
    import shutil

    return Path(shutil.copy(small_store_path, tmp_path / "small.duckdb"))


def test_map_page_looks_ten_years_ahead_on_a_real_build(real_copy, monkeypatch):
    """On the two-district build: the supply tab's table of kindergarten places needed in
    2030 and 2035 holds the city and both districts, with the figures of the forecast API."""
    from analytics import forecast
    from analytics.store import Store

    monkeypatch.setenv("CITYBRAIN_STORE", str(real_copy))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"lang": "en", "year": "2025", "pl_type": "kindergarten"}.items():
        at.query_params[k] = v
    switch_page(at, MAP_PAGE)
    at.run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Looking ahead: Kindergarten needed") for s in at.subheader)
    table = next(df for df in shown_tables(at) if "Gap 2035" in df.columns)
    assert len(table) == 3
    with Store.open(real_copy) as store:
        expected = forecast.district_gaps(store, 2025, (5, 10), ["kindergarten"])
    want = expected[expected["year"] == 2035].set_index("area")
    # the city first, then the districts by their gap in ten years, largest first; each gap
    # said in words (one convention: a shortfall is a shortfall, never a sign)
    order = [330100, *want.drop(330100)["gap"].sort_values(ascending=False).index]

    def words(row):
        kind = {"shortfall": "shortfall of", "surplus": "surplus of"}[row["status"]]
        return f"{kind} {row['amount']:,.0f} places"

    assert list(table["Gap 2035"]) == [words(want.loc[a]) for a in order]


def test_sites_page_plans_for_residents_ten_years_ahead(real_copy, monkeypatch):
    monkeypatch.setenv("CITYBRAIN_STORE", str(real_copy))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"lang": "zh", "year": "2025", "pl_type": "kindergarten", "pl_k": "3",
                 "pl_ahead": "10"}.items():
        at.query_params[k] = v
    switch_page(at, SITES_PAGE)
    at.run()
    assert not at.exception, at.exception
    assert any("按 2035 年预测居民选址" in c.value for c in at.caption)
    assert at.selectbox(key="pl_ahead").value == 10


def test_a_planners_own_basemap_is_a_setting_off_by_default(monkeypatch):
    """Off by default (no provider, no style: nothing leaves the machine); set to the city's
    own tile server's style, the deck draws it; anything else is refused clearly."""
    import json

    import pydeck as pdk

    from analytics.errors import CityBrainError
    from analytics.settings import Settings, settings
    from dashboard import maps

    view = pdk.ViewState(longitude=120.15, latitude=30.25, zoom=11)
    monkeypatch.delenv("CITYBRAIN_BASEMAP_STYLE", raising=False)
    settings.cache_clear()
    spec = json.loads(maps.deck([], view).to_json())
    assert pl.on_canvas() and not pl.on_canvas(three_d=True)
    # pydeck's placeholder style, which the dashboard drops when no provider is set
    assert spec.get("mapProvider") is None and spec.get("mapStyle") in (None, "__MAP_STYLE__")
    monkeypatch.setenv("CITYBRAIN_BASEMAP_STYLE", "http://tiles.city.example/style.json")
    settings.cache_clear()
    try:
        spec = json.loads(maps.deck([], view).to_json())
        assert spec["mapStyle"] == "http://tiles.city.example/style.json"
        assert not pl.on_canvas()   # MapLibre draws the tiles under deck.gl's layers
        with pytest.raises(CityBrainError, match="CITYBRAIN_BASEMAP_STYLE"):
            Settings(settings().data_dir, settings().store_path, "javascript:alert(1)")
    finally:
        monkeypatch.delenv("CITYBRAIN_BASEMAP_STYLE")
        settings.cache_clear()


def test_sites_page_over_a_city_basemap_draws_with_deckgl_before_and_after(store_path,
                                                                          monkeypatch):
    """With the city's own basemap set, the site page's one map is deck.gl's, before an
    answer (who is out of reach, the schools) and after it (the site added)."""
    from analytics.settings import settings

    monkeypatch.setenv("CITYBRAIN_BASEMAP_STYLE", "http://tiles.city.example/style.json")
    settings.cache_clear()
    try:
        at = run(store_path, monkeypatch, SITES_PAGE, {"pl_type": "primary_school"})

        def layer_ids():
            charts = at.get("deck_gl_json_chart")
            assert len(charts) == 1 and not at.get("bidi_component")
            return {maps.base_id(layer["id"])
                    for layer in json.loads(charts[0].proto.json)["layers"]}

        assert {"cells", "facilities", "districts"} <= layer_ids()
        assert "sites" not in layer_ids()
        next(b for b in at.button if b.label == "Recommend sites").click()
        at.run()
        assert not at.exception, at.exception
        assert {"cells", "facilities", "sites", "districts"} <= layer_ids()
    finally:
        monkeypatch.delenv("CITYBRAIN_BASEMAP_STYLE")
        settings.cache_clear()


def test_site_recommendation_starts_from_the_maps_released_coverage(store_path, monkeypatch):
    """Coverage now on the site page is the planning map's (40 of 270 aged 60+, 14.81 %), and
    the residents newly covered are the sum of the sites' released gains (multiples of 10)."""
    at = run(store_path, monkeypatch, SITES_PAGE, {"pl_type": "elderly_day_care", "pl_k": "2"})
    assert metric(at, "Coverage now") == "14.81%"
    newly = int(metric(at, "Residents newly covered").replace(",", ""))
    gains = shown_tables(at)[0]["Newly covered (residents)"].astype(int)
    assert newly == gains.sum() and (gains % 10 == 0).all() and newly > 0
    assert metric(at, "Coverage after") == f"{100 * (40 + newly) / 270:.2f}%"


def test_map_json_is_pydecks_own_content():
    """The deck written with pandas' encoder holds exactly what pydeck writes row by row
    (pydeck's own serialisation of the same layers, given lists of dicts), rounded to
    1e-6 degree; a prepared deck sends that same text."""
    import hashlib
    import math

    import numpy as np
    import pandas as pd
    import pydeck as pdk
    from pydeck.bindings import json_tools

    from dashboard import maps

    hexes = pd.DataFrame({"h3": ["8930e1d8c3bffff", "8930e1d8c37ffff"],
                          "c": [[254, 204, 92, 190], [189, 0, 38, 190]],
                          "t": ["60+ 岁居民 1,230", "60+ 岁居民 1-9"], "d": ["a", "b"],
                          "u": ["x", "y"], "e": [1230.0, np.nan]})
    points = pd.DataFrame({"lon": [120.1234564], "lat": [30.25], "r": [42.5]})
    view = maps.view_for_bounds(120.0, 30.0, 120.3, 30.3)
    ours = maps.deck([maps.hex_layer(hexes), maps.catchment_layer(points, 300)], view)
    # the layer's id names its rows: "cells-" and a 5-byte BLAKE2b digest of the hexagons
    rows = hashlib.blake2b(b"8930e1d8c3bffff\n8930e1d8c37ffff", digest_size=5).hexdigest()
    theirs = pdk.Deck(layers=[
        pdk.Layer("H3HexagonLayer", data=hexes.drop(columns="e").to_dict("records"),
                  id=f"cells-{rows}", get_hexagon="h3", get_fill_color="c", pickable=True,
                  auto_highlight=True, stroked=False, filled=True, extruded=False,
                  get_elevation=0, elevation_scale=1, opacity=0.85, high_precision=True),
        pdk.Layer("ScatterplotLayer", data=[{"lon": 120.123456, "lat": 30.25}],
                  id="catchments", get_position=["lon", "lat"], get_radius=300.0,
                  radius_units="'meters'", filled=True, stroked=True,
                  get_fill_color=[37, 99, 235, 22], get_line_color=[37, 99, 235, 150],
                  line_width_min_pixels=1, pickable=False)],
        initial_view_state=view, map_provider=None, tooltip=maps.TOOLTIP)
    mine = json.loads(ours.to_json())
    reference = json.loads(json.dumps(theirs, default=json_tools.default_serialize))
    assert mine["layers"] == reference["layers"]
    assert mine["layers"][0]["data"][0]["t"] == "60+ 岁居民 1,230"  # UTF-8, not escaped
    assert math.isclose(mine["layers"][1]["data"][0]["lon"], 120.123456)
    prepared = maps.prepare(ours)
    assert prepared.to_json() == ours.to_json() and prepared._tooltip == maps.TOOLTIP


def test_map_view_is_cached_and_switching_type_keeps_the_link(store_path, monkeypatch):
    """Switching the facility type (a control of the map's fragment) redraws the map for the
    new type, mirrors it in the link, and a second visit to the same view gets the same map
    text (made once per view)."""
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_day_care"})
    first = map_text(at)
    at.selectbox(key="pl_type").set_value("primary_school").run()
    assert not at.exception, at.exception
    qp = at.query_params["pl_type"]
    assert (qp[0] if isinstance(qp, list) else qp) == "primary_school"
    kg = deck_spec(at)
    assert maps.base_id(kg["layers"][0]["id"]) == "cells"
    assert map_text(at) != first
    again = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_day_care"})
    assert map_text(again) == first


def _extent(corners: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    lons, lats = [c[0] for c in corners], [c[1] for c in corners]
    return min(lons), min(lats), max(lons), max(lats)


def _shows(view: dict, box: tuple[float, float, float, float]) -> bool:
    """Whether a web-Mercator view (deck.gl: 512 px per 360 degrees at zoom 0) of the map's
    820 x 520 px holds the box around its centre."""
    import math

    deg_per_px = 360 / (512 * 2 ** view["zoom"])
    half_w = 820 / 2 * deg_per_px
    half_h = 520 / 2 * deg_per_px * math.cos(math.radians(view["latitude"]))
    return (view["longitude"] - half_w <= box[0] and box[2] <= view["longitude"] + half_w
            and view["latitude"] - half_h <= box[1] and box[3] <= view["latitude"] + half_h)


def test_map_keeps_one_chart_and_its_view_follows_the_area(store_path, monkeypatch):
    """The map is one chart (one key, so one WebGL context in the browser) through changes
    of facility type and of area. Its view is the area's: the same for every type (a type
    with other residents redraws only the layers), centred on the chosen district's outline
    and holding it, and back on the whole city's when the area goes back to the city."""
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_day_care"})
    chart = map_element(at).proto.id
    city = deck_spec(at)["initialViewState"]
    # the city: three districts side by side, x from -600 to 1,400 m, y from -600 to 600 m
    # (the third has no residents, so a view fitted to the cells would leave it out)
    box = _extent([lonlat(x, y) for x in (-600, 1400) for y in (-600, 600)])
    assert city["longitude"] == pytest.approx((box[0] + box[2]) / 2, abs=1e-5)
    assert city["latitude"] == pytest.approx((box[1] + box[3]) / 2, abs=1e-5)
    assert _shows(city, box)
    at.selectbox(key="pl_type").set_value("primary_school").run()  # children: other cells
    assert not at.exception, at.exception
    assert deck_spec(at)["initialViewState"] == city
    assert map_element(at).proto.id == chart
    # Xihu District (330106): x from -600 to 200 m, padded by 0.01 degree on each side
    at.selectbox(key="district").set_value(330106).run()
    assert not at.exception, at.exception
    xihu = deck_spec(at)["initialViewState"]
    box = _extent([lonlat(x, y) for x in (-600, 200) for y in (-600, 600)])
    assert xihu["longitude"] == pytest.approx((box[0] + box[2]) / 2, abs=1e-5)
    assert xihu["latitude"] == pytest.approx((box[1] + box[3]) / 2, abs=1e-5)
    assert _shows(xihu, box) and xihu["longitude"] != city["longitude"]
    assert map_element(at).proto.id == chart
    at.selectbox(key="district").set_value("city").run()
    assert deck_spec(at)["initialViewState"] == city
    assert map_element(at).proto.id == chart


def test_a_selection_is_kept_with_its_rows_and_dropped_with_them():
    """A click's selection is held by the browser as (layer id, row index). A layer's id
    names its rows, so the same rows keep their id (the selection stays on its object) and
    other rows get another (the browser drops the selection instead of moving it onto
    whatever row now has its index); the page reads only the selection on layers the map
    now draws."""
    import pandas as pd

    def deck_of(h3_cells, facility_ids):
        hexes = pd.DataFrame({"h3": h3_cells, "c": [[0, 0, 0, 190]] * len(h3_cells),
                              "t": "", "d": "", "u": ""})
        fac = pd.DataFrame({"facility_id": facility_ids, "lon": 120.1, "lat": 30.2,
                            "r": 20.0, "t": "", "d": "", "u": ""})
        return maps.prepare(maps.deck([maps.hex_layer(hexes, layer_id="cells"),
                                       maps.facility_layer(fac)],
                                      maps.view_for_bounds(120.0, 30.0, 120.3, 30.3)))

    ab, ab_again, abc = (deck_of(cells, ["F1"]) for cells in (
        [cell_of("A"), cell_of("B")], [cell_of("A"), cell_of("B")],
        [cell_of("A"), cell_of("B"), cell_of("C")]))
    assert ab.layer_ids["cells"] == ab_again.layer_ids["cells"]
    assert ab.layer_ids["cells"] != abc.layer_ids["cells"]
    assert ab.layer_ids["facilities"] == abc.layer_ids["facilities"]   # the same one point
    assert {maps.base_id(i) for i in abc.layer_ids.values()} == {"cells", "facilities"}
    clicked = {ab.layer_ids["cells"]: [{"h3": cell_of("B")}]}
    assert ab_again.picked(clicked, "cells") == [{"h3": cell_of("B")}]
    assert abc.picked(clicked, "cells") == []        # made on other rows: none
    assert abc.picked(clicked, "facilities") == []


# -- names in both forms on English pages (issue 15) ---------------------------------------
CJK = re.compile(r"[\u3400-\u9fff]")
#: Facilities named as registers and the synthetic layer name them (D, F in 西湖区 / 滨江区;
#: the day-care centre at E, where the primary-school site is proposed).
NAMED = {"P1": "西湖区东山街道第三小学", "P2": "滨江区长河街道长河小学",
         "DC1": "西湖区明潮街道翠苑社区居家养老服务照料中心",
         "DC2": "西湖区明潮街道第二居家养老服务照料中心", "DC3": "滨江区长河街道敬老院"}
#: Their English forms, worked out by hand (东山 dōng shān, 长河 cháng hé, 明潮 míng cháo,
#: 翠苑 cuì yuàn; 第三 No. 3).
NAMED_EN = {"P1": "Xihu District Dongshan Subdistrict No. 3 Primary School",
            "P2": "Binjiang District Changhe Subdistrict Changhe Primary School",
            "DC1": "Xihu District Mingchao Subdistrict Cuiyuan Community Home-based Elderly "
                   "Day-care Centre",
            "DC2": "Xihu District Mingchao Subdistrict No. 2 Home-based Elderly Day-care Centre",
            "DC3": "Binjiang District Changhe Subdistrict Elderly Care Home"}


@pytest.fixture(scope="module")
def named_store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("named") / "city.duckdb"
    store = make_store([{**f, "name": NAMED[f["facility_id"]]} for f in SCHOOLS + DAY_CARE],
                       path=path)
    store.checkpoint()
    store.close()
    return path


def chinese_only_in_both_forms(text: str) -> bool:
    """True when every Chinese name in ``text`` stands in brackets right after its English
    form (``English (中文)``), and no other Chinese is left."""
    english = {v: k for k, v in NAMED_EN.items()}
    for en, fid in english.items():
        text = text.replace(f"{en} ({NAMED[fid]})", en)
    return not CJK.search(text)


def layer_data(at: AppTest, layer_id: str) -> list[dict]:
    return next(layer["data"] for layer in deck_spec(at)["layers"]
                if maps.base_id(layer["id"]) == layer_id)


def test_english_map_page_names_facilities_in_both_forms(named_store_path, monkeypatch):
    at = run(named_store_path, monkeypatch, MAP_PAGE,
             {"pl_type": "primary_school", "pl_layers": "facilities,districts",
              "pl_sel": "fac:P1"})
    tips = {d["facility_id"]: d["t"] for d in layer_data(at, "facilities")}
    assert tips == {fid: f"{NAMED_EN[fid]} ({NAMED[fid]})" for fid in ("P1", "P2")}
    # the clicked facility's details: its name in both forms, its department in English
    detail = next(d for d in shown_tables(at) if "Name" in d.columns)
    assert detail["Name"].iloc[0] == f"{NAMED_EN['P1']} ({NAMED['P1']})"
    assert detail["Department"].iloc[0] == "Education Bureau"
    for d in [*shown_tables(at), *(d.value for d in at.dataframe)]:
        for value in [*map(str, d.to_numpy().ravel()), *map(str, d.columns)]:
            assert chinese_only_in_both_forms(value), value
    # Chinese pages keep the names as they are
    zh = run(named_store_path, monkeypatch, MAP_PAGE,
             {"lang": "zh", "pl_type": "primary_school", "pl_layers": "facilities"})
    assert {d["t"] for d in layer_data(zh, "facilities")} == {NAMED["P1"], NAMED["P2"]}


def test_english_sites_page_names_facilities_in_both_forms(named_store_path, monkeypatch):
    at = run(named_store_path, monkeypatch, SITES_PAGE, {"pl_type": "primary_school",
                                                         "pl_k": "1"})
    sites = shown_tables(at)[0]
    # the site at E is in 西湖区; the nearest named facility of 西湖区 is DC2 (in E itself),
    # whose name gives the sub-district 明潮街道; its name says its kind, so no "(…)" kind
    assert sites["Where (sub-district, community)"].iloc[0] == "Mingchao Subdistrict"
    assert sites["Nearest open facility"].iloc[0] == f"{NAMED_EN['DC2']} ({NAMED['DC2']})"
    tips = {d["facility_id"]: d["t"] for d in layer_data(at, "facilities")}
    assert tips == {fid: f"{NAMED_EN[fid]} ({NAMED[fid]})" for fid in ("P1", "P2")}
    # the site's tooltip says it all in one line
    assert layer_data(at, "sites")[0]["t"] == (
        f"Proposed site 1 · Mingchao Subdistrict, Xihu District; 0 m from {NAMED_EN['DC2']} "
        f"({NAMED['DC2']})")
    for value in map(str, sites.to_numpy().ravel()):
        assert chinese_only_in_both_forms(value), value
    zh = run(named_store_path, monkeypatch, SITES_PAGE, {"lang": "zh", "pl_type": "primary_school",
                                                         "pl_k": "1"})
    zh_sites = shown_tables(zh)[0]
    assert (zh_sites["位置（街道/社区）"].iloc[0], zh_sites["最近的开放设施"].iloc[0]) == \
        ("明潮街道", NAMED["DC2"])
    assert layer_data(zh, "sites")[0]["t"].endswith(f"西湖区明潮街道，距{NAMED['DC2']} 0 米")


# -- big layers by URL (dashboard.layerdocs) -----------------------------------------------
@pytest.fixture
def served(monkeypatch):
    """Maps as the dashboard's server sends them: every layer's rows by URL (the 3 x 3
    store's layers are small, so the size from which a layer goes by URL is set to 0)."""
    monkeypatch.setattr(maps, "BY_URL_BYTES", 0)
    pl.map_deck.clear()  # decks cached inline by other tests
    layerdocs.serve()
    yield layerdocs
    layerdocs.serve(False)
    pl.map_deck.clear()


def test_served_map_sends_rows_by_url_and_the_route_serves_the_released_rows(
        store_path, monkeypatch, served):
    # the 3D view is drawn by deck.gl, whose big layers go by URL
    at = run(store_path, monkeypatch, MAP_PAGE, {"pl_type": "elderly_day_care", "pl_3d": "1",
                                                 "pl_layers": "facilities,districts"})
    sent = at.get("deck_gl_json_chart")[0].proto.json
    spec = json.loads(sent)
    urls = {maps.base_id(layer["id"]): layer["data"] for layer in spec["layers"]}
    assert set(urls) == {"cells", "facilities", "districts"}
    assert all(re.fullmatch(r"/map-data/[0-9a-f]{32}\.json", u) for u in urls.values()), urls
    # what goes through the websocket names no cell and no facility: only their URLs
    assert cell_of("E") not in sent and "DC1" not in sent and spec["initialViewState"]

    client = TestClient(Starlette(routes=[served.ROUTE]))
    answer = client.get(urls["cells"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "private, max-age=31536000, immutable"
    rows = answer.json()
    # 60+ per cell is 6 x the letter's number (A=1 .. I=9); a map shows each count as
    # released: rounded to 10, 1-9 suppressed (worked out by hand, never the raw 12, 18 ...)
    released = {"A": "1-9 (suppressed)", "B": "10", "C": "20", "D": "20", "E": "30",
                "F": "40", "G": "40", "H": "50", "I": "50"}
    shown = {r["h3"]: r["t"].split(" residents")[0] for r in rows}
    assert shown == {cell_of(letter): n for letter, n in released.items()}
    # the same rows the page's own look-up gives (what AppTests read), and the same as inline
    assert maps.layer_rows(spec["layers"][0]) == rows
    assert client.get(urls["facilities"]).json() == maps.resolved(spec)["layers"][
        [maps.base_id(layer["id"]) for layer in spec["layers"]].index("facilities")]["data"]
    # gzipped when the browser takes it (the client unzips it)
    zipped = client.get(urls["cells"], headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.json() == rows
    # a token this process never made, or no token at all: nothing
    for wrong in ("/map-data/" + "0" * 32 + ".json", "/map-data/abc.json",
                  urls["cells"].replace(".json", "0.json")):
        missing = client.get(wrong)
        assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"
    # the token is a keyed digest of the content: another process (another secret) makes
    # another one for the same rows
    body = client.get(urls["cells"]).content
    tok = served.token_of(urls["cells"])
    assert served.token(body) == tok
    monkeypatch.setattr(served, "_SECRET", b"another process" * 2)
    assert served.token(body) != tok


def test_unserved_map_keeps_its_rows_inline(store_path, monkeypatch, served):
    """Without the server (a plain ``streamlit run``), the same 3D map carries its rows."""
    view = {"pl_type": "elderly_day_care", "pl_3d": "1"}
    at = run(store_path, monkeypatch, MAP_PAGE, view)
    by_url = maps.resolved(json.loads(at.get("deck_gl_json_chart")[0].proto.json))
    served.serve(False)
    again = run(store_path, monkeypatch, MAP_PAGE, view)
    inline = json.loads(again.get("deck_gl_json_chart")[0].proto.json)
    assert all(isinstance(layer["data"], list) for layer in inline["layers"])
    assert inline == by_url


def test_outlines_are_drawn_to_within_a_pixel_of_the_view(small_store_path):
    """The district outlines a view draws lie within a pixel of the real boundaries at that
    view's zoom, or within the finest outline drawn (measured in web-Mercator metres with
    pyproj, not with the tolerance's own formula), and no view draws more vertices than the
    finest outlines hold."""
    import math

    import numpy as np
    import shapely
    from pyproj import Transformer

    from analytics.store import Store

    mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    with Store.open(small_store_path, read_only=True) as store:
        districts = store.query("planning.districts")
    vertices = {}
    for adcode in (None, *districts["adcode"]):
        view = maps.view_for_area(districts, adcode, pad_deg=0.0 if adcode is None else 0.01)
        paths = maps.district_paths(districts, maps.outline_tolerance(view))
        metres_per_px = 2 * math.pi * 6378137 / (512 * 2 ** view.zoom)
        worst = 0.0
        for row in districts.itertuples():
            real = shapely.from_wkb(bytes(row.geometry))
            real = shapely.transform(real, lambda xy: np.column_stack(
                mercator.transform(xy[:, 0], xy[:, 1])))
            for ring in paths.loc[paths["adcode"] == row.adcode, "path"]:
                drawn = np.asarray(ring)
                line = shapely.LineString(np.column_stack(mercator.transform(drawn[:, 0],
                                                                             drawn[:, 1])))
                part = min(real.geoms if hasattr(real, "geoms") else [real],
                           key=lambda p: p.exterior.distance(line.centroid))
                worst = max(worst, part.exterior.hausdorff_distance(line) / metres_per_px)
        # within a pixel, or (a small district seen whole) within the finest outline drawn:
        # 0.0004 degrees, about 52 Mercator metres at 30.5 N
        finest_px = 0.0004 * 111_319.5 / math.cos(math.radians(30.5)) / metres_per_px
        assert worst <= max(1.05, 1.01 * finest_px), (adcode, worst, finest_px)
        vertices[adcode] = int(paths["path"].map(len).sum())
    finest = int(maps.district_paths(districts, maps.FINEST_OUTLINE_DEG)["path"].map(len).sum())
    assert max(vertices.values()) <= finest
