"""Detection on a stream of readings: rules with hysteresis and a learned drift score.

Five fault kinds announce themselves on one channel and get a rule: a threshold to raise and
a gentler one to clear (hysteresis), so a value hovering at the threshold does not flap. A
physical event — a cover lifted or tilted, a chamber about to overflow — is raised on its
first reading (devices report at once when it happens, and a person may fall in the next
minute); a slow condition (dead battery, stuck sensor, drift) must persist a few readings. A drifting sensor does not: its water level
wanders off while the chambers around it do not. For that the detector learns, per asset, a
ridge regression of its fill (water level / depth) on the median fill of its peers (same
network, same district), updated as readings stream in but only on readings it finds normal,
and scales the residual by a robust spread learned per asset type. Rain moves the peers too,
so a storm does not look like drift; a sensor that drifts does. The drift score is given as
a likelihood in [0, 1] (``2 Φ(|z|) − 1``, as for any series in
:mod:`analytics.sensors.series`), so its threshold reads the same on every cover.

The state is numpy arrays indexed by asset, updated per batch; only the rows of assets
that are near a threshold go through the per-reading state machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import erf

from analytics.sensors.model import CHANNELS, FAULT_KINDS

#: Residual spread (share of depth) assumed for a type before any history is seen.
DEFAULT_SCALE = 0.01
MAD_TO_SIGMA = 1.4826
#: Reporting peers (without an alert on their water level) needed to score drift.
MIN_PEERS = 5


@dataclass(frozen=True)
class Thresholds:
    """Raise and clear levels. Defaults: a cover more than 20 mm out of its frame or 5°
    off level is a hazard; water within 12% of the cover is about to overflow; a lithium
    cell under 3.2 V is near cut-off."""

    lifted_on_mm: float = 20.0
    lifted_off_mm: float = 10.0
    tilt_on_deg: float = 5.0
    tilt_off_deg: float = 3.0
    overflow_on: float = 0.88     # fill share of chamber depth
    overflow_off: float = 0.80
    battery_on_v: float = 3.20    # raise below
    battery_off_v: float = 3.30   # clear above
    drift_on: float = 8.0         # robust z of the peer residual
    drift_off: float = 4.0
    drift_learn: float = 6.0      # residuals under this z teach the model
    confirm: int = 3              # consecutive readings to raise a slow condition
    event_confirm: int = 1        # lifted, tilted, overflow: the first reading raises
    drift_confirm: int = 5        # drift is slow: it must persist longer before it is called
    clear: int = 3                # consecutive readings to clear
    stuck_repeats: int = 4        # readings identical to the previous one to call it stuck
    warmup: int = 20              # readings an asset learns from before drift is scored
    ridge: float = 4e-4           # prior on the peer slope: 1 ± scale/sqrt(ridge), about ±0.3


@dataclass
class Event:
    """A rule's state changed for one asset: ``raise`` or ``clear`` at reading ``row``."""

    action: str
    asset: int
    kind: str
    row: int
    value: float


class Detector:
    """Streaming detector over a fixed set of assets (rows of ``assets``).

    ``assets`` needs ``asset_type, district_adcode, depth_cm``. Feed it batches with
    :meth:`process` (asset index, time-ordered per asset); it returns the events.
    """

    def __init__(self, assets: pd.DataFrame, thresholds: Thresholds | None = None):
        self.th = thresholds or Thresholds()
        n = len(assets)
        self.n = n
        self.depth = assets["depth_cm"].to_numpy(dtype=float)
        self.type_names, self.type_idx = np.unique(assets["asset_type"].astype(str).to_numpy(),
                                                   return_inverse=True)
        groups = assets["district_adcode"].astype(str) + "/" + assets["asset_type"].astype(str)
        _, self.group_idx = np.unique(groups.to_numpy(), return_inverse=True)
        # peers: covers of the same network in the same district (rain is local, and each
        # network has its own levels); where there are fewer than MIN_PEERS, drift is not
        # scored — mixing networks gives a two-humped "median" that jumps between them
        self.peer_idx = self.group_idx
        self.n_peer = int(self.group_idx.max(initial=-1)) + 1
        order = np.argsort(self.peer_idx, kind="stable")
        bounds = np.searchsorted(self.peer_idx[order], np.arange(self.n_peer + 1))
        self._peer_members = [order[bounds[g]:bounds[g + 1]] for g in range(self.n_peer)]
        self.active = {k: np.zeros(n, bool) for k in FAULT_KINDS}
        self.count = {k: np.zeros(n, np.int32) for k in FAULT_KINDS}
        self.last = np.full((n, len(CHANNELS)), np.nan)
        self.last_fill = np.full(n, np.nan)
        # ridge regression sums of fill on peer median, per asset
        self.s_n = np.zeros(n)
        self.s_m = np.zeros(n)
        self.s_f = np.zeros(n)
        self.s_mm = np.zeros(n)
        self.s_mf = np.zeros(n)
        self.scale = np.full(len(self.type_names), DEFAULT_SCALE)

    # -- the learned part ---------------------------------------------------------------
    def _predict(self, a: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected fill given the peers' median, and its predictive spread (in units of
        the type's residual scale): wide until the asset has seen its peers move, so the
        first storm after installation widens the band instead of raising a false drift."""
        n = np.maximum(self.s_n[a], 1)
        mean_m = self.s_m[a] / n
        cmm = np.maximum(self.s_mm[a] - self.s_m[a] ** 2 / n, 0)
        cmf = self.s_mf[a] - self.s_m[a] * self.s_f[a] / n
        beta = (cmf + self.th.ridge) / (cmm + self.th.ridge)
        alpha = (self.s_f[a] - beta * self.s_m[a]) / n
        spread = np.sqrt(1 + 1 / n + (m - mean_m) ** 2 / (cmm + self.th.ridge))
        return alpha + beta * m, spread

    def _peer_median(self, a: np.ndarray, fill: np.ndarray) -> np.ndarray:
        self.last_fill[a] = fill  # later rows of an asset overwrite earlier ones
        # peers with an alert on their water level do not speak for the neighbourhood
        fills = np.where(self.active["overflow"] | self.active["drift"] | self.active["stuck"],
                         np.nan, self.last_fill)
        med = np.full(self.n_peer, np.nan)
        for g in np.unique(self.peer_idx[a]):
            members = fills[self._peer_members[g]]
            members = members[~np.isnan(members)]
            if members.size >= MIN_PEERS:  # too few neighbours: no reference, no drift score
                med[g] = np.median(members)
        return med[self.peer_idx[a]]

    def fit_scale(self, residuals: np.ndarray, type_idx: np.ndarray) -> None:
        """Learn each type's robust residual spread (MAD) from normal readings."""
        for t in range(len(self.type_names)):
            r = residuals[(type_idx == t) & np.isfinite(residuals)]
            if len(r) >= 30:
                mad = np.median(np.abs(r - np.median(r))) * MAD_TO_SIGMA
                self.scale[t] = max(mad, 0.002)

    # -- a batch ----------------------------------------------------------------------
    def process(self, asset: np.ndarray, values: np.ndarray) -> tuple[list[Event], np.ndarray]:
        """Run one batch; rows must be time-ordered within each asset.

        Returns the events and each row's drift likelihood in [0, 1] (NaN while an asset is
        learning); the residuals in fill units stay in :attr:`last_resid`.
        """
        th = self.th
        order = np.argsort(asset, kind="stable")
        a = asset[order]
        v = values[order]
        tilt, disp, level, batt = v[:, 0], v[:, 1], v[:, 2], v[:, 3]
        fill = level / self.depth[a]

        # identical to the previous reading of the same asset (the stuck signature)
        prev = np.empty_like(v)
        first = np.ones(len(a), bool)
        first[1:] = a[1:] != a[:-1]
        prev[first] = self.last[a[first]]
        prev[~first] = v[:-1][~first[1:]]
        same = np.all(v == prev, axis=1)
        ends = np.r_[np.flatnonzero(first)[1:] - 1, len(a) - 1] if len(a) else np.array([], int)
        self.last[a[ends]] = v[ends]

        # drift score against peers
        med = self._peer_median(a[ends], fill[ends])
        med_rows = np.empty(len(a))
        med_rows[:] = np.repeat(med, np.diff(np.r_[np.flatnonzero(first), len(a)]))
        expected, spread = self._predict(a, med_rows)
        resid = fill - expected
        z = resid / (self.scale[self.type_idx[a]] * spread)
        learning = self.s_n[a] < th.warmup
        z[learning] = np.nan

        lifted_on = disp >= th.lifted_on_mm
        over_on = fill >= th.overflow_on
        cond = {
            "lifted": (lifted_on, disp < th.lifted_off_mm, disp),
            "tilted": ((tilt >= th.tilt_on_deg) & ~lifted_on, tilt < th.tilt_off_deg, tilt),
            "overflow": (over_on, fill < th.overflow_off, level),
            "drift": ((z >= th.drift_on) & ~over_on & ~same & ~learning,
                      z < th.drift_off, level),  # no reference (NaN): hold the state
            "dead_battery": (batt <= th.battery_on_v, batt > th.battery_off_v, batt),
            "stuck": (same, ~same, level),
        }
        need = {k: th.confirm for k in FAULT_KINDS}
        need.update(stuck=th.stuck_repeats, drift=th.drift_confirm, lifted=th.event_confirm,
                    tilted=th.event_confirm, overflow=th.event_confirm)
        events: list[Event] = []
        for kind, (on, off, val) in cond.items():
            active, count = self.active[kind], self.count[kind]
            hot = np.unique(np.r_[a[on], np.flatnonzero(active | (count > 0))])
            if hot.size == 0:
                continue
            rows = np.flatnonzero(np.isin(a, hot))
            for r, asset_i, o, f in zip(rows.tolist(), a[rows].tolist(), on[rows].tolist(),
                                        off[rows].tolist(), strict=True):
                if active[asset_i]:
                    if f:
                        count[asset_i] += 1
                        if count[asset_i] >= th.clear:
                            active[asset_i], count[asset_i] = False, 0
                            events.append(Event("clear", asset_i, kind, int(order[r]),
                                                float(val[r])))
                    else:
                        count[asset_i] = 0
                elif o:
                    count[asset_i] += 1
                    if count[asset_i] >= need[kind]:
                        active[asset_i], count[asset_i] = True, 0
                        events.append(Event("raise", asset_i, kind, int(order[r]),
                                            float(val[r])))
                else:
                    count[asset_i] = 0

        # learn from rows that look normal (no rule near firing, residual small)
        quiet = ~(lifted_on | over_on | same) & ~(np.abs(np.nan_to_num(z)) >= th.drift_learn)
        for kind in FAULT_KINDS:
            quiet &= ~self.active[kind][a]
        ok = quiet & np.isfinite(fill) & np.isfinite(med_rows)
        aa, m, f = a[ok], med_rows[ok], fill[ok]
        np.add.at(self.s_n, aa, 1)
        np.add.at(self.s_m, aa, m)
        np.add.at(self.s_f, aa, f)
        np.add.at(self.s_mm, aa, m * m)
        np.add.at(self.s_mf, aa, m * f)
        score = np.empty(len(a))
        score[order] = erf(np.abs(z) / np.sqrt(2))   # 2 Φ(|z|) − 1; NaN stays NaN
        self.last_resid = np.empty(len(a))
        self.last_resid[order] = z * self.scale[self.type_idx[a]]
        return events, score

    def warm_up(self, batches) -> None:
        """Learn from a fault-free history of ``(asset, values)`` batches: each asset's peer
        model and each type's residual spread; rule states start clean afterwards."""
        resid, types = [], []
        for asset, values in batches:
            self.process(asset, values)
            resid.append(self.last_resid)
            types.append(self.type_idx[asset])
        if resid:
            self.fit_scale(np.concatenate(resid), np.concatenate(types))
        for k in FAULT_KINDS:
            self.active[k][:] = False
            self.count[k][:] = 0

    def active_kinds(self, asset_i: int) -> list[str]:
        return [k for k in FAULT_KINDS if self.active[k][asset_i]]
