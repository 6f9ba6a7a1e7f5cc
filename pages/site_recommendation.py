"""Where to build next: k new sites that bring the most uncovered residents within reach."""

import json

import streamlit as st

from analytics.errors import CityBrainError
from analytics.planning import siting
from analytics.standards import FACILITY_TYPES, facility_type
from dashboard import maps
from dashboard import planning as pl
from dashboard.auth import current_actor
from dashboard.components import bars, canvasmap, provenance
from dashboard.components import table as tables
from dashboard.shell import PageContext, page_context

DATUMS = ["", "wgs84", "gcj02", "bd09"]


def _ids(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.replace("，", ",").split(",") if v.strip())


def site_controls(ctx: PageContext, pre: pl.Preamble) -> dict | None:
    """The question, asked in one form; returns it once submitted (or from the link)."""
    t = ctx.t
    types = list(FACILITY_TYPES)
    pl.init_from_url("pl_k", list(range(1, 101)), 5, cast=int, lang=ctx.lang)
    std = facility_type(st.session_state["pl_type"]).radius_m
    pl.init_from_url("pl_radius", list(range(100, 5001, 50)), std, cast=int, lang=ctx.lang)
    pl.init_from_url("pl_ahead", [0, *pl.AHEAD_YEARS], 0, cast=int, lang=ctx.lang)
    with st.form("pl_sites_form"):
        c1, c2, c3, c4 = st.columns([1.5, 0.8, 1.1, 1])
        c1.selectbox(t("plan_type"), types, key="pl_type",
                     format_func=lambda k: pl.type_name(k, ctx.lang))
        c2.number_input(t("plan_k"), min_value=1, max_value=100, step=1, key="pl_k")
        c3.selectbox(t("plan_demand_year"), [0, *pl.AHEAD_YEARS], key="pl_ahead",
                     format_func=lambda h: t("plan_demand_now", year=ctx.year) if h == 0
                     else t("plan_demand_ahead", year=ctx.year + h),
                     help=t("plan_demand_help"))
        c4.number_input(t("plan_radius"), min_value=100, max_value=5000, step=50,
                        key="pl_radius", help=t("plan_radius_help", source=facility_type(
                            st.session_state["pl_type"]).localized(ctx.lang).radius_source))
        source = st.radio(t("plan_candidates"), ["cells", "upload"], horizontal=True,
                          key="pl_source",
                          format_func=lambda s: t(f"plan_candidates_{s}"))
        u1, u2 = st.columns([2, 1])
        upload = u1.file_uploader(t("plan_upload"), type=["csv", "geojson", "json"],
                                  key="pl_upload")
        datum = u2.selectbox(t("plan_datum"), DATUMS, key="pl_datum",
                             format_func=lambda d: t(f"plan_datum_{d or 'none'}"))
        l1, l2 = st.columns(2)
        lock = l1.text_input(t("plan_lock"), key="pl_lock", help=t("plan_lock_help"))
        exclude = l2.text_input(t("plan_exclude"), key="pl_exclude", help=t("plan_lock_help"))
        k1, k2 = st.columns([1, 2])
        cap_on = k1.checkbox(t("plan_capacity_aware"), key="pl_cap_on",
                             help=t("plan_capacity_help"))
        unit = pl.unit_name(st.session_state["pl_type"], ctx.lang)
        cap = k2.number_input(t("plan_site_capacity", unit=unit), min_value=1, max_value=5000,
                              value=None, step=10, key="pl_cap", help=t("plan_capacity_help"))
        submitted = st.form_submit_button(t("plan_run"), type="primary")
    if not submitted and "pl_k" not in st.query_params:
        return None
    type_key = st.session_state["pl_type"]
    radius = int(st.session_state["pl_radius"])
    ahead = int(st.session_state["pl_ahead"])
    pl.write_url({"pl_type": type_key, "pl_k": st.session_state["pl_k"],
                  "pl_radius": radius if radius != facility_type(type_key).radius_m else None,
                  "pl_ahead": ahead or None})
    return {"type": type_key, "k": int(st.session_state["pl_k"]),
            "district": pre.district,  # the sidebar's area, shared by every page
            "radius": radius if radius != facility_type(type_key).radius_m else None,
            "source": source, "upload": upload, "datum": datum, "lock": _ids(lock),
            "exclude": _ids(exclude), "cap_on": cap_on, "cap": cap,
            "demand_year": ctx.year + ahead if ahead else None}


def facility_layers(ctx: PageContext, type_key: str, facilities, district: int | None,
                    labels: dict) -> list:
    """The existing facilities of ``type_key`` in the area (all the city's when ``district`` is
    None), named in the page's language: a layer, or none where there are none."""
    if district is not None:
        facilities = facilities[facilities["district_adcode"] == district]
    if not len(facilities):
        return []
    return [maps.facility_layer(maps.facility_layer_data(
        facilities.assign(name=pl.facility_names(facilities["name"], ctx.lang)),
        pl.type_name(type_key, ctx.lang), pl.unit_name(type_key, ctx.lang), labels))]


def uncovered_layer(ctx: PageContext, pre: pl.Preamble, type_key: str, cells,
                    group: str, radius: int | None, district: int | None,
                    demand_year: int | None) -> tuple[list, object]:
    """The residents of ``group`` out of reach of the facilities there are (``cells``: the
    analysis' cells), in the area, as released: a layer (or none) and its legend. The same
    view before and after an answer is released and encoded once."""
    if district is not None:
        cells = cells[cells["district_adcode"] == district]
    hexes, legend, encoded = pl.uncovered_hexes(
        ctx.store, cells, pre.key, type_key, ctx.year, group, radius, district, demand_year,
        ctx.lang, ctx.t("plan_legend_uncovered", group=pl.group_name(group, ctx.lang)),
        _actor=current_actor(ctx.store))
    if not len(hexes):
        return [], legend
    return [encoded if pl.on_canvas() else maps.hex_layer(hexes, high_precision=False)], legend


def sites_map(ctx: PageContext, pre: pl.Preamble, layers: list, district: int | None) -> None:
    """``layers`` over the area's outlines, framed on the area whatever the type or the number
    of sites (so a new answer redraws the layers in place, the reader's view kept)."""
    view = pl.area_view(ctx.store, pre.key, district)
    layers = [*layers, *pl.outline_layers(ctx.store, pre.key, view, district)]
    if pl.on_canvas():
        canvasmap.show(canvasmap.build(layers, view, label=ctx.t("plan_sites_table")),
                       height=560, key="pl_sites_map")
    else:   # over the city's own basemap: deck.gl
        st.pydeck_chart(maps.prepare(maps.deck(layers, view)), height=560,
                        key="pl_sites_map_deck")


def page(ctx: PageContext) -> None:
    t = ctx.t
    pre = pl.preamble(ctx)
    st.title(t("plan_sites_title"))
    st.caption(t("plan_sites_caption"))
    ask = site_controls(ctx, pre)
    chosen = ask["type"] if ask else pre.type_key
    for layer, types in (("facilities", [chosen]), ("population_cells", None)):
        provenance.source_caption(ctx.store, pre.key, ctx.lang, layer, types=types,
                                  year=ctx.year)
    provenance.grid_gap_note(ctx.store, pre.key, ctx.lang, ctx.year)
    # the answer's place, then the map's: the map keeps its place whether sites were asked
    # for or not, so it is mounted once and an answer only changes what it draws
    answer = st.container()
    left, right = st.columns([5, 1.25])
    if ask is None:   # who is out of reach of the facilities there are now
        answer.info(t("plan_sites_prompt"))
        try:
            now = pl.analyse(ctx.store, pre.key, chosen, ctx.year, pre.group, None)
            gaps, legend = uncovered_layer(ctx, pre, chosen, now.cells, pre.group, None,
                                           pre.district, None)
        except CityBrainError as exc:
            answer.error(ctx.reason(exc))
            st.stop()
        with left:
            sites_map(ctx, pre, gaps + facility_layers(
                ctx, chosen, now.facilities, pre.district,
                pl.map_labels(ctx.lang, pre.group, chosen)), pre.district)
        with right:
            if legend is not None:
                st.markdown(legend.html(), unsafe_allow_html=True)
            st.caption(t("plan_sites_existing_note", group=pl.group_name(pre.group, ctx.lang),
                         type=pl.type_name(chosen, ctx.lang)))
        st.stop()

    with answer:
        ft = facility_type(ask["type"]).localized(ctx.lang)
        try:
            candidates = None
            if ask["source"] == "upload":
                if ask["upload"] is None:
                    st.warning(t("plan_upload_needed"))
                    st.stop()
                candidates = siting.parse_candidates(
                    ask["upload"].getvalue(), ask["upload"].name, ask["datum"] or None,
                    ctx.store)
            result_acc = pl.analyse(ctx.store, pre.key, ask["type"], ctx.year,
                                    pre.group, ask["radius"])
            site_capacity = None
            if ask["cap_on"]:
                if result_acc.need_per_person:
                    site_capacity = float(ask["cap"]) if ask["cap"] else float(
                        result_acc.facilities["capacity"].median()
                        if len(result_acc.facilities) else 100.0)
                else:
                    st.info(t("plan_capacity_na"))
            actor = current_actor(ctx.store)
            with st.spinner("…"):
                res = pl.recommend(ctx.store, pre.key, ask["type"], ctx.year, ask["k"],
                                   pre.group, ask["radius"],
                                   ask["district"], candidates, ask["lock"], ask["exclude"],
                                   site_capacity, ask["demand_year"], _actor=actor,
                                   _analysis=result_acc)
                cells = result_acc.cells if ask["demand_year"] is None else pl.future_cells(
                    ctx.store, pre.key, ask["type"], ctx.year, pre.group,
                    ask["radius"], ask["demand_year"])
        except CityBrainError as exc:
            st.error(ctx.reason(exc))
            st.stop()

        for code, values in res.note_codes:
            st.caption(t("plan_note_prefix") + t(f"plan_note_{code}", **values))
        group = pl.group_name(res.group, ctx.lang)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(t("plan_before"), f"{res.before_pct:.2f}%")
        m2.metric(t("plan_after"), f"{res.after_pct:.2f}%",
                  delta=f"{res.after_pct - res.before_pct:+.2f}")
        m3.metric(t("plan_newly"), f"{res.newly_covered:,.0f}", help=t("plan_newly_help"))
        m4.metric(t("plan_gap"), f"{res.solution.gap_pct:.2f}%",
                  help=t("plan_gap_help", status=res.solution.status,
                         seconds=f"{res.solution.seconds:.1f}", n=f"{res.n_candidates:,}"))
        if site_capacity:
            st.caption(t("plan_site_capacity", unit=pl.unit_name(ask["type"], ctx.lang))
                       + f": {site_capacity:,.0f}")

    # -- map: who is not covered, existing facilities, the proposed sites ----------------------
    labels = pl.map_labels(ctx.lang, res.group, ask["type"])
    layers, legend = uncovered_layer(ctx, pre, ask["type"], cells, res.group, ask["radius"],
                                     ask["district"], ask["demand_year"])
    layers.extend(facility_layers(ctx, ask["type"], result_acc.facilities, ask["district"],
                                  labels))
    if len(res.sites):
        layers.append(maps.catchment_layer(res.sites, res.radius_m, rgb=maps.SITE_RGB,
                                           layer_id="site_catchments"))
        layers.extend(maps.sites_layer(res.sites.assign(
            name=[pl.place_text(r, ctx.lang) for _, r in res.sites.iterrows()]), labels))
    with left:
        sites_map(ctx, pre, layers, ask["district"])
    with right:
        if legend is not None:
            st.markdown(legend.html(), unsafe_allow_html=True)
        st.caption(t("plan_sites_map_note", group=group, radius=res.radius_m))
        st.caption(t("plan_standard_note", circle=ft.circle_minutes, radius=ft.radius_m,
                     source=ft.radius_source, ratio=ft.ratio_label, ratio_source=ft.ratio_source))

    # -- the sites, their marginal gains, exports ----------------------------------------------
    st.subheader(t("plan_sites_table"))
    rows = [r for _, r in res.sites.iterrows()]
    table = res.sites.assign(
        where=[pl.place_where(r, ctx.lang, district=False) for r in rows],
        nearest=[pl.nearest_name(r, ctx.lang) for r in rows],
        nearest_m=res.sites["landmark_m"],
        district=[pl.district_label(int(a), pre.names, ctx.lang) for a in res.sites["district_adcode"]])
    shown = table[["order", "where", "nearest", "nearest_m", "district", "locked", "gain",
                   "coverage_after_pct", "lon", "lat", "site_id"]].rename(columns={
                       "order": t("plan_col_order"), "site_id": t("plan_col_site_id"),
                       "where": t("plan_col_where"), "nearest": t("plan_col_nearest"),
                       "nearest_m": t("plan_col_nearest_m"), "district": t("plan_col_district"),
                       "locked": t("plan_col_locked"), "gain": t("plan_col_gain"),
                       "coverage_after_pct": t("plan_col_after_pct"), "lon": t("plan_col_lon"),
                       "lat": t("plan_col_lat")})
    shown = shown.round({t("plan_col_gain"): 0, t("plan_col_after_pct"): 2})
    shown[t("plan_col_locked")] = ["✓" if v else "" for v in shown[t("plan_col_locked")]]
    # coordinates to 1e-5 degree (about a metre); the site id names the cell exactly
    tables.show(shown, decimals={t("plan_col_lon"): 5, t("plan_col_lat"): 5,
                                 t("plan_col_after_pct"): 2}, pinned=2)
    if len(res.sites):
        # in the order the sites were chosen; drawn by the server (no chart library to load)
        st.markdown(bars.bars_svg(res.sites["order"].astype(str).tolist(),
                                  res.sites["gain"].to_numpy(float).tolist(),
                                  t("plan_col_order"), t("plan_col_gain"),
                                  "{:,.0f}".format), unsafe_allow_html=True)
    stem = f"sites_{ask['type']}_{ctx.year}_k{ask['k']}"
    # what each site's gain rests on, by its district: a department's data or synthetic
    sources = {col: provenance.district_sources(ctx.store, pre.key, layer, ctx.year, types)
               for col, layer, types in (("source_residents", "population_cells", None),
                                         ("source_facilities", "facilities", (ask["type"],)))}
    sites = res.sites.assign(**{col: [by.get(int(a), "") for a in res.sites["district_adcode"]]
                                for col, by in sources.items()})
    geojson = res.geojson()
    for feature in geojson.get("features", []):
        props = feature.get("properties", {})
        if "district_adcode" in props:
            props.update({col: by.get(int(props["district_adcode"]), "")
                          for col, by in sources.items()})
    d1, d2 = st.columns(2)
    d1.download_button(t("plan_download_geojson"),
                       json.dumps(geojson, ensure_ascii=False, indent=1).encode("utf-8"),
                       file_name=f"{stem}.geojson", mime="application/geo+json")
    d2.download_button(t("plan_download_csv"),
                       sites.to_csv(index=False).encode("utf-8-sig"),
                       file_name=f"{stem}.csv", mime="text/csv")


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
