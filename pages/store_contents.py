"""What is in the store: tables, row counts, build parameters, district populations."""

from pathlib import Path

import streamlit as st

from analytics import population
from dashboard.shell import PageContext, page_context


def page(ctx: PageContext) -> None:
    meta = ctx.store.meta()
    st.title(ctx.t("page_store"))
    own = meta.get("synthetic_layers") == "none"  # built --no-synthetic: departments' data only
    years = f"{ctx.years[0]}" if ctx.years[0] == ctx.years[-1] else f"{ctx.years[0]}–{ctx.years[-1]}"
    # the file's name only: where it lies on the server is not the public's business
    st.caption(ctx.t("store_intro_own" if own else "store_intro", path=Path(ctx.store.path).name,
                     city=ctx.city_label(), adcode=ctx.city_adcode, years=years))

    st.subheader(ctx.t("store_districts", year=ctx.year))
    summary = population.district_summary(ctx.store, ctx.year)
    if ctx.lang == "en":  # Chinese names stay; the pinyin form helps readers of English
        english = dict(zip(ctx.store.table("districts")["adcode"], ctx.store.table("districts")["name_en"],
                           strict=True))
        english[int(ctx.city_adcode)] = ctx.city_label()  # the city's own row
        summary["name"] = [f"{n} {english.get(a, '')}".strip() for a, n in
                           zip(summary["adcode"], summary["name"], strict=True)]
    columns = ["adcode", "name", "population", "share_0_14", "share_15_59", "share_60plus",
               "share_65plus"]
    labels = {"name": "col_area_name"}
    config = {c: st.column_config.NumberColumn(ctx.t(labels.get(c, f"col_{c}")),
                                               format="%.2f" if c.startswith("share") else "localized")
              for c in columns if c != "name"}
    config["name"] = st.column_config.TextColumn(ctx.t("col_area_name"))
    config["adcode"] = st.column_config.TextColumn(ctx.t("col_adcode"))
    st.dataframe(summary.astype({"adcode": str}), column_config=config, hide_index=True,
                 width="stretch", height=35 * (len(summary) + 1) + 3)

    left, right = st.columns([1, 1])
    with left:
        st.subheader(ctx.t("store_tables"))
        counts = ctx.store.row_counts()
        st.dataframe(counts, hide_index=True, width="stretch", column_config={
            "table": st.column_config.TextColumn(ctx.t("col_table")),
            "rows": st.column_config.NumberColumn(ctx.t("col_rows"), format="localized")})
    with right:
        st.subheader(ctx.t("store_build"))
        st.dataframe({ctx.t("col_key"): list(meta), ctx.t("col_value"): list(meta.values())},
                     hide_index=True, width="stretch")


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
