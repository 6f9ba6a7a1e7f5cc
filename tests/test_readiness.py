"""The server serves its dashboard once the landing pages are warmed, says so while it is
not, and lets background work give way to page runs (``dashboard/warm.py``,
``dashboard/server.py``)."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
import requests
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dashboard import server, warm
from tests.server_helpers import serve


class Inner:
    """Stands for the app behind the gate: the API's routes under /api/, the rest the
    dashboard's."""

    def takes(self, scope) -> bool:
        return scope["type"] == "http" and scope["path"].startswith("/api/")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        await PlainTextResponse(f"inner {scope['path']}")(scope, receive, send)


@pytest.fixture
def gate():
    was = warm.ready.is_set()
    warm.ready.clear()
    yield TestClient(server.WhenReady(Inner()))
    if was:
        warm.ready.set()


def test_before_ready_pages_say_starting_and_the_api_answers(gate):
    page = gate.get("/?lang=en")
    assert page.status_code == 503 and page.headers["retry-after"] == "1"
    assert page.headers["cache-control"] == "no-store"
    assert "正在启动" in page.text and "Starting" in page.text
    assert '<meta http-equiv="refresh" content="1">' in page.text  # it reloads itself
    assert gate.get("/_stcore/health").status_code == 503  # what readiness checks wait on
    assert gate.get("/static/js/index.js").status_code == 503
    api = gate.get("/api/health")
    assert api.status_code == 200 and api.text == "inner /api/health"
    with pytest.raises(WebSocketDisconnect) as refused, \
            gate.websocket_connect("/_stcore/stream") as ws:
        ws.receive_text()
    assert refused.value.code == 1013  # try again later


def test_once_ready_everything_is_served_and_marks_a_visit_coming(gate):
    warm.ready.set()
    before = warm._touched
    page = gate.get("/planning_map")
    assert page.status_code == 200 and page.text == "inner /planning_map"
    assert gate.get("/_stcore/health").text == "inner /_stcore/health"
    assert warm._touched > before  # the background warming waits a moment longer


def test_status_says_where_the_dashboard_is(gate):
    assert warm.status()["dashboard"] == "starting"
    warm.ready.set()
    assert warm.status()["dashboard"] == "ready"


def test_without_warming_the_dashboard_is_served_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("CITYBRAIN_WARM", "0")
    warm.ready.clear()
    assert warm.at_start(tmp_path / "none.duckdb") is None
    assert warm.ready.is_set() and warm.status()["warming"] == "off"


def test_background_work_gives_way_to_a_page_run(monkeypatch):
    monkeypatch.setattr(warm, "QUIET_S", 0.05)
    went_on = threading.Event()
    with warm.visit():
        t = threading.Thread(target=lambda: (warm.give_way(), went_on.set()), daemon=True)
        t.start()
        assert not went_on.wait(0.5)  # a page is running: the warming waits
        with warm.visit():            # two at once: still waiting after the first ends
            pass
        assert not went_on.wait(0.2)
    assert went_on.wait(10)           # and goes on once no page runs
    t.join(timeout=10)


def test_a_warming_server_serves_its_dashboard_once_ready(small_store_path, tmp_path):
    """The real server with its warm-up on: the API answers from the start; each look at
    Streamlit's health check agrees with /api/health (503 while it says "starting"); once
    ready, the landing pages' steps are done and the overview is served."""
    path = tmp_path / "city.duckdb"
    shutil.copy(small_store_path, path)
    running = serve(path, tmp_path, env={"CITYBRAIN_WARM": "1"}, dashboard=False)
    try:
        seen = []
        for _ in range(600):
            health = requests.get(f"{running.url}/api/health", timeout=10).json()
            check = requests.get(f"{running.url}/_stcore/health", timeout=10).status_code
            after = requests.get(f"{running.url}/api/health", timeout=10).json()
            if health["dashboard"] == after["dashboard"]:  # not ready between the two looks
                seen.append((health["dashboard"], check))
            if check == 200:
                break
            time.sleep(0.1)
        assert seen and all((state == "ready") == (code == 200) for state, code in seen)
        assert seen[-1] == ("ready", 200)
        assert after["landing_ready_s"] is not None and after["warming"] in ("rest", "done")
        page = requests.get(f"{running.url}/?lang=en", timeout=10)
        assert page.status_code == 200 and "正在启动" not in page.text
        assert "dashboard: ready at" in running.log.read_text()
    finally:
        running.stop()


def test_the_snapshot_waits_for_page_runs(tmp_path, monkeypatch):
    """Background copies of the store give way to a page run: the snapshot is published only
    once the run is over."""
    from analytics.server.state import ServerState
    from tests.planning_store import make_store

    monkeypatch.setattr(warm, "QUIET_S", 0.05)
    store = make_store(path=tmp_path / "city.duckdb")
    state = ServerState(store, "http://127.0.0.1:1", give_way=warm.give_way)
    snapshot = state.snapshot_file()
    try:
        with warm.visit():
            state.publish_snapshot_later()
            time.sleep(0.5)
            assert not snapshot.exists()  # a page is running: no copy yet
        for _ in range(200):
            if snapshot.exists():
                break
            time.sleep(0.05)
        assert snapshot.exists()
    finally:
        state.close()
        store.close()


def test_a_page_asked_for_holds_background_work_until_its_run(gate, monkeypatch):
    """Between a page and its run the browser loads its scripts: the warming waits for the
    run, not only for a quiet moment."""
    monkeypatch.setattr(warm, "QUIET_S", 0.05)
    monkeypatch.setattr(warm, "_expected", 0)
    warm.ready.set()
    gate.get("/static/js/index.js", headers={"Accept": "*/*"})  # a script: no run expected
    assert warm._expected == 0
    gate.get("/?lang=en", headers={"Accept": "text/html,application/xhtml+xml"})
    assert warm._expected == 1
    went_on = threading.Event()
    t = threading.Thread(target=lambda: (warm.give_way(), went_on.set()), daemon=True)
    t.start()
    assert not went_on.wait(0.5)  # the page's run has not come yet
    with warm.visit():
        pass
    assert went_on.wait(10) and warm._expected == 0
    t.join(timeout=10)
