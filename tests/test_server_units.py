"""The server's parts without a server: rate limits, tokens, the session cookie, fq parsing,
and the routes in-process (Starlette's test client) for the limits a real server would make
slow to reach."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from open_data_store import tiny_store
from starlette.applications import Starlette
from starlette.testclient import TestClient

from analytics.identity import Actor
from analytics.opendata import access, accounts, privacy, tokens
from analytics.server import ckan, session
from analytics.server.state import Limits, LogBuffer, RateLimiter, ServerState
from analytics.server.web import Api


@pytest.fixture(scope="module")
def store():
    s = tiny_store()
    admin = accounts.create_first_admin(s, "admin", "Root-pass-123")
    accounts.add_user(s, admin, "li.wei", "analyst", "Blue-river-7")
    return s


def test_rate_limiter_counts_a_minute_window_and_says_when_to_retry():
    limiter = RateLimiter()
    assert [limiter.hit("a", 3, now=60.0) for _ in range(3)] == [None, None, None]
    assert limiter.hit("a", 3, now=60.0) == 60          # the window ends at 120 s
    assert limiter.hit("a", 3, now=119.5) == 1          # never 0: at least a second
    assert limiter.hit("b", 3, now=119.5) is None        # another address has its own count
    assert limiter.hit("a", 3, now=120.0) is None        # a new window


def test_token_lives_until_it_expires_or_is_revoked(store):
    analyst = Actor("li.wei", "analyst")
    made = tokens.create(store, analyst, "laptop", days=2)
    assert made.token.startswith("cbt_") and len(made.token) > 40
    hashed = store.table("api_tokens")
    assert made.token not in set(hashed["token_sha256"])        # only the hash is kept
    assert tokens.verify(store, made.token).actor == analyst
    later = made.expires_at + timedelta(seconds=1)
    assert tokens.verify(store, made.token, now=later) is None
    tokens.revoke(store, analyst, made.token_id)
    assert tokens.verify(store, made.token) is None
    with pytest.raises(Exception, match="1 to 365 days"):
        tokens.create(store, analyst, "forever", days=3650)
    with pytest.raises(Exception, match="gateway"):
        tokens.create(store, analyst, "gw", scope="telemetry")
    with pytest.raises(Exception, match="another account"):
        other = tokens.create(store, Actor("admin", "administrator"), "admin's")
        tokens.revoke(store, analyst, other.token_id)


def test_disabling_the_account_stops_its_tokens(store):
    admin = Actor("admin", "administrator")
    accounts.add_user(store, admin, "temp.user", "analyst", "Temp-pass-123")
    made = tokens.create(store, Actor("temp.user", "analyst"), "x")
    assert tokens.verify(store, made.token) is not None
    accounts.set_disabled(store, admin, "temp.user", True)
    assert tokens.verify(store, made.token) is None


def test_session_cookie_is_signed_and_revocable(store):
    signed = accounts.sign_in(store, "li.wei", "Blue-river-7")
    value = session.cookie_value(store, signed.token)
    assert session.actor_from_cookie(store, value) == signed.actor
    assert session.actor_from_cookie(store, signed.token) is None     # unsigned: refused
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert session.actor_from_cookie(store, tampered) is None
    accounts.sign_out(store, signed.token)
    assert session.actor_from_cookie(store, value) is None           # revoked server-side
    assert session.csrf_ok("abc", "abc") and not session.csrf_ok("abc", "abd")
    assert not session.csrf_ok(None, None)


def test_fq_terms_parse_and_strangers_are_refused():
    assert ckan._parse_fq('organization:civil-affairs-bureau groups:"health" -tags:x') == [
        (False, "org", "civil-affairs-bureau"), (False, "theme", "health"), (True, "tags", "x")]
    for bad in ("name:x OR 1=1", "secret:1", "x'; DROP TABLE datasets"):
        with pytest.raises(ckan.ActionError):
            ckan._parse_fq(bad)


def _client(store, **limits) -> TestClient:
    state = ServerState(store, "http://testserver", limits=Limits(**limits))
    return TestClient(Starlette(routes=Api(state).routes()))


def test_anonymous_rate_limit_answers_429_with_retry_after(store):
    client = _client(store, anonymous_per_minute=3, token_per_minute=100)
    codes = [client.get("/api/3/action/package_list").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/3/action/package_list")
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    # a token has its own, higher allowance
    token = tokens.create(store, Actor("li.wei", "analyst"), "limits").token
    r = client.get("/api/3/action/package_list", headers={"Authorization": token})
    assert r.status_code == 200


def test_body_limits_hold_for_streamed_bodies(store):
    client = _client(store, action_body_bytes=1000)

    def chunks():
        for _ in range(5):
            yield b" " * 400

    r = client.post("/api/3/action/package_list", content=chunks(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_expired_token_at_the_door(store):
    old = tokens.create(store, Actor("li.wei", "analyst"), "old", days=1,
                        now=privacy.now_utc() - timedelta(days=3)).token
    r = _client(store).get("/api/3/action/package_list", headers={"Authorization": old})
    assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"


def test_streamed_datastore_search_agrees_with_the_cached_one(store, monkeypatch):
    """Datasets too large to keep are read a year at a time, keeping only the best rows of a
    sort so far: the page must be the one the whole table gives."""
    anyone = Actor("public", "public")
    params = {"resource_id": "population_cells", "filters": {"sex": "F"},
              "sort": "persons desc, cell asc", "limit": 7, "offset": 5,
              "fields": ["year", "cell", "age_group", "persons"]}
    kept = ckan.call(ckan.Call(store, anyone, log=lambda *a: None), "datastore_search", params)
    monkeypatch.setattr(ckan, "CACHE_ROWS", 0)
    streamed = ckan.call(ckan.Call(store, anyone, log=lambda *a: None), "datastore_search",
                         params)
    assert streamed["records"] == kept["records"] and streamed["total"] == kept["total"]
    # worked out from the raw table: females; below district level counts of 1-9 are blank
    # (sorted last) and the others rounded to the nearest 10, halves up
    raw = store.table("population_cells")
    females = raw[raw["sex"] == "F"].copy()
    assert kept["total"] == len(females)
    big = females[females["persons"] >= 10].copy()
    big["persons"] = ((big["persons"] + 5) // 10) * 10
    big = big.sort_values(["persons", "cell"], ascending=[False, True])
    assert [r["persons"] for r in kept["records"]] == big["persons"].iloc[5:12].tolist()


def test_downloads_count_towards_most_downloaded(store, monkeypatch):
    monkeypatch.setattr(ckan, "CATALOG_TTL", 0.0)
    client = _client(store)
    before = client.get("/api/3/action/package_show?id=districts").json()["result"]["downloads"]
    for fmt in ("csv", "parquet"):
        assert client.get(f"/api/download/districts.{fmt}").status_code == 200
    after = client.get("/api/3/action/package_show?id=districts").json()["result"]["downloads"]
    assert after == before + 2
    top = client.get("/api/3/action/package_search?sort=downloads%20desc&rows=1").json()
    assert top["result"]["results"][0]["name"] == "districts"


def test_a_callers_token_or_session_is_looked_up_off_the_event_loop(store, monkeypatch):
    """Looking a token or a session up reads the store, and a session's use is written: that
    must run in a worker thread (a write on the event loop would wait for a load's
    transaction, and every request with it); an anonymous caller needs no store at all."""
    seen = []
    real_verify, real_cookie = tokens.verify, session.actor_from_cookie

    def on_a_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def verify(*args, **kw):
        use = real_verify(*args, **kw)
        seen.append(("token", on_a_loop(), use.actor.name if use else None))
        return use

    def from_cookie(*args, **kw):
        actor = real_cookie(*args, **kw)
        seen.append(("cookie", on_a_loop(), actor.name if actor else None))
        return actor

    monkeypatch.setattr(tokens, "verify", verify)
    monkeypatch.setattr(session, "actor_from_cookie", from_cookie)
    made = tokens.create(store, Actor("li.wei", "analyst"), "off the loop")
    client = _client(store, anonymous_per_minute=100, token_per_minute=100)
    r = client.get("/api/3/action/status_show", headers={"Authorization": made.token})
    assert r.status_code == 200
    signed = accounts.sign_in(store, "li.wei", "Blue-river-7")
    client.cookies.set(session.COOKIE, session.cookie_value(store, signed.token))
    assert client.get("/api/3/action/status_show").status_code == 200
    client.cookies.clear()
    assert client.get("/api/3/action/status_show").status_code == 200   # anonymous
    assert seen == [("token", False, "li.wei"), ("cookie", False, "li.wei")]
    # a bad token is still refused
    r = client.get("/api/3/action/package_list", headers={"Authorization": "nope"})
    assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"


def test_a_flush_returns_only_once_what_was_logged_before_it_is_written(monkeypatch):
    # the background writer takes the logged decision and is still writing it (0.3 s) when
    # flush() is called: flush must wait for that write, not return at once because the list
    # it finds is empty (a reader of the log right after flush() would miss the decision)
    written = []

    def slow_write(store, items):
        time.sleep(0.3)
        written.extend(items)

    monkeypatch.setattr(access, "log_many", slow_write)
    buffer = LogBuffer(None, every=0.01)
    try:
        buffer("a decision", "json", 5)
        deadline = time.monotonic() + 2
        while buffer._items and time.monotonic() < deadline:   # taken by the writer
            time.sleep(0.001)
        assert buffer._items == []
        buffer.flush()
        assert [item[:3] for item in written] == [("a decision", "json", 5)]
    finally:
        buffer.close()
