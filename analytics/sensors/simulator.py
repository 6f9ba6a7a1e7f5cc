"""Telemetry of instrumented manhole covers, simulated, with the faults it contains as truth.

No city publishes raw manhole-cover telemetry, so the product ships a simulator that makes
the detector's job as hard as the street does: sensor noise quantised like a real device,
daily cycles (temperature moves tilt and battery voltage; household water use gives sewers
their morning and evening peaks), rain events that raise water in every drainage chamber of
a district at once, and injected faults — cover lifted, tilted, overflow, sensor drift, dead
battery, stuck values — each recorded with its asset, start and end so that detection can
be scored; and, where asked for (``surges_per_day``), surges of a whole drainage network of
a district (a pumping station stopped, a river backing up: the network's water rises by
35-55 % of chamber depth within a quarter of an hour, holds 2-6 hours and falls back over
half an hour, reaching each chamber through the same pipes as rain), recorded with their
network and district. It can also dirty its stream (duplicates, late, future-dated, non-numeric and
unknown-asset readings) to exercise the ingest door, counting every row it sends.

Time is simulated seconds since the Unix epoch (UTC); each asset reports every
``interval_s`` seconds at its own phase, so the stream is smooth rather than bursty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.errors import CityBrainError
from analytics.sensors.model import CHANNELS, FAULT_KINDS, NETWORK_KIND, asset_type

#: Faults last this many report intervals (uniform), long enough to confirm and short
#: enough that a crew would be on site; a sensor drift ramps up over DRIFT_RAMP intervals.
FAULT_READINGS = (20, 60)
DRIFT_RAMP = 10
#: Readings after which an asset may fail (its detector first learns what normal is), and
#: the quiet spell after a repair before it may fail again.
WARMUP_READINGS = 30
COOLDOWN_READINGS = 15
BEIJING_OFFSET_S = 8 * 3600


#: A network surge rises over this long, and falls back over ``SURGE_FALL_S`` after its end.
SURGE_RISE_S, SURGE_FALL_S = 900, 1800
#: Its height (share of chamber depth) and how long it holds (hours).
SURGE_AMP, SURGE_HOURS = (0.35, 0.55), (2, 6)


@dataclass(frozen=True)
class Fault:
    fault_id: str
    asset_id: str | None   # None for a surge of a whole network
    kind: str
    start: float  # simulated epoch seconds, inclusive
    end: float    # exclusive (a surge: when it starts to fall)
    network: str = ""
    district_adcode: int = 0


def _to_ts(seconds: np.ndarray) -> np.ndarray:
    return (np.asarray(seconds) * 1000).astype("int64").astype("datetime64[ms]")


class Simulator:
    """A stream of readings from ``assets`` starting at ``start`` (epoch seconds).

    ``assets`` needs ``asset_id, asset_type, district_adcode, depth_cm``. ``fault_rate`` is
    the chance that a healthy asset starts a fault at a reading; ``dirty`` the share of
    extra bad rows mixed into the stream. Same seed, same stream.
    """

    def __init__(self, assets: pd.DataFrame, *, start: float, interval_s: float = 60.0,
                 seed: int = 0, fault_rate: float = 1 / 800, dirty: float = 0.0,
                 kinds: tuple[str, ...] = FAULT_KINDS, rain_per_day: float = 2.0,
                 with_index: bool = False, fault_prefix: str = "",
                 surges_per_day: float = 0.0, surges_from: float | None = None):
        missing = {"asset_id", "asset_type", "district_adcode", "depth_cm"} - set(assets.columns)
        if missing:
            raise CityBrainError(f"assets lack column(s) {', '.join(sorted(missing))}")
        if assets.empty:
            raise CityBrainError("no assets to simulate: build the store with its assets stage")
        if interval_s <= 0:
            raise CityBrainError(f"report interval must be positive, got {interval_s}")
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise CityBrainError(f"unknown fault kind(s) {sorted(unknown)}; kinds are {FAULT_KINDS}")
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        n = len(assets)
        self.n = n
        self.ids = assets["asset_id"].astype(str).to_numpy()
        self.types = assets["asset_type"].astype(str).to_numpy()
        self.depth = assets["depth_cm"].to_numpy(dtype=float)
        districts, self.district_idx = np.unique(assets["district_adcode"].to_numpy(),
                                                 return_inverse=True)
        self.n_districts = len(districts)
        self.districts = districts
        self.interval = float(interval_s)
        self.t0 = float(start)
        self.t = float(start)
        self.fault_rate = fault_rate
        self.dirty = dirty
        self.kinds = tuple(kinds)
        self.rain_rate = rain_per_day / 86400.0
        self.with_index = with_index  # add each row's position in ``assets`` (asset_index)

        def by_type(field):
            lo, hi = np.empty(n), np.empty(n)
            for key in np.unique(self.types):
                lo[self.types == key], hi[self.types == key] = getattr(asset_type(key), field)
            return rng.uniform(lo, hi)

        self.base_fill = by_type("base_fill")
        self.rain_gain = by_type("rain_gain")
        self.carries = np.array([asset_type(k).carries_water for k in self.types])
        self.phase = rng.uniform(0, self.interval, n)
        self.tilt0 = np.abs(rng.normal(0.4, 0.2, n))
        self.disp0 = rng.uniform(0, 3, n)
        self.batt0 = rng.uniform(3.50, 3.65, n)
        self.sig0 = rng.uniform(-95, -70, n)

        # fault state per asset: kind index (-1: healthy), window, per-fault parameters
        self.readings_sent = np.zeros(n, dtype=np.int64)
        self.fault = np.full(n, -1)
        self.f_start = np.zeros(n)
        self.f_end = np.zeros(n)
        self.f_level = np.zeros(n)       # displacement, tilt, fill, or drift magnitude
        self.frozen = np.full((n, len(CHANNELS)), np.nan)
        self.quiet_until = np.zeros(n)
        self.faults: list[Fault] = []
        self._fault_seq = 0
        # surges: per drainage network of a district (sewer, storm), across the city
        keys = pd.MultiIndex.from_arrays([self.district_idx, self.types])
        codes, uniques = pd.factorize(keys)
        wet = np.array([asset_type(t).carries_water for _, t in uniques], dtype=bool)
        self.net_of = np.where(wet[codes], codes, -1)
        self.nets = list(uniques)
        self.surge_rate = surges_per_day / max(int(wet.sum()), 1) / 86400.0
        self.surge_from = self.t0 if surges_from is None else float(surges_from)
        self.s_start = np.full(len(uniques), -np.inf)
        self.s_end = np.full(len(uniques), -np.inf)
        self.s_amp = np.zeros(len(uniques))
        self.wet_net = wet
        # fault ids are unique across runs on one store: each run passes its own prefix
        self.fault_prefix = fault_prefix
        # rain: one event at a time per district, triangle-shaped in time
        self.rain_start = np.zeros(self.n_districts)
        self.rain_end = np.zeros(self.n_districts)
        self.rain_peak = np.zeros(self.n_districts)
        self.sent: Counter[str] = Counter()
        self._held: list[tuple[float, pd.DataFrame]] = []

    # -- the physical model -------------------------------------------------------------
    def _start_rain(self, t: float, dt: float) -> None:
        """Start new rain events at ``t`` in districts where none is falling."""
        idle = self.rain_end <= t
        starts = idle & (self.rng.random(self.n_districts) < self.rain_rate * dt)
        if starts.any():
            k = int(starts.sum())
            self.rain_start[starts] = t
            self.rain_end[starts] = t + self.rng.uniform(1, 4, k) * 3600
            self.rain_peak[starts] = self.rng.uniform(0.10, 0.30, k)

    def _start_surges(self, t: float, dt: float) -> None:
        """Start surges at ``t`` in drainage networks with none under way, and record them."""
        if self.surge_rate <= 0 or t < self.surge_from:
            return
        idle = self.wet_net & (self.s_end + SURGE_FALL_S <= t)
        starts = np.flatnonzero(idle & (self.rng.random(len(self.nets)) < self.surge_rate * dt))
        for k in starts:
            self.s_start[k] = t
            self.s_end[k] = t + self.rng.uniform(*SURGE_HOURS) * 3600
            self.s_amp[k] = self.rng.uniform(*SURGE_AMP)
            d, network = self.nets[k]
            self._fault_seq += 1
            self.faults.append(Fault(f"F{self.fault_prefix}{self._fault_seq:06d}", None,
                                     NETWORK_KIND, float(t), float(self.s_end[k]), network,
                                     int(self.districts[d])))

    def _surge(self, idx: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """The surge's share of chamber depth at each reading (0 outside a surge)."""
        net = self.net_of[idx]
        out = np.zeros(len(idx))
        on = net >= 0
        if not on.any():
            return out
        k, t = net[on], ts[on]
        up = np.clip((t - self.s_start[k]) / SURGE_RISE_S, 0, 1)
        down = np.clip((self.s_end[k] + SURGE_FALL_S - t) / SURGE_FALL_S, 0, 1)
        out[on] = np.where(t >= self.s_start[k], self.s_amp[k] * np.minimum(up, down), 0.0)
        return out

    def _rain(self, ts: np.ndarray, district: np.ndarray) -> np.ndarray:
        """Rain's share of chamber depth at each reading's own time ``ts`` in its
        ``district`` (a whole report window at the rain of its start would make an hourly
        history's storms rise in one step)."""
        span = np.maximum(self.rain_end[district] - self.rain_start[district], 1.0)
        phase = np.clip((ts - self.rain_start[district]) / span, 0, 1)
        return np.where(self.rain_end[district] > ts,
                        self.rain_peak[district] * np.sin(np.pi * phase), 0.0)

    def _values(self, idx: np.ndarray, ts: np.ndarray, rain: np.ndarray,
                surge: np.ndarray) -> np.ndarray:
        rng = self.rng
        m = len(idx)
        hour = ((ts + BEIJING_OFFSET_S) % 86400) / 3600
        temp = np.sin(2 * np.pi * (hour - 9) / 24)            # warmest mid-afternoon
        use = 0.5 * (1 + np.cos(2 * np.pi * (hour - 8) / 12))  # peaks 08:00 and 20:00
        tilt = np.abs(self.tilt0[idx] + 0.05 * temp + rng.normal(0, 0.15, m))
        disp = np.clip(self.disp0[idx] + rng.normal(0, 0.4, m), 0, None)
        # sewage and rain reach the chamber through the same pipes: one response factor
        fill = (self.base_fill[idx]
                + self.rain_gain[idx] * (0.03 * use * self.carries[idx] + rain + surge)
                + rng.normal(0, 0.004, m))
        batt = self.batt0[idx] - 0.02 * temp + rng.normal(0, 0.004, m)
        sig = self.sig0[idx] + rng.normal(0, 2, m)

        kind = self.fault[idx]
        for k, name in enumerate(FAULT_KINDS):
            sel = kind == k
            if not sel.any():
                continue
            lvl = self.f_level[idx[sel]]
            if name == "lifted":
                disp[sel] = lvl + rng.normal(0, 3, sel.sum())
                tilt[sel] += rng.uniform(0, 3, sel.sum())
            elif name == "tilted":
                tilt[sel] = lvl + rng.normal(0, 0.3, sel.sum())
            elif name == "overflow":
                fill[sel] = lvl + rng.normal(0, 0.01, sel.sum())
            elif name == "drift":
                ramp = np.clip((ts[sel] - self.f_start[idx[sel]]) / (DRIFT_RAMP * self.interval),
                               0, 1)
                fill[sel] += lvl * ramp
            elif name == "dead_battery":
                batt[sel] = lvl + rng.normal(0, 0.01, sel.sum())
                sig[sel] -= 10
        out = np.column_stack([
            np.round(tilt, 2), np.round(disp, 1),
            np.round(np.clip(fill, 0, None) * self.depth[idx], 1),
            np.round(batt, 3), np.round(sig, 0)])
        stuck = kind == FAULT_KINDS.index("stuck")
        if stuck.any():
            s_idx = idx[stuck]
            fresh = np.isnan(self.frozen[s_idx, 0])
            self.frozen[s_idx[fresh]] = out[stuck][fresh]
            out[stuck] = self.frozen[s_idx]
        return out

    def _update_faults(self, idx: np.ndarray, ts: np.ndarray) -> None:
        """End faults whose time is up; start new ones at this reading, recording truth."""
        done = (self.fault[idx] >= 0) & (ts >= self.f_end[idx])
        if done.any():
            a = idx[done]
            self.fault[a] = -1
            self.frozen[a] = np.nan
            self.quiet_until[a] = ts[done] + COOLDOWN_READINGS * self.interval
        if not self.kinds or self.fault_rate <= 0:
            return
        ready = ((self.fault[idx] < 0) & (self.readings_sent[idx] >= WARMUP_READINGS)
                 & (ts >= self.quiet_until[idx]))
        new = ready & (self.rng.random(len(idx)) < self.fault_rate)
        for j in np.flatnonzero(new):
            a, t = idx[j], ts[j]
            allowed = [k for k in self.kinds
                       if k != "overflow" or asset_type(self.types[a]).carries_water]
            kind = allowed[self.rng.integers(len(allowed))]
            length = self.rng.integers(FAULT_READINGS[0], FAULT_READINGS[1] + 1) * self.interval
            self.fault[a] = FAULT_KINDS.index(kind)
            self.f_start[a], self.f_end[a] = t, t + length
            self.f_level[a] = {
                "lifted": lambda: self.rng.uniform(30, 150),
                "tilted": lambda: self.rng.uniform(8, 25),
                "overflow": lambda: self.rng.uniform(0.93, 1.02),
                "drift": lambda: self.rng.uniform(0.20, 0.30),
                "dead_battery": lambda: self.rng.uniform(2.80, 3.00),
                "stuck": lambda: 0.0,
            }[kind]()
            self._fault_seq += 1
            self.faults.append(Fault(f"F{self.fault_prefix}{self._fault_seq:06d}", self.ids[a],
                                     kind, float(t), float(t + length), self.types[a],
                                     int(self.districts[self.district_idx[a]])))

    # -- the stream -------------------------------------------------------------------
    def _window(self, a: float, b: float) -> pd.DataFrame:
        """Readings measured in ``[a, b)`` with ``b - a <= interval``."""
        k = np.ceil((a - self.t0 - self.phase) / self.interval)
        ts_all = self.t0 + self.phase + k * self.interval
        idx = np.flatnonzero(ts_all < b)
        ts = ts_all[idx]
        self._start_rain(a, b - a)
        self._start_surges(a, b - a)
        rain = self._rain(ts, self.district_idx[idx])
        self._update_faults(idx, ts)
        values = self._values(idx, ts, rain, self._surge(idx, ts))
        self.readings_sent[idx] += 1
        order = np.argsort(ts, kind="stable")
        idx, ts, values = idx[order], ts[order], values[order]
        cols = {"asset_id": self.ids[idx], "ts": _to_ts(ts)}
        cols.update({c: values[:, j] for j, c in enumerate(CHANNELS)})
        if self.with_index:
            cols["asset_index"] = idx
        return pd.DataFrame(cols)

    def advance(self, until: float) -> pd.DataFrame:
        """Every reading measured from the current time up to ``until`` (sorted by time)."""
        frames = []
        while self.t < until:
            b = min(until, self.t + self.interval)
            frames.append(self._window(self.t, b))
            self.t = b
        if not frames:
            return self._empty()
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        self.sent["clean"] += len(frame)
        if self.dirty > 0:
            frame = self._dirty(frame)
        return frame

    def _empty(self) -> pd.DataFrame:
        frame = pd.DataFrame({c: pd.Series(dtype=float) for c in CHANNELS})
        frame.insert(0, "ts", pd.Series(dtype="datetime64[ms]"))
        frame.insert(0, "asset_id", pd.Series(dtype=object))
        return frame

    def _dirty(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Mix in bad rows, counting each, and hold some clean rows back to arrive late."""
        rng = self.rng
        n = len(frame)
        take = lambda: frame.iloc[rng.integers(0, n, rng.binomial(n, self.dirty))]  # noqa: E731
        extra = []
        if n:
            dup = take()
            extra.append(dup)
            self.sent["duplicate"] += len(dup)
            fut = take().copy()
            fut["ts"] = fut["ts"] + pd.Timedelta(days=1)
            extra.append(fut)
            self.sent["future"] += len(fut)
            unk = take().copy()
            unk["asset_id"] = "MH-UNKNOWN-" + pd.Series(range(len(unk)), index=unk.index).astype(str)
            extra.append(unk)
            self.sent["unknown_asset"] += len(unk)
            bad = take().copy().astype({"water_level_cm": object})
            bad["water_level_cm"] = "n/a"
            extra.append(bad)
            self.sent["non_numeric"] += len(bad)
        # some clean rows are held back for two report intervals, so they arrive after a
        # newer reading of the same asset (late rows are counted as clean: they are)
        late_mask = rng.random(n) < self.dirty
        due = [f for t, f in self._held if t <= self.t]
        self._held = [(t, f) for t, f in self._held if t > self.t]
        if late_mask.any():
            self._held.append((self.t + 2 * self.interval, frame[late_mask]))
        return pd.concat([frame[~late_mask], *due, *extra], ignore_index=True)

    def flush(self) -> pd.DataFrame:
        """Rows still held back to arrive late."""
        held, self._held = [f for _, f in self._held], []
        return pd.concat(held, ignore_index=True) if held else self._empty()

    def faults_frame(self) -> pd.DataFrame:
        """Ground truth so far: ``fault_id, asset_id, network, district_adcode, kind,
        start_ts, end_ts`` (``asset_id`` None for a surge of a whole network)."""
        if not self.faults:
            return pd.DataFrame({"fault_id": pd.Series(dtype=object),
                                 "asset_id": pd.Series(dtype=object),
                                 "network": pd.Series(dtype=object),
                                 "district_adcode": pd.Series(dtype="int64"),
                                 "kind": pd.Series(dtype=object),
                                 "start_ts": pd.Series(dtype="datetime64[ms]"),
                                 "end_ts": pd.Series(dtype="datetime64[ms]")})
        f = pd.DataFrame([f.__dict__ for f in self.faults])
        return pd.DataFrame({"fault_id": f["fault_id"], "asset_id": f["asset_id"],
                             "network": f["network"], "district_adcode": f["district_adcode"],
                             "kind": f["kind"], "start_ts": _to_ts(f["start"].to_numpy()),
                             "end_ts": _to_ts(f["end"].to_numpy())})


def interval_for(n_assets: int, rate: float) -> float:
    """The report interval that makes ``n_assets`` send ``rate`` readings per second."""
    if rate <= 0:
        raise CityBrainError(f"--rate must be positive, got {rate}")
    return max(n_assets / rate, 1e-3)
