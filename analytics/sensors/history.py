"""A week of telemetry history on a fresh store, ending when the app starts.

A store just built has its covers but no readings, so the live map would show every cover
as "no data" (and a store whose readings stopped days ago, every cover "offline"). When the
app starts on such a store, :func:`ensure_history` runs the simulator over the ``days``
before *now* — one report per cover every ``interval_s`` — through the same ingest,
detection and alerting path as live readings, with a low fault rate, so the map starts
with every cover's last known state under an hour old and the operator finds the week's
incidents to work through — among them a few surges of whole drainage networks, once the
network watch has learned its days (``SURGES_PER_DAY``), each recorded as ground truth. A
store that already has recent readings is left alone. The server can call it at start-up
(``ensure_history(store)``); the page runs it in the background (:class:`HistoryJob`) when
it finds the store stale.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pandas as pd

from analytics.sensors import network
from analytics.sensors.pipeline import SensorPipeline
from analytics.sensors.simulator import WARMUP_READINGS, Simulator
from analytics.store import Store

DAYS = 7
INTERVAL_S = 3600.0
#: Faults per reading in the history: a few dozen incidents a week across the city.
FAULT_RATE = 1 / 40_000
#: Surges of whole drainage networks per day across the city, once the network watch has
#: learned its days (a few in the week, for the operator to find among the storms).
SURGES_PER_DAY = 0.5
#: Newest reading older than this (seconds) before the app starts: the history is stale.
STALE_S = 3600.0


@dataclass(frozen=True)
class History:
    generated: bool
    readings: int
    alerts: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None


def newest_reading(store: Store) -> pd.Timestamp | None:
    v = store.scalar("sensors.newest_reading")
    return None if v is None or pd.isna(v) else pd.Timestamp(v)


def needs_history(store: Store, now: float) -> bool:
    """No reading newer than ``now − STALE_S``: the map would show nothing current."""
    newest = newest_reading(store)
    return newest is None or newest < pd.Timestamp(now - STALE_S, unit="s")


def ensure_history(store: Store, now: float | None = None, *, days: float = DAYS,
                   interval_s: float = INTERVAL_S, seed: int = 7,
                   fault_rate: float = FAULT_RATE, surges_per_day: float = SURGES_PER_DAY,
                   progress=None) -> History:
    """Generate ``days`` of history ending at ``now`` (epoch seconds, default: this moment)
    unless the store has a reading newer than ``now − STALE_S``."""
    now = time.time() if now is None else float(now)
    if not needs_history(store, now):
        return History(False, 0, 0, None, None)
    newest = newest_reading(store)
    pipe = SensorPipeline(store)
    start = now - days * 86400.0
    if newest is not None:      # continue after what is stored, never before it
        start = max(start, newest.timestamp() + interval_s)
    first = start - WARMUP_READINGS * interval_s
    sim = Simulator(pipe.assets, start=first, interval_s=interval_s, seed=seed, fault_rate=0.0,
                    fault_prefix=f"H{int(now):x}-", surges_per_day=surges_per_day,
                    surges_from=first + (network.WARMUP_DAYS + 0.5) * 86400)
    learn = []
    t = sim.t
    for _ in range(WARMUP_READINGS):
        t += interval_s
        f = sim.advance(t)
        f["arrived_at"] = pd.to_datetime(f["ts"]) + pd.Timedelta(seconds=2)
        learn.append(f)
    pipe.learn(learn)
    sim.fault_rate = fault_rate
    sent = 0
    steps = max((now - t) // interval_s, 1)
    done = 0
    while t + interval_s <= now:
        t += interval_s
        frame = sim.advance(t)
        frame["arrived_at"] = pd.to_datetime(frame["ts"]) + pd.Timedelta(seconds=2)
        truth = sim.faults_frame()
        new = truth.iloc[sent:]
        sent = len(truth)
        pipe.ingest(frame, faults=new if len(new) else None, replay=True)
        done += 1
        if progress is not None:
            progress(done / steps)
    rest = sim.flush()
    if len(rest):
        rest["arrived_at"] = pd.to_datetime(rest["ts"]) + pd.Timedelta(seconds=2)
        pipe.ingest(rest, replay=True)
    st = pipe.stats
    return History(True, st.accepted, st.raised, pd.Timestamp(start, unit="s"),
                   pd.Timestamp(t, unit="s"))


class HistoryJob:
    """:func:`ensure_history` in a background thread, so the app serves while it runs:
    ``progress`` (0..1), ``done``, ``result`` and ``error`` for the page to show. ``then``
    is called once the history is stored (the server's pipeline reloads what it carries)."""

    def __init__(self, store: Store, now: float | None = None, *, then=None, **kwargs):
        self.now = time.time() if now is None else float(now)
        self._then = then
        self.progress = 0.0
        self.result: History | None = None
        self.error: BaseException | None = None
        self._store = store
        self._thread = threading.Thread(target=self._run, args=(store, kwargs), daemon=True,
                                        name="sensor-history")

    def _run(self, store, kwargs) -> None:
        try:
            self.result = ensure_history(store, self.now, progress=self._tick, **kwargs)
            if self.result.generated and self._then is not None:
                self._then()
        except BaseException as exc:  # shown by the page
            self.error = exc
        self.progress = 1.0

    def _tick(self, share: float) -> None:
        self.progress = share

    def start(self) -> HistoryJob:
        """Start the thread, or finish at once where the store has recent readings."""
        if not needs_history(self._store, self.now):
            self.result, self.progress = History(False, 0, 0, None, None), 1.0
            return self
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
