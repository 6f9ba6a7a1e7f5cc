"""What is in the store: tables, row counts, build parameters, district populations."""

import streamlit as st

from analytics import population
from dashboard.shell import page_context

ctx = page_context()
st.title(ctx.t("page_store"))
left, right = st.columns([1, 1])
with left:
    st.subheader(ctx.t("store_tables"))
    counts = ctx.store.row_counts().rename(columns={"table": ctx.t("col_table"),
                                                    "rows": ctx.t("col_rows")})
    st.dataframe(counts, hide_index=True, width="stretch")
with right:
    st.subheader(ctx.t("store_build"))
    meta = ctx.store.meta()
    st.dataframe({ctx.t("col_key"): list(meta), ctx.t("col_value"): list(meta.values())},
                 hide_index=True, width="stretch")
st.subheader(ctx.t("store_districts", year=ctx.year))
st.dataframe(population.district_summary(ctx.store, ctx.year), hide_index=True, width="stretch")
