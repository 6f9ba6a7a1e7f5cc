"""The broker-fed ingest path: subscribe to cover telemetry over MQTT and feed the sensor pipeline.

Devices (through their gateways) publish with QoS 1 to
``city/{adcode}/covers/{asset_id}/telemetry`` — a payload is one reading or a JSON array
of that cover's readings::

    {"ts": "2026-05-01T08:00:00Z", "tilt_deg": 0.4, "displacement_mm": 1.2,
     "water_level_cm": 31.0, "battery_v": 3.61, "signal_dbm": -81}

— or, a gateway's batch, to ``city/{adcode}/gateways/{gateway_id}/telemetry``: an array of
readings each naming its ``asset_id`` (a cover not behind that gateway is refused). One
message per batch rather than per reading is what lets a Python subscriber take 10,000
readings/s on two cores.

``ts`` is ISO 8601 (UTC unless it says otherwise) or epoch seconds. :class:`BrokerFeed`
subscribes with a persistent session and **acknowledges a message only after the batch
holding it is committed** to the store, so if the process dies mid-burst the broker
redelivers what was not committed (QoS 1), and what was committed but not yet acknowledged
comes back as a duplicate (same asset and time) and is dropped once, with its reason.

Every message ends up counted: readings go through :class:`SensorPipeline` (unknown asset,
bad timestamp, NaN/inf or non-numeric value, a value no sensor can report, far-future time,
duplicate — each refused and recorded with its reason; an out-of-order reading is stored
flagged ``late``); a payload that is not JSON (``malformed``), one over
:data:`MAX_PAYLOAD_BYTES` (``too_large``), a topic outside the layout (``bad_topic``) and
readings of a gateway stamping more than its limit of readings within one second
(``flood``) are recorded in the same rejects table. So received = accepted + rejected, for
every message the broker delivered.

Start it from the server's lifespan::

    feed = BrokerFeed(store, url=None)      # None: start the embedded broker on 127.0.0.1
    await feed.astart()                     # or feed.start() from a thread
    ...
    await feed.astop()                      # flushes, commits, acknowledges, disconnects
"""

from __future__ import annotations

import asyncio
import json
import math
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pandas as pd

from analytics.errors import CityBrainError
from analytics.sensors import broker as mq
from analytics.sensors.model import CHANNELS
from analytics.sensors.pipeline import IngestStats, SensorPipeline, utc_now
from analytics.store import Store

#: Default port of the embedded broker (MQTT's 1883 is often taken by a system broker).
DEFAULT_PORT = 18783
#: Readings a gateway may stamp within one second (device time) before the excess is
#: refused as a flood: a gateway serves about 150 covers, each reporting about once a
#: minute plus events, so thousands in one second is a runaway or replaying gateway.
#: Counted on the readings' own timestamps, not on arrival, so a backlog the broker
#: kept during an outage drains at full speed without being mistaken for a flood.
GATEWAY_RATE = 2_000
#: Seconds of device time remembered per gateway for the flood count.
FLOOD_MEMORY = 600
#: The largest payload taken: a gateway's batch of its ~150 covers is about 25 kB, so a
#: message of megabytes is a runaway gateway replaying its memory; refused unread
#: (``too_large``) rather than parsed into hundreds of megabytes of objects.
MAX_PAYLOAD_BYTES = 1 << 20


@dataclass
class _Msg:
    topic: str
    payload: bytes
    mid: int
    qos: int
    arrived: pd.Timestamp


class BrokerFeed:
    """Subscriber of cover telemetry feeding ``SensorPipeline`` in batches.

    ``url``: ``mqtt://host:port`` of an external broker, or None to start an embedded one
    on ``127.0.0.1:port``. ``key``: the secret the gateway and ingest passwords derive
    from (see :mod:`analytics.sensors.broker`); a new one per start when the broker is
    embedded. ``flush_s``: the longest a message waits before its batch is committed.
    """

    def __init__(self, store: Store, *, url: str | None = None, port: int = DEFAULT_PORT,
                 key: str | None = None, client_id: str = "citybrain-ingest",
                 flush_s: float = 0.2, max_batch: int = 5_000,
                 gateway_rate: int = GATEWAY_RATE, pipeline: SensorPipeline | None = None):
        self.pipeline = pipeline or SensorPipeline(store)
        self.broker: mq.EmbeddedBroker | None = None
        self._register_version = None
        self.refresh_register()
        self.key = key or mq.new_key()
        if url is None:
            self.broker = mq.EmbeddedBroker(port, adcode=self.adcode, gateways=self.gateways,
                                            key=self.key)
            url = self.broker.url
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
            raise CityBrainError(f"broker URL {url!r}: expected mqtt://host:port")
        self.url, self.host, self.port = url, parsed.hostname, parsed.port or 1883
        self.client_id = client_id
        self.flush_s, self.max_batch = flush_s, max_batch
        self.gateway_rate = gateway_rate
        self._per_second: dict[str, dict] = defaultdict(dict)
        self._queue: queue.Queue[_Msg] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self.error: BaseException | None = None
        self.messages = 0

    def refresh_register(self) -> None:
        """The covers behind each gateway, from the pipeline's register; read again when the
        pipeline has read a new one (a department loaded its cover register), and the
        embedded broker then lets in the gateways of the new register."""
        if self._register_version == self.pipeline.register_version:
            return
        assets = self.pipeline.assets
        self.adcode = str(int(assets["city_adcode"].iat[0]))
        self.gateway_of = dict(zip(assets["asset_id"], mq.gateway_ids(assets), strict=True))
        self.gateways = sorted(set(self.gateway_of.values()))
        self._register_version = self.pipeline.register_version
        if self.broker is not None:
            self.broker.gateways.replace(self.gateways)

    @property
    def stats(self) -> IngestStats:
        return self.pipeline.stats

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def credentials(self, gateway: str) -> tuple[str, str]:
        """User name and password of a gateway (to hand to its devices)."""
        if gateway not in self.gateways:
            raise CityBrainError(f"unknown gateway {gateway!r}")
        return gateway, mq.password_for(self.key, gateway)

    # -- MQTT client --------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.error = CityBrainError(f"the broker at {self.url} refused the ingest account: "
                                        f"{reason_code}")
            self._connected.set()
            return
        client.subscribe([(mq.TOPIC_FILTER, 1), (mq.GATEWAY_TOPIC_FILTER, 1)])
        self._connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        self._queue.put(_Msg(msg.topic, msg.payload, msg.mid, msg.qos, utc_now()))

    def start(self, timeout: float = 10.0) -> BrokerFeed:
        if self.broker is not None:
            self.broker.start()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        c.username_pw_set(mq.INGEST_USER, mq.password_for(self.key, mq.INGEST_USER))
        c.max_inflight_messages_set(0)      # no cap: the broker may send as fast as it can
        c.max_queued_messages_set(0)
        c.on_connect, c.on_message = self._on_connect, self._on_message
        self._client = c
        try:
            c.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            self._stop_broker()
            raise CityBrainError(f"cannot reach the MQTT broker at {self.url}: {exc}") from None
        c.loop_start()
        if not self._connected.wait(timeout) or self.error is not None:
            c.loop_stop()
            self._stop_broker()
            raise CityBrainError(str(self.error or f"no answer from the broker at {self.url}"))
        self._stop.clear()
        self._thread = threading.Thread(target=self._consume, daemon=True, name="mqtt-ingest")
        self._thread.start()
        return self

    def stop(self) -> IngestStats:
        """Ingest what has arrived, acknowledge it, disconnect (and stop an embedded broker)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        self._stop_broker()
        if self.error is not None:
            raise CityBrainError(f"the broker feed stopped on an error: {self.error}")
        return self.stats

    def kill(self) -> None:
        """Drop the connection at once, committing and acknowledging nothing more (what a
        crash does; for tests of redelivery)."""
        self._stop.set()
        self._abandon = True
        if self._client is not None:
            self._client.loop_stop()
            sock = self._client.socket()
            if sock is not None:
                sock.close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _stop_broker(self) -> None:
        if self.broker is not None:
            self.broker.stop()

    async def astart(self) -> BrokerFeed:
        """``start`` for an event loop (e.g. the server's lifespan)."""
        return await asyncio.to_thread(self.start)

    async def astop(self) -> IngestStats:
        return await asyncio.to_thread(self.stop)

    # -- batches ------------------------------------------------------------------------
    _abandon = False

    def _consume(self) -> None:
        try:
            while True:
                if self._abandon:
                    return
                stopping = self._stop.is_set()
                batch = self._drain()
                if batch:
                    if self._abandon:
                        return
                    self._ingest(batch)
                elif stopping:
                    return
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def _drain(self) -> list[_Msg]:
        items: list[_Msg] = []
        deadline = time.monotonic() + self.flush_s
        while len(items) < self.max_batch:
            wait = deadline - time.monotonic()
            if wait <= 0:
                break
            try:
                items.append(self._queue.get(timeout=wait))
            except queue.Empty:
                break
            while len(items) < self.max_batch:   # take what is already queued
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
        return items

    def _allow(self, gateway: str, readings: list[dict], arrived: pd.Timestamp) -> list[bool]:
        """Which readings pass the flood limit: at most ``gateway_rate`` per gateway with
        their timestamp in the same second (the ISO text up to the second, or the epoch
        second; readings without a usable time count in their arrival second)."""
        seen = self._per_second[gateway]
        out = []
        for r in readings:
            ts = r.get("ts")
            if type(ts) is str:
                key = ts[:19]
            elif isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts):
                key = pd.Timestamp(int(ts), unit="s").isoformat()[:19]
            else:
                key = arrived.isoformat()[:19]
            n = seen.get(key, 0)
            out.append(n < self.gateway_rate)
            seen[key] = n + 1
        while len(seen) > FLOOD_MEMORY:      # forget the oldest seconds first
            del seen[next(iter(seen))]
        return out

    def _parse(self, msgs: list[_Msg]) -> list:
        """Each payload decoded (or the exception): one ``json.loads`` over the whole batch
        when every payload is valid — the common case, and many times faster than one call
        per message — else message by message."""
        if not msgs:
            return []
        try:
            out = json.loads(b"[" + b",".join(m.payload for m in msgs) + b"]")
            if len(out) == len(msgs):
                return out
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            pass
        parsed = []
        for m in msgs:
            try:
                parsed.append(json.loads(m.payload))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                parsed.append(exc)
            except RecursionError as exc:  # nested thousands deep: refuse it, keep the feed
                parsed.append(exc)
        return parsed

    def _ingest(self, batch: list[_Msg]) -> None:
        self.refresh_register()
        refused: list[dict] = []
        cols: dict[str, list] = {"asset_id": [], "ts": [], "arrived_at": [],
                                 **{c: [] for c in CHANNELS}}
        routed = []
        for m in batch:
            self.messages += 1
            parts = m.topic.split("/")
            if len(m.payload) > MAX_PAYLOAD_BYTES:
                refused.append(_reject(m, None, None, "too_large",
                                       f"payload of {len(m.payload):,} bytes on {m.topic!r} is "
                                       f"over the limit of {MAX_PAYLOAD_BYTES:,}"))
            elif (len(parts) == 5 and parts[0] == "city" and parts[2] in ("covers", "gateways")
                    and parts[4] == "telemetry" and parts[3]):
                routed.append((m, parts[1], parts[3], parts[2] == "gateways"))
            else:
                refused.append(_reject(m, None, None, "bad_topic",
                                       f"topic {m.topic!r} is not city/{{adcode}}/covers/"
                                       "{asset_id}/telemetry or city/{adcode}/gateways/"
                                       "{gateway_id}/telemetry"))
        for (m, adcode, name, by_gateway), data in zip(
                routed, self._parse([r[0] for r in routed]), strict=True):
            asset = None if by_gateway else name
            if isinstance(data, Exception):
                why = ("nested too deeply" if isinstance(data, RecursionError)
                       else data.__class__.__name__)
                refused.append(_reject(m, asset, None, "malformed",
                                       f"payload is not JSON ({why}): "
                                       f"{bytes(m.payload[:60])!r}"))
                continue
            readings = [data] if isinstance(data, dict) else data
            if not (isinstance(readings, list) and readings
                    and all(isinstance(r, dict) for r in readings)):
                refused.append(_reject(m, asset, None, "malformed",
                                       "payload is not a reading object or an array of them"))
                continue
            if adcode != self.adcode:
                refused.extend(_reject(m, asset, r.get("ts"), "unknown_asset",
                                       f"city {adcode} is not this store's city {self.adcode}")
                               for r in readings)
                continue
            if by_gateway:
                gateway = name
                mine = []
                for r in readings:
                    a = r.get("asset_id")
                    if isinstance(a, str) and self.gateway_of.get(a) == gateway:
                        mine.append(r)
                    else:
                        refused.append(_reject(m, None if a is None else str(a), r.get("ts"),
                                               "unknown_asset", f"asset {a!r} is not behind "
                                               f"gateway {gateway}"))
                readings = mine
            else:
                gateway = self.gateway_of.get(asset, "?")
            allowed = self._allow(gateway, readings, m.arrived)
            refused.extend(_reject(m, asset or r.get("asset_id"), r.get("ts"), "flood",
                                   f"gateway {gateway} sent over {self.gateway_rate:g} readings "
                                   "stamped within one second")
                           for r, ok in zip(readings, allowed, strict=True) if not ok)
            for r, ok in zip(readings, allowed, strict=True):
                if not ok:
                    continue
                cols["asset_id"].append(r["asset_id"] if by_gateway else asset)
                ts = r.get("ts")
                cols["ts"].append(ts if type(ts) is str else _ts(ts))
                cols["arrived_at"].append(m.arrived)
                for c in CHANNELS:
                    v = r.get(c)
                    cols[c].append(v if type(v) is float else _num(v))
        if refused:
            self.pipeline.refuse(pd.DataFrame(refused))
        if cols["asset_id"]:
            frame = pd.DataFrame(cols)
            frame["arrived_at"] = pd.to_datetime(frame["arrived_at"]).astype("datetime64[ns]")
            self.pipeline.ingest(frame)
        if self._abandon:
            return
        for m in batch:                    # committed: now the broker may forget them
            if m.qos:
                self._client.ack(m.mid, m.qos)


def _reject(m: _Msg, asset, ts, reason: str, detail: str) -> dict:
    return {"arrived_at": m.arrived.to_datetime64(), "asset_id": asset,
            "ts": None if ts is None else str(ts), "reason": reason, "detail": detail}


def _num(v):
    """A channel value as sent: numbers stay numbers (NaN/inf too, refused downstream);
    anything else is passed as text so the refusal can quote it."""
    if isinstance(v, bool) or v is None:
        return None if v is None else str(v)
    if isinstance(v, int | float):
        return float(v)
    return str(v)


def _ts(v):
    """ISO text as is; epoch seconds (a number) as an ISO UTC time; others as text."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        if not math.isfinite(v) or abs(v) > 1e11:
            return str(v)
        return pd.Timestamp(v, unit="s").isoformat()
    return None if v is None else str(v)


def publish_readings(client: mqtt.Client, frame: pd.DataFrame, adcode: int | str,
                     *, per_message: int = 1, qos: int = 1, gateway: str | None = None) -> list:
    """Publish ``frame`` (``asset_id, ts`` and the channels) as devices would: grouped by
    asset, ``per_message`` readings per payload; or, with ``gateway``, as that gateway's
    batches of ``per_message`` readings. Returns the publish handles."""
    out = []
    cols = ["ts", *CHANNELS]
    f = frame.copy()
    f["ts"] = pd.to_datetime(f["ts"]).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if gateway is not None:
        recs = f[["asset_id", *cols]].to_dict("records")
        for i in range(0, len(recs), per_message):
            out.append(client.publish(mq.gateway_topic(adcode, gateway),
                                      json.dumps(recs[i:i + per_message]), qos=qos))
        return out
    for asset, g in f.groupby("asset_id", sort=False):
        recs = g[cols].to_dict("records")
        for i in range(0, len(recs), per_message):
            chunk = recs[i:i + per_message]
            payload = json.dumps(chunk if per_message > 1 else chunk[0], allow_nan=True)
            out.append(client.publish(mq.topic_for(adcode, asset), payload, qos=qos))
    return out


def device_client(host: str, port: int, user: str, password: str,
                  client_id: str | None = None) -> mqtt.Client:
    """A connected gateway client (its network loop running)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "",
                    protocol=mqtt.MQTTv311)
    c.username_pw_set(user, password)
    c.max_inflight_messages_set(0)
    c.max_queued_messages_set(0)
    done = threading.Event()
    result = {}

    def on_connect(client, userdata, flags, rc, properties):
        result["rc"] = rc
        done.set()

    c.on_connect = on_connect
    c.connect(host, port, keepalive=30)
    c.loop_start()
    if not done.wait(10) or result["rc"].is_failure:
        c.loop_stop()
        raise CityBrainError(f"the broker refused gateway {user}: {result.get('rc', 'no answer')}")
    return c


