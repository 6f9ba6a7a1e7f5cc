"""The flat maps' canvas: geometry checked against pyproj and H3, the spec's encoding, and the
component drawn, hovered and clicked in Chromium."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pydeck as pdk
import pytest
from pyproj import Transformer
from server_helpers import streamlit_app

from dashboard import maps
from dashboard.components import canvasmap

ROOT = Path(__file__).resolve().parents[1]
TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


def test_mercator_matches_pyproj():
    lon = np.array([0.0, 120.16, 118.34, 120.72, -73.98])
    lat = np.array([0.0, 30.29, 29.19, 30.56, 40.75])
    x, y = canvasmap.mercator(lon, lat)
    ex, ey = TO_MERCATOR.transform(lon, lat)
    assert np.max(np.abs(x - ex)) <= 0.5 and np.max(np.abs(y - ey)) <= 0.5


def test_hexagon_corners_are_h3s_own_in_web_mercator():
    cells = ["891f1d48177ffff", "881f1d4811fffff", h3.latlng_to_cell(29.3, 118.4, 9)]
    x, y, rings = canvasmap.hexagon_rings(cells)
    for cell, cx, cy, ring in zip(cells, x, y, rings, strict=True):
        lat, lon = h3.cell_to_latlng(cell)   # the ring is drawn from its corners' mean
        assert np.hypot(*(np.array(TO_MERCATOR.transform(lon, lat)) - (cx, cy))) <= 1.5
        corners = np.array(h3.cell_to_boundary(cell))
        ex, ey = TO_MERCATOR.transform(corners[:, 1], corners[:, 0])
        got = np.array(ring).reshape(-1, 2) + [cx, cy]
        assert len(got) == 6
        assert np.max(np.abs(got - np.column_stack([ex, ey]))) <= 1.0


def test_colours_are_sent_as_a_palette_and_each_rows_index():
    red, blue = [200, 0, 0, 190], [0, 0, 200, 190]
    cells = pd.DataFrame({"h3": [h3.latlng_to_cell(30.2, 120.1 + 0.01 * i, 9) for i in range(4)],
                          "c": [red, blue, red, red], "t": ["a", "b", "c", None],
                          "d": ["", "", "", ""], "u": ["", "", "", ""]})
    layer = canvasmap.layer_spec(maps.hex_layer(cells))
    fill = layer["fill"]
    assert [fill["palette"][i] for i in fill["index"]] == [red, blue, red, red]
    assert len(fill["palette"]) == 2 and layer["opacity"] == 0.85 and layer["line"] is None
    # the rows a tooltip reads and a click returns, a missing text as None (never "None")
    assert canvasmap.rows(layer)[1] == {"h3": cells["h3"][1], "t": "b", "d": "", "u": ""}
    assert canvasmap.rows(layer)[3]["t"] is None


def test_points_and_outlines_keep_their_units_and_widths():
    fac = pd.DataFrame({"facility_id": ["F1", "F2"], "lon": [120.0, 120.1], "lat": [30.0, 30.1],
                        "r": [25.0, 40.0], "t": ["A", "B"], "d": ["", ""], "u": ["", ""]})
    points = canvasmap.layer_spec(maps.facility_layer(fac))
    assert points["radius"] == [25.0, 40.0] and points["radiusUnits"] == "meters"
    assert (points["minPx"], points["maxPx"]) == (2.5, 10.0)
    assert points["fill"] == maps.FACILITY_RGB + [230] and points["line"] == [255, 255, 255, 255]
    catch = canvasmap.layer_spec(maps.catchment_layer(fac, 300))
    assert catch["radius"] == 300.0 and not catch["pickable"]
    paths = pd.DataFrame({"adcode": [1], "t": ["西湖区"], "d": ["Xihu"],
                          "path": [[[120.0, 30.0], [120.1, 30.0], [120.1, 30.1]]]})
    outline = canvasmap.layer_spec(maps.district_layers(paths, highlight=1)[1])
    ex, ey = TO_MERCATOR.transform([120.0, 120.1, 120.1], [30.0, 30.0, 30.1])
    assert np.allclose(np.array(outline["paths"][0]).reshape(-1, 2),
                       np.column_stack([ex, ey]), atol=0.5)
    assert outline["lineWidthPx"] == 3.5 and canvasmap.rows(outline) == [
        {"adcode": 1, "t": "西湖区", "d": "Xihu"}]


def test_a_click_chooses_only_rows_the_map_still_draws():
    fac = pd.DataFrame({"facility_id": ["F1", "F2"], "lon": [120.0, 120.1], "lat": [30.0, 30.1],
                        "r": [25.0, 40.0], "t": ["A", "B"], "d": ["", ""], "u": ["", ""]})
    view = pdk.ViewState(longitude=120.0, latitude=30.0, zoom=10)
    m = canvasmap.build([maps.facility_layer(fac)], view)
    layer_id = m.layer_ids["facilities"]
    assert m.picked({"layer": layer_id, "index": 1}, "facilities")[0]["facility_id"] == "F2"
    assert m.picked({"layer": layer_id, "index": 1}, "cells") == []
    assert m.picked({"layer": layer_id, "index": 2}, "facilities") == []
    other = canvasmap.build([maps.facility_layer(fac.iloc[:1])], view)
    assert other.picked({"layer": layer_id, "index": 0}, "facilities") == []
    assert m.picked(None, "facilities") == [] and m.picked("junk", "facilities") == []


def _pixel(page, x: float, y: float) -> tuple[int, int, int]:
    """The colour on screen at page coordinates (x, y)."""
    import io

    from PIL import Image

    png = page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1})
    return Image.open(io.BytesIO(png)).convert("RGB").getpixel((0, 0))


def test_canvas_map_in_chromium(browser):
    """Drawn where the view says, without WebGL; tooltips show hostile names as text; a
    click sends back the layer and row; the wheel zooms about the pointer."""
    sys.path.insert(0, str(Path(__file__).parent))
    from canvasmap_app import HOSTILE

    with streamlit_app(ROOT / "tests" / "canvasmap_app.py") as url:
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.add_init_script("""(() => { window.__webgl = 0;
          const get = HTMLCanvasElement.prototype.getContext;
          HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
            if (String(kind).startsWith('webgl')) window.__webgl += 1;
            return get.call(this, kind, ...rest); }; })();""")
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/")
        page.wait_for_function(
            "document.querySelector('.st-key-test_map .cm-root')?.dataset.drawn === '2'",
            timeout=60000)
        root = page.locator(".st-key-test_map .cm-root")
        box = root.bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        assert box["height"] == pytest.approx(400, abs=2)
        # the hexagon under the view's centre, in its colour at 85 % over the background
        # (#f7f7f5): 0.85 x (200, 0, 0) + 0.15 x (247, 247, 245) = (207, 37, 37)
        r, g, b = _pixel(page, cx, cy)
        assert abs(r - 207) <= 6 and g <= 45 and b <= 45, (r, g, b)
        # the facility 0.01 degree east: 512 x 2^14 / 360 x 0.01 = 233 px right of centre, in
        # its colour at 230/255 over the background: (54, 54, 132)
        dx = 512 * 2 ** 14 / 360 * 0.01
        r, g, b = _pixel(page, cx + dx, cy)
        assert abs(r - 54) <= 6 and abs(g - 54) <= 6 and abs(b - 132) <= 6, (r, g, b)
        # 60 px further east is the background
        assert _pixel(page, cx + dx + 60, cy) == pytest.approx((247, 247, 245), abs=3)
        assert page.evaluate("window.__webgl") == 0

        tip = page.locator(".st-key-test_map .cm-tip")
        page.mouse.move(cx, cy)
        tip.wait_for(state="visible")
        assert tip.inner_text().splitlines() == [HOSTILE, "second line"]
        page.mouse.move(cx + dx, cy)
        page.wait_for_function("document.querySelector('.st-key-test_map .cm-tip')"
                               ".innerText.startsWith('</div>')")
        assert tip.inner_text().splitlines() == [
            "</div><script>window.__pwned=2</script>", "Capacity 10", "line three"]
        assert tip.locator("img, script, a").count() == 0
        assert page.evaluate("window.__pwned") is None

        page.mouse.click(cx + dx, cy)
        said = page.get_by_text("clicked: {")
        page.wait_for_function("[...document.querySelectorAll('[data-testid=stText]')]"
                               ".some(e => e.innerText.includes('\"index\": 0'))", timeout=30000)
        clicked = json.loads(said.inner_text().removeprefix("clicked: "))
        assert clicked["index"] == 0 and maps.base_id(clicked["layer"]) == "facilities"

        # zoom in twice about the facility: it stays under the pointer, and the hexagon's
        # centre, 233 px from it, is 4 x as far after two levels
        page.mouse.move(cx + dx, cy)
        for _ in range(2):
            page.locator(".st-key-test_map .cm-over").dispatch_event(
                "dblclick", {"clientX": cx + dx, "clientY": cy, "bubbles": True})
        page.wait_for_timeout(300)
        page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)
        page.wait_for_timeout(300)
        r, g, b = _pixel(page, cx + dx, cy)
        assert abs(r - 54) <= 6 and abs(b - 132) <= 6, (r, g, b)
        # the hexagon (336 px wide now) is centred 3 x 233 px left of where it was: the
        # view's centre shows the background
        assert _pixel(page, cx, cy) == pytest.approx((247, 247, 245), abs=3)
        assert not errors, errors
        page.close()


def test_a_layer_encoded_once_is_the_same_map_text():
    """A page may send a big layer it encoded before (cached) beside layers it makes anew:
    the map is the same JSON as one made of the layers themselves, in the same order."""
    fac = pd.DataFrame({"facility_id": ["F1"], "lon": [120.0], "lat": [30.0], "r": [25.0],
                        "t": ["养老院 \"A\""], "d": [""], "u": [""]})
    cells = pd.DataFrame({"h3": [h3.latlng_to_cell(30.0, 120.0, 9)], "c": [[1, 2, 3, 190]],
                          "t": ["x"], "d": [""], "u": [""]})
    view = pdk.ViewState(longitude=120.0, latitude=30.0, zoom=12)
    layers = [maps.hex_layer(cells), maps.facility_layer(fac)]
    whole = canvasmap.build(layers, view, label="map")
    parts = canvasmap.build([canvasmap.encode(layers[0]), layers[1]], view, label="map")
    assert json.loads(parts.text) == json.loads(whole.text) == canvasmap.spec(layers, view, "map")
    assert parts.layer_ids == whole.layer_ids == {"cells": layers[0].id,
                                                  "facilities": layers[1].id}
