"""KPI tiles: value, change on one and five years, a sparkline, the colour of the standard,
and the definition (formula, source datasets, standard and its source) one click away."""

from __future__ import annotations

import streamlit as st

from analytics.indicators import Indicator
from dashboard.format import format_value

#: Band status -> badge colour (worst is red).
STATUS_COLOUR = {"good": "green", "fair": "yellow", "poor": "orange", "alert": "red"}
DELTA_COLOUR = {"higher_better": "normal", "lower_better": "inverse", "neutral": "off"}


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


def definition(ind: Indicator, t, lang: str) -> None:
    """The KPI's definition: formula, datasets, standard with source, colour bands."""
    st.markdown(f"**{ind.label(lang)}**（{ind.unit(lang)}）" if lang == "zh"
                else f"**{ind.label(lang)}** ({ind.unit(lang)})")
    colon = "：" if lang == "zh" else ": "
    st.markdown(f"{t('kpi_formula')}{colon}{ind.formula(lang)}")
    sources = "、".join(t(f"src_{s}") for s in ind.sources) if lang == "zh" else \
        ", ".join(t(f"src_{s}") for s in ind.sources)
    st.markdown(f"{t('kpi_sources')}{colon}{sources}")
    if ind.standard:
        text = ind.standard.text_zh if lang == "zh" else ind.standard.text_en
        st.markdown(f"{t('kpi_standard')}{colon}{text}")
        st.caption(f"{t('kpi_standard_source')}{colon}{ind.standard.source}")
    else:
        st.markdown(f"{t('kpi_standard')}{colon}{t('kpi_no_standard')}")
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
        st.markdown(t("kpi_bands") + "\n" + "\n".join(lines))


def tile(data: dict, t, lang: str, previous_label: str, five_label: str, key: str) -> None:
    """One KPI tile from :func:`analytics.indicators.tile`'s result."""
    ind: Indicator = data["indicator"]
    series = data["series"].dropna()
    with st.container(border=True):
        st.metric(ind.label(lang), value_text(ind, data["value"], lang),
                  delta=change_text(ind, data["change_1y"], lang),
                  delta_color=DELTA_COLOUR[ind.direction],
                  delta_description=previous_label if data["change_1y"] is not None else None,
                  chart_data=list(series.values) if len(series) > 1 else None,
                  chart_type="line", help=ind.formula(lang))
        five = change_text(ind, data["change_5y"], lang) or (
            # a store without that year (one on its own data may hold a single year)
            t("kpi_no_earlier") if data["value"] is not None else "—")
        unit = "" if ind.unit_en in ("%", "persons") else f"{ind.unit(lang)} · "
        span = data.get("span")
        line = t("kpi_line_span", start=span[0], end=span[1]) \
            if span and len(series) > 1 else ""
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
                definition(ind, t, lang)
