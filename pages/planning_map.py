"""Planning map: where a group lives, which facilities serve it, who is left out."""

import pandas as pd
import streamlit as st

from analytics.errors import CityBrainError
from analytics.forecast import DEMAND_TYPES
from analytics.opendata import access
from analytics.planning import accessibility
from analytics.planning import cells as planning_cells
from analytics.standards import FACILITY_TYPES, FacilityType, facility_type
from dashboard import planning as pl
from dashboard.auth import current_actor
from dashboard.components import canvasmap, provenance, reconcile
from dashboard.components import table as tables
from dashboard.shell import PageContext, page_context


def map_controls(ctx: PageContext, pre: pl.Preamble) -> dict:
    """The planner's view, seeded from the URL once and mirrored back into it."""
    t = ctx.t
    types = list(FACILITY_TYPES)
    type_key = pre.type_key
    pl.init_from_url("pl_group", pl.GROUPS, pre.group, lang=ctx.lang)
    pl.init_from_url("pl_metric", pl.METRICS, "persons", lang=ctx.lang)
    pl.init_list_from_url("pl_layers", pl.LAYERS, pl.DEFAULT_LAYERS, lang=ctx.lang)
    pl.init_from_url("pl_3d", [True, False], False, cast=lambda v: v == "1", lang=ctx.lang)
    radii = list(range(100, 5001, 50))
    standard = facility_type(type_key).radius_m
    pl.init_from_url("pl_radius", radii, standard, cast=int, lang=ctx.lang)

    def type_changed():
        new = st.session_state["pl_type"]
        st.session_state["pl_group"] = accessibility.default_group(new)
        st.session_state["pl_radius"] = facility_type(new).radius_m
        st.session_state.pop("pl_sel", None)

    c1, c2, c3 = st.columns([1.4, 1, 1.3])
    c1.selectbox(t("plan_type"), types, key="pl_type", on_change=type_changed,
                 format_func=lambda k: pl.type_name(k, ctx.lang))
    c2.selectbox(t("plan_group"), pl.GROUPS, key="pl_group",
                 format_func=lambda g: pl.group_option(g, ctx.lang))
    c3.selectbox(t("plan_metric"), pl.METRICS, key="pl_metric",
                 format_func=lambda m: t(f"plan_metric_{m}"))
    c5, c6, c7 = st.columns([2.6, 1.2, 0.8])
    c5.multiselect(t("plan_layers"), pl.LAYERS, key="pl_layers",
                   format_func=lambda v: t(f"plan_layer_{v}"))
    c6.number_input(t("plan_radius"), min_value=100, max_value=5000, step=50, key="pl_radius",
                    help=t("plan_radius_help", source=facility_type(
                        st.session_state["pl_type"]).localized(ctx.lang).radius_source))
    c7.toggle(t("plan_3d"), key="pl_3d")
    view = {k: st.session_state[k] for k in ("pl_type", "pl_group", "pl_metric",
                                             "pl_layers", "pl_3d", "pl_radius")}
    view["pl_district"] = pre.district  # the sidebar's area, shared by every page
    std = facility_type(view["pl_type"]).radius_m
    pl.write_url({"pl_type": view["pl_type"], "pl_group": view["pl_group"],
                  "pl_metric": view["pl_metric"], "pl_layers": view["pl_layers"]
                  or "none", "pl_3d": "1" if view["pl_3d"] else None,
                  "pl_radius": view["pl_radius"] if view["pl_radius"] != std else None})
    return view


# -- tables --------------------------------------------------------------------------------
def looking_ahead(ctx: PageContext, pre: pl.Preamble, type_key: str, unit: str,
                  ft: FacilityType) -> None:
    """The chosen type's need against capacity by district in 5 and 10 years: where the
    shortfalls will be, largest first."""
    t, district = ctx.t, pre.district
    st.subheader(t("plan_ahead_title", type=pl.type_name(type_key, ctx.lang), unit=unit))
    if type_key not in DEMAND_TYPES:
        st.caption(t("plan_ahead_no_ratio"))
        return
    try:
        frame = pl.ahead(ctx.store, pre.key, type_key, ctx.year)
    except CityBrainError as exc:
        st.info(t("plan_ahead_unavailable", reason=ctx.reason(exc)))
        return
    y0, y5, y10 = ctx.year, ctx.year + pl.AHEAD_YEARS[0], ctx.year + pl.AHEAD_YEARS[1]
    wide = frame.pivot(index="area", columns="year")
    table = pd.DataFrame({
        "area": wide.index,
        "name": [ctx.district_name(int(a)) for a in wide.index],
        "now": wide[("demand", y0)], "in5": wide[("demand", y5)],
        "in10": wide[("demand", y10)],
        "range": [f"{lo:,.0f} – {hi:,.0f}" for lo, hi in zip(
            wide[("demand_lo", y10)], wide[("demand_hi", y10)], strict=True)],
        "capacity": wide[("capacity", y10)], "gap5": wide[("gap", y5)],
        "gap10": wide[("gap", y10)]})
    if district is not None:
        table = table[table["area"].isin([district, int(ctx.city_adcode)])]
    city = table["area"] == int(ctx.city_adcode)
    table = pd.concat([table[city], table[~city].sort_values("gap10", ascending=False)])
    # one convention: a shortfall is said as a shortfall (red), a surplus as a surplus
    statuses = {}
    for col, year in (("gap5", y5), ("gap10", y10)):
        status = wide[("status", year)].reindex(table["area"]).to_numpy()
        amount = wide[("amount", year)].reindex(table["area"]).to_numpy()
        statuses[t("plan_ahead_gap", year=year)] = pd.Series(status, index=table.index)
        table[col] = [reconcile.gap_words(st_, a, unit, ctx.lang)
                      for st_, a in zip(status, amount, strict=True)]
    shown = table.drop(columns="area").rename(columns={
        "name": t("plan_col_district"),
        "now": t("plan_ahead_need", year=y0), "in5": t("plan_ahead_need", year=y5),
        "in10": t("plan_ahead_need", year=y10),
        "range": t("plan_ahead_range", year=y10),
        "capacity": t("plan_ahead_capacity", year=y10),
        "gap5": t("plan_ahead_gap", year=y5), "gap10": t("plan_ahead_gap", year=y10)})
    shown = shown.round(0)
    tables.show(shown, styles=reconcile.gap_styles(statuses), max_height_px=None)
    st.caption(t("plan_ahead_caption", base=y0, ratio=ft.ratio_label))
    st.download_button(t("plan_download_csv"), frame.to_csv(index=False).encode("utf-8-sig"),
                       file_name=f"ahead_{type_key}_{y0}.csv", mime="text/csv",
                       key="plan_ahead_csv")


def page(ctx: PageContext) -> None:
    pre = pl.preamble(ctx)
    st.title(ctx.t("plan_map_title"))
    st.caption(ctx.t("plan_map_caption"))
    planner(ctx, pre)


@st.fragment
def planner(ctx: PageContext, pre: pl.Preamble) -> None:
    """Everything that hangs on the map's own controls, as a fragment: changing the facility
    type, group, measure, layers, radius or clicking the map reruns only this part (the
    sidebar's year, area and language rerun the whole page)."""
    t = ctx.t
    view = map_controls(ctx, pre)
    type_key, group, metric = view["pl_type"], view["pl_group"], view["pl_metric"]
    district = view["pl_district"]
    layers_on = set(view["pl_layers"])
    ft = facility_type(type_key).localized(ctx.lang)
    radius = int(view["pl_radius"])
    override = radius if radius != ft.radius_m else None
    if override:
        st.info(t("plan_radius_overridden", radius=radius, standard=ft.radius_m))

    try:
        result = pl.analyse(ctx.store, pre.key, type_key, ctx.year, group, override)
    except CityBrainError as exc:
        st.error(ctx.reason(exc))
        st.stop()
    for layer, types in (("facilities", [type_key]), ("population_cells", None)):
        provenance.source_caption(ctx.store, pre.key, ctx.lang, layer, types=types,
                                  year=ctx.year, district=district)
    provenance.grid_gap_note(ctx.store, pre.key, ctx.lang, ctx.year, district)
    problem = pl.availability(ctx.store, pre.key, type_key, ctx.year)
    if problem:
        st.warning(t("plan_no_facilities", type=pl.type_name(type_key, ctx.lang), year=ctx.year)
                   + " " + problem)

    cells = result.cells if district is None else \
        result.cells[result.cells["district_adcode"] == district]
    fac = result.facilities if district is None else \
        result.facilities[result.facilities["district_adcode"] == district]
    if cells.empty:
        st.error(t("plan_empty_district", district=pl.district_label(district, pre.names,
                                                                      ctx.lang),
                   group=pl.group_name(group, ctx.lang), year=ctx.year))
        st.stop()

    # -- headline figures: the released ones, the same as the panel and the district table ---
    unit = pl.unit_name(type_key, ctx.lang)
    actor = current_actor(ctx.store)
    rec = pl.measures(ctx.store, result, pre.key, type_key, ctx.year, group, override, district,
                      _actor=actor)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("plan_kpi_coverage", radius=radius),
              f"{rec.coverage_pct:.1f}%" if rec.coverage_pct == rec.coverage_pct else "—",
              help=t("plan_kpi_coverage_help", group=pl.group_name(group, ctx.lang),
                     type=pl.type_name(type_key, ctx.lang), radius=radius))
    m2.metric(t("plan_kpi_persons", group=pl.group_name(group, ctx.lang)), f"{rec.residents:,}")
    supply_total = accessibility.supply_values(fac).sum()
    m3.metric(t("plan_kpi_facilities"), f"{len(fac):,}",
              help=t("plan_kpi_supply", supply=f"{supply_total:,.0f}", unit=unit))
    m4.metric(t("plan_kpi_unmet"), reconcile.unmet_text(rec, ctx.lang),
              help=t("plan_kpi_unmet_help", ratio=ft.ratio_label, radius=radius))
    reconcile.section(ctx, type_key, rec=rec)

    # -- the map (made once per view and cached: reruns of the same view send the same JSON) ---
    deck, legend, res, under = pl.map_deck(
        ctx.store, result, pre.key, type_key, ctx.year, group, radius, metric, ctx.lang,
        district, tuple(sorted(layers_on)), bool(view["pl_3d"]),
        canvas=pl.on_canvas(bool(view["pl_3d"])), _actor=current_actor(ctx.store))

    # One map under one key for every view: the browser keeps the map it has and redraws its
    # layers (the view follows the area; a same area keeps the reader's pan and zoom). A
    # click's selection is dropped with the rows it was made on (layer ids name their rows,
    # see maps.rows_id). The flat map is drawn on a 2D canvas, the 3D view by deck.gl.
    left, right = st.columns([5, 1.25])
    with left:
        if isinstance(deck, canvasmap.CanvasMap):
            click = canvasmap.show(deck, key="pl_map", height=600)

            def picked(kind: str) -> list:
                return deck.picked(click, kind)
        else:
            event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object",
                                    key="pl_map_3d", height=600)
            objects = (event.selection.get("objects") or {}) if event else {}

            def picked(kind: str) -> list:
                return deck.picked(objects, kind)
    with right:
        st.markdown(legend.html(), unsafe_allow_html=True)
        extra = []
        if "facilities" in layers_on:
            extra.append(f'<span style="color:rgb(33,33,120)">●</span> '
                         f'{t("plan_legend_facility", type=pl.type_name(type_key, ctx.lang))}')
        if "catchments" in layers_on:
            extra.append(f'<span style="color:rgb(37,99,235)">◯</span> '
                         f'{t("plan_legend_catchment", radius=radius)}')
        if "underserved" in layers_on:
            extra.append(f'<span style="color:rgb(214,0,140)">⬡</span> '
                         f'{t("plan_legend_underserved", n=len(under))}')
        if "districts" in layers_on:
            extra.append(f'<span style="color:rgb(60,60,60)">━</span> {t("plan_legend_districts")}')
        st.markdown('<div style="font-size:13px;margin-top:10px">' + "<br/>".join(extra) + "</div>",
                    unsafe_allow_html=True)
        # where each drawn layer comes from, per district where department and synthetic mix
        st.caption(f"⬢ {t('plan_legend_residents')} · " + provenance.legend_text(
            ctx.store, pre.key, ctx.lang, "population_cells", year=ctx.year, district=district))
        if "facilities" in layers_on:
            st.caption(f"● {pl.type_name(type_key, ctx.lang)} · " + provenance.legend_text(
                ctx.store, pre.key, ctx.lang, "facilities", types=[type_key], year=ctx.year,
                district=district))
        st.caption(t("plan_standard_note", circle=ft.circle_minutes, radius=ft.radius_m,
                     source=ft.radius_source, ratio=ft.ratio_label, ratio_source=ft.ratio_source))
        st.caption(t("plan_res_note", res=res))

    # -- details of the clicked object --------------------------------------------------------
    selected = None
    if chosen := picked("cells"):
        selected = "cell:" + chosen[0]["h3"]
    elif chosen := picked("facilities"):
        selected = "fac:" + chosen[0]["facility_id"]
    elif "pl_sel" in st.query_params and "pl_sel" not in st.session_state:
        selected = st.query_params["pl_sel"]
    if selected:
        st.session_state["pl_sel"] = selected
    selected = st.session_state.get("pl_sel")
    pl.write_url({"pl_sel": selected})
    if selected:
        kind, _, ident = selected.partition(":")
        st.subheader(t("plan_details"))
        if kind == "cell":
            figures = planning_cells.cell_detail(cells, ident, res)
            if figures is not None:  # the clicked hexagon's counts, as published
                shown_counts, _ = access.release_counts(
                    ctx.store, pd.DataFrame([figures]), ["persons", "unmet"], channel="page",
                    fmt="cell", actor=current_actor(ctx.store))
                figures = {**figures, "persons": shown_counts["persons"].iloc[0],
                           "unmet": shown_counts["unmet"].iloc[0]}
            if figures is None:
                st.info(t("plan_details_gone"))
            else:
                detail = pd.DataFrame({
                    t("plan_col_cell"): [ident],
                    t("plan_col_district"): [pl.district_label(figures["district_adcode"],
                                                               pre.names, ctx.lang)],
                    t("plan_col_persons", group=pl.group_name(group, ctx.lang)):
                        [figures["persons"]],
                    t("plan_col_in_reach"): [figures["facilities_in_reach"]],
                    t("plan_col_access", unit=unit): [figures["access_per_1000"]],
                    t("plan_col_unmet"): [figures["unmet"]],
                })
                tables.show(detail, pinned=0, max_height_px=None)
        elif kind == "fac":
            row = result.facilities[result.facilities["facility_id"] == ident]
            if row.empty:
                st.info(t("plan_details_gone"))
            else:
                r = row.iloc[0]
                detail = pd.DataFrame({
                    t("plan_col_name"): pl.facility_names(row["name"].iloc[:1],
                                                          ctx.lang).tolist(),
                    t("plan_col_type"): [pl.type_name(type_key, ctx.lang)],
                    t("plan_col_district"): [pl.district_label(int(r["district_adcode"]), pre.names,
                                                               ctx.lang)],
                    t("plan_col_capacity", unit=unit): [int(r["capacity"])],
                    t("plan_col_opened"): [int(r["opened_year"])],
                    t("plan_col_utilisation"): [None if pd.isna(r["occupancy_rate"]) else
                                                round(100 * float(r["occupancy_rate"]))],
                    t("plan_col_demand_in_reach", group=pl.group_name(group, ctx.lang)):
                        [round(float(r["demand_in_reach"]))],
                    t("plan_col_ratio", unit=unit): [round(float(r["ratio_per_1000"]), 1)],
                    t("plan_col_department"): [pl.department_name(r["owner_department"],
                                                                  ctx.lang)],
                })
                tables.show(detail, pinned=0, max_height_px=None)
        if st.button(t("plan_clear_selection")):
            st.session_state.pop("pl_sel", None)
            pl.write_url({"pl_sel": None})
            st.rerun()
    else:
        st.caption(t("plan_click_hint"))




    tab1, tab2, tab3 = st.tabs([t("plan_tab_districts"), t("plan_tab_underserved"),
                                t("plan_tab_supply")])
    with tab1:
        summary = pl.summary(ctx.store, result, pre.key, type_key, ctx.year, group, override,
                             _actor=actor).copy()
        summary["name"] = [pl.district_label(a, pre.names, ctx.lang) for a in summary["adcode"]]
        shown = summary[["name", "persons", "covered", "beyond", "coverage_pct", "facilities",
                         "supply", "access_per_1000", "unmet"]].rename(columns={
                             "name": t("plan_col_district"),
                             "persons": t("plan_col_persons", group=pl.group_name(group, ctx.lang)),
                             "covered": t("plan_col_covered", radius=radius),
                             "beyond": t("plan_col_beyond", radius=radius),
                             "coverage_pct": t("plan_col_coverage_pct"),
                             "facilities": t("plan_col_facilities"),
                             "supply": t("plan_col_supply", unit=unit),
                             "access_per_1000": t("plan_col_access", unit=unit),
                             "unmet": t("plan_col_unmet")})
        shown = shown.round(1)
        tables.show(shown)
    with tab2:
        st.caption(t("plan_underserved_caption", ratio=ft.ratio_label))
        under = under.assign(suppressed=False) if under.empty else accessibility.public_cells(
            ctx.store, accessibility.Accessibility(**{**result.__dict__, "cells": under}),
            actor=current_actor(ctx.store), channel="page", fmt="underserved")
        table = under[["h3", "district_adcode", "persons", "facilities_in_reach",
                       "access_per_1000", "unmet"]].copy()
        table["district_adcode"] = [pl.district_label(int(a), pre.names, ctx.lang)
                                    for a in table["district_adcode"]]
        table = table.rename(columns={
            "h3": t("plan_col_cell"), "district_adcode": t("plan_col_district"),
            "persons": t("plan_col_persons", group=pl.group_name(group, ctx.lang)),
            "facilities_in_reach": t("plan_col_in_reach"),
            "access_per_1000": t("plan_col_access", unit=unit), "unmet": t("plan_col_unmet")})
        rounded = table.round(1)  # the table as shown; the CSV keeps the exact values
        tables.show(rounded)
        # the CSV says, cell by cell, whether its residents and facilities are a department's
        # data or synthetic (by district)
        csv = table.assign(**{t(f"source_column_{layer}"): [
            provenance.district_sources(ctx.store, pre.key, layer, ctx.year,
                                        (type_key,) if layer == "facilities" else None)
            .get(int(a), "")
            for a in under["district_adcode"]] for layer in ("population_cells", "facilities")})
        st.download_button(t("plan_download_csv"), csv.to_csv(index=False).encode("utf-8-sig"),
                           file_name=f"underserved_{type_key}_{ctx.year}.csv", mime="text/csv")
    with tab3:
        st.caption(t("plan_supply_caption", year=ctx.year))
        sd = pl.supply_table(ctx.store, pre.key, ctx.year)
        if district is not None:
            sd = sd[sd["adcode"] == district]
        else:
            sd = sd[sd["adcode"].isna()]
        sd = sd.assign(
            type_label=[pl.type_name(k, ctx.lang) for k in sd["type"]],
            group_label=[pl.group_option(g, ctx.lang) for g in sd["group"]],
            unit_label=[pl.unit_name(k, ctx.lang) for k in sd["type"]],
            ratio_label=[facility_type(k).localized(ctx.lang).ratio_label for k in sd["type"]])
        sd = sd.assign(
            gap=[reconcile.gap_words(st_, a, u, ctx.lang) for st_, a, u in
                 zip(sd["status"], sd["amount"], sd["unit_label"], strict=True)],
            required=[f"{v:,.0f}" if v == v else "—" for v in sd["required"]],
            supply_pct=[f"{v:,.1f}" if v == v else "—" for v in sd["supply_pct"]])
        shown = sd[["type_label", "group_label", "residents", "ratio_label", "required", "capacity",
                    "unit_label", "gap", "supply_pct"]].rename(columns={
                        "type_label": t("plan_col_type"), "group_label": t("plan_group"),
                        "residents": t("plan_col_residents"), "ratio_label": t("plan_col_ratio_std"),
                        "required": t("plan_col_required"), "capacity": t("plan_col_capacity_open"),
                        "unit_label": t("plan_col_unit"), "gap": t("plan_col_gap"),
                        "supply_pct": t("plan_col_supply_pct")})
        shown = shown.round(1)
        gap_col = t("plan_col_gap")
        tables.show(shown, styles=reconcile.gap_styles({gap_col: sd["status"]}),
                    max_height_px=None)
        looking_ahead(ctx, pre, type_key, unit, ft)


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
