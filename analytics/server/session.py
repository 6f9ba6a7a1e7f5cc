"""The session cookie: a sign-in that survives a reload and a new tab.

The cookie holds the session token of :mod:`analytics.accounts` (of which only a hash is
stored), signed with a per-store key and a timestamp (``itsdangerous``), so a forged or
altered cookie is refused before the store is asked. It is ``HttpOnly`` (scripts cannot read
it), ``SameSite=Strict`` (no other site's page can send it) and expires with the session;
signing out revokes the session, so a copied cookie is dead too. Forms that change state
carry a CSRF token that must equal the one in their own cookie (double submit).
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, TimestampSigner

from analytics.identity import Actor
from analytics.opendata import accounts, privacy
from analytics.store import Store

COOKIE = "citybrain_session"
CSRF_COOKIE = "citybrain_csrf"
MAX_AGE = int(accounts.SESSION_TTL.total_seconds())
_KEY_NAME = "session_cookie"


def _signer(store: Store) -> TimestampSigner:
    secret = store.scalar("open_data.secret", key_name=_KEY_NAME)
    if secret is None:
        store.execute("open_data.insert_secret", key_name=_KEY_NAME,
                      secret_hex=privacy.new_secret(), at=privacy.now_utc())
        secret = store.scalar("open_data.secret", key_name=_KEY_NAME)
    return TimestampSigner(secret, salt="citybrain.session")


def cookie_value(store: Store, session_token: str) -> str:
    return _signer(store).sign(session_token.encode()).decode()


def token_from_cookie(store: Store, value: str | None) -> str | None:
    """The session token inside a cookie value, or None if it is forged, altered or old."""
    if not value or len(value) > 400:
        return None
    try:
        return _signer(store).unsign(value.encode(), max_age=MAX_AGE).decode()
    except (BadSignature, UnicodeDecodeError):
        return None


def actor_from_cookie(store: Store, value: str | None) -> Actor | None:
    """The signed-in actor of a cookie (a live, unrevoked session), or None."""
    token = token_from_cookie(store, value)
    return accounts.session_actor(store, token) if token else None


def cookie_attributes(secure: bool = False) -> dict:
    """Starlette ``set_cookie`` keyword arguments of the session cookie."""
    return {"max_age": MAX_AGE, "httponly": True, "samesite": "strict", "secure": secure,
            "path": "/"}


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    return bool(cookie) and bool(field) and hmac.compare_digest(str(cookie), str(field))
