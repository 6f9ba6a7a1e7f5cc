"""Sign in (password, or the identity provider when configured), sign out, manage accounts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.errors import CityBrainError
from analytics.identity import ROLES
from analytics.opendata import access, accounts
from analytics.pooling.contracts import departments as owner_names
from dashboard import auth
from dashboard.components import tokens as token_ui
from dashboard.shell import PageContext, page_context


def page(ctx: PageContext) -> None:
    t = ctx.t
    actor = auth.current_actor(ctx.store)

    st.title(t("od_page_sign_in"))
    if auth.session_expired_notice():
        st.warning(t("od_session_expired"))

    if actor.name != "public":
        st.success(t("od_signin_ok", name=actor.name, role=t(f"od_role_{actor.role}")))
        if auth.signed_in_by_cookie():
            # The cookie is HttpOnly: only the server's sign-out form (CSRF-checked) clears it.
            st.markdown(f'<a href="/auth/sign-out?lang={ctx.lang}" target="_self">'
                        f'{t("srv_signout_link")}</a>', unsafe_allow_html=True)
        elif st.button(t("od_signout_button"), icon=":material/logout:"):
            auth.sign_out(ctx.store)
            st.rerun()
    else:
        st.subheader(t("od_signin_title"))
        st.caption(t("od_signin_intro"))
        # One way to sign in with a password: the server's form, which checks it, sets the
        # signed session cookie (a reload or a new tab stays signed in) and comes back here.
        st.markdown(f'<a href="/auth/sign-in?lang={ctx.lang}&amp;next=/sign_in" '
                    f'target="_self" class="cb-sign-in">{t("srv_signin_lasting")}</a>',
                    unsafe_allow_html=True)
        if auth.oidc_configured():
            if st.button(t("od_oidc_button"), icon=":material/badge:", type="primary"):
                st.login()
        else:
            st.caption(t("od_oidc_off"))

    if actor.name != "public":
        token_ui.manage(ctx.store, actor, t, ctx.reason)
        st.subheader(t("od_my_usage"))
        usage = access.usage_of(ctx.store, actor)
        if usage.empty:
            st.info(t("od_no_downloads"))
        else:
            st.dataframe(usage, hide_index=True, width="stretch")

    if actor.role == "administrator":
        st.subheader(t("od_users_title"))
        departments = {zh: zh if ctx.lang == "zh" else en for zh, en in owner_names().items()}
        users = accounts.users(ctx.store, actor)
        st.dataframe(pd.DataFrame({
            t("od_username"): users["username"], t("od_display_name"): users["display_name"],
            t("od_role"): [t(f"od_role_{r}") for r in users["role"]],
            t("od_department"): [departments.get(d, d) if isinstance(d, str)
                                 else t("od_department_all") for d in users["department"]],
            t("od_col_created"): users["created_at"].dt.strftime("%Y-%m-%d %H:%M"),
            t("od_col_created_by"): users["created_by"], t("od_col_disabled"): users["disabled"],
            t("od_col_has_password"): users["has_password"]}), hide_index=True, width="stretch")
        with st.form("od_add_user"):
            st.markdown(f"**{t('od_add_user')}**")
            c1, c2, c3 = st.columns(3)
            new_name = c1.text_input(t("od_username"), max_chars=64)
            display = c2.text_input(t("od_display_name"), max_chars=64)
            role = c3.selectbox(t("od_role"), ROLES, format_func=lambda r: t(f"od_role_{r}"))
            c4, c5 = st.columns([2, 1])
            new_pw = c4.text_input(t("od_password"), type="password", max_chars=256)
            department = c5.selectbox(t("od_department"), [None, *sorted(departments)],
                                      format_func=lambda d: t("od_department_all") if d is None
                                      else departments[d], help=t("od_department_help"))
            if st.form_submit_button(t("od_add_user_button")):
                try:
                    added = accounts.add_user(ctx.store, actor, new_name, role, new_pw, display,
                                              department=department)
                    st.success(t("od_user_added", name=added.name, role=t(f"od_role_{added.role}")))
                except CityBrainError as exc:
                    st.error(ctx.reason(exc))
    elif actor.name == "public" and accounts.count_admins(ctx.store) == 0:
        st.info(t("od_no_accounts"))


if __name__ == "__main__":  # `streamlit run pages/<this file>` runs the page alone
    page(page_context())
