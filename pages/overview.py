"""Leadership overview: headline KPIs with their standards, the district ranking, a map of
one KPI and the districts that moved most."""

import pandas as pd
import streamlit as st

from analytics import indicators
from dashboard import planning as pl
from dashboard.components import data, kpi, provenance, reconcile
from dashboard.components import table as tables
from dashboard.components.choropleth import district_svg
from dashboard.format import format_value
from dashboard.shell import PageContext, page_context

TILES_PER_ROW = 4
MOVER_KPIS = ["population", "share_60plus", "care_beds_per_1000_60plus",
              "kindergarten_places_per_child"]
#: colour scales by direction: darker = more of it
SCALES = {"higher_better": "Greens", "lower_better": "OrRd", "neutral": "Blues"}


def kpi_values(ctx) -> pd.DataFrame:
    """Every KPI of every area and year (cached frames, joined on each call: the views below
    cache what the page draws from it, so a warm run does not read it at all)."""
    return data.kpi_values(ctx.store_key, ctx.year, ctx.years,
                           tuple(int(a) for a in ctx.districts["adcode"]))


@data.cached_view
def tile_view(ctx) -> tuple[list[str], list[dict]]:
    """The KPIs the store holds and each one's tile for the chosen area and year."""
    values = kpi_values(ctx)
    kpis = indicators.available(values)
    return kpis, [indicators.tile(values, k, ctx.year, ctx.district) for k in kpis]


@data.cached_view
def map_figure(ctx, chosen: str) -> tuple[str, pd.DataFrame]:
    """The district map of one KPI (an SVG picture) and its data."""
    ind = indicators.indicator(chosen)
    map_frame = indicators.district_table(kpi_values(ctx), ctx.year)[[chosen]].reset_index()
    map_frame["name"] = [ctx.district_name(a) for a in map_frame["adcode"]]
    label = ind.unit(ctx.lang)
    short = {a: short_name(ctx.district_name(a)) for a in map_frame["adcode"]}
    title = (f"{ind.label(ctx.lang)}（{label}）" if ctx.lang == "zh"
             else f"{ind.label(ctx.lang)} ({label})")
    svg = district_svg(map_frame, data.district_geojson(*ctx.store_key), chosen, "name",
                       SCALES[ind.direction], label, f",.{ind.digits}f", title=title,
                       label_points=data.district_label_points(*ctx.store_key),
                       short_names=short, tick_text=lambda v: format_value(ind, v, ctx.lang))
    csv = map_frame[["adcode", "name", chosen]].rename(columns={
        "adcode": ctx.t("ov_col_adcode"), "name": ctx.t("ov_col_district"),
        chosen: f"{ind.label(ctx.lang)} ({label})"})
    return svg, csv


def short_name(name: str) -> str:
    """西湖区 -> 西湖, Xihu District -> Xihu: map labels without the administrative suffix."""
    for suffix in (" District", " County", " City", "区", "县", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def ranking_controls(ctx, kpis: list[str]) -> str:
    return st.selectbox(ctx.t("ov_rank_by"), kpis, key="ov_kpi",
                        format_func=lambda k: indicators.indicator(k).label(ctx.lang))


def tiles(ctx, kpis: list[str], shown: list[dict]) -> None:
    previous = ctx.t("ov_vs_year", year=ctx.year - 1)
    five = ctx.t("ov_change_5y", year=ctx.year - 5)
    for start in range(0, len(kpis), TILES_PER_ROW):
        cols = st.columns(TILES_PER_ROW)
        for col, kpi_id, data_ in zip(cols, kpis[start:start + TILES_PER_ROW],
                                      shown[start:start + TILES_PER_ROW], strict=False):
            with col:
                kpi.tile(data_, ctx.t, ctx.lang, previous, five, key=kpi_id)


@data.cached_view
def ranking(ctx, kpis: list[str], chosen: str):
    """The district table for the year, sorted by the chosen KPI, with people's headings;
    returns the table, each column's decimals and each heading's formula (shown on hover)."""
    ind = indicators.indicator(chosen)
    table = indicators.district_table(kpi_values(ctx), ctx.year)
    table = table.sort_values(chosen, ascending=ind.direction == "lower_better")
    out = pd.DataFrame({ctx.t("ov_col_district"): [ctx.district_name(a) for a in table.index]})
    decimals, helps = {}, {}
    for kpi_id in kpis:
        if kpi_id in table.columns:
            k = indicators.indicator(kpi_id)
            head = (f"{k.label(ctx.lang)}（{k.unit(ctx.lang)}）" if ctx.lang == "zh"
                    else f"{k.label(ctx.lang)} ({k.unit(ctx.lang)})")
            out[head] = table[kpi_id].round(k.digits).values
            decimals[head], helps[head] = k.digits, k.formula(ctx.lang)
    out.index = table.index  # the adcodes (not shown): the CSV's sources are looked up by them
    out.insert(0, ctx.t("ov_col_rank"), range(1, len(out) + 1))
    return out, decimals, helps


@data.cached_view
def largest_movers(ctx, span: int) -> pd.DataFrame:
    return indicators.largest_movers(kpi_values(ctx), ctx.year, MOVER_KPIS, span=span)


def movers(ctx) -> None:
    span = 5 if ctx.year - 5 in ctx.years else 1
    if ctx.year - span not in ctx.years:
        st.info(ctx.t("ov_no_movers"))
        return
    found = largest_movers(ctx, span)
    for row in found.itertuples():
        ind = indicators.indicator(row.indicator)
        with st.container(border=True):
            st.markdown(f"**{ctx.district_name(row.adcode)}** · {ind.label(ctx.lang)}")
            unit = "" if ind.unit_en in ("%", "persons") else f" {ind.unit(ctx.lang)}"
            st.markdown(ctx.t("ov_mover_line", span=span,
                              change=kpi.change_text(ind, row.change, ctx.lang),
                              before=kpi.value_text(ind, row.before, ctx.lang) + unit,
                              after=kpi.value_text(ind, row.after, ctx.lang) + unit,
                              start=ctx.year - span, end=ctx.year))


def with_sources(ctx, frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """A per-district CSV with what its residents and its facilities rest on, district by
    district (``synthetic`` or ``<dataset> v<N>``)."""
    key = str(ctx.store_key)
    out = frame.copy()
    for layer in ("population_districts", "facilities"):
        sources = provenance.district_sources(ctx.store, key, layer, ctx.year)
        out[ctx.t(f"source_column_{layer}")] = [sources.get(int(a), "") for a in out[column]]
    return out


def page(ctx: PageContext) -> None:
    st.title(ctx.t("ov_title", city=ctx.area_label(), year=ctx.year))
    kpis, shown = tile_view(ctx)
    st.caption(ctx.t("ov_caption", area=ctx.area_label(), year=ctx.year))
    tiles(ctx, kpis, shown)
    for layer in ("population_districts", "facilities"):
        provenance.source_caption(ctx.store, str(ctx.store_key), ctx.lang, layer, year=ctx.year,
                                  district=ctx.district)
    reconciliation(ctx)
    st.subheader(ctx.t("ov_districts_heading", year=ctx.year))
    districts_section(ctx, kpis)


@st.fragment
def reconciliation(ctx: PageContext) -> None:
    """The standard's ratio beside walking coverage for one type: a change of type reruns
    this part alone."""
    type_key = st.selectbox(ctx.t("rec_type"), reconcile.RATIO_TYPES, key="ov_rec_type",
                            format_func=lambda k: pl.type_name(k, ctx.lang))
    provenance.grid_gap_note(ctx.store, str(ctx.store_key), ctx.lang, ctx.year, ctx.district)
    reconcile.section(ctx, type_key)


@st.fragment
def districts_section(ctx: PageContext, kpis: list[str]) -> None:
    """The ranking, the map and the movers: a change of the ranking's KPI reruns this part
    alone (the tiles above do not depend on it)."""
    chosen = ranking_controls(ctx, kpis)
    table, decimals, helps = ranking(ctx, kpis, chosen)
    tables.show(table, decimals=decimals, helps=helps, pinned=2)
    csv = with_sources(ctx, table.rename_axis("adcode").reset_index(), "adcode") \
        .drop(columns="adcode")
    st.download_button(ctx.t("csv_download"), csv.to_csv(index=False).encode("utf-8-sig"),
                       file_name=f"district_ranking_{ctx.year}.csv", mime="text/csv",
                       icon=":material/download:", type="tertiary", on_click="ignore",
                       key="csv_ranking")
    left, right = st.columns([3, 2])
    with left:
        svg, csv = map_figure(ctx, chosen)
        st.markdown(svg, unsafe_allow_html=True)
        name = f"map_{chosen}_{ctx.year}"
        with st.container(horizontal=True, gap="small"):
            st.download_button(ctx.t("csv_download"), with_sources(
                ctx, csv, ctx.t("ov_col_adcode")).to_csv(index=False).encode("utf-8-sig"),
                file_name=f"{name}.csv", mime="text/csv", key="csv_map",
                icon=":material/download:", type="tertiary", on_click="ignore")
            st.download_button(ctx.t("ov_map_svg"), svg.encode("utf-8"),
                               file_name=f"{name}.svg", mime="image/svg+xml", key="svg_map",
                               icon=":material/download:", type="tertiary", on_click="ignore")
        st.caption(ctx.t("ov_map_note"))
    with right:
        st.markdown(f"#### {ctx.t('ov_movers_heading')}")
        movers(ctx)


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
