"""Population trends: the pyramid with a comparison year, age groups over time, births,
natural increase and the ageing index, and every district side by side."""

import pandas as pd
import streamlit as st

from analytics import indicators
from dashboard.components import data, multiples, provenance, timechart
from dashboard.format import format_value
from dashboard.shell import PageContext, page_context

MALE, FEMALE = "#2a6f97", "#c8553d"
GROUP_COLOURS = ["#8ecae6", "#219ebc", "#f4a261", "#c8553d"]
SMALL_MULTIPLE_KPIS = ["share_60plus", "share_65plus", "share_0_14", "population",
                       "old_age_dependency"]


def pyramid_controls(ctx) -> tuple[int, int | None, bool]:
    """Year of the pyramid, the comparison year (or None) and whether to show shares."""
    left, mid, right = st.columns([3, 2, 2], vertical_alignment="bottom")
    with left:
        year = st.select_slider(ctx.t("tr_pyramid_year"), ctx.years, value=ctx.year,
                                key="tr_year")
    with mid:
        options = [None, *ctx.years]
        compare = st.selectbox(ctx.t("tr_compare_year"), options, key="tr_compare",
                               index=1 if len(ctx.years) > 1 and ctx.years[0] != year else 0,
                               format_func=lambda y: ctx.t("tr_no_compare") if y is None
                               else str(y))
    with right:
        share = st.toggle(ctx.t("tr_as_share"), key="tr_share", value=True)
    return year, compare, share


@data.cached_view
def pyramid_figure(ctx, year: int, compare: int | None, share: bool) -> tuple[str, pd.DataFrame]:
    current = data.pyramid(*ctx.store_key, year, ctx.district)
    previous = data.pyramid(*ctx.store_key, compare, ctx.district) if compare else None

    def scaled(frame):
        # suppressed bands (a single age of 1-9 in them) are gaps, not zeros
        frame = frame.assign(male=frame["male"].astype("Float64").astype(float),
                             female=frame["female"].astype("Float64").astype(float))
        total = frame["male"].sum() + frame["female"].sum()
        factor = 100 / total if share and total else 1
        return frame["male"] * factor, frame["female"] * factor

    male, female = scaled(current)
    unit = "%" if share else ctx.t("tr_persons")
    names = (f"{ctx.t('tr_male')} {year}", f"{ctx.t('tr_female')} {year}")
    table = pd.DataFrame({ctx.t("tr_col_age"): current["band"],
                          f"{names[0]} ({unit})": male.round(3),
                          f"{names[1]} ({unit})": female.round(3)})
    outline = None
    peak = max(male.max(), female.max(), 1e-9)
    if previous is not None:
        pm, pf = scaled(previous)
        # the comparison's outline is drawn whole, never at the frame
        peak = max(peak, pm.max(), pf.max())
        outline = (pm.tolist(), pf.tolist(),
                   (f"{ctx.t('tr_male')} {compare}", f"{ctx.t('tr_female')} {compare}"))
        for values, sex in ((pm, "tr_male"), (pf, "tr_female")):
            table[f"{ctx.t(sex)} {compare} ({unit})"] = values.round(3)
    svg = timechart.pyramid_svg(
        current["band"].tolist(), male.tolist(), female.tolist(), names, (MALE, FEMALE),
        ctx.t("tr_pyramid_title", area=ctx.area_label(), year=year),
        ctx.t("tr_pyramid_x", unit=unit), ctx.t("tr_col_age"), _nice_ticks(peak),
        lambda t: _tick(t, share, ctx.lang),
        (lambda v: f"{v:,.2f}%") if share else (lambda v: f"{v:,.0f}"), compare=outline,
        compare_legend=ctx.t("tr_compare_legend", year=compare) if compare else "")
    return svg, table


def _nice_ticks(peak: float) -> list[float]:
    """0 and three round steps up to the peak, for a symmetric axis."""
    raw = peak / 3
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    step = max(magnitude, round(raw / magnitude) * magnitude)
    return [0.0] + [step * i for i in range(1, 4) if step * i <= peak * 1.05]


def _tick(value: float, share: bool, lang: str = "zh") -> str:
    """A tick of a count or share axis as people write it (1.5万 on Chinese pages, 15k on
    English ones).

    >>> _tick(15000, False), _tick(15000, False, "en"), _tick(2.5, True), _tick(800, False)
    ('1.5万', '15k', '2.5%', '800')
    """
    if share:
        return f"{value:g}%"
    if lang == "zh":
        return f"{value / 1e4:g}万" if value >= 1e4 else f"{value:,.0f}"
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    return f"{value / 1e3:g}k" if value >= 1e3 else f"{value:,.0f}"


def _count(v: float) -> str:
    return f"{v:,.0f}"


@data.cached_view
def age_group_figure(ctx) -> tuple[str, pd.DataFrame]:
    groups = data.age_groups(*ctx.store_key, ctx.district)
    label = {"0-14": ctx.t("tr_g_0_14"), "15-59": ctx.t("tr_g_15_59"),
             "60-79": ctx.t("tr_g_60_79"), "80+": ctx.t("tr_g_80plus")}
    frame = groups.assign(group=groups["group"].map(label))
    table = frame.pivot_table(index="year", columns="group", values="persons",
                              aggfunc="sum", sort=False).reset_index()
    years = table["year"].astype(int).tolist()
    series = [timechart.Series(name, table[name].tolist(), colour, "area")
              for name, colour in zip([c for c in table.columns if c != "year"],
                                      GROUP_COLOURS, strict=False)]
    svg = timechart.series_svg(years, series, ctx.t("tr_groups_title", area=ctx.area_label()),
                               ctx.t("tr_persons"), _count,
                               tick_text=lambda t: _tick(t, False, ctx.lang))
    table = table.rename(columns={"year": ctx.t("tr_col_year")})
    table.columns.name = None
    return svg, table


def by_year(ctx, table: pd.DataFrame, layer: str, city: bool = False) -> pd.DataFrame:
    """A chart's CSV with the source of each year's figures (department data or synthetic);
    ``city``: the chart shows every district whatever area is chosen, so each year's source
    names the districts each source feeds where they differ."""
    sources = provenance.year_sources(ctx.store, str(ctx.store_key), layer,
                                      None if city else ctx.district)
    return provenance.with_source(table, sources, ctx.t("tr_col_year"), ctx.lang)


def picture(ctx, svg: str, table: pd.DataFrame, name: str, key: str) -> None:
    """A chart drawn by the server, with its data as CSV and the picture as SVG below it (the
    CSV UTF-8 with a byte-order mark, so Excel opens Chinese headings)."""
    st.markdown(svg, unsafe_allow_html=True)
    with st.container(horizontal=True, gap="small"):
        st.download_button(ctx.t("csv_download"), table.to_csv(index=False).encode("utf-8-sig"),
                           file_name=f"{name}.csv", mime="text/csv", key=f"csv_{key}",
                           icon=":material/download:", type="tertiary", on_click="ignore")
        st.download_button(ctx.t("tr_svg_download"), svg.encode("utf-8"),
                           file_name=f"{name}.svg", mime="image/svg+xml", key=f"svg_{key}",
                           icon=":material/download:", type="tertiary", on_click="ignore")


def age_group_chart(ctx) -> None:
    svg, table = age_group_figure(ctx)
    picture(ctx, svg, by_year(ctx, table, "population_districts"),
            f"age_groups_{ctx.district or ctx.city_adcode}", "groups")


@data.cached_view
def vital_figure(ctx) -> tuple[str, pd.DataFrame] | None:
    rates = data.vital_rates(*ctx.store_key, ctx.district)
    shown = rates.dropna(subset=["births"])
    if shown.empty:
        return None
    series = [timechart.Series(ctx.t("tr_births"), shown["births"].tolist(), "#219ebc", "bar"),
              timechart.Series(ctx.t("tr_deaths"), shown["deaths"].tolist(), "#adb5bd", "bar")]
    # the rate needs the year's residents: births for years without them are bars only
    if shown["natural_increase_rate"].notna().any():
        series.append(timechart.Series(ctx.t("tr_ni_rate"),
                                       shown["natural_increase_rate"].tolist(), "#c8553d",
                                       "line", right=True))
    svg = timechart.series_svg(
        shown["year"].astype(int).tolist(), series,
        ctx.t("tr_vital_title", area=ctx.area_label()), ctx.t("tr_persons"), _count,
        right_label=ctx.t("tr_permille"), right_text=lambda v: f"{v:.1f}", width=440.0,
        tick_text=lambda t: _tick(t, False, ctx.lang))
    table = shown[["year", "births", "deaths", "natural_increase", "birth_rate",
                   "death_rate", "natural_increase_rate"]].rename(columns={
        "year": ctx.t("tr_col_year"), "births": ctx.t("tr_births"),
        "deaths": ctx.t("tr_deaths"), "natural_increase": ctx.t("tr_ni"),
        "birth_rate": ctx.t("tr_birth_rate"), "death_rate": ctx.t("tr_death_rate"),
        "natural_increase_rate": ctx.t("tr_ni_rate")}).round(3)
    return svg, table


@data.cached_view
def ageing_figure(ctx) -> tuple[str, pd.DataFrame]:
    rates = data.vital_rates(*ctx.store_key, ctx.district).dropna(subset=["population"])
    svg = timechart.series_svg(
        rates["year"].astype(int).tolist(),
        [timechart.Series(ctx.t("tr_ageing"), rates["ageing_index"].tolist(), "#6a4c93")],
        ctx.t("tr_ageing_title", area=ctx.area_label()), ctx.t("tr_ageing_unit"),
        lambda v: f"{v:,.1f}", width=440.0, legend=False)
    table = rates[["year", "ageing_index"]].rename(columns={
        "year": ctx.t("tr_col_year"), "ageing_index": ctx.t("tr_ageing")}).round(2)
    return svg, table


def vital_charts(ctx) -> None:
    left, right = st.columns(2)
    with left:
        built = vital_figure(ctx)
        if built is None:
            st.info(ctx.t("tr_no_vital"))
        else:
            svg, table = built
            picture(ctx, svg, by_year(ctx, table, "vital_events"),
                    f"vital_{ctx.district or ctx.city_adcode}", "vital")
            if table[ctx.t("tr_ni_rate")].isna().any():
                st.caption(ctx.t("tr_no_rates"))
        # which years of births and deaths the store holds, and from whom
        provenance.years_caption(ctx.store, str(ctx.store_key), ctx.lang, "vital_events",
                                 ctx.district)
    with right:
        svg, table = ageing_figure(ctx)
        picture(ctx, svg, by_year(ctx, table, "population_districts"),
                f"ageing_index_{ctx.district or ctx.city_adcode}", "ageing")
        st.caption(ctx.t("tr_ageing_note"))


@data.cached_view
def multiples_figure(ctx, kpi_id: str) -> tuple[str, pd.DataFrame]:
    """Every district's line of one KPI, one small panel each (an SVG picture), with the
    city's line in each for reference (not for counts of persons, whose panels have each
    their own scale); and the table it draws."""
    ind = indicators.indicator(kpi_id)
    values = data.ratio_values(*ctx.store_key)
    rows = indicators.of_districts(values)
    rows = rows[rows["indicator"] == kpi_id]
    frame = pd.DataFrame({"year": rows["year"].astype(int),
                          "district": [ctx.district_name(int(a)) for a in rows["district"]],
                          "value": rows["value"]})
    persons = ind.unit_en == "persons"
    city = indicators.of_area(values)
    city = city[city["indicator"] == kpi_id].set_index("year")["value"]
    title = (f"{ind.label(ctx.lang)}（{ind.unit(ctx.lang)}）" if ctx.lang == "zh"
             else f"{ind.label(ctx.lang)} ({ind.unit(ctx.lang)})")
    svg = multiples.grid_svg(
        frame, title, lambda v: format_value(ind, v, ctx.lang),
        city=None if persons else city, city_name=ctx.t("tr_city_line", city=ctx.city_label()),
        shared=not persons, tick_text=(lambda v: format_value(ind, v, ctx.lang))
        if persons else None)
    table = frame.pivot_table(index="year", columns="district", values="value",
                              sort=False).round(ind.digits).reset_index()
    table = table.rename(columns={"year": ctx.t("tr_col_year")})
    table.columns.name = None
    return svg, table


def small_multiples(ctx) -> None:
    kpi_id = st.selectbox(ctx.t("tr_multiples_kpi"), SMALL_MULTIPLE_KPIS, key="tr_kpi",
                          format_func=lambda k: indicators.indicator(k).label(ctx.lang))
    ind = indicators.indicator(kpi_id)
    svg, table = multiples_figure(ctx, kpi_id)
    st.markdown(svg, unsafe_allow_html=True)
    name = f"districts_{kpi_id}"
    with st.container(horizontal=True, gap="small"):
        st.download_button(ctx.t("csv_download"), by_year(
            ctx, table, "population_districts", city=True).to_csv(index=False).encode(
            "utf-8-sig"), file_name=f"{name}.csv", mime="text/csv", key="csv_multiples",
            icon=":material/download:", type="tertiary", on_click="ignore")
        st.download_button(ctx.t("tr_svg_download"), svg.encode("utf-8"),
                           file_name=f"{name}.svg", mime="image/svg+xml", key="svg_multiples",
                           icon=":material/download:", type="tertiary", on_click="ignore")
    if ind.unit_en != "persons":
        st.caption(ctx.t("tr_multiples_note", city=ctx.city_label()))


def page(ctx: PageContext) -> None:
    st.title(ctx.t("tr_title", area=ctx.area_label()))
    own = ctx.store.meta().get("synthetic_layers") == "none"  # built --no-synthetic
    st.caption(ctx.t("tr_caption_own" if own else "tr_caption"))
    provenance.years_caption(ctx.store, str(ctx.store_key), ctx.lang, "population_districts",
                             ctx.district)

    st.subheader(ctx.t("tr_pyramid_heading"))
    year, compare, share = pyramid_controls(ctx)
    svg, table = pyramid_figure(ctx, year, compare, share)
    sources = provenance.year_sources(ctx.store, str(ctx.store_key), "population_districts",
                                      ctx.district)
    picture(ctx, svg, table.assign(**{ctx.t("source_column"): sources.get(year, "")}),
            f"pyramid_{ctx.district or ctx.city_adcode}_{year}", "pyramid")

    st.subheader(ctx.t("tr_groups_heading"))
    age_group_chart(ctx)

    st.subheader(ctx.t("tr_vital_heading"))
    vital_charts(ctx)

    st.subheader(ctx.t("tr_multiples_heading"))
    small_multiples(ctx)


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
