"""The broker ingest path against real MQTT brokers on 127.0.0.1: the embedded ``amqtt`` one
and Debian's ``mosquitto`` (skipped, saying so, where its binary is not installed)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time

import pandas as pd
import pytest
from _sensors_helpers import readings, tiny_assets, tiny_store

from analytics.errors import CityBrainError
from analytics.sensors import broker as mq
from analytics.sensors.feed import MAX_PAYLOAD_BYTES, BrokerFeed, device_client, publish_readings

HOST = "127.0.0.1"
MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)
# the first port can be moved (SENSOR_TEST_PORT) where several runs share a machine
PORTS = iter(range(int(os.environ.get("SENSOR_TEST_PORT", "18740")),
                   int(os.environ.get("SENSOR_TEST_PORT", "18740")) + 50))


def now_s() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")


def wait_for(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


@pytest.fixture(params=["amqtt", "mosquitto"])
def broker(request, tmp_path):
    """``(url, key, assets, kind)`` of a running broker that knows the tiny store's gateways."""
    # three covers, each behind its own gateway (one per district)
    assets = tiny_assets(3, districts=(330106, 330108, 330110))
    gateways = sorted(set(mq.gateway_ids(assets)))
    key = mq.new_key()
    port = next(PORTS)
    if request.param == "amqtt":
        b = mq.EmbeddedBroker(port, adcode=330100, gateways=gateways, key=key).start()
        yield b.url, key, assets, "amqtt"
        b.stop()
        return
    if MOSQUITTO is None:
        pytest.skip("Debian's mosquitto is not installed (apt-get install mosquitto)")
    conf = mq.mosquitto_files(tmp_path, adcode=330100, gateways=gateways, key=key, port=port,
                              user=getpass.getuser())
    subprocess.run(["mosquitto_passwd", "-U", str(tmp_path / "passwd")], check=True)
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        def up():
            with socket.socket() as s:
                return s.connect_ex((HOST, port)) == 0
        assert wait_for(up, 10), proc.stderr.read() if proc.poll() is not None else "no listen"
        yield f"mqtt://{HOST}:{port}", key, assets, "mosquitto"
    finally:
        proc.terminate()
        proc.wait(10)


def gateway_client(url, key, gateway):
    port = int(url.rsplit(":", 1)[1])
    return device_client(HOST, port, gateway, mq.password_for(key, gateway))


def publish_all(client, frame, per_message=1):
    for h in publish_readings(client, frame, 330100, per_message=per_message):
        h.wait_for_publish(10)


def test_a_burst_with_a_fault_raises_its_alert(broker):
    url, key, assets, kind = broker
    store = tiny_store(assets)
    feed = BrokerFeed(store, url=url, key=key).start()
    gw = mq.gateway_ids(assets).iat[0]
    c = gateway_client(url, key, gw)
    t0 = now_s() - pd.Timedelta(minutes=30)
    ok = pd.concat([readings(a, 10, start=t0) for a in assets["asset_id"][:2]])
    lifted = readings("MH-00000", 1, start=t0 + pd.Timedelta(minutes=12), displacement_mm=60.0)
    publish_all(c, ok, per_message=5)
    publish_all(c, lifted)
    assert wait_for(lambda: feed.stats.received == 21)
    st = feed.stop()
    c.loop_stop()
    assert (st.accepted, sum(st.rejected.values())) == (21, 0)
    a = store.query("open_data.rows_all", table="alerts")  # alerts are no raw public table
    assert a[["asset_id", "kind", "value"]].values.tolist() == [["MH-00000", "lifted", 60.0]]
    assert store.scalar("sensors.reading_count") == 21


def test_bad_input_is_refused_with_its_reason_and_the_rest_goes_through(broker):
    url, key, assets, kind = broker
    store = tiny_store(assets)
    feed = BrokerFeed(store, url=url, key=key, gateway_rate=30).start()
    gws = mq.gateway_ids(assets).tolist()          # of MH-00000, MH-00001, MH-00002
    c = gateway_client(url, key, gws[0])
    t0 = now_s() - pd.Timedelta(minutes=5)
    topic = mq.topic_for(330100, "MH-00000")
    good = readings("MH-00000", 3, start=t0)
    publish_all(c, good, per_message=3)
    assert wait_for(lambda: feed.stats.received == 3)   # stored: what follows comes later
    body = ('{"ts": "%s", "tilt_deg": %s, "displacement_mm": 1, "water_level_cm": 20,'
            ' "battery_v": 3.6, "signal_dbm": -80}')
    bad = [
        b"\xff\xfe not json",                                              # malformed
        b'"just a string"',                                                # malformed
        (body % (t0 + pd.Timedelta(minutes=4), "NaN")).encode(),          # non_numeric
        (body % (t0 + pd.Timedelta(minutes=4, seconds=1), "Infinity")).encode(),
        (body % ("2099-01-01T00:00:00Z", "0.5")).encode(),                 # future
        (body % (t0, "0.5")).encode(),                                     # duplicate
        (body % (t0 - pd.Timedelta(minutes=1), "0.5")).encode(),          # late: stored
        (body % (t0 + pd.Timedelta(minutes=4, seconds=2), "0.5")).replace(
            '"water_level_cm": 20', '"water_level_cm": 1e300').encode(),  # out_of_range
        b"[" + b" " * MAX_PAYLOAD_BYTES + b"]",                            # too_large
        b"[" * 200_000 + b"]" * 200_000,             # malformed: nested too deeply to parse
    ]
    for p in bad:
        c.publish(topic, p, qos=1).wait_for_publish(10)
    c.publish(mq.topic_for(330100, "MH-99999"), (body % (t0, "0.5")).encode(),
              qos=1).wait_for_publish(10)                                  # unknown_asset
    # a flood from one gateway: 60 readings stamped within one second, over its 30
    c3 = gateway_client(url, key, gws[2])
    flood = readings("MH-00002", 60, start=t0 - pd.Timedelta(hours=2), step_s=0.01)
    publish_all(c3, flood, per_message=60)
    # another gateway, unaffected
    c2 = gateway_client(url, key, gws[1])
    publish_all(c2, readings("MH-00001", 2, start=t0), per_message=2)
    assert wait_for(lambda: feed.stats.received == 3 + 9 + 1 + 1 + 60 + 2)
    st = feed.stop()
    for x in (c, c2, c3):
        x.loop_stop()
    assert dict(st.rejected) == {"malformed": 3, "non_numeric": 2, "future": 1,
                                 "duplicate": 1, "unknown_asset": 1, "flood": 30,
                                 "out_of_range": 1, "too_large": 1}
    assert st.late == 1
    assert st.accepted == 3 + 1 + 30 + 2
    assert st.received == st.accepted + sum(st.rejected.values())
    rej = store.table("sensor_rejects")
    assert set(rej["reason"]) == set(st.rejected)
    assert (rej["detail"] != "").all()
    assert rej.loc[rej["reason"] == "non_numeric", "detail"].str.contains("tilt_deg").all()
    assert rej["detail"].str.contains("nested too deeply").sum() == 1


def test_gateways_must_sign_in(broker):
    url, key, assets, kind = broker
    port = int(url.rsplit(":", 1)[1])
    gw = mq.gateway_ids(assets).iat[0]
    with pytest.raises(CityBrainError, match="refused gateway"):
        device_client(HOST, port, gw, "wrong password")
    with pytest.raises(CityBrainError, match="refused gateway"):
        device_client(HOST, port, "GW-nobody", mq.password_for(key, "GW-nobody"))


def test_killed_mid_burst_loses_and_doubles_nothing(broker):
    """QoS 1 with acknowledgement after commit: the subscriber dies mid-burst; a new one
    with the same session gets what was not committed (the broker redelivers) and drops
    what was committed but not acknowledged as duplicates."""
    url, key, assets, kind = broker
    store = tiny_store(assets)
    feed = BrokerFeed(store, url=url, key=key, client_id="ingest-test", flush_s=0.05,
                      max_batch=40).start()
    gw = mq.gateway_ids(assets)
    t0 = now_s() - pd.Timedelta(hours=3)
    frames = [readings(a, 400, start=t0, step_s=20) for a in assets["asset_id"]]
    clients = {g: gateway_client(url, key, g) for g in sorted(set(gw))}
    sent = 0
    for a, f in zip(assets["asset_id"], frames, strict=True):
        publish_all(clients[gw[assets["asset_id"] == a].iat[0]], f, per_message=1)
        sent += len(f)
        if sent == 800:
            assert wait_for(lambda: feed.stats.accepted > 0)
            feed.kill()                               # mid-burst, nothing acknowledged after
            killed_at = feed.stats.accepted
    assert 0 < killed_at < sent
    feed2 = BrokerFeed(store, url=url, key=key, client_id="ingest-test").start()
    assert wait_for(lambda: store.scalar("sensors.reading_count") == sent, 60), (
        store.scalar("sensors.reading_count"), sent)
    feed2.stop()
    for c in clients.values():
        c.loop_stop()
    r = store.table("sensor_readings")
    assert len(r) == sent
    assert not r.duplicated(["asset_id", "ts"]).any()
    rej = store.table("sensor_rejects")
    assert set(rej["reason"]) <= {"duplicate"}


def test_a_gateway_cannot_read_telemetry():
    assets = tiny_assets(3)
    gateways = sorted(set(mq.gateway_ids(assets)))
    key = mq.new_key()
    port = next(PORTS)
    b = mq.EmbeddedBroker(port, adcode=330100, gateways=gateways, key=key).start()
    try:
        spy = device_client(HOST, port, gateways[0], mq.password_for(key, gateways[0]))
        got = []
        spy.on_message = lambda c, u, m: got.append(m)
        spy.subscribe(mq.TOPIC_FILTER, qos=1)
        pub = device_client(HOST, port, gateways[0], mq.password_for(key, gateways[0]))
        pub.publish(mq.topic_for(330100, "MH-00000"), b"{}", qos=1).wait_for_publish(5)
        time.sleep(0.5)
        assert got == []                        # a gateway reads nobody's telemetry
        for x in (spy, pub):
            x.loop_stop()
    finally:
        b.stop()


def test_a_gateway_batch_is_ingested_and_foreign_covers_refused(broker):
    url, key, assets, kind = broker
    store = tiny_store(assets)
    feed = BrokerFeed(store, url=url, key=key).start()
    gws = mq.gateway_ids(assets).tolist()          # of MH-00000, MH-00001, MH-00002
    c = gateway_client(url, key, gws[0])
    t0 = now_s() - pd.Timedelta(minutes=10)
    batch = pd.concat([readings("MH-00000", 4, start=t0),
                       readings("MH-00001", 1, start=t0)])   # behind another gateway
    publish_all_gw = publish_readings(c, batch, 330100, per_message=5, gateway=gws[0])
    for h in publish_all_gw:
        h.wait_for_publish(10)
    # publishing on another gateway's topic is refused by the broker: it never arrives
    c.publish(mq.gateway_topic(330100, gws[1]), b"[]", qos=1).wait_for_publish(10)
    assert wait_for(lambda: feed.stats.received == 5)
    time.sleep(0.3)
    st = feed.stop()
    c.loop_stop()
    assert (st.received, st.accepted, dict(st.rejected)) == (5, 4, {"unknown_asset": 1})
    rej = store.table("sensor_rejects")
    assert rej["detail"].iat[0] == f"asset 'MH-00001' is not behind gateway {gws[0]}"
    assert feed.messages == 1


def test_a_new_cover_register_reaches_the_running_feed():
    """The embedded broker and its feed run; the department then loads a register in which
    a cover is behind a new gateway (a district not covered before) and another cover is
    gone. Once the pipeline read it and the feed refreshed, the new gateway signs in and its
    cover's reading is accepted; the gone cover's reading is refused as unknown. Before,
    the new gateway is refused at the door."""
    old = tiny_assets(3)                                        # all in 330106
    store = tiny_store(old)
    port = next(PORTS)
    key = mq.new_key()
    feed = BrokerFeed(store, url=None, port=port, key=key).start()
    new = tiny_assets(3, districts=(330106, 330108, 330108))
    new.loc[2, "asset_id"] = "MH-00009"                         # MH-00002 is gone
    gw_new = "GW-330108-sewer"
    try:
        with pytest.raises(CityBrainError, match="refused gateway"):
            device_client(HOST, port, gw_new, mq.password_for(key, gw_new))
        store.write("assets", new, replace=True)
        feed.pipeline.reload(register=True)
        feed.refresh_register()
        c = device_client(HOST, port, gw_new, mq.password_for(key, gw_new))
        t0 = now_s() - pd.Timedelta(minutes=5)
        batch = pd.concat([readings("MH-00009", 1, start=t0), readings("MH-00001", 1, start=t0),
                           readings("MH-00002", 1, start=t0)])
        for h in publish_readings(c, batch, 330100, per_message=3, gateway=gw_new):
            h.wait_for_publish(10)
        assert wait_for(lambda: feed.stats.received == 3)
        c.loop_stop()
    finally:
        st = feed.stop()
    assert (st.accepted, dict(st.rejected)) == (2, {"unknown_asset": 1})
    rej = store.table("sensor_rejects")
    assert rej["asset_id"].tolist() == ["MH-00002"]
    assert sorted(store.table("sensor_readings")["asset_id"]) == ["MH-00001", "MH-00009"]


def test_the_gateways_command_hands_out_what_a_broker_lets_in(tmp_path, monkeypatch, capsys):
    """``sensors gateways`` lists each gateway of the register with its covers, topic and
    password; a mosquitto configured with the files it writes lets a gateway in with the
    printed password (and no other), and lets the ingest account read the telemetry."""
    import io

    from analytics.cli import main
    from analytics.sensors.feed import BrokerFeed
    assets = tiny_assets(4, districts=(330106, 330108))
    tiny_store(assets, path=tmp_path / "city.duckdb").close()
    monkeypatch.delenv("CITYBRAIN_MQTT_KEY", raising=False)
    assert main(["sensors", "gateways", "--store", str(tmp_path / "city.duckdb")]) == 2
    assert "CITYBRAIN_MQTT_KEY" in capsys.readouterr().err
    key = "a-city-key"
    monkeypatch.setenv("CITYBRAIN_MQTT_KEY", key)
    port = next(PORTS)
    assert main(["sensors", "gateways", "--store", str(tmp_path / "city.duckdb"),
                 "--mosquitto", str(tmp_path / "mq"), "--port", str(port),
                 "--user", getpass.getuser()]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    by_hand = assets.groupby(["district_adcode", "asset_type"]).size()   # 2 covers each
    assert table[["district_adcode", "network", "covers"]].values.tolist() == [
        [d, t, n] for (d, t), n in by_hand.items()]
    assert table["gateway"].tolist() == [f"GW-{d}-{t}" for d, t in by_hand.index]
    assert table["topic"].iat[0] == f"city/330100/gateways/{table['gateway'].iat[0]}/telemetry"
    if MOSQUITTO is None:
        pytest.skip("Debian's mosquitto is not installed (apt-get install mosquitto)")
    subprocess.run(["mosquitto_passwd", "-U", str(tmp_path / "mq" / "passwd")], check=True)
    proc = subprocess.Popen([MOSQUITTO, "-c", str(tmp_path / "mq" / "mosquitto.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up():
            with socket.socket() as s:
                return s.connect_ex((HOST, port)) == 0
        assert wait_for(up, 10)
        gw, password = table["gateway"].iat[0], table["password"].iat[0]
        with pytest.raises(CityBrainError, match="refused gateway"):
            device_client(HOST, port, gw, table["password"].iat[1])
        store = tiny_store(assets)
        feed = BrokerFeed(store, url=f"mqtt://{HOST}:{port}", key=key).start()
        c = device_client(HOST, port, gw, password)
        mine = assets.loc[mq.gateway_ids(assets) == gw, "asset_id"].tolist()
        batch = pd.concat([readings(a, 1, start=now_s() - pd.Timedelta(minutes=1)) for a in mine])
        for h in publish_readings(c, batch, 330100, per_message=len(mine), gateway=gw):
            h.wait_for_publish(10)
        assert wait_for(lambda: feed.stats.accepted == len(mine))
        c.loop_stop()
        feed.stop()
    finally:
        proc.terminate()
        proc.wait(10)
