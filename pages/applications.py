"""Apply for on-application datasets; data stewards approve or reject."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from analytics.errors import CityBrainError
from analytics.opendata import applications, catalog, registry
from dashboard import auth
from dashboard.i18n import Translate
from dashboard.navigation import route
from dashboard.shell import PageContext, page_context


def status_label(t: Translate, row) -> str:
    return t(f"od_status_{applications.status_now(row)}")


def app_table(t: Translate, apps: pd.DataFrame, with_requester: bool) -> pd.DataFrame:
    out = {t("od_col_app"): apps["application_id"], t("od_apply_dataset"): apps["dataset_id"]}
    if with_requester:
        out[t("od_col_requester")] = apps["requester"]
    out |= {
        t("od_col_status"): [status_label(t, r) for _, r in apps.iterrows()],
        t("od_col_expires"): apps["expires_at"].astype(str).str[:16].fillna(""),
        t("od_col_purpose"): apps["purpose"],
        t("od_col_fields"): apps["fields_json"].map(lambda f: ", ".join(json.loads(f))),
        t("od_col_requested"): apps["requested_at"].astype(str).str[:16],
        t("od_col_note"): apps["decision_note"].fillna(""),
    }
    return pd.DataFrame(out)


def page(ctx: PageContext) -> None:
    t = ctx.t
    actor = auth.current_actor(ctx.store)

    st.title(t("od_page_applications"))
    st.caption(t("od_apps_intro"))

    if actor.name == "public":
        st.info(t("od_apps_sign_in_first"))
        st.page_link(route("sign_in", ctx.lang), label=t("od_sign_in_link"), icon=":material/login:")
        st.stop()

    cat = catalog.datasets(ctx.store)
    open_on_app = cat[cat["access_level"] == "on_application"]
    st.subheader(t("od_apply_title"))
    titles = dict(zip(open_on_app["dataset_id"], open_on_app["title" if ctx.lang == "zh" else "title_en"],
                      strict=True))
    wanted = st.query_params.get("dataset")
    ids = list(titles)
    dataset_id = st.selectbox(t("od_apply_dataset"), ids, format_func=lambda d: f"{titles[d]} ({d})",
                              index=ids.index(wanted) if wanted in ids else 0, key="od_app_ds")
    with st.form("od_apply"):
        purpose = st.text_area(t("od_apply_purpose"), max_chars=1000)
        fields_available = registry.servable_columns(ctx.store, dataset_id) if dataset_id else []
        # Nothing pre-selected: applicants ask for the fields they need (data minimisation).
        fields = st.multiselect(t("od_apply_fields"), fields_available, placeholder="—")
        period = st.number_input(t("od_apply_period"), min_value=1,
                                 max_value=applications.MAX_PERIOD_DAYS, value=90, step=1)
        if st.form_submit_button(t("od_apply_button"), type="primary"):
            try:
                app_id = applications.apply(ctx.store, actor, dataset_id, purpose, fields, int(period))
                st.success(t("od_apply_ok", app=app_id))
            except CityBrainError as exc:
                st.error(t("od_apply_error", reason=ctx.reason(exc)))

    st.subheader(t("od_my_apps"))
    mine = applications.of(ctx.store, actor)
    if mine.empty:
        st.info(t("od_no_apps"))
    else:
        st.dataframe(app_table(t, mine, False), hide_index=True, width="stretch")
        active = [a for a in mine["dataset_id"].unique()
                  if applications.active_for(ctx.store, actor, a) is not None]
        for d in active:
            st.page_link(route("catalog", ctx.lang), label=f"{t('od_open_dataset')}: {d}",
                         query_params={"dataset": d}, icon=":material/open_in_new:")

    if actor.role in applications.STEWARD_ROLES:
        st.subheader(t("od_pending_title"))
        everything = applications.all_applications(ctx.store, actor)
        pending = everything[everything["status"] == "pending"]
        if pending.empty:
            st.info(t("od_no_pending"))
        for _, app in pending.iterrows():
            with st.container(border=True):
                # what a requester typed is shown as plain text: no Markdown, links or images
                st.text(f"{app['application_id']} · {app['dataset_id']} · {app['requester']} · "
                        f"{int(app['period_days'])} d")
                st.text(app["purpose"])
                st.caption(", ".join(json.loads(app["fields_json"])))
                note = st.text_input(t("od_decision_note"), key=f"od_note_{app['application_id']}")
                c1, c2 = st.columns(2)
                for col, approve, label in ((c1, True, "od_approve"), (c2, False, "od_reject")):
                    if col.button(t(label), key=f"od_{label}_{app['application_id']}"):
                        try:
                            done = applications.decide(ctx.store, actor, app["application_id"],
                                                       approve, note)
                            st.success(t("od_decided", app=done["application_id"],
                                         status=t(f"od_status_{done['status']}")))
                            st.rerun()
                        except CityBrainError as exc:
                            st.error(ctx.reason(exc))
        if len(everything):
            st.dataframe(app_table(t, everything, True), hide_index=True, width="stretch")


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
