"""The server ``make run`` starts subscribes to the telemetry broker: a gateway publishes a
lifted cover over MQTT and the alert is in the store the server owns."""

from __future__ import annotations

import signal
import socket
import time

import pandas as pd
import requests
from _sensors_helpers import readings
from server_helpers import start

from analytics.sensors import broker as mq
from analytics.sensors.feed import device_client, publish_readings
from analytics.store import Store

KEY = "test-gateway-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_lifted_cover_published_to_the_servers_broker_raises_an_alert(small_store_path,
                                                                         tmp_path):
    port = _free_port()
    running = start(small_store_path, tmp_path, env={
        "CITYBRAIN_MQTT": "embedded", "CITYBRAIN_MQTT_PORT": str(port), "CITYBRAIN_MQTT_KEY": KEY})
    try:
        deadline = time.time() + 60
        while "telemetry broker: subscribed" not in running.log.read_text():
            assert time.time() < deadline, running.log.read_text()[-2000:]
            time.sleep(0.2)
        # the start is told in a few lines, without Streamlit's warning per cache decorator
        assert "No runtime found" not in running.log.read_text()
        snapshot = running.path.with_name("city.snapshot.duckdb")
        while not snapshot.exists():  # published in the background after start
            assert time.time() < deadline + 60, "no snapshot published"
            time.sleep(0.2)
        with Store.open(snapshot, read_only=True) as snap:
            assets = snap.query("sensors.assets")
        cover = assets.iloc[0]
        gateway = mq.gateway_ids(assets).iat[0]
        client = device_client("127.0.0.1", port, gateway, mq.password_for(KEY, gateway))
        now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
        # ten normal readings, then the cover is lifted 60 mm: an event alerts on its first reading
        frame = pd.concat([readings(cover["asset_id"], 10, start=now - pd.Timedelta(minutes=15)),
                           readings(cover["asset_id"], 1, start=now - pd.Timedelta(minutes=2),
                                    displacement_mm=60.0)])
        for handle in publish_readings(client, frame, int(cover["city_adcode"]),
                                       gateway=gateway, per_message=11):
            handle.wait_for_publish(10)
        time.sleep(3)  # the feed commits a batch within 0.2 s of its last message
        client.loop_stop()
        # the department loads a cover register through the API: the running feed takes
        # the file's cover (and its gateway) without a restart, and a reading of a
        # synthetic cover it replaced is refused
        register = ("井盖编号,管网类别,权属单位,安装年份,区县,经度,纬度,井深\n"
                    "XH-0001,storm,城市管理局（排水）,2019,西湖区,120.1301,30.2592,180\n")
        r = requests.post(f"{running.url}/api/pooling/urban_management_manholes",
                          files={"file": ("manholes.csv", register.encode())},
                          headers={"Authorization": running.tokens["admin"]}, timeout=60)
        assert r.status_code == 200, r.text
        while "a new cover register" not in running.log.read_text():
            assert time.time() < deadline + 120, running.log.read_text()[-2000:]
            time.sleep(0.2)
        gone = assets[(assets["district_adcode"] == 330106) & (assets["asset_type"] == "storm")]
        storm = device_client("127.0.0.1", port, "GW-330106-storm",
                              mq.password_for(KEY, "GW-330106-storm"))
        later = now + pd.Timedelta(seconds=30)
        both = pd.concat([readings("XH-0001", 1, start=later, displacement_mm=60.0),
                          readings(gone["asset_id"].iat[0], 1, start=later)])
        for handle in publish_readings(storm, both, 330100, gateway="GW-330106-storm",
                                       per_message=2):
            handle.wait_for_publish(10)
        time.sleep(3)
        storm.loop_stop()
    finally:
        running.proc.send_signal(signal.SIGTERM)  # the lifespan commits and closes the store
        running.proc.wait(60)
    with Store.open(running.path, read_only=True) as store, store.cursor() as cur:
        alerts = cur.execute("SELECT asset_id, kind, value FROM alerts WHERE asset_id = ?",
                             [cover["asset_id"]]).fetchall()
    assert (cover["asset_id"], "lifted", 60.0) in alerts
    with Store.open(running.path, read_only=True) as store, store.cursor() as cur:
        new = cur.execute("SELECT kind FROM alerts WHERE asset_id = 'XH-0001'").fetchall()
        refused = cur.execute("SELECT asset_id, reason FROM sensor_rejects").fetchall()
    assert new == [("lifted",)]
    assert refused == [(gone["asset_id"].iat[0], "unknown_asset")]
