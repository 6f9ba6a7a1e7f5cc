"""The message broker devices publish to: gateways, their credentials, and an embedded broker.

Covers report through **gateways** (one per district and network here: ``GW-{district}-
{network}``, about 150 covers each). A gateway signs in to the broker with its own user name
(its id) and password; the broker refuses anonymous clients and wrong passwords, and lets a
gateway publish only under its city's telemetry topics::

    city/{adcode}/covers/{asset_id}/telemetry        one cover's readings      JSON, QoS 1
    city/{adcode}/gateways/{gateway_id}/telemetry    a gateway's batch, each reading
                                                     naming its ``asset_id``   JSON, QoS 1

A gateway may publish on its own gateway topic only (so the feed knows who sent a batch
and refuses readings of covers that are not behind it), and on any cover topic of its city.
The ingest account (:data:`INGEST_USER`) may only subscribe. Passwords are derived from one
secret key (``HMAC-SHA256(key, gateway id)``), so the broker needs no password file and a
gateway's password can be handed out or rotated (new key) without a database.

:class:`EmbeddedBroker` runs ``amqtt`` (a pure-Python MQTT broker) in a background thread
on 127.0.0.1 — the default, so ``make run`` needs nothing else. Its subscriber session is
persistent and QoS 1 messages stay in flight until acknowledged, so a feed that crashes
gets them again when it reconnects (as with mosquitto; see :class:`_RedeliveringHandler`). In production point the feed
at any MQTT broker by URL (e.g. Debian's ``mosquitto``); :func:`mosquitto_files` writes its
password and ACL files for the same gateways.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.mqtt.constants import QOS_1
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.puback import PubackPacket
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import OUTGOING

from analytics.errors import CityBrainError

INGEST_USER = "citybrain-ingest"
TOPIC_FILTER = "city/+/covers/+/telemetry"
GATEWAY_TOPIC_FILTER = "city/+/gateways/+/telemetry"


def topic_for(adcode: int | str, asset_id: str) -> str:
    return f"city/{adcode}/covers/{asset_id}/telemetry"


def gateway_topic(adcode: int | str, gateway: str) -> str:
    return f"city/{adcode}/gateways/{gateway}/telemetry"


def gateway_ids(assets: pd.DataFrame) -> pd.Series:
    """Each asset's gateway: ``GW-{district adcode}-{asset type}``."""
    return "GW-" + assets["district_adcode"].astype(str) + "-" + assets["asset_type"].astype(str)


def password_for(key: str, user: str) -> str:
    """A gateway's (or the ingest account's) password under ``key``."""
    return hmac.new(key.encode(), user.encode(), hashlib.sha256).hexdigest()[:32]


def new_key() -> str:
    return secrets.token_hex(32)


class Gateways:
    """The gateways a broker lets in, replaced as a whole when the cover register changes
    (one swap of an immutable set: the broker's thread reads it while another replaces it).

    >>> g = Gateways(["GW-330106-storm"])
    >>> g.replace(["GW-330106-storm", "GW-330106-sewer"])
    >>> sorted(g.names)
    ['GW-330106-sewer', 'GW-330106-storm']
    """

    def __init__(self, names):
        self.names = frozenset(names)

    def replace(self, names) -> None:
        self.names = frozenset(names)


class GatewayAuth(BaseAuthPlugin):
    """amqtt plugin: a known gateway (or the ingest account) with its derived password."""

    @dataclass
    class Config:
        key: str = ""
        # a Gateways (shared with the broker's owner, so the register can change while the
        # broker runs), or a plain list of names
        users: Any = field(default_factory=list)

    async def authenticate(self, *, session) -> bool | None:
        cfg = self.context.config
        user = session.username if session else None
        known = cfg.users.names if isinstance(cfg.users, Gateways) else frozenset(cfg.users)
        if not user or (user not in known and user != INGEST_USER):
            return False
        return hmac.compare_digest(session.password or "", password_for(cfg.key, user))


class TelemetryACL(BaseTopicPlugin):
    """amqtt plugin: gateways publish under ``city/{adcode}/covers/…`` and on their own
    ``city/{adcode}/gateways/{id}/…``; only the ingest account subscribes."""

    @dataclass
    class Config:
        adcode: str = ""

    async def topic_filtering(self, *, session=None, topic=None, action=None) -> bool | None:
        user = session.username if session else None
        if not topic:
            return False
        if action == Action.SUBSCRIBE:
            return user == INGEST_USER and topic in (TOPIC_FILTER, GATEWAY_TOPIC_FILTER)
        if action == Action.PUBLISH:
            parts = topic.split("/")
            ok = (user != INGEST_USER and len(parts) == 5 and parts[0] == "city"
                  and parts[1] == self.context.config.adcode and parts[4] == "telemetry")
            return ok and (parts[2] == "covers" or (parts[2] == "gateways" and parts[3] == user))
        return True  # receiving what one subscribed to


class _RedeliveringHandler(BrokerProtocolHandler):
    """amqtt's per-connection handler, keeping each QoS 1 message until it is acknowledged.

    amqtt 0.12.1 removes an outgoing QoS 1 message from the session's in-flight store as
    soon as its wait for PUBACK ends, whether the PUBACK came, the 5 s wait timed out or
    the connection dropped (``_handle_qos1_message_flow`` in
    ``amqtt/mqtt/protocol/handler.py`` pops it in a ``finally``). A subscriber that crashes
    before acknowledging therefore never gets those messages again, although it keeps a
    persistent session (``clean_session`` false). MQTT 3.1.1 (section 4.4, [MQTT-4.4.0-1])
    wants them resent, with the DUP flag, when that client reconnects — which amqtt's own
    ``_retry_deliveries`` does on reconnect for whatever is still in flight, and messages
    published while the client is away are already queued for the session. So here a
    message leaves the in-flight store only when its PUBACK arrives, also a late one.
    Incoming messages and QoS 0 / 2 keep amqtt's behaviour.

    Reported upstream as amqtt issue #401 (Yakifo/amqtt), with a fix proposed in pull
    request #402, not in a release yet: drop this class once the pinned amqtt has it.
    """

    async def _handle_qos1_message_flow(self, app_message) -> None:
        if app_message.direction != OUTGOING or app_message.qos != QOS_1 \
                or app_message.puback_packet or self.session is None:
            return await super()._handle_qos1_message_flow(app_message)
        self.session.inflight_out.setdefault(app_message.packet_id, app_message)
        # a message sent before (now on a new connection) goes again with DUP set
        packet = app_message.build_publish_packet(dup=app_message.publish_packet is not None)
        await self._send_packet(packet)
        app_message.publish_packet = packet
        waiter: asyncio.Future[PubackPacket] = asyncio.Future()
        self._puback_waiters[app_message.packet_id] = waiter
        try:
            app_message.puback_packet = await asyncio.wait_for(waiter, timeout=5)
        except TimeoutError:
            # a subscriber that acknowledges after its commit may take longer: the message
            # stays in flight (a late PUBACK removes it, a reconnect resends it). amqtt
            # raised here, into a task nobody awaits, which logged one traceback per message
            return None
        finally:
            self._puback_waiters.pop(app_message.packet_id, None)
        self.session.inflight_out.pop(app_message.packet_id, None)   # acknowledged
        return None

    async def handle_puback(self, puback: PubackPacket) -> None:
        packet_id = puback.variable_header.packet_id if puback.variable_header else None
        if packet_id not in self._puback_waiters and self.session is not None \
                and packet_id in self.session.inflight_out:
            # acknowledged after the wait gave up: delivered, so never resent
            self.session.inflight_out.pop(packet_id, None)
            return
        await super().handle_puback(puback)


class _Broker(Broker):
    """amqtt's broker with :class:`_RedeliveringHandler` for every client connection (amqtt
    builds the handler inside ``_initialize_client_session`` through a module-level name,
    so the class is set on the handler it returns; the subclass adds no state)."""

    async def _initialize_client_session(self, *args, **kwargs):
        handler, session = await super()._initialize_client_session(*args, **kwargs)
        handler.__class__ = _RedeliveringHandler
        return handler, session


class EmbeddedBroker:
    """An ``amqtt`` broker on ``host:port`` in its own thread and event loop.

    ``start()`` returns once it listens; ``stop()`` shuts it down. ``url`` is what the feed
    and devices connect to.
    """

    def __init__(self, port: int, *, adcode: int | str, gateways: list[str], key: str,
                 host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self.key = key
        self.gateways = Gateways(gateways)
        self.config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "analytics.sensors.broker.GatewayAuth": {"key": key, "users": self.gateways},
                "analytics.sensors.broker.TelemetryACL": {"adcode": str(adcode)},
            },
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def boot():
            self._broker = _Broker(self.config, loop=loop)
            await self._broker.start()

        try:
            loop.run_until_complete(boot())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._broker.shutdown())
        loop.close()

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        for name in ("amqtt", "transitions"):  # the broker logs every packet at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        self._thread = threading.Thread(target=self._run, daemon=True, name="mqtt-broker")
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise CityBrainError(f"the embedded MQTT broker did not start on {self.host}:"
                                 f"{self.port}: {self._error or 'timed out'}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


def mosquitto_files(folder: Path, *, adcode: int | str, gateways: list[str], key: str,
                    port: int, host: str = "127.0.0.1", user: str | None = None) -> Path:
    """Write ``mosquitto.conf``, ``passwd`` (plain; hash it with ``mosquitto_passwd -U``)
    and ``acl`` for the same gateways and rules as the embedded broker; returns the
    configuration file. ``user``: the account mosquitto runs as when started by root
    (by default it switches to ``mosquitto``, which must then be able to read the files)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    users = [*gateways, INGEST_USER]
    (folder / "passwd").write_text("".join(f"{u}:{password_for(key, u)}\n" for u in users),
                                   encoding="utf-8")
    acl = [f"user {INGEST_USER}", f"topic read {TOPIC_FILTER}",
           f"topic read {GATEWAY_TOPIC_FILTER}", ""]
    for g in gateways:
        acl += [f"user {g}", f"topic write city/{adcode}/covers/+/telemetry",
                f"topic write {gateway_topic(adcode, g)}", ""]
    (folder / "acl").write_text("\n".join(acl), encoding="utf-8")
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join([
        "per_listener_settings false", f"listener {port} {host}", "allow_anonymous false",
        f"password_file {folder / 'passwd'}", f"acl_file {folder / 'acl'}",
        "persistence false", "max_queued_messages 1000000", "max_inflight_messages 0",
        *([f"user {user}"] if user else []), ""]),
        encoding="utf-8")
    return conf
