"""The Infrastructure page, run by Streamlit's AppTest on a tiny store with known alerts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from _sensors_helpers import add_city, readings, tiny_store
from streamlit.testing.v1 import AppTest

from analytics.identity import Actor
from analytics.opendata import accounts
from analytics.sensors.pipeline import SensorPipeline
from dashboard import auth
from dashboard.shell import open_store

PAGE = str(Path(__file__).parent.parent / "pages" / "infrastructure.py")


@pytest.fixture()
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "city.duckdb"
    store = tiny_store(path=path)
    add_city(store)
    pipe = SensorPipeline(store)
    # recent readings (so the app generates no history): two covers in alert
    t0 = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s") - pd.Timedelta(minutes=10)
    pipe.ingest(readings("MH-00000", 3, start=t0, displacement_mm=60.0))  # lifted: open alert
    pipe.ingest(readings("MH-00001", 3, start=t0, battery_v=3.0))         # dead battery
    pipe.ingest(readings("MH-00002", 3, start=t0))
    accounts.create_first_admin(store, "wang", "Root-pass-123")
    accounts.add_user(store, Actor("wang", "administrator"), "liping", "planner", "Plan-pass-456")
    store.close()
    monkeypatch.setenv("CITYBRAIN_STORE", str(path))
    return path


def run(lang="en", user=None):
    """The page as a visitor, or signed in as ``(user, password)`` through real accounts."""
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["lang"] = lang
    if user is not None:
        store = open_store(os.environ["CITYBRAIN_STORE"])
        at.session_state[auth.TOKEN_KEY] = accounts.sign_in(store, *user).token
    return at.run()


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_page_shows_kpis_alerts_and_refuses_the_public(store_path):
    at = run()
    assert not at.exception
    assert at.title[0].value == "Manhole covers"
    assert metric(at, "Open alerts") == "2"
    assert metric(at, "Acknowledged") == "0"
    assert metric(at, "Sensors offline") == "0"
    assert metric(at, "Readings stored") == "9"
    table = at.dataframe[0].value                  # incidents: one per cover here
    assert sorted(table["Kinds"]) == ["Cover lifted", "Dead battery"]
    assert set(table["State"]) == {"Open"}
    assert sorted(table["Covers"]) == ["MH-00000", "MH-00001"]
    ack = next(b for b in at.button if b.label == "Acknowledge")
    assert ack.disabled  # the public may look, not act
    assert any("administrator or data steward" in c.value for c in at.caption)


def test_operator_acknowledges_from_the_page(store_path):
    at = run(user=("wang", "Root-pass-123"))
    pick = next(s for s in at.selectbox if s.label == "Choose an incident")
    chosen = pick.value
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert not at.exception
    store = open_store(str(store_path))  # the page's own connection (one per process)
    row = store.query("sensors.alert_feed", limit=10).set_index("alert_id").loc[chosen]
    assert (row["state"], row["acknowledged_by"]) == ("acknowledged", "wang")


def test_signed_in_planner_may_look_but_not_act(store_path):
    at = run(user=("liping", "Plan-pass-456"))
    assert not at.exception
    assert next(b for b in at.button if b.label == "Acknowledge").disabled
    assert next(b for b in at.button if b.label == "Start simulated feed").disabled


def test_page_in_chinese(store_path):
    at = run(lang="zh")
    assert not at.exception
    assert at.title[0].value == "井盖监测"
    assert metric(at, "未处理告警") == "2"
    assert "井盖被掀起" in set(at.dataframe[0].value["类型"])
    # the cover's series: dates in digits (Plotly would name the months in English)
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert spec["layout"]["xaxis"]["tickformat"] == "%-m月%-d日\n%H:%M"


def test_operator_starts_and_stops_the_simulated_feed(store_path):
    import time

    at = run(user=("wang", "Root-pass-123"))
    assert metric(at, "Readings stored") == "9"
    next(b for b in at.button if b.label == "Start simulated feed").click().run()
    assert not at.exception
    store = open_store(str(store_path))
    time.sleep(2)
    # the feed learned from a fault-free history, then streams: readings keep arriving
    before = store.scalar("sensors.reading_count")
    time.sleep(2)
    assert store.scalar("sensors.reading_count") > before > 9
    at.run()
    assert any("Simulated feed running" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Stop simulated feed").click().run()
    assert not at.exception
    assert not at.info
    stopped = store.scalar("sensors.reading_count")
    time.sleep(1)
    assert store.scalar("sensors.reading_count") == stopped


def test_a_stale_store_gets_a_week_of_history_up_to_the_app_start(tmp_path, monkeypatch):
    """Readings from long ago only: the app generates the 7 days before its start in the
    background, through the detection path; every cover's last state is then recent."""
    import time

    from analytics.sensors import views

    path = tmp_path / "city.duckdb"
    store = tiny_store(path=path)
    add_city(store)
    SensorPipeline(store).ingest(readings("MH-00000", 3))            # 2024: stale
    store.close()
    monkeypatch.setenv("CITYBRAIN_STORE", str(path))
    started = time.time()
    at = run()
    assert not at.exception
    store = open_store(str(path))
    deadline = time.time() + 60
    while time.time() < deadline and store.scalar("sensors.reading_count") < 3 + 3 * 7 * 24:
        time.sleep(0.5)
    time.sleep(1)
    at.run()
    assert not at.exception
    assert any("History generated for the 7 days" in c.value for c in at.caption)
    status = views.asset_status(store)
    # hourly reports for a week up to the start: each cover's last reading under an hour old
    assert (status["age_s"] < 3600 + (time.time() - started)).all()
    assert set(status["status"]) <= {"ok", "alert", "acknowledged"}
    newest = store.scalar("sensors.newest_reading")
    assert pd.Timestamp(newest) <= pd.Timestamp(started, unit="s")


def add_network_alert(path) -> None:
    """An alert on the district's whole sewer network, written as the ingest path writes it."""
    from analytics.sensors.network import NetworkEvent
    store = open_store(str(path))
    pipe = SensorPipeline(store)
    slot = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("5min") - pd.Timedelta(minutes=10)
    event = NetworkEvent(330106, "sewer", slot, 0.61, 0.18, 1.0, 0)
    with store.transaction() as cur:
        pipe._network_alerts([event], pd.Series([slot + pd.Timedelta(minutes=7)]), cur)


@pytest.mark.parametrize(("lang", "kind", "covers", "caption"), [
    ("en", "Network water level unusual", "Sewer cover (district network)",
     "Red outline: districts with an unresolved alert on a whole network (Xihu District Sewer cover)."),
    ("zh", "管网水位异常", "污水井盖（全区管网）", "红框：有未解决的管网水位异常告警的区（西湖区 污水井盖）。"),
])
def test_an_alert_on_a_whole_network_is_an_incident_of_its_district(store_path, lang, kind,
                                                                   covers, caption):
    add_network_alert(store_path)
    at = run(lang=lang)
    assert not at.exception
    assert metric(at, "Open alerts" if lang == "en" else "未处理告警") == "3"
    table = at.dataframe[0].value
    col = {"en": ("Kinds", "Covers"), "zh": ("类型", "井盖")}[lang]
    row = table[table[col[0]] == kind]
    assert row[col[1]].tolist() == [covers]
    assert caption in [c.value for c in at.caption]


def test_operator_acknowledges_a_network_incident(store_path):
    add_network_alert(store_path)
    at = run(user=("wang", "Root-pass-123"))
    pick = next(s for s in at.selectbox if s.label == "Choose an incident")
    choice = next(o for o in pick.options if "district network" in o).split(" · ")[0]
    pick.set_value(choice).run()
    # the network's own series is offered (this tiny network has too few covers for one)
    assert any(c.value.startswith("Xihu District, Sewer cover network") for c in at.caption)
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert not at.exception
    store = open_store(str(store_path))
    row = store.query("sensors.alert_feed", limit=10)
    row = row[row["kind"] == "network_level"].iloc[0]
    assert (row["state"], row["acknowledged_by"]) == ("acknowledged", "wang")
    assert pd.isna(row["asset_id"])
