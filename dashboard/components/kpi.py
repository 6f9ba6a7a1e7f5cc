"""KPI tiles: value, change on one and five years, a sparkline, the colour of the standard,
and the definition (formula, source datasets, standard and its source) one click away.

A tile is a few light elements: the sparkline is a small SVG picture drawn here (a line
over the years, a dot at the year shown) in one Markdown element rather than the metric's
own chart (a Vega-Lite view per tile: a dozen of them cost the browser a quarter of a second
on every load and change of year), and the definition is one Markdown text.
"""

from __future__ import annotations

import base64

import streamlit as st

from analytics.indicators import Indicator
from dashboard.format import format_value

#: Band status -> badge colour (worst is red).
STATUS_COLOUR = {"good": "green", "fair": "yellow", "poor": "orange", "alert": "red"}
DELTA_COLOUR = {"higher_better": "normal", "lower_better": "inverse", "neutral": "off"}
#: The sparkline's colour (the theme's primary colour) and its drawing box in SVG units.
SPARK_COLOUR, SPARK_W, SPARK_H, SPARK_PAD = "#1f6f8b", 240.0, 44.0, 4.0


def value_text(ind: Indicator, value: float | None, lang: str) -> str:
    text = format_value(ind, value, lang)
    if value is None or text == "—":
        return text
    if ind.unit_en == "%":
        return f"{text}%"
    if ind.unit_en == "persons":
        return f"{text}人" if lang == "zh" else text
    return text  # the unit is shown under the value (it would not fit beside it)


def change_text(ind: Indicator, change: float | None, lang: str) -> str | None:
    """A change as people say it: percentage points for shares."""
    if change is None:
        return None
    change = round(change, ind.digits) + 0.0  # no "-0.00" for a change that rounds away
    text = format_value(ind, change, lang, signed=True)
    if ind.unit_en == "%":
        return f"{text} 个百分点" if lang == "zh" else f"{text} pp"
    if ind.unit_en == "persons":
        return f"{text}人" if lang == "zh" else text
    return text


def definition(ind: Indicator, t, lang: str) -> str:
    """The KPI's definition as one Markdown text (one element in the tile's popover, not
    one per line): formula, datasets, standard with source, colour bands."""
    parts = [f"**{ind.label(lang)}**（{ind.unit(lang)}）" if lang == "zh"
             else f"**{ind.label(lang)}** ({ind.unit(lang)})"]
    colon = "：" if lang == "zh" else ": "
    parts.append(f"{t('kpi_formula')}{colon}{ind.formula(lang)}")
    sources = "、".join(t(f"src_{s}") for s in ind.sources) if lang == "zh" else \
        ", ".join(t(f"src_{s}") for s in ind.sources)
    parts.append(f"{t('kpi_sources')}{colon}{sources}")
    if ind.standard:
        text = ind.standard.text_zh if lang == "zh" else ind.standard.text_en
        parts.append(f"{t('kpi_standard')}{colon}{text}  \n"
                     f":gray[:small[{t('kpi_standard_source')}{colon}{ind.standard.source}]]")
    else:
        parts.append(f"{t('kpi_standard')}{colon}{t('kpi_no_standard')}")
    if ind.bands:
        lines = []
        for i, b in enumerate(ind.bands):
            upper = ind.bands[i + 1].lower if i + 1 < len(ind.bands) else None
            lo = None if b.lower == float("-inf") else f"{b.lower:g}"
            hi = None if upper is None else f"{upper:g}"
            pct = "%" if ind.unit_en == "%" else ""
            span = (f"< {hi}{pct}" if lo is None else f"≥ {lo}{pct}" if hi is None
                    else f"{lo}{pct} – {hi}{pct}")
            name = b.label_zh if lang == "zh" else b.label_en
            lines.append(f"- :{STATUS_COLOUR[b.status]}-badge[{name}] {span}")
        parts.append(t("kpi_bands") + "\n" + "\n".join(lines))
    return "\n\n".join(parts)


def sparkline_svg(series) -> str | None:
    """A sparkline of ``series`` (values by year, gaps left out) as an SVG picture: the line
    over the years at their true spacing, and a dot on the last point, the year shown. None
    for fewer than two points."""
    points = [(float(x), float(y)) for x, y in series.dropna().items()]
    if len(points) < 2:
        return None
    x0, x1 = points[0][0], points[-1][0]
    lo, hi = min(y for _, y in points), max(y for _, y in points)
    inner_w, inner_h = SPARK_W - 2 * SPARK_PAD, SPARK_H - 2 * SPARK_PAD

    def xy(x: float, y: float) -> str:
        px = SPARK_PAD + (x - x0) / (x1 - x0) * inner_w
        py = SPARK_PAD + (0.5 if hi == lo else (hi - y) / (hi - lo)) * inner_h
        return f"{px:.1f},{py:.1f}"

    line = " ".join(xy(x, y) for x, y in points)
    cx, cy = xy(*points[-1]).split(",")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SPARK_W:g} {SPARK_H:g}" '
            f'width="{SPARK_W:g}" height="{SPARK_H:g}">'
            f'<polyline points="{line}" fill="none" stroke="{SPARK_COLOUR}" stroke-width="2" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
            f'<circle cx="{cx}" cy="{cy}" r="3.5" fill="{SPARK_COLOUR}"/></svg>')


def sparkline_markdown(series, alt: str) -> str | None:
    """The sparkline as a Markdown picture (an SVG data URI): one light element."""
    svg = sparkline_svg(series)
    if svg is None:
        return None
    return f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()})"


def tile(data: dict, t, lang: str, previous_label: str, five_label: str, key: str) -> None:
    """One KPI tile from :func:`analytics.indicators.tile`'s result."""
    ind: Indicator = data["indicator"]
    series = data["series"].dropna()
    with st.container(border=True):
        st.metric(ind.label(lang), value_text(ind, data["value"], lang),
                  delta=change_text(ind, data["change_1y"], lang),
                  delta_color=DELTA_COLOUR[ind.direction],
                  delta_description=previous_label if data["change_1y"] is not None else None,
                  help=ind.formula(lang))
        span = data.get("span")
        line = t("kpi_line_span", start=span[0], end=span[1]) \
            if span and len(series) > 1 else ""
        spark = sparkline_markdown(series, line)
        if spark is not None:
            st.markdown(spark)
        five = change_text(ind, data["change_5y"], lang) or (
            # a store without that year (one on its own data may hold a single year)
            t("kpi_no_earlier") if data["value"] is not None else "—")
        unit = "" if ind.unit_en in ("%", "persons") else f"{ind.unit(lang)} · "
        st.caption(f"{unit}{five_label} {five}" + (f" · {line}" if line else ""))
        band = data["band"]
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            if band is not None:
                st.badge(band.label_zh if lang == "zh" else band.label_en,
                         color=STATUS_COLOUR[band.status])
            elif data["value"] is None:
                st.badge(t("kpi_no_data"), color="gray", help=t("kpi_no_data_help"))
            else:
                st.badge(t("kpi_context"), color="gray")
            with st.popover(t("kpi_definition"), icon=":material/info:", key=f"def_{key}",
                            type="tertiary"):
                st.markdown(definition(ind, t, lang))
