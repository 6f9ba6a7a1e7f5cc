"""Open data catalog: search with facets, a page per dataset, downloads, the negative list."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from analytics.errors import CityBrainError
from analytics.identity import Actor
from analytics.opendata import access, applications, catalog, exports
from analytics.opendata.registry import DOMAINS, SPECS
from dashboard import auth
from dashboard.navigation import route
from dashboard.shell import PageContext, page_context

PREVIEW_ROWS = 20
LARGE_ROWS = 2_000_000

def access_label(ctx: PageContext, level: str) -> str:
    t = ctx.t
    return t(f"od_access_{level}")


def domain_label(ctx: PageContext, theme: str) -> str:
    zh, en, _ = DOMAINS.get(theme, (theme, theme, ""))
    return zh if ctx.lang == "zh" else en


def publisher_of(ctx: PageContext, row) -> str:
    return row["publisher"] if ctx.lang == "zh" else row["publisher_en"]


def title_of(ctx: PageContext, row) -> str:
    return row["title"] if ctx.lang == "zh" else row["title_en"]


def who_caption(ctx: PageContext, actor: Actor) -> None:
    t = ctx.t
    if actor.name == "public":
        st.caption(t("od_anonymous"))
    else:
        st.caption(t("od_signed_in_as", name=actor.name, role=t(f"od_role_{actor.role}")))


def facet_controls(ctx: PageContext, cat: pd.DataFrame) -> tuple[str, dict[str, list[str]]]:
    t = ctx.t
    """Search box and facet filters; returns the text and the selected facet values."""
    text = st.text_input(t("od_search"), key="od_q", placeholder=t("od_search_placeholder"),
                         max_chars=120)
    labels = {
        "theme": (t("od_facet_theme"), lambda v: domain_label(ctx, v)),
        "publisher": (t("od_facet_publisher"),
                      lambda v: v if ctx.lang == "zh" else
                      cat.loc[cat["publisher"] == v, "publisher_en"].iloc[0]),
        "access_level": (t("od_facet_access"), lambda v: access_label(ctx, v)),
        "formats": (t("od_facet_format"), str.upper),
        "update_frequency": (t("od_facet_frequency"), lambda v: t(f"od_freq_{v}")),
    }
    # the counts follow the search and the other facets' choices (what a choice would find)
    chosen = {f: st.session_state.get(f"od_f_{f}") or [] for f in labels}
    try:
        counts = catalog.facet_counts(cat, text, **chosen)
    except catalog.SearchRefused:
        counts = catalog.facet_counts(cat, "", **chosen)
    selected = {}
    for col, (facet, (label, fmt)) in zip(st.columns(len(labels)), labels.items(), strict=True):
        options = list(counts[facet].index)
        with col:
            selected[facet] = st.multiselect(
                label, options, key=f"od_f_{facet}", placeholder=t("od_facet_any"),
                format_func=lambda v, fmt=fmt, facet=facet: f"{fmt(v)} ({counts[facet][v]})")
    return text, selected


def listing(ctx: PageContext, actor: Actor, cat: pd.DataFrame) -> None:
    t = ctx.t
    text, selected = facet_controls(ctx, cat)
    try:
        result = catalog.search(cat, text, **selected)
    except catalog.SearchRefused as exc:
        catalog.log_refused_search(ctx.store, actor, text, str(exc))
        st.error(t("od_search_refused", reason=ctx.reason(exc)))
        return
    hits = catalog.with_quality(result.hits)
    if hits.empty:
        st.info(t("od_no_hits"))
        return
    st.caption(t("od_hits", n=len(hits), total=len(cat)))
    table = pd.DataFrame({
        t("od_col_title"): [title_of(ctx, r) for _, r in hits.iterrows()],
        t("od_col_publisher"): [publisher_of(ctx, r) for _, r in hits.iterrows()],
        t("od_col_access"): hits["access_level"].map(lambda v: access_label(ctx, v)),
        t("od_col_rows"): hits["row_count"],
        t("od_col_downloads"): hits["downloads"],
        t("od_col_quality"): hits["quality"],
    })
    event = st.dataframe(
        table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="od_table",
        column_config={
            t("od_col_title"): st.column_config.TextColumn(width="medium"),
            t("od_col_rows"): st.column_config.NumberColumn(format="localized", width="small"),
            t("od_col_downloads"): st.column_config.NumberColumn(format="localized", width="small"),
            t("od_col_quality"): st.column_config.ProgressColumn(
                t("od_col_quality"), min_value=0, max_value=100, format="%.0f", width="small")})
    rows = event.selection.rows if event and event.selection else []
    if rows:
        st.query_params["dataset"] = hits.iloc[rows[0]]["dataset_id"]
        st.rerun()


def metadata_block(ctx: PageContext, row) -> None:
    t = ctx.t
    q = catalog.quality(row)
    left, right = st.columns([2, 1])
    with left:
        st.subheader(t("od_metadata"))
        temporal = ("" if pd.isna(row["temporal_start"])
                    else f"{int(row['temporal_start'])}–{int(row['temporal_end'])}")
        fields = [
            (t("od_field_identifier"), row["dataset_id"]),
            (t("od_field_publisher"), publisher_of(ctx, row)),
            (t("od_field_theme"), domain_label(ctx, row["theme"])),
            (t("od_field_keywords"), row["keywords"]),
            (t("od_field_temporal"), temporal),
            (t("od_field_spatial"), row["spatial"]),
            (t("od_field_frequency"), t(f"od_freq_{row['update_frequency']}")),
            (t("od_field_access"), access_label(ctx, row["access_level"])),
            (t("od_field_licence"), row["licence"]),
            (t("od_field_modified"), str(row["modified"])[:10]),
            (t("od_field_rows"), f"{int(row['row_count']):,}"),
            (t("od_field_downloads"), f"{int(row['downloads']):,}"),
        ]
        st.dataframe(pd.DataFrame(fields, columns=[t("col_key"), t("col_value")]),
                     hide_index=True, width="stretch", height=35 * (len(fields) + 1) + 3)
    with right:
        st.metric(t("od_quality"), f"{q['score']:.0f} / 100", help=t("od_quality_help"))
        st.progress(min(1.0, q["score"] / 100))
        st.caption(t("od_quality_parts", **{k: f"{v:.0f}" for k, v in q.items() if k != "score"}))


def schema_block(ctx: PageContext, row) -> None:
    t = ctx.t
    cols = catalog.columns_of(row)
    if cols.empty:
        return
    st.subheader(t("od_schema"))
    desc = cols["description"] if ctx.lang == "zh" else cols["description_en"]
    st.dataframe(pd.DataFrame({t("od_col_name"): cols["name"], t("od_col_type"): cols["type"],
                               t("od_col_unit"): cols["unit"], t("od_col_description"): desc}),
                 hide_index=True, width="stretch", height=35 * (len(cols) + 1) + 3)


def preview_and_downloads(ctx: PageContext, actor: Actor, row) -> None:
    t = ctx.t
    dataset_id = row["dataset_id"]
    decision = access.decide(ctx.store, dataset_id, actor, "page")
    if not decision.allowed and row["access_level"] == "on_application":
        st.info(t("od_needs_application"))
        target = route("applications" if actor.name != "public" else "sign_in", ctx.lang)
        st.page_link(target, label=t("od_apply_link") if actor.name != "public"
                     else t("od_sign_in_link"), icon=":material/arrow_forward:")
        return
    try:
        frame, report = access.read(ctx.store, dataset_id, actor, channel="page",
                                    limit=PREVIEW_ROWS)
    except access.AccessRefused as exc:  # logged by analytics
        st.error(t("od_refused", reason=ctx.reason(exc)))
        return
    if decision.application_id:
        app = applications.get(ctx.store, decision.application_id)
        st.success(t("od_approved_until", app=decision.application_id,
                     until=str(app["expires_at"])[:16]))
    st.subheader(t("od_preview", n=PREVIEW_ROWS))
    if report.primary_suppressed:
        st.caption(t("od_preview_suppressed"))
    shown = frame.copy()
    for col in shown.columns:  # binary geometry is not readable in a table
        if shown[col].map(lambda v: isinstance(v, (bytes, bytearray, memoryview))).any():
            shown[col] = shown[col].map(lambda v: f"WKB ({len(v):,} bytes)" if v is not None else v)
    st.dataframe(shown, hide_index=True, width="stretch")
    with st.expander(t("od_report")):
        for line in report.lines():
            st.markdown(f"- {line}")
    st.subheader(t("od_downloads"))
    st.caption(t("od_download_help"))
    fmts = catalog.formats(row)
    if int(row["row_count"]) > LARGE_ROWS:  # the browser gets Parquet; other formats stream from the CLI
        fmts = tuple(f for f in fmts if f == "parquet")
        st.caption(t("od_large_note", rows=f"{int(row['row_count']):,}", dataset=dataset_id))
    for col, fmt in zip(st.columns(len(fmts)), fmts, strict=True):
        def make(fmt=fmt):
            data, _ = exports.export_bytes(ctx.store, dataset_id, fmt, actor, "download",
                                           decision.application_id)
            return data
        with col:
            st.download_button(fmt.upper(), data=make, file_name=f"{dataset_id}.{exports.SUFFIX[fmt]}",
                               mime=catalog.MEDIA_TYPES[fmt], key=f"od_dl_{fmt}",
                               on_click="ignore", icon=":material/download:")


def dataset_page(ctx: PageContext, actor: Actor, cat: pd.DataFrame, dataset_id: str) -> None:
    t = ctx.t
    if st.button(t("od_back"), type="tertiary"):
        del st.query_params["dataset"]
        st.rerun()
    rows = cat[cat["dataset_id"] == dataset_id]
    if rows.empty:
        # Still log it: naming unknown datasets in URLs is how probing looks.
        access.log(ctx.store, access.decide(ctx.store, dataset_id[:100], actor, "page"), "page", 0)
        st.error(t("od_unknown_dataset", dataset=dataset_id[:100]))
        return
    row = rows.iloc[0]
    st.header(title_of(ctx, row))
    badges = [f":blue-badge[{access_label(ctx, row['access_level'])}]"]
    if row["synthetic"]:
        badges.append(f":orange-badge[{t('od_synthetic_badge')}]")
    st.markdown(" ".join(badges))
    spec = SPECS.get(dataset_id)
    st.write(row["description"] if ctx.lang == "zh" else
             (row.get("description_en") or (spec.description_en if spec else "")))
    if row["negative_list"]:
        st.warning(t("od_negative_entry", reason=row["negative_reason"] if ctx.lang == "zh"
                     else row.get("negative_reason_en") or row["negative_reason"]))
    metadata_block(ctx, row)
    schema_block(ctx, row)
    preview_and_downloads(ctx, actor, row)


def popular(ctx: PageContext, cat: pd.DataFrame) -> None:
    t = ctx.t
    top = catalog.most_downloaded(cat)
    if top.empty:
        st.info(t("od_no_downloads"))
        return
    st.dataframe(pd.DataFrame({
        t("od_col_title"): [title_of(ctx, r) for _, r in top.iterrows()],
        t("od_col_publisher"): top["publisher"],
        t("od_col_downloads"): top["downloads"]}), hide_index=True, width="stretch")


def negative(ctx: PageContext, cat: pd.DataFrame) -> None:
    t = ctx.t
    st.caption(t("od_negative_intro"))
    neg = catalog.negative_list(cat)
    # A static table: the reasons are long and must wrap, not be cut off.
    st.table(pd.DataFrame({
        t("od_col_title"): [title_of(ctx, r) for _, r in neg.iterrows()],
        t("od_col_publisher"): [publisher_of(ctx, r) for _, r in neg.iterrows()],
        t("od_col_reason"): neg["negative_reason"] if ctx.lang == "zh"
        else neg["negative_reason_en"]}).set_index(t("od_col_title")))


def bulk(ctx: PageContext, actor: Actor, cat: pd.DataFrame) -> None:
    t = ctx.t
    st.caption(t("od_bulk_intro"))
    themes = sorted(set(cat["theme"]), key=lambda th: list(DOMAINS).index(th))
    theme = st.selectbox(t("od_bulk_domain"), themes, format_func=lambda v: domain_label(ctx, v), key="od_bulk_theme")
    in_theme = cat[cat["theme"] == theme]
    allowed = [d.dataset_id for d in access.decide_many(ctx.store, list(in_theme["dataset_id"]),
                                                        actor, "download") if d.allowed]
    if not allowed:
        st.info(t("od_bulk_none"))
    else:
        st.caption(", ".join(allowed))

        def make_zip():
            import io

            buf = io.BytesIO()
            exports.export_domain(ctx.store, theme, buf, actor, "download")
            return buf.getvalue()
        st.download_button(t("od_bulk_button"), data=make_zip, file_name=f"{theme}.zip",
                           mime="application/zip", on_click="ignore", key="od_zip",
                           icon=":material/folder_zip:")
    st.subheader(t("od_machine_readable"))
    meta = ctx.store.meta()
    left, right = st.columns(2)
    with left:
        st.download_button(t("od_jsonld_button"), key="od_jsonld",
                           data=json.dumps(catalog.dcat_jsonld(cat, meta), ensure_ascii=False,
                                           indent=2, default=str),
                           file_name="catalog.jsonld", mime="application/ld+json", on_click="ignore")
    with right:
        st.download_button(t("od_datajson_button"), key="od_datajson",
                           data=json.dumps(catalog.data_json(cat, meta), ensure_ascii=False,
                                           indent=2, default=str),
                           file_name="data.json", mime="application/json", on_click="ignore")


def page(ctx: PageContext) -> None:
    t = ctx.t
    actor = auth.current_actor(ctx.store)
    st.title(t("od_page_catalog"))
    who_caption(ctx, actor)
    try:
        cat = catalog.datasets(ctx.store)
    except CityBrainError as exc:
        st.error(ctx.reason(exc))
        st.stop()
    selected_id = st.query_params.get("dataset")
    if selected_id:
        dataset_page(ctx, actor, cat, selected_id)
    else:
        own = ctx.store.meta().get("synthetic_layers") == "none"
        st.caption(t("od_catalog_intro_own" if own else "od_catalog_intro"))
        tabs = st.tabs([t("od_tab_datasets"), t("od_tab_popular"), t("od_tab_negative"), t("od_tab_bulk")])
        with tabs[0]:
            listing(ctx, actor, cat)
        with tabs[1]:
            popular(ctx, cat)
        with tabs[2]:
            negative(ctx, cat)
        with tabs[3]:
            bulk(ctx, actor, cat)


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
