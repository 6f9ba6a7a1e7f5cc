"""API tokens: how a program acts for an account over HTTP.

A token is created by a signed-in person for their own account (staff, or a member of the
public with an application), shown once, and sent as ``Authorization: <token>`` as CKAN
clients do. Only its SHA-256 is stored. A token carries its account's role and department,
read from the account at each use (a disabled account's tokens stop at once), and expires.
A ``telemetry`` token (a sensor gateway's) may only push readings.

>>> from analytics.store import Store
>>> from analytics.identity import Actor
>>> store = Store.create()
>>> _ = store.execute("open_data.insert_user", username="ana", display_name="Ana",
...     role="analyst", password_hash=None, department=None, at=privacy.now_utc(),
...     created_by="cli")
>>> made = create(store, Actor("ana", "analyst"), "notebook")
>>> verify(store, made.token).actor
Actor(name='ana', role='analyst', department=None)
>>> revoke(store, Actor("ana", "analyst"), made.token_id)
>>> verify(store, made.token) is None
True
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from analytics.errors import CityBrainError
from analytics.identity import Actor, require
from analytics.opendata import privacy
from analytics.store import Store

#: How long a token lives unless its creator asks for less (at most ``MAX_TTL``).
DEFAULT_TTL = timedelta(days=90)
MAX_TTL = timedelta(days=365)
SCOPES = ("all", "telemetry")
#: Roles that may create a gateway (telemetry) token.
GATEWAY_ROLES = ("administrator", "data_steward")
#: Tokens start with this, so a leaked one is recognisable in a log or a repository scan.
PREFIX = "cbt_"
_TOUCH_EVERY = timedelta(minutes=1)
#: Seconds a looked-up token is trusted without asking the store again. Every change made
#: through this process (a revocation, an account disabled or its role changed) forgets the
#: lookups at once (:func:`forget`); this only bounds what another writer could change.
LOOKUP_TTL = 30.0


@dataclass(frozen=True)
class NewToken:
    token_id: str
    token: str          # shown once; only its hash is kept
    expires_at: datetime
    scope: str


@dataclass(frozen=True)
class TokenUse:
    actor: Actor
    token_id: str
    scope: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create(store: Store, actor: Actor, label: str, *, days: int | None = None,
           scope: str = "all", now: datetime | None = None) -> NewToken:
    """A new token for ``actor``'s own account (anonymous visitors have none)."""
    if actor.name == "public":
        raise CityBrainError("sign in to create an API token", code="token_needs_sign_in")
    if scope not in SCOPES:
        raise CityBrainError(f"unknown token scope {scope!r}; scopes are {', '.join(SCOPES)}",
                             code="token_scope", scope=scope, choices=", ".join(SCOPES))
    if scope == "telemetry":
        require(actor, *GATEWAY_ROLES, action="create a gateway token")
    label = (label or "").strip()[:80] or "token"
    ttl = DEFAULT_TTL if days is None else timedelta(days=int(days))
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise CityBrainError(f"a token lives 1 to {MAX_TTL.days} days, not {days}",
                             code="token_days", days=days, max=MAX_TTL.days)
    now = now or privacy.now_utc()
    token = PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(4)
    store.execute("api.insert_token", token_id=token_id, token_sha256=_hash(token),
                  username=actor.name, label=label, scope=scope, at=now, expires_at=now + ttl)
    return NewToken(token_id, token, now + ttl, scope)


_last_touch: dict[str, datetime] = {}
#: store -> {token hash: (row or None, when looked up, generation)}; see :func:`forget`.
_lookups: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lookups_lock = threading.Lock()
_generation = 0


def forget() -> None:
    """Drop every remembered token lookup: a token revoked or an account changed is seen by
    the very next request."""
    global _generation
    with _lookups_lock:
        _generation += 1
        _lookups.clear()


def _lookup(store: Store, digest: str) -> dict | None:
    """The token's row (account role, department, disabled), remembered between requests
    until :func:`forget` or ``LOOKUP_TTL`` seconds."""
    now = time.monotonic()
    with _lookups_lock:
        generation = _generation
        held = _lookups.get(store, {}).get(digest)
    if held is not None and held[2] == generation and now - held[1] < LOOKUP_TTL:
        return held[0]
    rows = store.query("api.token", token_sha256=digest)
    row = None if rows.empty else rows.iloc[0].to_dict()
    with _lookups_lock:
        if generation == _generation:     # nothing was forgotten while we asked
            mine = _lookups.setdefault(store, {})
            if len(mine) > 10_000:        # unknown tokens must not grow it without bound
                mine.clear()
            mine[digest] = (row, now, generation)
    return row


def verify(store: Store, token: str | None, now: datetime | None = None) -> TokenUse | None:
    """The account a live token acts for, or None (unknown, revoked, expired, disabled)."""
    if not token or len(token) > 200:
        return None
    now = now or privacy.now_utc()
    r = _lookup(store, _hash(token.strip()))
    if r is None:
        return None
    if r["revoked"] or r["disabled"] or pd.Timestamp(r["expires_at"]) <= pd.Timestamp(now):
        return None
    last = _last_touch.get(r["token_id"])
    if last is None or now - last >= _TOUCH_EVERY:   # one write a minute, not one a request
        _last_touch[r["token_id"]] = now
        store.execute("api.touch_token", token_id=r["token_id"], at=now)
    department = r["department"]
    actor = Actor(r["username"], r["role"], None if pd.isna(department) else str(department))
    return TokenUse(actor, r["token_id"], r["scope"])


def revoke(store: Store, actor: Actor, token_id: str) -> None:
    """Revoke one of ``actor``'s tokens (administrators may revoke anyone's)."""
    owner = store.scalar("api.token_owner", token_id=str(token_id))
    if owner is None:
        raise CityBrainError(f"no token {token_id!r}", code="unknown_token", token=token_id)
    if owner != actor.name:
        require(actor, "administrator", action="revoke another account's token")
    store.execute("api.revoke_token", token_id=str(token_id))
    forget()


def tokens_of(store: Store, actor: Actor) -> pd.DataFrame:
    """``actor``'s tokens (never the secret): id, label, scope, created, expires, revoked."""
    return store.query("api.tokens_of", username=actor.name)
