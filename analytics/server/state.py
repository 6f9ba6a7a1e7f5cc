"""The one process that owns the store: its write connection, limits and published state.

:class:`ServerState` is made once per server process (by the app's lifespan). It opens the
store read-write, creates tables added since the store was built, publishes a read-only
snapshot for other processes (after start and after every load), writes a server file next
to the store so the CLI finds the running server, and holds the per-address rate limiter
and the release cache of the API.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from analytics import indicators
from analytics.identity import PUBLIC
from analytics.opendata import access, privacy, registry
from analytics.opendata.extracts import Extracts, cacheable, folder_of, variant_of, version_of
from analytics.pooling.feeds import feeds
from analytics.sensors.pipeline import SensorPipeline
from analytics.server.ckan import ReleaseCache
from analytics.store import Store, snapshot_path

log = logging.getLogger(__name__)

#: Seconds without a load before the snapshot is copied again.
SNAPSHOT_SETTLE = 5.0


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """Request limits; each can be set in the environment (``CITYBRAIN_<NAME>``)."""

    anonymous_per_minute: int = 600
    token_per_minute: int = 6000
    action_body_bytes: int = 1 << 20           # a CKAN action's JSON
    upload_bytes: int = 512 << 20              # a department's file
    readings_body_bytes: int = 64 << 20        # one telemetry batch

    @classmethod
    def from_env(cls) -> Limits:
        return cls(**{k: _env_int(f"CITYBRAIN_{k.upper()}", v)
                      for k, v in cls().__dict__.items()})


class LogBuffer:
    """Access decisions of API reads, written together every ``every`` seconds.

    A read served over the API is logged within a fraction of a second, in one transaction
    with the others of that moment, instead of one write transaction per request (which
    would queue 50 concurrent readers behind the store's one writer). :meth:`close` writes
    what is left; refusals are still logged at once by ``access.authorize``. When
    :meth:`flush` returns, every decision logged before it was called is in the store, also
    one the background writer had already taken and was still writing.
    """

    def __init__(self, store: Store, every: float = 0.2):
        self.store, self.every = store, every
        self._items: list = []
        self._lock = threading.Lock()          # guards the list (held briefly by requests)
        self._writing = threading.Lock()       # one write at a time, waited for by flush
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def __call__(self, decision, fmt: str, rows: int) -> None:
        with self._lock:
            self._items.append((decision, fmt, rows, privacy.now_utc()))

    def flush(self) -> None:
        with self._writing:
            with self._lock:
                items, self._items = self._items, []
            if items:
                access.log_many(self.store, items)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(Exception):
                self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):  # a store already closed has nothing to take
            self.flush()


class RateLimiter:
    """A fixed one-minute window per key (an address, or a token id)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._window = 0
        self._counts: dict[str, int] = defaultdict(int)

    def hit(self, key: str, limit: int, now: float | None = None) -> int | None:
        """None when allowed; else the seconds until the window resets (Retry-After)."""
        now = time.time() if now is None else now
        window = int(now // 60)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, defaultdict(int)
            self._counts[key] += 1
            if self._counts[key] > limit:
                return max(1, math.ceil((window + 1) * 60 - now))
        return None


def server_file(store_path: Path | str) -> Path:
    """Where a running server says where it listens (next to the store).

    Parameters
    ----------
    store_path : Path or str
        The store the server owns.

    Returns
    -------
    Path

    Examples
    --------
    >>> server_file("data/city.duckdb").name
    'city.duckdb.server.json'
    """
    p = Path(store_path)
    return p.with_name(p.name + ".server.json")


#: The format released ahead of any download: the bulk, machine-readable one.
PRERELEASE_FORMAT = "parquet"


@dataclass
class ServerState:
    """The one server process's state: its store (the only writer), request limits, the
    release cache and rate limiter, the read-only snapshot and the sensor pipeline.
    """
    store: Store
    base_url: str
    limits: Limits = field(default_factory=Limits.from_env)
    cache: ReleaseCache = field(default_factory=ReleaseCache)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    snapshot_at: float | None = None
    _snapshot_lock: threading.Lock = field(default_factory=threading.Lock)
    _snapshot_again: bool = False
    _last_change: float = 0.0
    _settle: float = 0.0
    _sensors: object = None
    _sensors_lock: threading.Lock = field(default_factory=threading.Lock)
    log: LogBuffer | None = None
    #: Released download files, beside the store (none for an in-memory store).
    extracts: Extracts | None = None
    #: Write the public released files ahead of any download (:meth:`release_public`), at
    #: start and after each load; the server turns it on.
    prerelease: bool = False
    _release_lock: threading.Lock = field(default_factory=threading.Lock)
    _release_pending: set = field(default_factory=set)
    #: What the server's front end says of its own readiness, for ``/api/health`` (the
    #: dashboard sets it: whether its landing pages are ready yet).
    readiness: Callable[[], dict] | None = None
    #: The last background refresh of the headline indicators (after a load).
    indicators_thread: threading.Thread | None = None
    #: Called before each piece of background work (a snapshot copy, a released file):
    #: returns when it may go on (the dashboard sets it: when no page is running).
    give_way: Callable[[], None] | None = None

    #: Called with the sensor pipeline once it has read a new cover register (the dashboard
    #: server keeps its broker feed in step: the gateways it lets in, or a first start).
    on_sensor_register: list = field(default_factory=list)
    #: The last background read of a new cover register (after a load of one).
    sensors_thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.log is None:
            self.log = LogBuffer(self.store)
        if self.extracts is None and self.store.path is not None:
            self.extracts = Extracts(folder_of(self.store.path))
        # every load of this store, through the API, a page or a command in this process
        self.store.on_change(self.changed)

    def close(self) -> None:
        """Write the buffered log and stop hearing of the store's changes; the store stays
        open for whoever opened it."""
        self.store.off_change(self.changed)
        self.log.close()

    @classmethod
    def open(cls, path: Path | str, base_url: str) -> ServerState:
        store = Store.open(path)
        store.ensure_tables()
        return cls(store, base_url.rstrip("/"))

    # -- after a write ----------------------------------------------------------------
    def changed(self, dataset_id: str | None = None) -> None:
        """Data changed (a load of ``dataset_id``): drop its cached releases, read the
        catalog again and make the last catalog answers again at once (in the loader's
        thread, so the requests that follow find them ready instead of waiting for them)
        and republish the snapshot once loads have settled. The headline indicators of the new
        data are computed and kept in the store in the background."""
        try:
            self.cache.renew(self.store, dataset_id)
        except Exception:       # the change is marked all the same; a request reads it
            self.cache.bump(dataset_id)
        self.refresh_indicators_later()
        self.publish_snapshot_later(settle=SNAPSHOT_SETTLE)
        if self.prerelease:
            self.release_public_later(None if dataset_id is None else [dataset_id])
        if dataset_id is None or dataset_id in {c.id for c in feeds("assets")}:
            self.sensor_register_changed_later()

    def sensor_register_changed_later(self) -> threading.Thread:
        """The cover register changed: the sensor pipeline (made, or first made now that the
        store may have covers) reads it, in the background (it learns each network's stored
        days again, seconds on a city), then ``on_sensor_register`` hears of it."""
        def run():
            try:
                with self._sensors_lock:
                    pipeline = self._sensors
                if pipeline is None:
                    pipeline = self.sensors()
                else:
                    pipeline.reload(register=True)
                for listener in list(self.on_sensor_register):
                    listener(pipeline)
            except Exception:  # noqa: BLE001 - readings are refused until the next start
                log.warning("the sensor pipeline did not read the new cover register",
                            exc_info=True)

        thread = threading.Thread(target=run, name="sensor-register", daemon=True)
        thread.start()
        self.sensors_thread = thread
        return thread

    def refresh_indicators_later(self) -> threading.Thread:
        """Keep every headline indicator of the store's current data in the store, in the
        background (one whole-city analysis per year for the spatial ones), so the overview's
        next visitor reads the series instead of waiting for it; returns the thread."""
        def run():
            try:
                if self.give_way is not None:
                    self.give_way()
                indicators.values(self.store)
            except Exception:  # noqa: BLE001 - the overview computes them when it is opened
                log.warning("the indicators of the new data were not kept", exc_info=True)

        thread = threading.Thread(target=run, name="indicators", daemon=True)
        thread.start()
        self.indicators_thread = thread
        return thread

    # -- released files ---------------------------------------------------------------
    def extract_key(self, decision: access.Decision, fmt: str,
                    generation: int) -> tuple[str, str] | None:
        """``(variant, version)`` of the released file a decision is served from, or None
        where downloads are made for each request (a live table, an in-memory store)."""
        if self.extracts is None:
            return None
        spec = registry.spec_of(self.store, decision.dataset_id)
        if not cacheable(spec):
            return None
        secret = access.masking_secret(self.store) if spec is not None and spec.masked else ""
        return (variant_of(decision, spec, fmt, secret),
                version_of(self.store, spec, generation))

    def release_public(self, dataset_ids: list[str] | None = None,
                       fmt: str = PRERELEASE_FORMAT) -> list[str]:
        """Write the released file, in ``fmt``, of every public dataset (or of
        ``dataset_ids``) that has none yet for its current data version, so that the first
        anonymous download streams a file instead of making it (a portal publishes its
        released files; the 16.9 M-row cell table takes seconds to release).

        The file is the one an anonymous download is served from (the same access decision,
        disclosure control and release variant). Writing it serves no one, so no use is
        logged: each download still makes its decision and is logged when served. A file a
        download is writing at the same moment is left to it. Returns the datasets written.
        """
        if self.extracts is None:
            return []
        rows = self.cache.catalog_rows(self.store)
        written = []
        for dataset_id, row in rows.items():
            if dataset_ids is not None and dataset_id not in dataset_ids:
                continue
            if fmt not in str(row.get("formats") or "").split(","):
                continue
            decision = access.decide(self.store, dataset_id, PUBLIC, "download", row=row)
            if not decision.allowed:
                continue
            key = self.extract_key(decision, fmt, self.cache.dataset_generation(dataset_id))
            if key is None or self.extracts.find(dataset_id, fmt, *key) is not None:
                continue
            if self.give_way is not None:
                self.give_way()
            gate = self.extracts.gate(dataset_id, fmt, *key)
            if not gate.acquire(blocking=False):
                continue                     # a download is writing this very file
            try:
                self.extracts.release(self.store, dataset_id, fmt, *key, PUBLIC)
                written.append(dataset_id)
            except Exception:  # noqa: BLE001 - the first download makes it instead
                continue
            finally:
                gate.release()
        return written

    def release_public_later(self, dataset_ids: list[str] | None = None) -> None:
        """:meth:`release_public` in the background, one run at a time (what a load asks
        for during a run is released right after it)."""
        if self.extracts is None:
            return
        self._release_pending.add(None if dataset_ids is None else tuple(dataset_ids))
        if not self._release_lock.acquire(blocking=False):
            return

        def run():
            while True:
                try:
                    while self._release_pending:
                        asked = self._release_pending.pop()
                        with contextlib.suppress(Exception):
                            self.release_public(None if asked is None else list(asked))
                finally:
                    self._release_lock.release()
                # asked for after the last look but before the lock was let go: run again
                if not self._release_pending or not self._release_lock.acquire(blocking=False):
                    break

        threading.Thread(target=run, name="release-public", daemon=True).start()

    def publish_snapshot_later(self, settle: float = 0.0) -> None:
        """Publish the snapshot in the background, ``settle`` seconds after the last call
        (a burst of loads makes one copy, not one each); one copy at a time, and a call
        during one makes one more after it, so the last load is always in the snapshot."""
        self._last_change = time.monotonic()
        self._settle = settle
        if not self._snapshot_lock.acquire(blocking=False):
            self._snapshot_again = True
            return

        def run():
            try:
                while True:
                    while time.monotonic() - self._last_change < self._settle:
                        time.sleep(0.2)
                    self._snapshot_again = False
                    if self.give_way is not None:
                        self.give_way()
                    with contextlib.suppress(Exception):
                        self.store.publish_snapshot()
                        self.snapshot_at = time.time()
                    if not self._snapshot_again:
                        break
            finally:
                self._snapshot_lock.release()

        threading.Thread(target=run, name="snapshot", daemon=True).start()

    def prune_extracts_later(self) -> None:
        """Delete, in the background, released files of older data versions (left from
        before a rebuild or a load while no server ran)."""
        if self.extracts is None:
            return

        def run():
            with contextlib.suppress(Exception):
                self.extracts.prune_stale(self.store)

        threading.Thread(target=run, name="prune-extracts", daemon=True).start()

    def snapshot_file(self) -> Path | None:
        return None if self.store.path is None else snapshot_path(self.store.path)

    # -- discovery --------------------------------------------------------------------
    def announce(self) -> None:
        if self.store.path is None:
            return
        server_file(self.store.path).write_text(json.dumps(
            {"url": self.base_url, "pid": os.getpid(), "started": time.time()}), encoding="utf-8")

    def withdraw(self) -> None:
        if self.store.path is None:
            return
        f = server_file(self.store.path)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(f.read_text(encoding="utf-8")).get("pid") == os.getpid():
                f.unlink()

    # -- telemetry --------------------------------------------------------------------
    def sensors(self):
        """The sensor pipeline of this store (made on first use, shared by every request)."""
        with self._sensors_lock:
            if self._sensors is None:
                self._sensors = SensorPipeline(self.store)
            return self._sensors

    def reload_sensors(self) -> None:
        """Another writer of this process stored readings (the week of history generated at
        app start): the sensor pipeline, if made, reads again what it carries."""
        with self._sensors_lock:
            pipeline = self._sensors
        if pipeline is not None:
            pipeline.reload()


_current: ServerState | None = None


def current() -> ServerState | None:
    """The server state of this process, if it is the server.

    Returns
    -------
    ServerState or None
    """
    return _current


def install(state: ServerState | None) -> None:
    """Make ``state`` this process's server state (None: this process is no server).

    Parameters
    ----------
    state : ServerState or None
        The state the server opened.
    """
    global _current
    _current = state
