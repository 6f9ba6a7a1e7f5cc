"""Staff accounts, sign-in and sessions: what turns a person into an :class:`Actor`.

Passwords are hashed with argon2id (``argon2-cffi``, the OWASP-recommended scheme; the salt
is in the hash). Failed attempts are throttled per user name: after ``MAX_FAILURES`` failures
within ``WINDOW`` the account refuses even the right password until ``LOCKOUT`` has passed.
Sessions are random tokens of which only a SHA-256 is stored; they expire after
``SESSION_TTL`` or ``IDLE_TIMEOUT`` without use. There is no default account or password: the
first administrator is created with ``python -m analytics users create-admin``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, ROLES, Actor, require
from analytics.opendata import privacy, tokens
from analytics.pooling.contracts import departments
from analytics.store import Store, named_query

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
IDLE_TIMEOUT = timedelta(minutes=60)
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing the same.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class SignInRefused(CityBrainError):
    """Wrong user name or password, a locked or disabled account: said without telling which."""


@dataclass(frozen=True)
class SignIn:
    actor: Actor
    token: str
    expires_at: datetime


def _now(now: datetime | None) -> datetime:
    return now or privacy.now_utc()


def check_password(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise CityBrainError(f"password too short: use at least {MIN_PASSWORD} characters",
                             code="password_short", minimum=MIN_PASSWORD)
    if username and username.lower() in password.lower():
        raise CityBrainError("password must not contain the user name", code="password_name")
    if len(set(password)) < 5:
        raise CityBrainError("password too simple: use at least 5 different characters",
                             code="password_simple")


def check_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise CityBrainError(f"user name {username!r}: use 3-64 lower-case letters, digits, "
                             "'.', '_', '-' or '@', starting with a letter or digit", code="username",
                             username=username)
    if username == PUBLIC.name:
        raise CityBrainError("'public' is reserved for anonymous visitors",
                             code="username_public")
    return username


def check_department(department: str | None) -> str | None:
    """The department's Chinese name (as the contracts give it), from either language."""
    if department is None or not str(department).strip():
        return None
    names = {}
    for zh, en in departments().items():
        names[zh] = names[en.lower()] = zh
    found = names.get(str(department).strip()) or names.get(str(department).strip().lower())
    if found is None:
        known = list(departments())
        raise CityBrainError(f"unknown department {department!r}; departments with datasets "
                             f"are {', '.join(known)}", code="unknown_department",
                             department=department, known=", ".join(known))
    return found


def _insert(store: Store, username: str, display_name: str, role: str, password: str | None,
            created_by: str, department: str | None = None) -> Actor:
    if role not in ROLES:
        raise CityBrainError(f"unknown role {role!r}; roles are {', '.join(ROLES)}",
                             code="unknown_role", role=role, choices=", ".join(ROLES))
    department = check_department(department)
    username = check_username(username)
    if not store.query("open_data.user", username=username).empty:
        raise CityBrainError(f"user {username} already exists", code="user_exists",
                             username=username)
    if password is not None:
        check_password(password, username)
    store.execute("open_data.insert_user", username=username,
                  display_name=(display_name or username).strip(), role=role,
                  password_hash=_hasher.hash(password) if password is not None else None,
                  department=department, at=privacy.now_utc(), created_by=created_by)
    tokens.forget()   # an identity-provider user's tokens now carry the account's role
    return Actor(username, role, department)


def create_first_admin(store: Store, username: str, password: str, display_name: str = "") -> Actor:
    """The first administrator (CLI only). Refused once an administrator exists."""
    if store.scalar("open_data.count_admins"):
        raise CityBrainError("an administrator already exists; an administrator adds further "
                             "users with `users add`", code="admin_exists")
    return _insert(store, username, display_name, "administrator", password, "cli")


def add_user(store: Store, admin: Actor, username: str, role: str, password: str | None,
             display_name: str = "", department: str | None = None) -> Actor:
    """Add an account (administrators only). ``password=None``: identity-provider sign-in only.

    ``department`` (Chinese or English name) limits a data steward to that department's
    datasets; without one a steward loads for every department."""
    require(admin, "administrator", action="add users")
    return _insert(store, username, display_name, role, password, admin.name, department)


def set_disabled(store: Store, admin: Actor, username: str, disabled: bool) -> None:
    """Disable (ending every session of the account) or enable; enabling revives no session."""
    require(admin, "administrator", action="disable users")
    with store.transaction() as cur:
        store.execute("open_data.set_disabled", cur=cur, username=username, disabled=disabled)
        store.execute("open_data.revoke_user_sessions", cur=cur, username=username)
    tokens.forget()   # the account's tokens stop (or work again) with the next request


def set_role(store: Store, admin: Actor, username: str, role: str,
             department: str | None = None) -> Actor:
    """Change an account's role (and a steward's department); its sessions end."""
    require(admin, "administrator", action="change roles")
    if role not in ROLES:
        raise CityBrainError(f"unknown role {role!r}; roles are {', '.join(ROLES)}",
                             code="unknown_role", role=role, choices=", ".join(ROLES))
    department = check_department(department)
    rows = store.query("open_data.user", username=username)
    if rows.empty:
        raise CityBrainError(f"no user {username}", code="no_user", username=username)
    with store.transaction() as cur:
        store.execute("open_data.set_role", cur=cur, username=username, role=role,
                      department=department)
        store.execute("open_data.revoke_user_sessions", cur=cur, username=username)
    tokens.forget()   # the account's tokens act with the new role from the next request
    return Actor(username, role, department)


def set_password(store: Store, actor: Actor, username: str, password: str) -> None:
    """Users change their own password; administrators may reset anyone's. Every session of
    the account ends (a stolen session does not survive the change)."""
    if actor.name != username:
        require(actor, "administrator", action="reset another user's password")
    check_password(password, username)
    with store.transaction() as cur:
        store.execute("open_data.set_password", cur=cur, username=username,
                      password_hash=_hasher.hash(password))
        store.execute("open_data.revoke_user_sessions", cur=cur, username=username)


def locked_until(store: Store, username: str, now: datetime | None = None) -> datetime | None:
    now = _now(now)
    row = store.query("open_data.recent_failures", username=username, since=now - WINDOW)
    failures = int(row.iloc[0]["failures"])
    if failures >= MAX_FAILURES:
        until = row.iloc[0]["last_failure"].to_pydatetime() + LOCKOUT
        if until > now:
            return until
    return None


def sign_in(store: Store, username: str, password: str, now: datetime | None = None) -> SignIn:
    """Check the password (throttled) and open a session; :class:`SignInRefused` otherwise."""
    now = _now(now)
    username = (username or "").strip().lower()[:64]
    # Counted and enforced in one transaction: the attempt is recorded as a failure before
    # its password is checked, so N concurrent guesses check at most MAX_FAILURES passwords.
    pending = "checking " + secrets.token_hex(8)
    with store.transaction() as cur:
        row = cur.execute(named_query("open_data.recent_failures"),
                          {"username": username, "since": now - WINDOW}).fetchone()
        failures, last = int(row[0]), row[1]
        until = last + LOCKOUT if failures >= MAX_FAILURES and last is not None else None
        locked = until is not None and until > now
        store.execute("open_data.log_attempt", cur=cur, username=username, at=now,
                      success=False, reason="locked" if locked else pending)
    if locked:
        minutes = max(1, int((until - now).total_seconds() // 60) + 1)
        raise SignInRefused(f"too many failed attempts: sign-in for {username} is paused for "
                            f"{minutes} more minute(s)", code="sign_in_paused",
                            user=username, minutes=minutes)
    rows = store.query("open_data.user", username=username)
    user = None if rows.empty else rows.iloc[0]
    stored = user["password_hash"] if user is not None and user["password_hash"] else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and not user["disabled"]
    store.execute("open_data.settle_attempt", username=username, pending=pending, success=ok,
                  reason="ok" if ok else "wrong user name or password")
    if not ok:
        raise SignInRefused("wrong user name or password (or the account is disabled)",
                            code="sign_in_wrong")
    if _hasher.check_needs_rehash(stored):
        store.execute("open_data.set_password", username=username, password_hash=_hasher.hash(password))
    return _open_session(store, _actor(username, user), now)


def _open_session(store: Store, actor: Actor, now: datetime) -> SignIn:
    token = secrets.token_urlsafe(32)
    expires = now + SESSION_TTL
    store.execute("open_data.insert_session", token_sha256=_token_hash(token),
                  username=actor.name, at=now, expires_at=expires)
    return SignIn(actor, token, expires)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_actor(store: Store, token: str | None, now: datetime | None = None) -> Actor | None:
    """The actor of a live session, or None if unknown, revoked, expired, idle or disabled."""
    if not token:
        return None
    now = _now(now)
    rows = store.query("open_data.session", token_sha256=_token_hash(token))
    if rows.empty:
        return None
    s = rows.iloc[0]
    if (s["revoked"] or s["disabled"] or s["expires_at"].to_pydatetime() <= now
            or s["last_seen"].to_pydatetime() + IDLE_TIMEOUT <= now):
        return None
    store.execute("open_data.touch_session", token_sha256=_token_hash(token), at=now)
    return _actor(s["username"], s)


def sign_out(store: Store, token: str | None) -> None:
    if token:
        store.execute("open_data.revoke_session", token_sha256=_token_hash(token))


def identity_provider_actor(store: Store, email: str | None) -> Actor:
    """The actor for someone signed in through the identity provider (OIDC).

    A staff account whose user name is that e-mail address gives its role; anyone else is a
    named member of the public (who may apply for on-application data).
    """
    if not email:
        return PUBLIC
    username = email.strip().lower()
    rows = store.query("open_data.user", username=username)
    if rows.empty or rows.iloc[0]["disabled"]:
        return Actor(username, "public")
    return _actor(username, rows.iloc[0])


def _actor(username: str, row) -> Actor:
    """The actor of an account row (``role`` and ``department`` columns)."""
    department = row["department"]
    return Actor(username, row["role"], None if pd.isna(department) else str(department))


def users(store: Store, admin: Actor):
    require(admin, "administrator", action="list users")
    return store.query("open_data.users")


def count_admins(store: Store) -> int:
    return int(store.scalar("open_data.count_admins") or 0)
