"""Charts of the trends page drawn on the server as SVG: a series over the years, and the
population pyramid.

A chart library's figure makes the browser fetch and run that library (several megabytes of
script) the first time a visitor opens the page: on the trends page that was about a second
of a first visit's 2.3–2.9 s. The four figures there are simple (bars, stacked areas and
lines over a dozen years; two rows of bars by age band), so they are drawn here as markup, as
the district map and the small multiples already are: round ticks, a legend, every mark
saying its series, year (or age band) and value on hover (its SVG title), all text escaped.
Each mark also carries its series, position and value as ``data-`` attributes, which is how
the tests read a chart, as a screen reader or a scraper would.

>>> svg = series_svg([2019, 2020], [Series("Births", [10, 20], "#219ebc", "bar")],
...                  "Births and deaths", "persons", "{:,.0f}".format)
>>> svg.count('class="mark"'), 'data-value="20"' in svg, svg.startswith("<svg")
(2, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dashboard.components.svg import nice_ticks, svg_open, svg_text, text_em, value_gridline

#: room for the title and the legend above, for the value ticks on each side, for the years
#: below; a plot's height
TITLE_H, LEGEND_H, SIDE, BELOW, PLOT_H = 26.0, 24.0, 58.0, 34.0, 250.0
GRID, AXIS, MUTED, INK = "#eeeeee", "#999999", "#666666", "#262730"


@dataclass(frozen=True)
class Series:
    """One series of a chart: ``values`` one per year (NaN or None: no value), drawn as
    ``kind`` ``"line"``, ``"bar"`` (bars side by side per year), ``"area"`` (areas stacked
    in the order given) or ``"band"`` (the range from ``lower`` up to ``values``, e.g. an
    interval, drawn under the lines); ``right``: a line on the value axis on the right;
    ``dash``: a dashed line (a forecast); ``opacity`` of a band's fill, ``edges``: a band's
    edges drawn solid."""

    name: str
    values: Sequence[float | None]
    colour: str
    kind: str = "line"
    right: bool = False
    lower: Sequence[float | None] | None = None
    dash: bool = False
    opacity: float = 0.2
    edges: bool = False


def _num(v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _span(values: list[float], from_zero: bool) -> tuple[float, float, list[float]]:
    """The value axis: its ends and round ticks. From zero for bars and areas (and up to the
    next round value above the highest); padded by 8 % each side for lines."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0, [0.0, 1.0]
    lo, hi = min(finite), max(finite)
    if from_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    else:
        pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    if hi <= lo:
        hi = lo + 1.0
    ticks = nice_ticks(lo, hi, most=6)
    if from_zero and len(ticks) >= 2 and ticks[-1] < hi:
        ticks.append(round(ticks[-1] + ticks[1] - ticks[0], 12))
        hi = ticks[-1]
    return lo, hi, ticks


def _legend(items: list[tuple[str, str, str]], x0: float, x_max: float, y: float,
            size: float) -> tuple[list[str], int]:
    """Swatches and names, ``(name, colour, kind)``, in rows from ``y`` that wrap before
    ``x_max``; the markup and the number of rows."""
    out, x, rows = [], x0, 1
    for name, colour, kind in items:
        width = 21 + text_em(name) * size + 18
        if x > x0 and x + width - 18 > x_max:
            x, y, rows = x0, y + LEGEND_H, rows + 1
        if kind in ("line", "dash"):
            dash = ' stroke-dasharray="5 3"' if kind == "dash" else ""
            out.append(f'<line x1="{x:.1f}" x2="{x + 16:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                       f'stroke="{colour}" stroke-width="2.4"{dash}/>')
        elif kind == "outline":
            out.append(f'<rect x="{x:.1f}" y="{y - 5:.1f}" width="16" height="10" '
                       f'fill="none" stroke="{colour}" stroke-width="1.6"/>')
        else:
            opacity = kind.partition(":")[2] if kind.startswith("band:") else "1"
            out.append(f'<rect x="{x:.1f}" y="{y - 5:.1f}" width="16" height="10" '
                       f'fill="{colour}" fill-opacity="{opacity}"/>')
        out.append(f'<text x="{x + 21:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{INK}" '
                   f'dominant-baseline="middle">{svg_text(name)}</text>')
        x += width
    return out, rows


def _mark(tag: str, series: str, at, value: float, hover: str, attrs: str) -> str:
    return (f'<{tag} class="mark" data-series="{svg_text(series)}" data-x="{svg_text(at)}" '
            f'data-value="{value:.10g}" {attrs}><title>{svg_text(hover)}</title></{tag}>')


def series_svg(years: Sequence[int], series: list[Series], title: str, y_label: str,
               value_text: Callable[[float], str], right_label: str = "",
               right_text: Callable[[float], str] | None = None, width: float = 1000.0,
               year_step: int | None = None, tick_text: Callable[[float], str] | None = None,
               legend: bool = True) -> str:
    """The chart as SVG markup: ``series`` over ``years``, ``title`` above, ``y_label`` by the
    left value axis (``right_label`` by the right one, for series with ``right``),
    ``value_text`` writing a value (``right_text`` one on the right axis; ``tick_text`` a
    tick of the left one, by default ``value_text``); a year label every ``year_step`` years
    (every year up to eight, else every other); ``legend``: name the series above the plot."""
    years = [int(y) for y in years]
    if not years or not series:
        return ""
    right_text = right_text or value_text
    tick_text = tick_text or value_text
    font = 12.0 if width >= 800 else 11.0
    n = len(years)
    left_series = [s for s in series if not s.right]
    right_series = [s for s in series if s.right]
    areas = [s for s in left_series if s.kind == "area"]
    bars = [s for s in left_series if s.kind == "bar"]
    stacked = [0.0] * n
    tops = []
    for s in areas:
        stacked = [a + (0.0 if math.isnan(_num(v)) else _num(v))
                   for a, v in zip(stacked, s.values, strict=True)]
        tops.append(list(stacked))
    left_values = [v for s in left_series if s.kind != "area" for v in map(_num, s.values)]
    left_values += [v for s in left_series if s.lower is not None for v in map(_num, s.lower)]
    left_values += [v for t in tops for v in t]
    lo, hi, ticks = _span(left_values, from_zero=bool(areas or bars))
    rlo, rhi, rticks = _span([_num(v) for s in right_series for v in s.values], False) \
        if right_series else (0.0, 1.0, [])
    # room on the left for the widest tick and the axis name beside it
    plot_l = max(SIDE, 30.0 + (font - 1) * max((text_em(tick_text(t)) for t in ticks),
                                               default=0.0))
    plot_r = width - (SIDE if right_series else 16.0)
    swatches = [(s.name, s.colour, "dash" if s.dash else
                 (f"band:{max(s.opacity, 0.3):g}" if s.kind == "band" else s.kind))
                for s in series]
    legend_marks, legend_rows = _legend(swatches, plot_l, plot_r, TITLE_H + LEGEND_H / 2, font) \
        if legend else ([], 1)
    top = TITLE_H + LEGEND_H * legend_rows + 8
    bottom = top + PLOT_H
    height = bottom + BELOW
    slot = (plot_r - plot_l) / n
    step = year_step or (1 if n <= 8 else 2)

    def x_at(i: int) -> float:
        return plot_l + (i + 0.5) * slot

    def y_at(v: float, a: float = lo, b: float = hi) -> float:
        return bottom - (v - a) / (b - a) * PLOT_H

    out = [svg_open(width, height, title),
           f'<text x="{plot_l:.1f}" y="17" font-size="{font + 3:g}" fill="{INK}">'
           f"{svg_text(title)}</text>"]
    out += legend_marks
    out += [value_gridline(y_at(t), plot_l, plot_r, tick_text(t), font - 1) for t in ticks]
    for t in rticks:
        ty = y_at(t, rlo, rhi)
        out.append(f'<text x="{plot_r + 6:.1f}" y="{ty:.1f}" font-size="{font - 1:g}" '
                   f'dominant-baseline="middle" fill="{MUTED}">{svg_text(right_text(t))}</text>')
    mid = (top + bottom) / 2
    out.append(f'<text x="12" y="{mid:.1f}" font-size="{font:g}" fill="{MUTED}" '
               f'text-anchor="middle" transform="rotate(-90 12 {mid:.1f})">'
               f"{svg_text(y_label)}</text>")
    if right_series and right_label:
        rx = width - 10
        out.append(f'<text x="{rx:.1f}" y="{mid:.1f}" font-size="{font:g}" fill="{MUTED}" '
                   f'text-anchor="middle" transform="rotate(90 {rx:.1f} {mid:.1f})">'
                   f"{svg_text(right_label)}</text>")
    for i, y in enumerate(years):
        if (y - years[0]) % step == 0:
            out.append(f'<text x="{x_at(i):.1f}" y="{bottom + 16:.1f}" font-size="{font - 1:g}" '
                       f'text-anchor="middle" fill="{MUTED}">{y}</text>')
    # stacked areas (a stacked bar where there is a single year)
    below = [0.0] * n
    for s, upper in zip(areas, tops, strict=True):
        values = [_num(v) for v in s.values]
        if n == 1:
            w = min(slot * 0.3, 80.0)
            y0, y1 = y_at(below[0]), y_at(upper[0])
            out.append(_mark("rect", s.name, years[0], values[0],
                             f"{s.name} {years[0]}: {value_text(values[0])}",
                             f'x="{x_at(0) - w / 2:.1f}" y="{y1:.1f}" width="{w:.1f}" '
                             f'height="{max(y0 - y1, 0):.1f}" fill="{s.colour}"'))
        else:
            pts = [f"{x_at(i):.1f},{y_at(upper[i]):.1f}" for i in range(n)]
            pts += [f"{x_at(i):.1f},{y_at(below[i]):.1f}" for i in reversed(range(n))]
            out.append(f'<polygon points="{" ".join(pts)}" fill="{s.colour}" '
                       f'fill-opacity="0.85" stroke="{s.colour}"/>')
            for i in range(n):
                if math.isfinite(values[i]):
                    out.append(_mark("circle", s.name, years[i], values[i],
                                     f"{s.name} {years[i]}: {value_text(values[i])}",
                                     f'cx="{x_at(i):.1f}" cy="{y_at(upper[i]):.1f}" r="3.5" '
                                     f'fill="{s.colour}"'))
        below = upper
    # bands (an interval, a range of scenarios) under the bars and lines
    for s in [s for s in left_series if s.kind == "band"]:
        upper = [_num(v) for v in s.values]
        lower = [_num(v) for v in (s.lower if s.lower is not None else s.values)]
        have = [i for i in range(n) if math.isfinite(upper[i]) and math.isfinite(lower[i])]
        if not have:
            continue
        pts = [f"{x_at(i):.1f},{y_at(upper[i]):.1f}" for i in have]
        pts += [f"{x_at(i):.1f},{y_at(lower[i]):.1f}" for i in reversed(have)]
        edge = f'stroke="{s.colour}" stroke-width="1.5"' if s.edges else 'stroke="none"'
        out.append(f'<polygon points="{" ".join(pts)}" fill="{s.colour}" '
                   f'fill-opacity="{s.opacity:g}" {edge}><title>{svg_text(s.name)}</title>'
                   "</polygon>")
        for i in have:   # each year's range, for hover and for readers of the markup
            hover = f"{s.name} {years[i]}: {value_text(lower[i])}–{value_text(upper[i])}"
            out.append(f'<circle class="mark" data-series="{svg_text(s.name)}" '
                       f'data-x="{years[i]}" data-value="{upper[i]:.10g}" '
                       f'data-lower="{lower[i]:.10g}" cx="{x_at(i):.1f}" '
                       f'cy="{y_at(upper[i]):.1f}" r="5" fill-opacity="0">'
                       f"<title>{svg_text(hover)}</title></circle>")
    # bars side by side within each year's slot
    if bars:
        group = min(slot * 0.8, 120.0)
        w = group / len(bars)
        for k, s in enumerate(bars):
            for i, v in enumerate(map(_num, s.values)):
                if not math.isfinite(v):
                    continue
                x = x_at(i) - group / 2 + k * w
                y0, y1 = y_at(max(lo, 0.0)), y_at(v)
                out.append(_mark("rect", s.name, years[i], v,
                                 f"{s.name} {years[i]}: {value_text(v)}",
                                 f'x="{x + 0.5:.1f}" y="{min(y0, y1):.1f}" width="{w - 1:.1f}" '
                                 f'height="{abs(y0 - y1):.1f}" fill="{s.colour}"'))
    # lines, with a dot on each year that has a value
    for s in [s for s in series if s.kind == "line"]:
        a, b = (rlo, rhi) if s.right else (lo, hi)
        fmt = right_text if s.right else value_text
        values = [_num(v) for v in s.values]
        run: list[str] = []
        for i, v in enumerate(values + [math.nan]):
            if math.isfinite(v):
                run.append(f"{x_at(i):.1f},{y_at(v, a, b):.1f}")
                continue
            if len(run) > 1:
                dash = ' stroke-dasharray="7 4"' if s.dash else ""
                out.append(f'<polyline points="{" ".join(run)}" fill="none" '
                           f'stroke="{s.colour}" stroke-width="2.2"{dash}/>')
            run = []
        for i, v in enumerate(values):
            if math.isfinite(v):
                out.append(_mark("circle", s.name, years[i], v,
                                 f"{s.name} {years[i]}: {fmt(v)}",
                                 f'cx="{x_at(i):.1f}" cy="{y_at(v, a, b):.1f}" r="3.5" '
                                 f'fill="{s.colour}"'))
    base = y_at(0.0) if lo <= 0.0 <= hi else bottom
    out.append(f'<line x1="{plot_l:.1f}" x2="{plot_r:.1f}" y1="{base:.1f}" y2="{base:.1f}" '
               f'stroke="{AXIS}"/>')
    out.append("</svg>")
    return "".join(out)


def pyramid_svg(bands: Sequence[str], male: Sequence[float], female: Sequence[float],
                names: tuple[str, str], colours: tuple[str, str], title: str, x_label: str,
                band_label: str, ticks: Sequence[float], tick_text: Callable[[float], str],
                value_text: Callable[[float], str],
                compare: tuple[Sequence[float], Sequence[float], tuple[str, str]] | None = None,
                compare_legend: str = "", width: float = 1000.0) -> str:
    """The pyramid as SVG markup: one row per age band (the first at the bottom), males to
    the left and females to the right of the middle, on a symmetric axis with ``ticks`` (0
    and round values up) each side; ``compare``: another year's males, females and their
    names, drawn as a dark outline over the bars (``compare_legend`` names it in the
    legend). A band with no value (suppressed) has no
    bar."""
    bands = [str(b) for b in bands]
    if not bands:
        return ""
    n = len(bands)
    male = [_num(v) for v in male]
    female = [_num(v) for v in female]
    peaks = [v for v in male + female if math.isfinite(v)]
    if compare is not None:
        peaks += [v for v in map(_num, [*compare[0], *compare[1]]) if math.isfinite(v)]
    peak = max(peaks + [max(ticks, default=0.0), 1e-9])
    half = 1.06 * peak
    row_h = min(22.0, 440.0 / n)
    font = 12.0
    left, right = 64.0, width - 16.0
    mid = (left + right) / 2
    top = TITLE_H + LEGEND_H + 8
    bottom = top + row_h * n
    height = bottom + 44

    def x_at(v: float) -> float:   # v < 0: males
        return mid + v / half * (right - mid)

    def y_row(i: int) -> float:    # top of band i's row (band 0 at the bottom)
        return bottom - (i + 1) * row_h

    out = [svg_open(width, height, title),
           f'<text x="{left:.1f}" y="17" font-size="{font + 3:g}" fill="{INK}">'
           f"{svg_text(title)}</text>"]
    legend = [(names[0], colours[0], "bar"), (names[1], colours[1], "bar")]
    if compare is not None:
        legend.append((compare_legend or compare[2][0], "#222222", "outline"))
    out += _legend(legend, left, right, TITLE_H + LEGEND_H / 2, font)[0]
    for t in sorted({abs(t) for t in ticks}):
        for sign in ((1,) if t == 0 else (-1, 1)):
            tx = x_at(sign * t)
            out.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" '
                       f'stroke="{GRID}"/><text x="{tx:.1f}" y="{bottom + 15:.1f}" '
                       f'font-size="{font - 1:g}" text-anchor="middle" fill="{MUTED}">'
                       f"{svg_text(tick_text(t))}</text>")
    out.append(f'<text x="{mid:.1f}" y="{height - 8:.1f}" font-size="{font:g}" '
               f'text-anchor="middle" fill="{MUTED}">{svg_text(x_label)}</text>')
    ymid = (top + bottom) / 2
    out.append(f'<text x="12" y="{ymid:.1f}" font-size="{font:g}" fill="{MUTED}" '
               f'text-anchor="middle" transform="rotate(-90 12 {ymid:.1f})">'
               f"{svg_text(band_label)}</text>")
    label_every = 1 if row_h >= 13 else 2
    for i, band in enumerate(bands):
        y0 = y_row(i)
        if i % label_every == 0:
            out.append(f'<text x="{left - 6:.1f}" y="{y0 + row_h / 2:.1f}" '
                       f'font-size="{font - 1:g}" text-anchor="end" dominant-baseline="middle" '
                       f'fill="{MUTED}">{svg_text(band)}</text>')
        for sign, values, name, colour in ((-1, male, names[0], colours[0]),
                                           (1, female, names[1], colours[1])):
            v = values[i]
            if not math.isfinite(v):
                continue
            x0, x1 = sorted((mid, x_at(sign * v)))
            out.append(_mark("rect", name, band, v, f"{name} · {band}: {value_text(v)}",
                             f'x="{x0:.1f}" y="{y0 + 0.8:.1f}" width="{x1 - x0:.1f}" '
                             f'height="{row_h - 1.6:.1f}" fill="{colour}"'))
    if compare is not None:
        for sign, values, name in ((-1, compare[0], compare[2][0]),
                                   (1, compare[1], compare[2][1])):
            values = [_num(v) for v in values]
            points = []
            for i, v in enumerate(values):
                if not math.isfinite(v):
                    continue
                x = x_at(sign * v)
                points += [f"{x:.1f},{y_row(i) + row_h:.1f}", f"{x:.1f},{y_row(i):.1f}"]
                out.append(_mark("line", name, bands[i], v,
                                 f"{name} · {bands[i]}: {value_text(v)}",
                                 f'x1="{x:.1f}" x2="{x:.1f}" y1="{y_row(i) + row_h:.1f}" '
                                 f'y2="{y_row(i):.1f}" stroke="#222222" stroke-width="1.6"'))
            if len(points) > 2:
                out.append(f'<polyline points="{" ".join(points)}" fill="none" '
                           f'stroke="#222222" stroke-width="1.6"/>')
    out.append(f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" '
               f'stroke="{AXIS}"/>')
    out.append("</svg>")
    return "".join(out)


__all__ = ["Series", "pyramid_svg", "series_svg"]
