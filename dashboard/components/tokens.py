"""The signed-in person's API tokens: a table, and (on the account page) create and revoke."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.errors import CityBrainError
from analytics.identity import Actor
from analytics.opendata import tokens
from analytics.store import Store


def token_table(store: Store, actor: Actor, t) -> pd.DataFrame:
    mine = tokens.tokens_of(store, actor)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)

    def state(r) -> str:
        if r["revoked"]:
            return t("api_token_revoked")
        return t("api_token_expired") if pd.Timestamp(r["expires_at"]) <= now \
            else t("api_token_live")

    return pd.DataFrame({
        t("api_token_id"): mine["token_id"], t("api_token_label"): mine["label"],
        t("api_token_scope"): [t(f"api_scope_{s}") for s in mine["scope"]],
        t("api_token_state"): [state(r) for _, r in mine.iterrows()],
        t("od_col_created"): mine["created_at"].astype(str).str[:16],
        t("od_col_expires"): mine["expires_at"].astype(str).str[:16],
        t("api_token_last_used"): pd.to_datetime(mine["last_used"]).dt.strftime(
            "%Y-%m-%d %H:%M").fillna("")})


def show(store: Store, actor: Actor, t) -> None:
    """List the actor's tokens (read-only)."""
    table = token_table(store, actor, t)
    if table.empty:
        st.info(t("api_no_tokens"))
    else:
        st.dataframe(table, hide_index=True, width="stretch")


def manage(store: Store, actor: Actor, t, reason) -> None:
    """Create (shown once) and revoke the actor's tokens."""
    st.subheader(t("api_tokens_title"))
    st.caption(t("api_tokens_intro"))
    fresh = st.session_state.pop("_new_api_token", None)
    if fresh:
        st.success(t("api_token_created", expires=fresh[1]))
        st.code(fresh[0], language=None)
    show(store, actor, t)
    scopes = ["all"] + (["telemetry"] if actor.role in tokens.GATEWAY_ROLES else [])
    with st.form("api_new_token"):
        c1, c2, c3 = st.columns([2, 1, 1])
        label = c1.text_input(t("api_token_label"), max_chars=80)
        days = c2.number_input(t("api_token_days"), 1, tokens.MAX_TTL.days,
                               tokens.DEFAULT_TTL.days)
        scope = c3.selectbox(t("api_token_scope"), scopes, format_func=lambda s: t(f"api_scope_{s}"))
        if st.form_submit_button(t("api_token_create"), icon=":material/key:"):
            try:
                made = tokens.create(store, actor, label, days=int(days), scope=scope)
            except CityBrainError as exc:
                st.error(reason(exc))
            else:
                st.session_state["_new_api_token"] = (made.token, f"{made.expires_at:%Y-%m-%d}")
                st.rerun()
    live = tokens.tokens_of(store, actor)
    live = live[~live["revoked"]]
    if not live.empty:
        with st.form("api_revoke_token"):
            which = st.selectbox(t("api_token_id"), live["token_id"].tolist(),
                                 format_func=lambda i: f"{i} · {live.set_index('token_id').loc[i, 'label']}")
            if st.form_submit_button(t("api_token_revoke"), icon=":material/block:"):
                try:
                    tokens.revoke(store, actor, which)
                except CityBrainError as exc:
                    st.error(reason(exc))
                else:
                    st.rerun()
