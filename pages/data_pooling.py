"""Data pooling: a department's steward validates a file against its contract, then loads it."""


import streamlit as st

from analytics.errors import CityBrainError
from analytics.geo import DATUMS
from analytics.pooling import ingest, uploads
from analytics.pooling.contracts import contracts, departments
from dashboard.auth import current_actor
from dashboard.components import findings
from dashboard.format import plain
from dashboard.i18n import Translate
from dashboard.shell import PageContext, page_context

EXAMPLES = {
    "civil_affairs_care_homes": "civil_affairs_care_homes_bd09.csv",
    "education_schools": "education_schools_gbk.csv",
    "health_community_centres": "health_community_centres.xlsx",
    "public_security_residents": "public_security_residents_2025-06.parquet",
    "environment_air_quality": "environment_air_quality_2025-06-30.geojson",
    "transport_bus_stops": "transport_bus_stops.geoparquet",
}


def department_label(department: str, lang: str) -> str:
    """A department's name in the page language (the contracts hold both)."""
    return department if lang == "zh" else departments().get(department, department)


def dataset_controls(t: Translate, lang: str, actor):
    """The dataset, file, datum and encoding the steward chose (their own datasets first)."""
    known = contracts()
    order = sorted(known, key=lambda d: not ingest.may_load(actor, known[d]))
    dataset = st.selectbox(
        t("ingest_dataset"), order, key="ingest_dataset",
        format_func=lambda d: (f"{known[d].title} · {known[d].department}" if lang == "zh"
                               else f"{known[d].title_en} · {known[d].department_en}"))
    contract = known[dataset]
    with st.expander(t("ingest_contract", title=contract.title if lang == "zh" else contract.title_en)):
        st.caption(t("ingest_contract_facts",
                     department=contract.department if lang == "zh" else contract.department_en,
                     frequency=t(f"ingest_freq_{contract.update_frequency}"),
                     mode=t(f"ingest_mode_{contract.load_mode}"), access=contract.access_level,
                     datum=contract.datum if contract.lon else "—"))
        # a static table: a canvas grid inside a closed expander never draws
        st.table(
            [{t("ingest_col_name"): c.name, t("ingest_col_type"): c.type,
              t("ingest_col_unit"): c.unit or "",
              t("ingest_col_rule"): (", ".join(c.allowed) if c.allowed else
                                     f"{c.min:g} – {c.max:g}" if c.min is not None else ""),
              t("ingest_col_aliases"): ", ".join(c.aliases),
              t("ingest_col_required"): "✓" if c.required else ""}
             for c in contract.columns])
    source = st.radio(t("ingest_source"), ["upload", "example"], horizontal=True,
                      key="ingest_source",
                      format_func=lambda s: t(f"ingest_source_{s}"))
    left, right = st.columns(2)
    datum = left.selectbox(t("ingest_datum"), DATUMS, index=DATUMS.index(contract.datum),
                           key=f"ingest_datum_{dataset}", disabled=not contract.lon)
    encoding = right.selectbox(t("ingest_encoding"), ingest.ENCODINGS, key="ingest_encoding")
    return contract, source, datum if contract.lon else None, encoding


def chosen_file(ctx: PageContext, contract, source, actor):
    """``(path, name)`` of the file to check, or ``(None, None)``."""
    t = ctx.t
    if source == "example":
        name = EXAMPLES.get(contract.id) or contract.example
        if name is None:
            st.info(t("ingest_no_example"))
            return None, None
        return ingest.example_path(name), name
    if actor.role not in uploads.UPLOADER_ROLES:  # anonymous visitors upload nothing (the
        return None, None                          # page's top says why, once)
    upload = st.file_uploader(t("ingest_upload"), key=f"ingest_upload_{contract.id}",
                              type=["csv", "txt", "tsv", "xlsx", "geojson", "json", "parquet",
                                    "geoparquet"])
    if upload is None:
        return None, None
    try:
        return uploads.save(actor, upload.getvalue(), upload.name), upload.name
    except CityBrainError as exc:
        st.error(ctx.reason(exc))
        return None, None


def show_report(t: Translate, report: ingest.Report, ctx: PageContext | None = None) -> None:
    cols = st.columns(4)
    cols[0].metric(t("ingest_rows_in"), f"{report.rows_in:,}")
    cols[1].metric(t("ingest_rows_out"), f"{report.rows_out:,}")
    cols[2].metric(t("ingest_duplicates"), f"{report.duplicates_dropped:,}")
    cols[3].metric(t("ingest_problems_n"), f"{report.problem_count:,}")
    st.caption(t("ingest_read_as", file=plain(report.file_name), format=report.file_format,
                 encoding=report.encoding or "—", datum=report.datum or "—",
                 sha=report.file_sha256[:12]))
    if report.ok:
        st.success(t("ingest_valid"))
        if ctx is not None:  # what looks wrong, for the steward to check before loading
            findings.show(report.findings, ctx.lang, ctx.district_name, key="ingest_findings")
        return
    st.error(plain(report.problems["message"].iloc[0]))
    st.subheader(t("ingest_problems_title"))
    if report.problem_count > len(report.problems):
        st.caption(t("ingest_problems_more", total=f"{report.problem_count:,}",
                     shown=f"{len(report.problems):,}"))
    st.dataframe(report.problems[["row", "column", "value", "rule", "message"]],
                 hide_index=True, width="stretch")
    st.download_button(t("ingest_download"), report.problems_csv(),
                       file_name=f"problems-{report.file_name}.csv", mime="text/csv",
                       icon=":material/download:")


def page(ctx: PageContext) -> None:
    t = ctx.t
    st.title(t("page_ingest"))
    st.caption(t("ingest_intro"))

    actor = current_actor(ctx.store)
    if actor.role in ingest.LOADER_ROLES:
        role = t(f"od_role_{actor.role}")
        if actor.department:
            role += " · " + department_label(actor.department, ctx.lang)
        st.caption(t("ingest_signed_in", name=actor.name, role=role))
    else:
        st.info(t("ingest_signed_out"))
    contract, source, datum, encoding = dataset_controls(t, ctx.lang, actor)
    path, name = chosen_file(ctx, contract, source, actor)
    if path is not None:
        key = (contract.id, name, datum, encoding, ingest.sha256(path))
        if st.button(t("ingest_validate"), type="primary", key="ingest_validate"):
            try:
                st.session_state["ingest_report"] = (key, ingest.validate(
                    ctx.store, path, contract.id, datum=datum, encoding=encoding, file_name=name))
            except CityBrainError as exc:
                st.session_state.pop("ingest_report", None)
                st.error(ctx.reason(exc))
        stored = st.session_state.get("ingest_report")
        if stored and stored[0] == key and st.session_state.get("ingest_load"):
            # the Load button of the previous run was pressed: load before drawing anything
            st.session_state.pop("ingest_report", None)
            stored = None
            try:
                done = ingest.load(ctx.store, path, contract.id, actor, datum=datum,
                                   encoding=encoding, file_name=name)
                if source == "upload":
                    uploads.discard(path)  # loaded: the upload is not kept
                st.success(t("ingest_loaded", version=done.version,
                             dataset=contract.title if ctx.lang == "zh" else contract.title_en,
                             rows=f"{done.rows_out:,}"))
                findings.show(done.findings, ctx.lang, ctx.district_name, key="ingest_loaded_f")
            except ingest.IngestRejected as exc:
                st.error(ctx.reason(exc))
                show_report(t, exc.report, ctx)
            except CityBrainError as exc:
                st.error(ctx.reason(exc))
        if stored and stored[0] == key:
            report = stored[1]
            show_report(t, report, ctx)
            if report.ok:
                try:
                    ingest.check_may_load(actor, contract)
                    allowed = True
                except CityBrainError as exc:
                    allowed = False
                    st.warning(ctx.reason(exc) if getattr(exc, "code", None)
                               else t("ingest_cannot_load"))
                st.button(t("ingest_load"), disabled=not allowed, key="ingest_load", type="primary")


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
