"""A watch on every network of every district: its water level against its own daily pattern.

The rules and the drift score of :mod:`analytics.sensors.detection` judge one cover at a
time, the drift score against the cover's peers (same network, same district), so a storm
that raises every chamber of a district is no news there: it moves the peers too. What they
cannot see is a network as a whole doing what it does not do — a pumping station that stops,
a river backing up into the storm drains, water rising with no rain, or a storm far beyond
the district's usual ones. That is a question for the detector of real series
(:class:`~analytics.sensors.series.SeriesDetector`). Each network of each district (the
storm drains of one district, its sewers …) becomes one series, its *level*: at the end of
each five minutes, the median fill (water level over chamber depth) of its covers' last
known readings — the same last known state the live map shows — over the covers heard from
within ``FRESH_S``. (A median of the readings sent in each five minutes would be empty for
most networks when covers report hourly, their heartbeat.) The detector learns that
series' daily cycle, its ordinary storms and its spread, gives each slot a likelihood in
[0, 1], and alerts once per incident — unless at least half of the district's other
networks are as surprised in the same slot: rain raises every network of a district at
once, a fault raises one (:meth:`NetworkWatch._weather`). The series is stored
(``network_levels``) with its likelihoods: the page draws it, and a restarted server
carries on from it.

Why per network and district rather than per cover: one detector holds about 1.5 MB and
runs some 30,000 values a second, so one per cover (ten thousand and more) would not fit in
memory; and a single cover's own series rises with every storm, which a detector of that
series alone would call news each time, while a network's median carries the district's
storms as part of its normal life.

Slots close when a reading ``LATENESS_S`` seconds past their end has arrived (readings of
many covers come in slightly out of order); a reading for a slot already closed still
updates its cover's last known state. A network with fewer than ``MIN_COVERS`` covers heard
from has no level in that slot: the detector's clock moves on without a value
(:meth:`SeriesDetector.skip`).

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

from analytics.sensors.model import NETWORK_KIND
from analytics.sensors.series import REARM, THRESHOLD, SeriesDetector

#: Width of a slot of the network series, in seconds.
SLOT_S = 300
#: A slot closes once a reading measured this long after its end has arrived.
LATENESS_S = 120
#: Covers heard from a network needs for a level (as for the drift score's peers, a median
#: of fewer says little); networks with fewer covers than this are not watched.
MIN_COVERS = 5
#: A cover's last reading counts towards its network's level this long (seconds): an
#: hourly heartbeat and a little (older, and the cover is on its way to offline).
FRESH_S = 3600 + 600
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
#: Stored series a watch learns from when the server starts.
HISTORY_S = 7 * 86_400
#: An alert is not raised when the district's water moved as a whole (see
#: :meth:`NetworkWatch._weather`): on simulated weeks it took the false alarms from 2 to 1
#: and found the same 40 of 42 surges; in a generated week of the whole city, a short
#: storm had alerted five networks of one district at once.
WEATHER = True
#: The kind of alert a network raises.
KIND = NETWORK_KIND


@dataclass(frozen=True)
class NetworkEvent:
    """A network's incident began in one slot. (None ends by itself: the detector learns a
    level that lasts as the new normal, which does not make the water lower, so an operator
    resolves it.)"""

    district_adcode: int
    network: str
    slot_ts: pd.Timestamp   # start of the slot
    value: float            # the network's level in that slot (median fill, share of depth)
    expected: float         # what the detector expected there
    score: float            # the slot's likelihood in [0, 1]
    row: int                # the reading (of the batch) whose arrival closed the slot


#: Columns of the network series as stored (``network_levels``).
LEVEL_COLUMNS = ("district_adcode", "network", "slot_ts", "fill", "covers", "score")


class NetworkWatch:
    """One :class:`SeriesDetector` per network and district that has at least
    ``MIN_COVERS`` covers. Feed readings with :meth:`observe` (batches in time order);
    it returns the alerts of the slots the batch closed and those slots' levels."""

    def __init__(self, assets: pd.DataFrame, *, slot_s: int = SLOT_S,
                 lateness_s: int = LATENESS_S, fresh_s: int = FRESH_S,
                 min_covers: int = MIN_COVERS, threshold: float = THRESHOLD):
        keys = pd.MultiIndex.from_arrays([assets["district_adcode"].astype(int).to_numpy(),
                                          assets["asset_type"].astype(str).to_numpy()])
        codes, uniques = pd.factorize(keys)
        covers = np.bincount(codes, minlength=len(uniques))
        watched = np.flatnonzero(covers >= min_covers)
        remap = np.full(len(uniques), -1)
        remap[watched] = np.arange(len(watched))
        #: each asset's network (index into :attr:`networks`), -1 if its network is too small
        self.network_of = remap[codes]
        self.networks: list[tuple[int, str]] = [(int(uniques[i][0]), str(uniques[i][1]))
                                                for i in watched]
        self._siblings = [[m for m, (d2, _) in enumerate(self.networks) if d2 == d and m != n]
                          for n, (d, _) in enumerate(self.networks)]
        self._slot_ns = int(slot_s) * 1_000_000_000
        self._lateness_ns = int(lateness_s) * 1_000_000_000
        self._fresh_ns = int(fresh_s) * 1_000_000_000
        self._max_gap = MAX_GAP_S // slot_s
        self.min_covers = min_covers
        self.threshold = threshold
        # each cover's last known reading (what its chamber holds, as far as anyone knows)
        self.last_fill = np.full(len(assets), np.nan)
        self.last_ns = np.full(len(assets), np.iinfo(np.int64).min, dtype=np.int64)
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
        self._silent = 0                    # slots in a row in which no network had a level
        self.next_slot: int | None = None   # the first slot not yet closed
        self._pending = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))

    # -- learning from what is stored ----------------------------------------------------
    def warm_up(self, levels: pd.DataFrame, asset: np.ndarray, ts_ns: np.ndarray,
                fill: np.ndarray) -> int:
        """Carry on from what is stored, raising nothing: ``levels`` is the stored series
        (``district_adcode, network, slot_ts, fill``, as :meth:`observe` gave it, oldest
        first), and ``asset, ts_ns, fill`` each cover's newest reading. Returns the number
        of slots learned."""
        self._fresh()
        self._remember(asset, ts_ns, fill)
        if levels.empty:
            return 0
        pos = {k: i for i, k in enumerate(self.networks)}
        g = np.array([pos.get((int(d), str(n)), -1) for d, n in
                      zip(levels["district_adcode"], levels["network"], strict=True)])
        slot = pd.to_datetime(levels["slot_ts"]).astype("datetime64[ns]").astype(
            "int64").to_numpy() // self._slot_ns
        values = levels["fill"].to_numpy(float)
        ok = g >= 0
        if not ok.any():
            return 0
        slot, g, values = slot[ok], g[ok], values[ok]
        first, last = int(slot.min()), int(slot.max())
        by_slot = np.searchsorted(slot, np.arange(first, last + 2))
        for i, s in enumerate(range(first, last + 1)):
            lo, hi = by_slot[i], by_slot[i + 1]
            self._step(s, dict(zip(g[lo:hi].tolist(), values[lo:hi].tolist(), strict=True)),
                       row=-1)
        self.next_slot = last + 1
        return int(np.unique(slot).size)

    # -- the live stream -----------------------------------------------------------------
    def observe(self, asset: np.ndarray, ts_ns: np.ndarray,
                fill: np.ndarray) -> tuple[list[NetworkEvent], pd.DataFrame]:
        """Take a batch of readings (asset positions, measurement times in ns since the
        epoch, fills); return the alerts of every slot the batch closes, and those slots'
        levels (:data:`LEVEL_COLUMNS`, to store)."""
        events: list[NetworkEvent] = []
        rows: list[tuple] = []
        if not len(asset):
            return events, _levels_frame(rows)
        keep = (self.network_of[asset] >= 0) & np.isfinite(fill)
        if self.next_slot is None:
            if not keep.any():
                return events, _levels_frame(rows)
            self.next_slot = int(ts_ns[keep].min() // self._slot_ns)
        a, t, f = (np.concatenate([p, q[keep]]) for p, q in
                   zip(self._pending, (asset, ts_ns, fill), strict=True))
        order = np.argsort(t, kind="stable")
        a, t, f = a[order], t[order], f[order]
        newest = int(np.argmax(ts_ns))
        last = (int(ts_ns[newest]) - self._lateness_ns) // self._slot_ns - 1
        for s in range(self.next_slot, last + 1):
            end = (s + 1) * self._slot_ns
            k = int(np.searchsorted(t, end))
            self._remember(a[:k], t[:k], f[:k])
            a, t, f = a[k:], t[k:], f[k:]
            g, level, covers = self._levels(end)
            have = dict(zip(g.tolist(), level.tolist(), strict=True))
            scores = self._step(s, have, row=newest, events=events)
            slot_ts = pd.Timestamp(s * self._slot_ns, unit="ns")
            for net, x, c in zip(g.tolist(), level.tolist(), covers.tolist(), strict=True):
                district, network = self.networks[net]
                rows.append((district, network, slot_ts, x, c, scores.get(net, 0.0)))
        self.next_slot = max(self.next_slot, last + 1)
        self._pending = (a, t, f)
        return events, _levels_frame(rows)

    def _remember(self, asset: np.ndarray, ts_ns: np.ndarray, fill: np.ndarray) -> None:
        """Each cover's newest reading among these (in time order) becomes its last known."""
        if not len(asset):
            return
        _, back = np.unique(asset[::-1], return_index=True)
        newest = len(asset) - 1 - back
        a, t = asset[newest], ts_ns[newest]
        newer = t >= self.last_ns[a]
        self.last_fill[a[newer]] = fill[newest][newer]
        self.last_ns[a[newer]] = t[newer]

    def _levels(self, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each network's level at ``end``: the median of its covers' last known fills,
        over covers heard from within ``FRESH_S``; networks with fewer than ``MIN_COVERS``
        such covers have none."""
        fresh = (self.network_of >= 0) & (self.last_ns >= end - self._fresh_ns) \
            & (self.last_ns < end)
        _, g, m, c = slot_medians(np.zeros(int(fresh.sum()), np.int64), self.network_of[fresh],
                                  self.last_fill[fresh], self.min_covers)
        return g, m, c

    def _step(self, s: int, have: dict[int, float], row: int,
              events: list[NetworkEvent] | None = None) -> dict[int, float]:
        """Feed slot ``s`` to every network's detector (its level, or a missing value);
        append the alerts to ``events``; return each network's score."""
        scores: dict[int, float] = {}
        if not have:
            self._silent += 1
            if self._silent > self._max_gap:
                return scores       # the detectors will start afresh: no need to move them on
        elif self._silent > self._max_gap:
            # silent for days: what the detectors knew of the cycle is too old to carry on
            self.detectors = self._new_detectors()
        if have:
            self._silent = 0
        steps = {}
        for net, det in enumerate(self.detectors):
            x = have.get(net)
            if x is None:
                det.skip()
                continue
            steps[net] = det.update(x)
            scores[net] = steps[net].score
        for net, step in steps.items():
            if not step.alert or events is None or (WEATHER and self._weather(net, scores)):
                continue
            district, network = self.networks[net]
            events.append(NetworkEvent(district, network,
                                       pd.Timestamp(s * self._slot_ns, unit="ns"),
                                       float(have[net]), float(step.expected),
                                       float(step.score), row))
        return scores

    def _weather(self, net: int, scores: dict[int, float]) -> bool:
        """Whether the district's water moved as a whole in this slot: at least half of the
        network's siblings (the district's other watched networks; one at least) are as
        surprised (score ``REARM`` or more). Rain raises every network of a district at
        once; a stopped pumping station or a river backing up raises one."""
        siblings = self._siblings[net]
        moved = sum(scores.get(m, 0.0) >= REARM for m in siblings)
        return moved >= 1 and 2 * moved >= len(siblings)


def _levels_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(LEVEL_COLUMNS))
    return frame.astype({"district_adcode": "int64", "network": object,
                         "slot_ts": "datetime64[ns]", "fill": float, "covers": "int64",
                         "score": float})


def slot_medians(slot: np.ndarray, group: np.ndarray, value: np.ndarray,
                 least: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The median of ``value`` per ``(slot, group)`` with at least ``least`` values, sorted
    by slot then group (the mean of the two middle values for an even count, as numpy's
    median), and how many values each had.

    >>> slot_medians(np.array([1, 1, 1, 0, 1]), np.array([0, 0, 0, 0, 1]),
    ...              np.array([3.0, 1.0, 2.0, 9.0, 4.0]))
    (array([0, 1, 1]), array([0, 0, 1]), array([9., 2., 4.]), array([1, 3, 1]))
    """
    order = np.lexsort((value, group, slot))
    s, g, v = slot[order], group[order], value[order]
    first = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (g[1:] != g[:-1])]) if len(s) \
        else np.empty(0, np.int64)
    size = np.diff(np.r_[first, len(s)])
    mid = (v[first + (size - 1) // 2] + v[first + size // 2]) / 2
    ok = size >= least
    return s[first][ok], g[first][ok], mid[ok], size[ok]
