"""The ingest door for telemetry: validate, store, detect and raise alerts, one batch at a time.

A batch is checked as a whole with vectorised tests — unknown asset, unreadable timestamp,
non-numeric value, a value outside what the sensor can report (:data:`~analytics.sensors.
model.CHANNEL_RANGES`), future-dated, duplicate — and every refused row is written to
``sensor_rejects`` with its reason, so nothing is lost silently and the counts reconcile:
received = accepted + rejected. A reading older than the asset's newest one is stored
(flagged ``late``) but not replayed through the detector, whose state has moved on.

Two detectors see each batch: the cover rules and drift score of
:mod:`analytics.sensors.detection`, one cover at a time, and the network watch of
:mod:`analytics.sensors.network`, each network of each district as one series (its alerts
belong to no cover). A pipeline made on a store with readings carries the watch on from
the stored series.

Readings, rejects, alert changes, the network levels and ground truth commit in one
transaction per batch (Arrow/DataFrame appends, not a row per statement), so a batch of a
thousand readings costs a few milliseconds. Alert latency is measured from each reading's
arrival to the commit that makes its alert visible.

DuckDB lets one process hold a store read-write, so the feed runs inside the process that
serves the store (the app starts it in a background thread) or against a store nobody
serves (the CLI).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analytics.errors import CityBrainError
from analytics.identity import Actor, require
from analytics.sensors import network
from analytics.sensors.detection import Detector, Thresholds
from analytics.sensors.model import CHANNEL_RANGES, CHANNELS, OPERATOR_ROLES, level_range
from analytics.sensors.simulator import WARMUP_READINGS, Simulator, interval_for
from analytics.store import Store

#: A reading may carry a device clock this far ahead of its arrival before it is refused.
FUTURE_TOLERANCE = pd.Timedelta(minutes=5)
#: An alert whose condition cleared and came back this often is marked flapping.
FLAP_LIMIT = 3
REJECT_REASONS = ("unknown_asset", "bad_timestamp", "non_numeric", "out_of_range", "future",
                  "duplicate", "malformed", "too_large", "bad_topic", "flood")
REQUIRED = ("asset_id", "ts", *CHANNELS)


def utc_now() -> pd.Timestamp:
    return pd.Timestamp(time.time_ns(), unit="ns")


@dataclass
class BatchResult:
    received: int
    accepted: int
    late: int
    rejected: Counter
    raised: int
    cleared: int
    alert_latency_ms: list[float]
    committed_at: pd.Timestamp
    arrived_min: pd.Timestamp | None


@dataclass
class IngestStats:
    """Running totals of everything the door saw."""

    received: int = 0
    accepted: int = 0
    late: int = 0
    rejected: Counter = field(default_factory=Counter)
    raised: int = 0
    cleared: int = 0
    batches: int = 0
    alert_latency_ms: list[float] = field(default_factory=list)
    batch_latency_ms: list[float] = field(default_factory=list)

    def add(self, r: BatchResult) -> None:
        self.received += r.received
        self.accepted += r.accepted
        self.late += r.late
        self.rejected.update(r.rejected)
        self.raised += r.raised
        self.cleared += r.cleared
        self.batches += 1
        self.alert_latency_ms.extend(r.alert_latency_ms)
        if r.arrived_min is not None:
            self.batch_latency_ms.append((r.committed_at - r.arrived_min).total_seconds() * 1e3)

    @property
    def lost(self) -> int:
        return self.received - self.accepted - sum(self.rejected.values())


class SensorPipeline:
    """Ingest, detection and alerting for the assets of one store."""

    def __init__(self, store: Store, thresholds: Thresholds | None = None):
        self.store = store
        self.thresholds = thresholds
        #: Counts the cover registers this pipeline has read (a feed keeps its own map of
        #: covers to gateways in step with it).
        self.register_version = 0
        self._read_register()
        self._lock = threading.Lock()
        self._load_carried_state()
        self.stats = IngestStats()
        self._learn_resid: list = []

    def _read_register(self) -> None:
        assets = self.store.query("sensors.assets")
        if assets.empty:
            raise CityBrainError("the store has no assets (manhole covers): rebuild it with the "
                                 "assets stage, `python -m analytics build`", code="no_assets")
        self.assets = assets
        self.index = pd.Index(assets["asset_id"])
        self._position = {a: i for i, a in enumerate(self.index)}
        self.detector = Detector(assets, self.thresholds)
        self._network = assets["asset_type"].astype(str).to_numpy(dtype=object)
        self._district = assets["district_adcode"].astype(int).to_numpy()
        self.register_version += 1

    def reload(self, *, register: bool = False) -> None:
        """Read again what the pipeline carries from the store: each cover's newest reading
        time and the network watch. For a pipeline that lives on while another writer stores
        readings it did not see (the server's, while the week of history is generated at
        app start): it then refuses a stored reading sent again and watches each network
        from its stored days, as a restarted server would. With ``register``, the covers
        too, after a department loaded its cover register: new covers are accepted, removed
        ones refused as unknown, and the detectors start on the new register (as after a
        restart). A register with no covers is refused, and the pipeline keeps its own."""
        with self._lock:
            if register:
                self._read_register()
            self._load_carried_state()

    def _load_carried_state(self) -> None:
        self.last_ts = np.full(len(self.assets), np.iinfo(np.int64).min, dtype=np.int64)
        last = self.store.query("sensors.last_ts")
        if not last.empty:
            pos = self.index.get_indexer(last["asset_id"])
            self.last_ts[pos] = last["ts"].astype("datetime64[ns]").astype("int64").to_numpy()
        self.watch = network.NetworkWatch(self.assets)
        self._warm_watch()

    def _warm_watch(self) -> None:
        """Carry the network watch on from the store: its stored series of the last week
        and each cover's last known reading, so a restarted server goes on where it
        stopped instead of learning each network's day anew."""
        newest = self.store.scalar("sensors.newest_reading")
        if newest is None or pd.isna(newest):
            return
        newest = pd.Timestamp(newest)
        levels = self.store.query("sensors.network_levels_since", since=(
            newest - pd.Timedelta(seconds=network.HISTORY_S)).to_pydatetime())
        last = self.store.query("sensors.latest_fills", since=(
            newest - pd.Timedelta(seconds=network.FRESH_S)).to_pydatetime())
        pos = self.index.get_indexer(last["asset_id"])
        known = pos >= 0
        pos = pos[known]
        self.watch.warm_up(
            levels, pos,
            last["ts"].astype("datetime64[ns]").astype("int64").to_numpy()[known],
            last["water_level_cm"].to_numpy(float)[known] / self.detector.depth[pos])

    # -- validation -------------------------------------------------------------------
    def _validate(self, frame: pd.DataFrame, arrived: pd.Series):
        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            raise CityBrainError(f"readings lack column(s) {', '.join(missing)}; a reading needs "
                                 f"{', '.join(REQUIRED)}")
        n = len(frame)
        reason = np.full(n, "", dtype=object)
        detail = np.full(n, "", dtype=object)

        def refuse(mask, why, text):
            """Mark rows refused; ``text`` is a string or a function of the row positions
            (so messages are built only for the few rows refused)."""
            rows = np.flatnonzero(mask & (reason == ""))
            if rows.size:
                reason[rows] = why
                detail[rows] = text(rows) if callable(text) else text

        def shown(series, rows):
            return series.iloc[rows].astype("string").fillna("null").to_numpy(dtype=object)

        ids = frame["asset_id"]
        lookup = self._position.get
        # an id that is not text (a number, a list from a JSON line) is no cover's
        pos = np.fromiter((lookup(a, -1) if isinstance(a, str) else -1
                           for a in ids.to_numpy(dtype=object)), np.int64, n)
        refuse(pos < 0, "unknown_asset",
               lambda r: "asset id " + shown(ids, r) + " is not in the asset register")
        raw_ts = frame["ts"]
        if raw_ts.dtype == object or pd.api.types.is_string_dtype(raw_ts):
            ts = pd.to_datetime(raw_ts, errors="coerce", utc=True, format="mixed")
            ts = ts.dt.tz_localize(None)
        elif isinstance(raw_ts.dtype, pd.DatetimeTZDtype):
            ts = raw_ts.dt.tz_convert("UTC").dt.tz_localize(None)
        else:
            ts = pd.to_datetime(raw_ts)
        # to the store's precision (microseconds), so a reading sent again is the same
        # reading whether it is compared in memory or with the stored one
        ts = ts.astype("datetime64[ns]").dt.floor("us").reset_index(drop=True)
        refuse(ts.isna().to_numpy(), "bad_timestamp",
               lambda r: "ts " + shown(raw_ts, r) + " is not a timestamp")
        values = np.empty((n, len(CHANNELS)))
        for j, col in enumerate(CHANNELS):
            raw = frame[col]
            num = pd.to_numeric(raw, errors="coerce") if raw.dtype == object else raw
            values[:, j] = np.asarray(num, dtype=float)
            bad = ~np.isfinite(values[:, j])
            if bad.any():
                refuse(bad, "non_numeric",
                       lambda r, col=col, raw=raw: f"{col}=" + shown(raw, r) + " is not a number")
        depth = self.detector.depth[np.where(pos >= 0, pos, 0)]
        for j, col in enumerate(CHANNELS):
            lo, hi = (np.broadcast_to(b, n) for b in CHANNEL_RANGES[col] or level_range(depth))
            outside = (values[:, j] < lo) | (values[:, j] > hi)
            if outside.any():
                refuse(outside, "out_of_range", lambda r, j=j, col=col, lo=lo, hi=hi: [
                    f"{col}={values[i, j]:g} is outside what the sensor can report "
                    f"({lo[i]:g} to {hi[i]:g})" for i in r])
        future = (ts > arrived + FUTURE_TOLERANCE).to_numpy()
        refuse(future, "future", lambda r: "ts " + shown(ts, r) + " is after its arrival "
               + shown(arrived, r))
        ok = reason == ""
        # duplicates within the batch, then against what is stored
        key = pd.DataFrame({"p": pos, "t": ts})
        refuse(ok & key.duplicated().to_numpy(), "duplicate", "same asset and time twice in a batch")
        ok = reason == ""
        t_ns = ts.to_numpy(dtype="datetime64[ns]").astype("int64")
        last = self.last_ts[np.where(pos >= 0, pos, 0)]
        refuse(ok & (t_ns == last), "duplicate", "same asset and time as a stored reading")
        ok = reason == ""
        late = ok & (t_ns < last)
        if late.any():
            old = self.store.query("sensors.existing_readings",
                                   assets=sorted(set(ids[late].astype(str))),
                                   t0=ts[late].min().to_pydatetime(),
                                   t1=ts[late].max().to_pydatetime())
            if not old.empty:
                seen = set(zip(old["asset_id"], old["ts"].astype("datetime64[ns]"), strict=True))
                again = np.array([(a, t) in seen for a, t in
                                  zip(ids[late], ts[late], strict=True)])
                idx_late = np.flatnonzero(late)
                refuse(np.isin(np.arange(n), idx_late[again]), "duplicate",
                       "same asset and time as a stored reading")
                late = late & (reason == "")
        ok = reason == ""
        return ok, late, pos, ts, values, reason, detail

    # -- one batch ----------------------------------------------------------------------
    def ingest(self, frame: pd.DataFrame, *, faults: pd.DataFrame | None = None,
               learn: bool = False, replay: bool = False) -> BatchResult:
        """Validate, store and run detection on one batch of readings.

        ``frame`` holds ``asset_id, ts`` and the channels (values may be text, as sent by
        a device), and optionally ``arrived_at``; ``faults`` is simulator ground truth to
        store with it. With ``learn`` the detector learns from the batch and raises nothing.
        With ``replay`` (history generated after the fact) an alert is dated when its
        reading arrived and carries no latency, which was never measured.
        """
        with self._lock:
            self._replay = replay
            return self._ingest(frame, faults, learn)

    _replay = False

    def _ingest(self, frame, faults, learn) -> BatchResult:
        n = len(frame)
        if "arrived_at" in frame.columns:
            arrived = pd.to_datetime(frame["arrived_at"]).astype("datetime64[ns]")
        else:
            arrived = pd.Series(np.full(n, utc_now().to_datetime64()), dtype="datetime64[ns]")
        arrived = arrived.reset_index(drop=True)
        frame = frame.reset_index(drop=True)
        ok, late, pos, ts, values, reason, detail = self._validate(frame, arrived)
        fresh = ok & ~late
        rows = np.flatnonzero(fresh)
        rows = rows[np.argsort(ts.to_numpy()[rows], kind="stable")]
        events, raw_z, net_events, levels = [], None, [], None
        if rows.size:
            a = pos[rows]
            if learn:
                self.detector.process(a, values[rows])
                raw_z = self.detector.last_resid
            else:
                events, _ = self.detector.process(a, values[rows])
            t_ns = ts.to_numpy(dtype="datetime64[ns]").astype("int64")[rows]
            np.maximum.at(self.last_ts, a, t_ns)
            fill = values[rows, CHANNELS.index("water_level_cm")] / self.detector.depth[a]
            net_events, levels = self.watch.observe(a, t_ns, fill)
            # the row of the batch whose arrival closed the slot
            net_events = [] if learn else [replace(e, row=int(rows[e.row])) for e in net_events]
        if learn and raw_z is not None:
            self._learn_resid.append((raw_z, self.detector.type_idx[pos[rows]]))

        keep = np.flatnonzero(ok)
        readings = pd.DataFrame({
            # plain object strings: DuckDB scans them faster than Arrow-backed ones
            "asset_id": pd.Series(frame["asset_id"].astype(str).to_numpy(dtype=object)[keep],
                                  dtype=object),
            "ts": ts.to_numpy()[keep],
            "arrived_at": arrived.to_numpy()[keep],
            **{c: values[keep, j] for j, c in enumerate(CHANNELS)},
            "late": late[keep],
        })
        bad = np.flatnonzero(~ok)
        rejects = pd.DataFrame({
            "arrived_at": arrived.to_numpy()[bad],
            "asset_id": frame["asset_id"].astype("string").to_numpy()[bad],
            "ts": frame["ts"].astype("string").to_numpy()[bad],
            "reason": reason[bad].astype(str),
            "detail": detail[bad].astype(str),
        })
        with self.store.transaction() as cur:
            if len(readings):
                self.store.write("sensor_readings", readings, cur=cur)
            if len(rejects):
                self.store.write("sensor_rejects", rejects, cur=cur)
            if faults is not None and len(faults):
                self.store.write("sensor_faults", faults, cur=cur)
            if levels is not None and len(levels):
                self.store.write("network_levels", levels, cur=cur)
            raised, cleared, raised_rows = self._alerts(events, frame, ts, arrived, pos, cur)
            raised_rows += self._network_alerts(net_events, arrived, cur)
            raised += len(net_events)
        committed = utc_now()
        latency = [] if self._replay else [
            (committed - arrived.iat[r]).total_seconds() * 1e3 for r in raised_rows]
        result = BatchResult(
            received=n, accepted=int(ok.sum()), late=int(late.sum()),
            rejected=Counter(reason[bad].tolist()), raised=raised, cleared=cleared,
            alert_latency_ms=latency, committed_at=committed,
            arrived_min=arrived.min() if n else None)
        self.stats.add(result)
        return result

    def _alerts(self, events, frame, ts, arrived, pos, cur) -> tuple[int, int, list[int]]:
        """Fold raise/clear events into the alerts table: one unresolved alert per asset and
        kind; a condition that comes back bumps it (and counts a flap if it had cleared)."""
        if not events:
            return 0, 0, []
        ids = self.index.to_numpy()
        raises = [e for e in events if e.action == "raise"]
        clears = [e for e in events if e.action == "clear"]
        for e in clears:
            self.store.execute("sensors.clear_alert", cur=cur, ts=ts.iat[e.row].to_pydatetime(),
                               asset_id=ids[e.asset], kind=e.kind)
        new_rows, new_events = [], []
        if raises:
            open_ = self.store.query("sensors.unresolved_for",
                                     assets=sorted({ids[e.asset] for e in raises}))
            known = {(r.asset_id, r.kind): r for r in open_.itertuples()}
            now = utc_now()
            for e in raises:
                hit = known.get((ids[e.asset], e.kind))
                if hit is not None:
                    flap = int(not pd.isna(hit.cleared_at))
                    self.store.execute("sensors.bump_alert", cur=cur, alert_id=hit.alert_id,
                                       flap=flap, flap_limit=FLAP_LIMIT)
                    continue
                new_events.append(e)
                new_rows.append(self._new_alert(
                    ids[e.asset], self._network[e.asset], self._district[e.asset], e.kind,
                    "score" if e.kind == "drift" else "rule", ts.iat[e.row],
                    arrived.iat[e.row], e.value, now))
            if new_rows:
                self.store.write("alerts", pd.DataFrame(new_rows), cur=cur)
        return len(raises), len(clears), [e.row for e in raises]

    def _new_alert(self, asset_id, network_key, district, kind, detector, reading_ts,
                   reading_arrived, value, now) -> dict:
        """A new open alert's row (of a cover, or with ``asset_id`` None of a network)."""
        return {
            "alert_id": f"AL-{uuid.uuid4().hex[:12]}", "asset_id": asset_id,
            "network": network_key, "district_adcode": district, "kind": kind,
            "detector": detector, "state": "open", "reading_ts": reading_ts,
            "reading_arrived": reading_arrived,
            "raised_at": reading_arrived if self._replay else now,
            # replayed history: -1, "not measured" (the column is NOT NULL)
            "latency_ms": (-1.0 if self._replay
                           else (now - reading_arrived).total_seconds() * 1e3),
            "value": value, "occurrences": 1, "flaps": 0, "flapping": False,
        }

    def _network_alerts(self, events: list[network.NetworkEvent], arrived, cur) -> list[int]:
        """Write the network watch's alerts: one unresolved alert per network of a district;
        a new incident while one is unresolved is counted on it. Returns the rows (of the
        batch) whose arrival raised them, for the latency."""
        if not events:
            return []
        open_ = self.store.query("sensors.unresolved_networks")
        known = {(int(r.district_adcode), r.network, r.kind): r.alert_id
                 for r in open_.itertuples()}
        now, new_rows = utc_now(), []
        for e in events:
            hit = known.get((e.district_adcode, e.network, network.KIND))
            if hit is not None:
                self.store.execute("sensors.bump_alert", cur=cur, alert_id=hit, flap=0,
                                   flap_limit=FLAP_LIMIT)
                continue
            new_rows.append(self._new_alert(None, e.network, e.district_adcode, network.KIND,
                                            "series", e.slot_ts, arrived.iat[e.row], e.value,
                                            now))
            known[(e.district_adcode, e.network, network.KIND)] = new_rows[-1]["alert_id"]
        if new_rows:
            self.store.write("alerts", pd.DataFrame(new_rows), cur=cur)
        return [e.row for e in events]

    def refuse(self, rejects: pd.DataFrame) -> None:
        """Record messages refused before they became readings (a payload that is not
        JSON, a topic outside the layout, a gateway over its rate): ``arrived_at, asset_id,
        ts, reason, detail``. They count as received and rejected."""
        if rejects.empty:
            return
        unnamed = set(rejects["reason"]) - set(REJECT_REASONS)
        if unnamed:  # the page and the alerts feed name each reason; an unnamed one is a bug
            raise ValueError(f"reject reason(s) {sorted(unnamed)} are not in REJECT_REASONS")
        with self._lock:
            frame = rejects[["arrived_at", "asset_id", "ts", "reason", "detail"]].astype(
                {"asset_id": "string", "ts": "string", "reason": str, "detail": str})
            with self.store.transaction() as cur:
                self.store.write("sensor_rejects", frame, cur=cur)
            self.stats.received += len(frame)
            self.stats.rejected.update(frame["reason"].tolist())

    # -- learning ---------------------------------------------------------------------
    def learn(self, frames) -> None:
        """Store a fault-free history and learn normal behaviour from it (no alerts)."""
        self._learn_resid = []
        for frame in frames:
            self.ingest(frame, learn=True)
        if self._learn_resid:
            resid = np.concatenate([r for r, _ in self._learn_resid])
            types = np.concatenate([t for _, t in self._learn_resid])
            self.detector.fit_scale(resid, types)
        self._learn_resid = []


# -- alert workflow: open -> acknowledged -> resolved -----------------------------------
def _transition(store: Store, alert_id: str, actor: Actor, query: str, need: str,
                verb: str, at: pd.Timestamp | None) -> None:
    require(actor, *OPERATOR_ROLES, action=f"{verb} alerts")
    state = store.scalar("sensors.alert_state", alert_id=alert_id)
    if state is None:
        raise CityBrainError(f"no alert {alert_id!r}", code="no_alert", alert=alert_id)
    if state != need:
        hint = ("acknowledge it first" if need == "acknowledged" and state == "open"
                else f"only an alert that is {need} can be {verb}d")
        raise CityBrainError(f"alert {alert_id} is {state}: {hint}",
                             code="alert_not_acknowledged" if state == "open" else "alert_state",
                             alert=alert_id, state=state)
    store.execute(query, alert_id=alert_id, by=actor.name,
                  at=(at or utc_now()).floor("us").to_pydatetime())


def acknowledge(store: Store, alert_id: str, actor: Actor,
                at: pd.Timestamp | None = None) -> None:
    """Someone has seen the alert and is on it (operators only; open alerts only)."""
    _transition(store, alert_id, actor, "sensors.acknowledge", "open", "acknowledge", at)


def resolve(store: Store, alert_id: str, actor: Actor, at: pd.Timestamp | None = None) -> None:
    """The crew fixed it (operators only; acknowledged alerts only)."""
    _transition(store, alert_id, actor, "sensors.resolve", "acknowledged", "resolve", at)


def acknowledge_incident(store: Store, alert_ids: list[str], actor: Actor,
                         at: pd.Timestamp | None = None) -> int:
    """Acknowledge every open alert of an incident; returns how many."""
    return _incident_step(store, alert_ids, actor, at, "open", acknowledge, "acknowledge")


def resolve_incident(store: Store, alert_ids: list[str], actor: Actor,
                     at: pd.Timestamp | None = None) -> int:
    """Resolve every acknowledged alert of an incident; returns how many."""
    return _incident_step(store, alert_ids, actor, at, "acknowledged", resolve, "resolve")


def _incident_step(store: Store, alert_ids: list[str], actor: Actor,
                   at: pd.Timestamp | None, state: str, step, verb: str) -> int:
    """``step`` every alert of an incident that is in ``state``; returns how many."""
    require(actor, *OPERATOR_ROLES, action=f"{verb} alerts")
    n = 0
    for a in alert_ids:
        if store.scalar("sensors.alert_state", alert_id=a) == state:
            step(store, a, actor, at)
            n += 1
    return n


# -- a simulated feed -----------------------------------------------------------------
class SimulatedFeed:
    """The simulator streaming into a pipeline in real time: a producer thread stamps
    readings as they arrive and queues them; a consumer thread ingests what has queued,
    at most every ``flush_s`` seconds. ``rate`` readings per second overall. ``pipeline``:
    an existing pipeline of ``store`` to feed (default: a new one)."""

    def __init__(self, store: Store, rate: float, *, seed: int = 0, dirty: float = 0.0,
                 fault_rate: float = 1 / 800, flush_s: float = 0.25, tick_s: float = 0.05,
                 thresholds: Thresholds | None = None, pipeline: SensorPipeline | None = None):
        # inside the server, its one pipeline (shared with the API and the broker feed), so
        # duplicates, the network watch and alerts are judged on everything the store gets
        self.pipeline = pipeline or SensorPipeline(store, thresholds)
        # the covers simulated: a new register read by the pipeline ends this run
        self._register_version = self.pipeline.register_version
        self.rate = rate
        self.interval = interval_for(len(self.pipeline.assets), rate)
        self.flush_s, self.tick_s = flush_s, tick_s
        now = time.time()
        # a run of its own: fault ids carry the start time, so stopping and starting the
        # feed again on the same store never repeats one (they are the table's key)
        self.sim = Simulator(self.pipeline.assets, start=now - WARMUP_READINGS * self.interval,
                             interval_s=self.interval, seed=seed, fault_rate=fault_rate,
                             dirty=dirty, fault_prefix=f"{time.time_ns():x}-")
        self.queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._faults_sent = 0
        self.error: BaseException | None = None

    def warm_up(self) -> None:
        """Send the simulator's fault-free first readings, learned from, up to now."""
        history = []
        start, now = self.sim.t, time.time()
        t = start
        while t < now - self.interval:
            t = min(now - self.interval, t + self.interval)
            frame = self.sim.advance(t)
            frame["arrived_at"] = utc_now()
            history.append(frame)
        self.pipeline.learn(history)

    def _produce(self) -> None:
        while not self._stop.is_set():
            frame = self.sim.advance(time.time())
            if len(frame):
                frame["arrived_at"] = utc_now()
                new = self.sim.faults[self._faults_sent:]
                self._faults_sent += len(new)
                self.queue.put((frame, len(new)))
            self._stop.wait(self.tick_s)

    def _consume(self) -> None:
        try:
            while not (self._stop.is_set() and self.queue.empty()):
                deadline = time.monotonic() + self.flush_s
                items = []
                while time.monotonic() < deadline:
                    try:
                        items.append(self.queue.get(timeout=max(deadline - time.monotonic(), 0)))
                    except queue.Empty:
                        break
                if not items:
                    continue
                if self.pipeline.register_version != self._register_version:
                    raise CityBrainError(
                        "the cover register changed (a department loaded a new one): the "
                        "feed simulated the covers of the old one; start it again to simulate "
                        "the new register", code="feed_register_changed")
                frame = pd.concat([f for f, _ in items], ignore_index=True)
                n_faults = sum(k for _, k in items)
                faults = None
                if n_faults:
                    truth = self.sim.faults_frame()
                    faults = truth.iloc[self._faults_written:self._faults_written + n_faults]
                    self._faults_written += n_faults
                self.pipeline.ingest(frame, faults=faults)
        except BaseException as exc:  # surfaced by stop() / running
            self.error = exc
            self._stop.set()           # the producer stops too: a dead feed is not "running"

    def start(self) -> SimulatedFeed:
        self._faults_written = 0
        self.warm_up()
        self._stop.clear()
        self._threads = [threading.Thread(target=self._produce, daemon=True, name="sensor-producer"),
                         threading.Thread(target=self._consume, daemon=True, name="sensor-ingest")]
        for t in self._threads:
            t.start()
        return self

    @property
    def running(self) -> bool:
        """Producing and ingesting, with no error (a feed whose ingest died is not running,
        even while its producer thread winds down)."""
        return (self.error is None and bool(self._threads)
                and all(t.is_alive() for t in self._threads))

    def stop(self) -> IngestStats:
        """Stop producing, ingest what is queued and the late rows still held back."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        rest = self.sim.flush()
        if len(rest):
            rest["arrived_at"] = utc_now()
            self.pipeline.ingest(rest)
        if self.error is not None:
            raise CityBrainError(f"the sensor feed stopped on an error: {self.error}",
                                 code="feed_stopped", error=str(self.error))
        return self.pipeline.stats
