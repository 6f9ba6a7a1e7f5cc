"""The API page and the account page's tokens, as AppTests (the app in this process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_helpers import switch_page
from open_data_store import tiny_store
from streamlit.testing.v1 import AppTest

from analytics.opendata import accounts, tokens
from analytics.server.web import Api
from analytics.store import Store
from dashboard import auth

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ROOT / "pages"
#: The endpoints the API page must list: the server's routes, written out by hand.
ENDPOINT_PATHS = {
    "/api/3", "/api/health", "/api/3/action/package_search", "/api/3/action/package_show?id=ID",
    "/api/3/action/package_list", "/api/3/action/organization_list",
    "/api/3/action/group_list", "/api/3/action/tag_list",
    "/api/3/action/resource_show?id=ID.csv", "/api/3/action/datastore_search",
    "/api/3/action/status_show", "/api/download/ID.FORMAT", "/api/download/domain/DOMAIN.zip",
    "/catalog.jsonld", "/dataset/ID.jsonld", "/data.json", "/api/pooling/ID",
    "/api/sensors/readings", "/api/sensors/alerts?since=TIME",
    "/api/sensors/alerts/ID/acknowledge", "/api/sensors/alerts/ID/resolve",
}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("api_pages") / "city.duckdb"
    s = tiny_store(path=path)
    admin = accounts.create_first_admin(s, "admin", "Root-pass-123")
    accounts.add_user(s, admin, "li.wei", "analyst", "Blue-river-7")
    s.close()
    return path


def test_every_route_of_the_server_is_on_the_api_page():
    # a route added to the server without a line on the page fails here; the page writes a
    # path's parameters in capitals ({dataset_id} as ID) and lists CKAN's two spellings of the
    # action path (/api/action/{name}, /api) once, as /api/3/...
    listed = [path.split("?")[0] for path in ENDPOINT_PATHS]
    aliases = {"/api", "/api/action/{name}"}
    for route in Api().routes():
        if route.path in aliases:
            continue
        prefix = route.path.split("{")[0]
        assert any(p == route.path or ("{" in route.path and p.startswith(prefix))
                   for p in listed), route.path


def page(store_path, monkeypatch, name: str, **params) -> AppTest:
    monkeypatch.setenv("CITYBRAIN_STORE", str(store_path))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    switch_page(at, str(PAGES / name))
    return at.run()


@pytest.mark.parametrize("lang, title", [("en", "API"), ("zh", "开放接口（API）")])
def test_api_page_lists_every_endpoint_with_examples(store_path, monkeypatch, lang, title):
    at = page(store_path, monkeypatch, "open_api.py", lang=lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == title
    table = at.dataframe[0].value
    assert len(table) == len(ENDPOINT_PATHS) and set(table.iloc[:, 1]) == ENDPOINT_PATHS
    code = "\n".join(c.value for c in at.code)
    assert "curl" in code and "ckanapi.RemoteCKAN" in code and "requests.post" in code
    assert "Authorization" in code
    # the telemetry example is a reading the door takes: every channel of the model, by name
    from analytics.sensors.model import CHANNELS
    reading = json.loads(next(line for line in code.splitlines() if "--data-binary" in line)
                         .split("'")[1])
    assert set(reading) == {"asset_id", "ts", *CHANNELS}
    assert "/api/sensors/alerts/ALERT_ID/acknowledge" in code
    assert len(at.info) == 1          # signed out: where to create tokens


def test_account_page_creates_shows_once_and_revokes_a_token(store_path, monkeypatch):
    monkeypatch.setenv("CITYBRAIN_STORE", str(store_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "en"
    # signed in as the server's sign-in form would (the session its cookie carries)
    at.session_state[auth.TOKEN_KEY] = accounts.sign_in(_app_store(), "li.wei",
                                                        "Blue-river-7").token
    switch_page(at, str(PAGES / "sign_in.py"))
    at.run()
    assert not at.exception
    label = next(t for t in at.text_input if t.label == "Label")
    label.set_value("my notebook")
    next(b for b in at.button if b.label == "Create token").click().run()
    assert not at.exception
    shown = [c.value for c in at.code if c.value.startswith("cbt_")]
    assert len(shown) == 1
    store = _app_store()
    use = tokens.verify(store, shown[0])
    assert use is not None and use.actor.name == "li.wei"
    assert list(tokens.tokens_of(store, use.actor)["label"]) == ["my notebook"]
    next(b for b in at.button if b.label == "Revoke").click().run()
    assert not at.exception
    assert tokens.verify(store, shown[0]) is None
    at.run()
    assert not any(c.value.startswith("cbt_") for c in at.code)   # shown only once


def _app_store() -> Store:
    """The app's own open store (DuckDB allows one read-write connection per process)."""
    from dashboard.shell import open_store, store_path

    return open_store(str(store_path()))
