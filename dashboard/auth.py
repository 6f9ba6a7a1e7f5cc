"""Who is using the app: the signed-in actor, kept in ``st.session_state["actor"]``.

Anonymous visitors are :data:`analytics.identity.PUBLIC`. Staff sign in with a password on
the server's sign-in form (``/auth/sign-in``: :mod:`analytics.opendata.accounts` checks it
with argon2 hashes, throttling and expiring sessions, and the server sets a signed HttpOnly
session cookie, so a reload or a new tab stays signed in) or, when an identity provider is
configured in ``.streamlit/secrets.toml`` (an ``[auth]`` section), with Streamlit's OIDC
``st.login``. A session token put in ``st.session_state[TOKEN_KEY]`` (tests of the pages
sign in that way, through real accounts) is honoured like the cookie. Pages call :func:`current_actor` and pass the actor to
``analytics``; permission decisions are made there, never here.
"""

from __future__ import annotations

import streamlit as st

from analytics.identity import PUBLIC, Actor
from analytics.opendata import accounts
from analytics.server import session
from analytics.store import Store

TOKEN_KEY = "_session_token"


def oidc_configured() -> bool:
    """True when ``secrets.toml`` has an ``[auth]`` section for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _oidc_email() -> str | None:
    if not oidc_configured():
        return None
    try:
        if st.user.is_logged_in:
            return st.user.get("email") or st.user.get("sub")
    except Exception:
        return None
    return None


def current_actor(store: Store) -> Actor:
    """The actor of this browser session (re-checked every run: sessions expire)."""
    actor = PUBLIC
    email = _oidc_email()
    if email:
        actor = accounts.identity_provider_actor(store, email)
    else:
        token = st.session_state.get(TOKEN_KEY)
        if not token:
            actor = _cookie_actor(store)
        if token:
            live = accounts.session_actor(store, token)
            if live is None:
                st.session_state.pop(TOKEN_KEY, None)
                st.session_state["_session_expired"] = True
            else:
                actor = live
    st.session_state["actor"] = actor
    return actor


def _cookie_actor(store: Store) -> Actor:
    """The actor of the signed session cookie the server's sign-in form set, if any."""
    try:
        value = st.context.cookies.get(session.COOKIE)
    except Exception:  # no request context (AppTest)
        return PUBLIC
    return session.actor_from_cookie(store, value) or PUBLIC


def signed_in_by_cookie() -> bool:
    """True when the session cookie (not this browser tab alone) carries the sign-in."""
    try:
        return bool(st.context.cookies.get(session.COOKIE)) and not st.session_state.get(TOKEN_KEY)
    except Exception:
        return False


def sign_out(store: Store) -> None:
    accounts.sign_out(store, st.session_state.pop(TOKEN_KEY, None))
    st.session_state["actor"] = PUBLIC
    if _oidc_email():
        st.logout()


def session_expired_notice() -> bool:
    """True once after a session expired (so the page can say so)."""
    return bool(st.session_state.pop("_session_expired", False))
