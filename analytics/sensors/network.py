"""A watch on every network of every district: its water level against its own daily pattern.

The rules and the drift score of :mod:`analytics.sensors.detection` judge one cover at a
time, the drift score against the cover's peers (same network, same district), so a storm
that raises every chamber of a district is no news there: it moves the peers too. What they
cannot see is a network as a whole doing what it does not do — a pumping station that stops,
a river backing up into the storm drains, water rising with no rain, or a storm far beyond
the district's usual ones. That is a question for the detector of real series
(:class:`~analytics.sensors.series.SeriesDetector`). Each network of each district (the
storm drains of one district, its sewers …) becomes one series: the median fill (water level
over chamber depth) of the readings its covers sent in each five minutes. The detector
learns that series' daily cycle, its ordinary storms and its spread, gives each slot a
likelihood in [0, 1], and alerts once per incident.

Why per network and district rather than per cover: one detector holds about 1.5 MB and
runs some 30,000 values a second, so one per cover (ten thousand and more) would not fit in
memory; and a single cover's own series rises with every storm, which a detector of that
series alone would call news each time, while a network's median carries the district's
storms as part of its normal life.

Slots close when a reading ``LATENESS_S`` seconds past their end has arrived (readings of
many covers come in slightly out of order); a reading for a slot already closed is stored
but not counted. A slot in which a network sent fewer than ``MIN_READINGS`` readings is
missing: the detector's clock moves on without a value (:meth:`SeriesDetector.skip`).

>>> import numpy as np, pandas as pd
>>> assets = pd.DataFrame({"asset_type": ["storm"] * 6, "district_adcode": [330106] * 6})
>>> watch = NetworkWatch(assets)
>>> watch.networks
[(330106, 'storm')]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.sensors.series import THRESHOLD, SeriesDetector

#: Width of a slot of the network series, in seconds.
SLOT_S = 300
#: A slot closes once a reading measured this long after its end has arrived.
LATENESS_S = 120
#: Readings a network needs in a slot for the slot to have a value (as for the drift
#: score's peers, a median of fewer says little).
MIN_READINGS = 5
#: The cycle the detector learns: a day, in slots. Not the week: it would need weeks of
#: history to learn, and a fresh store has one.
SEASONS = (86_400 // SLOT_S,)
#: Days a network's detector learns before it may alert. Storms are the network's biggest
#: moves, and until it has seen a few days of them, each storm larger than any before is
#: news (on simulated weeks, ``bench/bench_network.py``: 2 days gave 6 false alarms, 0.15
#: per 10,000 slots, 3 days 3 and 4 days 2; 2 and 3 days found 40 of 42 surges, 4 days 38,
#: as two came before its warm-up ended).
WARMUP_DAYS = 3
#: Level smoothings of the forecasters: slow ones only. A network's median level moves
#: slowly but for storms, and a forecaster that follows each slot (0.5, 0.9, as for series
#: in general) makes a surge its own normal within minutes, before it is news (with them,
#: on simulated weeks: 38 of 42 surges found and 9 false alarms; without, 40 and 3).
ALPHAS = (0.05, 0.2)
#: A silence (no slot with a value in any network) longer than this, in seconds, and the
#: watch starts learning afresh: the cycle it knew is too far behind to carry across.
MAX_GAP_S = 2 * 86_400
#: Stored history a watch learns from when the server starts.
HISTORY_S = 7 * 86_400
#: The kind of alert a network raises.
KIND = "network_level"


@dataclass(frozen=True)
class NetworkEvent:
    """A network's incident began in one slot. (None ends by itself: the detector learns a
    level that lasts as the new normal, which does not make the water lower, so an operator
    resolves it.)"""

    district_adcode: int
    network: str
    slot_ts: pd.Timestamp   # start of the slot
    value: float            # the median fill of that slot (share of chamber depth)
    expected: float         # what the detector expected there
    score: float            # the slot's likelihood in [0, 1]
    row: int                # the reading (of the batch) whose arrival closed the slot


class NetworkWatch:
    """One :class:`SeriesDetector` per network and district that has at least
    ``MIN_READINGS`` covers. Feed readings with :meth:`observe` (batches in time order,
    each batch in any order); it returns the alerts of the slots the batch closed."""

    def __init__(self, assets: pd.DataFrame, *, slot_s: int = SLOT_S,
                 lateness_s: int = LATENESS_S, min_readings: int = MIN_READINGS,
                 threshold: float = THRESHOLD):
        keys = pd.MultiIndex.from_arrays([assets["district_adcode"].astype(int).to_numpy(),
                                          assets["asset_type"].astype(str).to_numpy()])
        codes, uniques = pd.factorize(keys)
        covers = np.bincount(codes, minlength=len(uniques))
        watched = np.flatnonzero(covers >= min_readings)
        remap = np.full(len(uniques), -1)
        remap[watched] = np.arange(len(watched))
        #: each asset's network (index into :attr:`networks`), -1 if its network is too small
        self.network_of = remap[codes]
        self.networks: list[tuple[int, str]] = [(int(uniques[i][0]), str(uniques[i][1]))
                                                for i in watched]
        self._slot_ns = int(slot_s) * 1_000_000_000
        self._lateness_ns = int(lateness_s) * 1_000_000_000
        self._max_gap = MAX_GAP_S // slot_s
        self.min_readings = min_readings
        self.threshold = threshold
        self._fresh()

    def _new_detectors(self) -> list[SeriesDetector]:
        # no per-hour choice of forecaster (``phase_pick``): at the turn of an hour it hands
        # the forecast, in the middle of a storm, to the one that serves that hour best in
        # dry weather, whose forecast is then the dry level and the storm news
        return [SeriesDetector(SEASONS, threshold=self.threshold, phase_pick=False,
                               warmup=WARMUP_DAYS * SEASONS[0], alphas=ALPHAS)
                for _ in self.networks]

    def _fresh(self) -> None:
        self.detectors = self._new_detectors()
        self._silent = 0                    # slots in a row in which no network had a value
        self.next_slot: int | None = None   # the first slot not yet closed
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # -- learning from stored history ----------------------------------------------------
    def warm_up(self, slots: pd.DataFrame) -> int:
        """Learn from stored history without raising anything: ``slots`` holds
        ``district_adcode, network, slot, fill, readings`` (the median fill of each network
        per slot index, as the ``sensors.network_slots`` query gives them), closed slots
        only. Returns the number of slots learned."""
        if slots.empty:
            return 0
        pos = {k: i for i, k in enumerate(self.networks)}
        g = np.array([pos.get((int(d), str(n)), -1) for d, n in
                      zip(slots["district_adcode"], slots["network"], strict=True)])
        ok = (g >= 0) & (slots["readings"].to_numpy() >= self.min_readings)
        slot = slots["slot"].to_numpy(np.int64)[ok]
        if not slot.size:
            return 0
        order = np.lexsort((g[ok], slot))
        self._fresh()
        self.next_slot = int(slot.min())
        self._close_through(int(slot.max()), slot[order], g[ok][order],
                            slots["fill"].to_numpy(float)[ok][order], row=-1)
        return int(np.unique(slot).size)

    # -- the live stream -----------------------------------------------------------------
    def observe(self, asset: np.ndarray, ts_ns: np.ndarray, fill: np.ndarray) -> list[NetworkEvent]:
        """Take a batch of readings (asset positions, measurement times in ns since the
        epoch, fills); return the alerts of every slot that the batch closes."""
        if len(asset) == 0:
            return []
        g = self.network_of[asset]
        slot = ts_ns // self._slot_ns
        if self.next_slot is None:
            self.next_slot = int(slot.min())
        keep = (g >= 0) & np.isfinite(fill) & (slot >= self.next_slot)
        self._pending.append((slot[keep], g[keep], fill[keep]))
        newest = int(np.argmax(ts_ns))
        last = (int(ts_ns[newest]) - self._lateness_ns) // self._slot_ns - 1
        if last < self.next_slot:
            return []
        slot, g, fill = (np.concatenate(c) for c in zip(*self._pending, strict=True))
        closing = slot <= last
        self._pending = [(slot[~closing], g[~closing], fill[~closing])]
        s, g, m = slot_medians(slot[closing], g[closing], fill[closing], self.min_readings)
        return self._close_through(last, s, g, m, row=newest)

    def _close_through(self, last: int, slot: np.ndarray, g: np.ndarray, fill: np.ndarray,
                       row: int) -> list[NetworkEvent]:
        """Feed every slot from :attr:`next_slot` to ``last`` to every network's detector:
        its median where ``slot, g, fill`` (sorted by slot) has one, else a missing slot."""
        events: list[NetworkEvent] = []
        bounds = np.searchsorted(slot, np.arange(self.next_slot, last + 2))
        for i, s in enumerate(range(self.next_slot, last + 1)):
            lo, hi = bounds[i], bounds[i + 1]
            have = dict(zip(g[lo:hi].tolist(), fill[lo:hi].tolist(), strict=True))
            if not have:
                self._silent += 1
                if self._silent > self._max_gap:
                    continue        # the detectors will start afresh: no need to move them on
            elif self._silent > self._max_gap:
                # silent for days: what the detectors knew of the cycle is too old to carry on
                self.detectors = self._new_detectors()
            if have:
                self._silent = 0
            for net, det in enumerate(self.detectors):
                x = have.get(net)
                if x is None:
                    det.skip()
                    continue
                step = det.update(x)
                if step.alert and row >= 0:
                    district, network = self.networks[net]
                    events.append(NetworkEvent(district, network,
                                               pd.Timestamp(s * self._slot_ns, unit="ns"),
                                               float(x), float(step.expected),
                                               float(step.score), row))
        self.next_slot = last + 1
        return events


def slot_medians(slot: np.ndarray, group: np.ndarray, value: np.ndarray,
                 least: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The median of ``value`` per ``(slot, group)`` with at least ``least`` values, sorted
    by slot then group (the mean of the two middle values for an even count, as numpy's
    and DuckDB's medians).

    >>> slot_medians(np.array([1, 1, 1, 0, 1]), np.array([0, 0, 0, 0, 1]),
    ...              np.array([3.0, 1.0, 2.0, 9.0, 4.0]))
    (array([0, 1, 1]), array([0, 0, 1]), array([9., 2., 4.]))
    """
    order = np.lexsort((value, group, slot))
    s, g, v = slot[order], group[order], value[order]
    first = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (g[1:] != g[:-1])]) if len(s) \
        else np.empty(0, np.int64)
    size = np.diff(np.r_[first, len(s)])
    mid = (v[first + (size - 1) // 2] + v[first + size // 2]) / 2
    ok = size >= least
    return s[first][ok], g[first][ok], mid[ok]
