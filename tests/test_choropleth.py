"""The district map drawn as SVG: geometry, colours, labels and the scale, by hand."""

from __future__ import annotations

import re

import pandas as pd

from dashboard.components.choropleth import district_svg, nice_ticks

#: two unit squares side by side at the equator (cos 0 = 1: no stretch), the second with
#: a hole
GEO = {"features": [
    {"properties": {"adcode": 1}, "geometry": {"type": "Polygon", "coordinates": [
        [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}},
    {"properties": {"adcode": 2}, "geometry": {"type": "MultiPolygon", "coordinates": [[
        [[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]],
        [[1.25, 0.25], [1.75, 0.25], [1.75, 0.75], [1.25, 0.75], [1.25, 0.25]]]]}},
]}


def test_nice_ticks_are_round_steps_inside_the_range():
    # (2.21 - 0.92) / 5 = 0.258: the next round step is 0.5, from 1.0 up to 2.0
    assert nice_ticks(0.92, 2.21) == [1.0, 1.5, 2.0]
    # 321,963 .. 2,210,917: 377,791 a step at most -> 500,000
    assert nice_ticks(321963, 2210917) == [500000, 1000000, 1500000, 2000000]
    assert nice_ticks(3.0, 3.0) == [3.0]


def test_each_district_is_a_path_with_its_colour_and_title():
    frame = pd.DataFrame({"adcode": [1, 2], "name": ["A*", "B"], "v": [1.0, 3.0]})
    svg = district_svg(frame, GEO, "v", "name", "Greens", "unit", ",.2f", title="T",
                       label_points={1: (0.5, 0.5, 0.5), 2: (1.5, 0.5, 0.004)},
                       short_names={1: "A", 2: "B"})
    paths = re.findall(r'<path class="district" d="([^"]*)" fill="([^"]*)"[^>]*>'
                       r"<title>([^<]*)</title>", svg)
    assert len(paths) == 2
    (d1, fill1, title1), (d2, fill2, title2) = paths
    # ColorBrewer Greens: the lowest value the lightest, the highest the darkest
    assert fill1 == "rgb(247, 252, 245)" and fill2 == "rgb(0, 68, 27)"
    # Markdown's own characters are written as entities (the picture is Markdown's HTML)
    assert title1 == "A&#42;&#58; 1.00" and title2 == "B&#58; 3.00"
    # the map is 560 - 92 - 2 x 8 = 452 units wide for 2 degrees: 226 a degree, from x = 8
    # and from y = 34 + 8 at the northern edge (latitude 1)
    assert d1.startswith("M8.0 268.0L234.0 268.0L234.0 42.0L8.0 42.0")
    assert d2.count("M") == 2  # the outer ring and the hole, filled even-odd
    # a label on the district large enough (A), none on the one too small (B); the dark
    # fill would take white, the light one dark text
    assert re.search(r'<text x="121.0" y="155.0"[^>]*fill="#222222">A</text>', svg)
    assert ">B</text>" not in svg
    # the scale: its unit and round ticks from 1 to 3
    assert ">unit</text>" in svg
    assert [t for t in re.findall(r'>([0-9.,]+)</text>', svg)] == ["1.0", "1.5", "2.0", "2.5", "3.0"]
