"""Population trends: the pyramid with a comparison year, age groups over time, births,
natural increase and the ageing index, and every district side by side."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics import indicators
from dashboard.components import charts, data, multiples, provenance
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
def pyramid_figure(ctx, year: int, compare: int | None, share: bool) -> tuple[dict, pd.DataFrame]:
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
    fig = go.Figure()
    unit = "%" if share else ctx.t("tr_persons")
    hover = "%{customdata:,.2f}" + ("%" if share else "") if share else "%{customdata:,.0f}"
    fig.add_bar(y=current["band"], x=-male, orientation="h", name=f"{ctx.t('tr_male')} {year}",
                marker_color=MALE, customdata=male, hovertemplate=hover)
    fig.add_bar(y=current["band"], x=female, orientation="h",
                name=f"{ctx.t('tr_female')} {year}", marker_color=FEMALE, customdata=female,
                hovertemplate=hover)
    table = pd.DataFrame({ctx.t("tr_col_age"): current["band"],
                          f"{ctx.t('tr_male')} {year} ({unit})": male.round(3),
                          f"{ctx.t('tr_female')} {year} ({unit})": female.round(3)})
    if previous is not None:
        pm, pf = scaled(previous)
        for values, sign, sex in [(pm, -1, "tr_male"), (pf, 1, "tr_female")]:
            fig.add_scatter(y=previous["band"], x=sign * values, mode="lines",
                            line={"color": "#222222", "width": 1.6, "shape": "vh"},
                            name=f"{ctx.t(sex)} {compare}", customdata=values,
                            hovertemplate=hover, legendgroup="compare",
                            showlegend=sex == "tr_male")
            table[f"{ctx.t(sex)} {compare} ({unit})"] = values.round(3)
        fig.data[-2].name = ctx.t("tr_compare_legend", year=compare)
    peak = max(male.max(), female.max(), 1e-9)
    if previous is not None:  # the comparison's outline is drawn whole, never at the frame
        peak = max(peak, pm.max(), pf.max())
    ticks = [v for v in _nice_ticks(peak)]
    fig.update_layout(barmode="overlay", bargap=0.08,
                      title={"text": ctx.t("tr_pyramid_title", area=ctx.area_label(),
                                           year=year), "font": {"size": 15}})
    fig.update_xaxes(tickvals=[-t for t in ticks[::-1]] + ticks[1:],
                     ticktext=[_tick(t, share) for t in ticks[::-1]]
                     + [_tick(t, share) for t in ticks[1:]],
                     title=ctx.t("tr_pyramid_x", unit=unit), range=[-1.06 * peak, 1.06 * peak])
    fig.update_yaxes(title=ctx.t("tr_col_age"), categoryorder="array",
                     categoryarray=list(current["band"]))
    return charts.finish(fig, 520), table


def _nice_ticks(peak: float) -> list[float]:
    """0 and three round steps up to the peak, for a symmetric axis."""
    raw = peak / 3
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    step = max(magnitude, round(raw / magnitude) * magnitude)
    return [0.0] + [step * i for i in range(1, 4) if step * i <= peak * 1.05]


def _tick(value: float, share: bool) -> str:
    if share:
        return f"{value:g}%"
    return f"{value / 1e4:g}万" if value >= 1e4 else f"{value:,.0f}"


@data.cached_view
def age_group_figure(ctx) -> tuple[dict, pd.DataFrame]:
    groups = data.age_groups(*ctx.store_key, ctx.district)
    label = {"0-14": ctx.t("tr_g_0_14"), "15-59": ctx.t("tr_g_15_59"),
             "60-79": ctx.t("tr_g_60_79"), "80+": ctx.t("tr_g_80plus")}
    frame = groups.assign(group=groups["group"].map(label))
    labels = {"year": ctx.t("tr_col_year"), "persons": ctx.t("tr_persons"),
              "group": ctx.t("tr_col_group")}
    if frame["year"].nunique() > 1:
        fig = px.area(frame, x="year", y="persons", color="group",
                      color_discrete_sequence=GROUP_COLOURS, labels=labels)
    else:
        # an area over one year has no width and draws nothing: one stacked bar instead
        fig = px.bar(frame, x="year", y="persons", color="group",
                     color_discrete_sequence=GROUP_COLOURS, labels=labels)
        fig.update_layout(bargap=0.7)
    fig.update_layout(title={"text": ctx.t("tr_groups_title", area=ctx.area_label()),
                             "font": {"size": 15}})
    fig.update_xaxes(dtick=1 if len(ctx.years) <= 8 else 2)
    table = frame.pivot_table(index="year", columns="group", values="persons",
                              aggfunc="sum", sort=False).reset_index()
    table = table.rename(columns={"year": ctx.t("tr_col_year")})
    table.columns.name = None
    return charts.finish(fig), table


def by_year(ctx, table: pd.DataFrame, layer: str, city: bool = False) -> pd.DataFrame:
    """A chart's CSV with the source of each year's figures (department data or synthetic);
    ``city``: the chart shows every district whatever area is chosen, so each year's source
    names the districts each source feeds where they differ."""
    sources = provenance.year_sources(ctx.store, str(ctx.store_key), layer,
                                      None if city else ctx.district)
    return provenance.with_source(table, sources, ctx.t("tr_col_year"), ctx.lang)


def age_group_chart(ctx) -> None:
    fig, table = age_group_figure(ctx)
    charts.show(fig, by_year(ctx, table, "population_districts"), f"age_groups_{ctx.district or ctx.city_adcode}",
                ctx.t("csv_download"), "groups")


@data.cached_view
def vital_figure(ctx) -> tuple[dict, pd.DataFrame] | None:
    rates = data.vital_rates(*ctx.store_key, ctx.district)
    shown = rates.dropna(subset=["births"])
    if shown.empty:
        return None
    fig = go.Figure()
    fig.add_bar(x=shown["year"], y=shown["births"], name=ctx.t("tr_births"),
                marker_color="#219ebc")
    fig.add_bar(x=shown["year"], y=shown["deaths"], name=ctx.t("tr_deaths"),
                marker_color="#adb5bd")
    fig.update_layout(
        barmode="group",
        title={"text": ctx.t("tr_vital_title", area=ctx.area_label()), "font": {"size": 15}},
        yaxis={"title": ctx.t("tr_persons")})
    # the rate needs the year's residents: births for years without them are bars only
    if shown["natural_increase_rate"].notna().any():
        fig.add_scatter(x=shown["year"], y=shown["natural_increase_rate"], yaxis="y2",
                        name=ctx.t("tr_ni_rate"), mode="lines+markers",
                        line={"color": "#c8553d", "width": 2})
        fig.update_layout(yaxis2={"title": ctx.t("tr_permille"), "overlaying": "y",
                                  "side": "right", "showgrid": False, "tickformat": ".1f"})
    fig.update_xaxes(dtick=1 if len(ctx.years) <= 8 else 2)
    table = shown[["year", "births", "deaths", "natural_increase", "birth_rate",
                   "death_rate", "natural_increase_rate"]].rename(columns={
        "year": ctx.t("tr_col_year"), "births": ctx.t("tr_births"),
        "deaths": ctx.t("tr_deaths"), "natural_increase": ctx.t("tr_ni"),
        "birth_rate": ctx.t("tr_birth_rate"), "death_rate": ctx.t("tr_death_rate"),
        "natural_increase_rate": ctx.t("tr_ni_rate")}).round(3)
    return charts.finish(fig), table


@data.cached_view
def ageing_figure(ctx) -> tuple[dict, pd.DataFrame]:
    rates = data.vital_rates(*ctx.store_key, ctx.district).dropna(subset=["population"])
    fig = go.Figure()
    fig.add_scatter(x=rates["year"], y=rates["ageing_index"], mode="lines+markers",
                    line={"color": "#6a4c93", "width": 2.4}, name=ctx.t("tr_ageing"))
    fig.update_layout(showlegend=False, title={
        "text": ctx.t("tr_ageing_title", area=ctx.area_label()), "font": {"size": 15}})
    fig.update_yaxes(title=ctx.t("tr_ageing_unit"))
    fig.update_xaxes(dtick=1 if len(ctx.years) <= 8 else 2)
    table = rates[["year", "ageing_index"]].rename(columns={
        "year": ctx.t("tr_col_year"), "ageing_index": ctx.t("tr_ageing")}).round(2)
    return charts.finish(fig), table


def vital_charts(ctx) -> None:
    left, right = st.columns(2)
    with left:
        built = vital_figure(ctx)
        if built is None:
            st.info(ctx.t("tr_no_vital"))
        else:
            fig, table = built
            charts.show(fig, by_year(ctx, table, "vital_events"),
                        f"vital_{ctx.district or ctx.city_adcode}", ctx.t("csv_download"),
                        "vital")
            if table[ctx.t("tr_ni_rate")].isna().any():
                st.caption(ctx.t("tr_no_rates"))
        # which years of births and deaths the store holds, and from whom
        provenance.years_caption(ctx.store, str(ctx.store_key), ctx.lang, "vital_events",
                                 ctx.district)
    with right:
        fig, table = ageing_figure(ctx)
        charts.show(fig, by_year(ctx, table, "population_districts"),
                    f"ageing_index_{ctx.district or ctx.city_adcode}", ctx.t("csv_download"),
                    "ageing")
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
    fig, table = pyramid_figure(ctx, year, compare, share)
    sources = provenance.year_sources(ctx.store, str(ctx.store_key), "population_districts",
                                      ctx.district)
    charts.show(fig, table.assign(**{ctx.t("source_column"): sources.get(year, "")}),
                f"pyramid_{ctx.district or ctx.city_adcode}_{year}", ctx.t("csv_download"),
                "pyramid")

    st.subheader(ctx.t("tr_groups_heading"))
    age_group_chart(ctx)

    st.subheader(ctx.t("tr_vital_heading"))
    vital_charts(ctx)

    st.subheader(ctx.t("tr_multiples_heading"))
    small_multiples(ctx)


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
