"""Data quality: each dataset's freshness against its stated frequency, completeness, last result, history."""

import re

import pandas as pd
import plotly.express as px
import streamlit as st

from analytics.pooling import contracts, ingest
from dashboard.auth import current_actor
from dashboard.components import findings
from dashboard.shell import PageContext, page_context

#: The parts of the lineage log's message (written in English for the CLI and the API) that
#: the history table words again in the page's language.
_LOADED = re.compile(r"([\d,]+) rows loaded as version (\d+)")
_DUPLICATES = re.compile(r"([\d,]+) exact duplicate rows dropped")
_ENCODING = re.compile(r"encoding ([\w-]+)")
_DATUM = re.compile(r"datum (\w+) -> wgs84")
_ROLLED = re.compile(r"version (\d+) rolled back; (?:version (\d+)|no version) is current")


def history_message(t, row) -> str:
    """One load attempt's message in the page's language: what was loaded as which version
    (with duplicates dropped, encoding and datum), what a rollback made current, or why a
    file was refused (the refusal's own words, which name the file, row and column)."""
    message = row["message"] if isinstance(row["message"], str) else ""
    if row["status"] == "loaded":
        parts = [t("dq_msg_loaded", rows=f"{int(row['rows_out']):,}",
                   version=int(row["version"]))]
        if m := _DUPLICATES.search(message):
            parts.append(t("dq_msg_duplicates", n=m.group(1)))
        if m := _ENCODING.search(message):
            parts.append(t("dq_msg_encoding", encoding=m.group(1)))
        if m := _DATUM.search(message):
            parts.append(t("dq_msg_datum", datum=m.group(1)))
        return t("dq_msg_sep").join(parts)
    if row["status"] == "rolled_back" and (m := _ROLLED.search(message)):
        return t("dq_msg_rolled_back", version=m.group(1)) + t("dq_msg_sep") + (
            t("dq_msg_current", version=m.group(2)) if m.group(2) else t("dq_msg_no_current"))
    if row["status"] == "rejected":
        return t("dq_msg_rejected", message=message)
    return message


def page(ctx: PageContext) -> None:
    t = ctx.t
    zh = ctx.lang == "zh"
    st.title(t("page_data_quality"))
    st.caption(t("dq_intro"))

    quality = ingest.quality(ctx.store)
    loaded = quality["freshness"] != "never_loaded"
    cols = st.columns(3)
    cols[0].metric(t("dq_loaded"), f"{int(loaded.sum())} / {len(quality)}")
    cols[1].metric(t("dq_stale"), int((quality["freshness"] == "stale").sum()))
    cols[2].metric(t("dq_rejected"), int((quality["last_status"] == "rejected").sum()))

    FRESHNESS = {"fresh": t("dq_fresh"), "stale": t("dq_stale_label"), "never_loaded": t("dq_never"),
                 "no_schedule": t("dq_no_schedule")}
    table = quality.assign(
        title=quality["title"] if zh else quality["title_en"],
        department=quality["department"] if zh else quality["department_en"],
        update_frequency=quality["update_frequency"].map(lambda f: t(f"ingest_freq_{f}")),
        freshness=[FRESHNESS[f] + (t("dq_age", days=int(a)) if pd.notna(a) else "")
                   for f, a in zip(quality["freshness"], quality["age_days"], strict=True)],
        last_status=quality["last_status"].map(
            lambda s: t(f"dq_status_{s}") if isinstance(s, str) else "—"),
        # a dataset never loaded has no date and no rows: a dash, not "None"
        last_loaded=[f"{pd.Timestamp(v):%Y-%m-%d}" if pd.notna(v) else "—"
                     for v in quality["last_loaded"]],
        rows=[f"{int(v):,}" if pd.notna(v) else "—" for v in quality["rows"]],
        findings=[f"{int(v):,}" if pd.notna(v) else "—" for v in quality["findings"]],
    )
    st.dataframe(
        table[["title", "department", "update_frequency", "freshness", "last_loaded",
               "rows", "completeness", "findings", "last_status"]],
        hide_index=True, width="stretch",
        column_config={
            "title": st.column_config.TextColumn(t("dq_col_dataset"), width="medium"),
            "department": t("dq_col_department"),
            "update_frequency": t("dq_col_frequency"),
            "last_loaded": t("dq_col_last_loaded"),
            "freshness": t("dq_col_freshness"),
            "rows": st.column_config.TextColumn(t("dq_col_rows"), width="small"),
            "completeness": st.column_config.ProgressColumn(t("dq_col_completeness"), format="percent",
                                                            min_value=0.0, max_value=1.0,
                                                            width="small"),
            "findings": st.column_config.TextColumn(t("dq_col_findings"), width="small"),
            "last_status": t("dq_col_last_result"),
        })

    names = dict(zip(quality["dataset_id"], table["title"], strict=True))
    dataset = st.selectbox(t("dq_col_dataset"), list(names), format_func=names.get, key="dq_dataset")
    row = quality.set_index("dataset_id").loc[dataset]
    history = ingest.history(ctx.store, dataset)
    if history.empty:
        st.info(t("dq_none"))
    else:
        if row["last_status"] == "rejected" and isinstance(row["last_message"], str):
            st.error(re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:])", r"\\\1", row["last_message"]))
        st.subheader(t("dq_history"))
        with st.container():
            st.dataframe(
                history.assign(status=history["status"].map(lambda s: t(f"dq_status_{s}")),
                               message=[history_message(t, r) for _, r in history.iterrows()],
                               file_sha256=history["file_sha256"].str.slice(0, 12)),
                hide_index=True, width="stretch",
                column_order=["logged_at", "actor", "file_name", "rows_in", "rows_out", "version",
                              "status", "message", "file_sha256"],
                column_config={
                    "logged_at": st.column_config.DatetimeColumn(t("dq_col_when"),
                                                                 format="YYYY-MM-DD HH:mm:ss"),
                    "actor": t("dq_col_actor"), "file_name": t("dq_col_file"),
                    "rows_in": st.column_config.NumberColumn(t("dq_col_rows_in"), format="localized"),
                    "rows_out": st.column_config.NumberColumn(t("dq_col_rows_out"), format="localized"),
                    "version": st.column_config.NumberColumn(t("dq_col_version"), format="%d"),
                    "status": t("dq_col_status"), "message": t("dq_col_message"),
                    "file_sha256": t("dq_col_sha"),
                })
        st.subheader(t("dq_findings_title"))
        found = ingest.findings(ctx.store, dataset)
        if found.empty:
            st.caption(t("dq_findings_none"))
        else:
            findings.show(found, ctx.lang, ctx.district_name, key="dq_findings", loaded=True)
        rollback_control(ctx, dataset, row)
        left, _ = st.columns([2, 1])
        with left:
            last = history[history["status"] == "loaded"]
            if not last.empty:
                per = ingest.column_completeness(ctx.store, last["event_id"].iloc[0])
                fig = px.bar(per, x="completeness", y="column_name", orientation="h",
                             range_x=[0, 1], title=t("dq_completeness_title"),
                             labels={"completeness": t("dq_col_completeness"), "column_name": ""})
                fig.update_layout(xaxis_tickformat=".0%", height=80 + 28 * len(per),
                                  yaxis={"autorange": "reversed"},
                                  margin={"l": 10, "r": 10, "t": 40, "b": 10})
                st.plotly_chart(fig, width="stretch")


def rollback_control(ctx: PageContext, dataset: str, row) -> None:
    """A steward of the dataset's department (or an administrator) rolls it back one version."""
    actor = current_actor(ctx.store)
    if not ingest.may_load(actor, contracts.contract(dataset)) or pd.isna(row["version"]):
        return
    if st.button(ctx.t("dq_rollback", version=int(row["version"])), key="dq_rollback",
                 icon=":material/undo:"):
        previous = ingest.rollback(ctx.store, dataset, actor)
        st.success(ctx.t("dq_rolled_back", version=previous) if previous
                   else ctx.t("dq_rolled_back_none"))


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
