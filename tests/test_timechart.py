"""Server-drawn charts: marks where the values put them, worked out by hand."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import pytest

from dashboard.components.timechart import Series, pyramid_svg, series_svg


class Marks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.marks, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("class") == "mark":
            self.marks.append({**a, "tag": tag})


def marks(svg: str) -> list[dict]:
    p = Marks()
    p.feed(svg)
    return p.marks


def test_bars_stand_on_zero_in_proportion():
    svg = series_svg([2019, 2020], [Series("births", [300, 100], "#111111", "bar")],
                     "t", "persons", "{:,.0f}".format)
    bars = marks(svg)
    assert [(m["data-x"], float(m["data-value"])) for m in bars] == [("2019", 300), ("2020", 100)]
    bottoms = {round(float(m["y"]) + float(m["height"]), 1) for m in bars}
    assert len(bottoms) == 1                     # one baseline, zero
    h300, h100 = (float(m["height"]) for m in bars)
    assert h300 / h100 == pytest.approx(3.0, rel=1e-2)
    assert "<title>births 2019&#58; 300</title>" in svg  # (a colon, kept from Markdown)


def test_stacked_areas_add_up_and_a_line_has_its_own_axis():
    # two areas: 10 then 30 on top (top of the stack 40); a rate on the right axis
    svg = series_svg([2019, 2020], [Series("a", [10, 10], "#111", "area"),
                                    Series("b", [30, 30], "#222", "area"),
                                    Series("rate", [1.0, 2.0], "#333", "line", right=True)],
                     "t", "persons", "{:,.0f}".format, right_label="‰")
    got = {(m["data-series"], m["data-x"]): m for m in marks(svg)}
    ya, yb = float(got["a", "2019"]["cy"]), float(got["b", "2019"]["cy"])
    # the plot spans y 58 (title 26 + legend 24 + 8) to 308 (+ 250); the axis 0 to 40 (round):
    # the stack's top (40) at 58, a's top (10) a quarter of the way up
    assert yb == pytest.approx(58.0, abs=0.1)
    assert ya == pytest.approx(308.0 - 250.0 * 10 / 40, abs=0.1)
    # the rate's two points span the right axis, not the left one: 1.0 and 2.0 padded by 8 %
    r1, r2 = float(got["rate", "2019"]["cy"]), float(got["rate", "2020"]["cy"])
    assert r1 > r2 and not math.isclose(r1, ya)
    assert float(got["rate", "2020"]["data-value"]) == 2.0


def test_pyramid_bars_leave_the_middle_each_way():
    svg = pyramid_svg(["0-4", "5-9"], [20.0, 10.0], [30.0, float("nan")], ("M", "F"),
                      ("#111", "#222"), "t", "x", "age", [0, 10, 20, 30], "{:g}".format,
                      "{:g}".format, compare=([25.0, 5.0], [20.0, 20.0], ("M0", "F0")),
                      compare_legend="then")
    got = marks(svg)
    bars = {(m["data-series"], m["data-x"]): m for m in got if m["tag"] == "rect"}
    assert set(bars) == {("M", "0-4"), ("M", "5-9"), ("F", "0-4")}   # no bar for no value
    middle = float(bars["F", "0-4"]["x"])
    m0 = bars["M", "0-4"]
    assert float(m0["x"]) + float(m0["width"]) == pytest.approx(middle, abs=0.1)
    # males 20 : females 30 in width; the band 0-4 is the bottom row
    assert float(m0["width"]) / float(bars["F", "0-4"]["width"]) == pytest.approx(2 / 3, rel=1e-2)
    assert float(bars["M", "0-4"]["y"]) > float(bars["M", "5-9"]["y"])
    # the comparison: one line per band and side, the widest (25) inside the picture
    outline = [m for m in got if m["tag"] == "line"]
    assert len(outline) == 4 and all(0 < float(m["x1"]) < 1000 for m in outline)
    assert ">then</text>" in svg


def test_names_are_text():
    svg = series_svg([2020], [Series('<script>x</script> **b** "q"', [1], "#111", "bar")],
                     "<b>t</b>", "p", str)
    p = Marks()
    p.feed(svg)
    assert "script" not in p.tags and "b" not in p.tags
    assert "&lt;script&gt;" in svg and "**" not in svg
