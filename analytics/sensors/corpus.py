"""A test corpus of real series shipped inside PyPI packages, with anomalies inserted by rule.

The series (none of them from our own simulator):

- ``statsmodels`` datasets: atmospheric CO2 at Mauna Loa (weekly), yearly sunspot numbers,
  El Niño sea-surface temperature (monthly), US quarterly macro data (real GDP,
  unemployment, inflation), euro-area electrical equipment orders (monthly).
- ``river`` datasets: water flow through a pipeline branch (hourly, an Italian utility),
  airline passengers (monthly), daily approval of the US president from six pollsters,
  daily returns of ten S&P 500 stocks.

**Insertion procedure** (``insert_anomalies``, seeded, so it is the same on every machine):
each series gets ``k = 2`` anomalies at random positions after its probationary 15 % and at
least 10 % of its length apart. The size unit ``σ`` is the series' own short-term noise:
1.4826 × the median absolute first difference, over the values that change (a series that
holds a value between updates, like a poll, would otherwise get a unit of zero); at least
1 % of the series' standard deviation. Kinds, in turn:

- ``spike``: one value moved by ``+8 σ`` (sign drawn at random);
- ``level_shift``: ``±6 σ`` added from the anomaly to the end of the series;
- ``noise_burst``: ``w`` values get extra Gaussian noise of ``5 σ``;
- ``flatline``: ``w`` values held at the value before (a stuck sensor) — inserted only
  where the series normally moves (its median absolute difference is not zero);

with ``w`` = 2 % of the length (at least 5 values). The anomaly's time is the first changed
value; windows follow the benchmark rule (:func:`analytics.sensors.nab.windows_around`).
The same series with **nothing inserted** measure false alarms per 1,000 values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.sensors import nab

KINDS = ("spike", "level_shift", "noise_burst", "flatline")


@dataclass
class Series:
    name: str
    source: str
    frame: pd.DataFrame           # timestamp, value
    anomalies: list = field(default_factory=list)   # anomaly times
    kinds: list = field(default_factory=list)

    @property
    def windows(self) -> list[tuple]:
        return nab.windows_around(self.frame["timestamp"], self.anomalies)


def _frame(ts, values) -> pd.DataFrame:
    f = pd.DataFrame({"timestamp": pd.to_datetime(pd.Series(ts)).reset_index(drop=True),
                      "value": pd.Series(values, dtype=float).reset_index(drop=True)})
    return f.dropna().reset_index(drop=True)


def load_real() -> list[Series]:
    """The real series (no anomaly inserted), oldest value first."""
    import statsmodels.api as sm
    from river import datasets
    from statsmodels.datasets import elec_equip

    out = []
    co2 = sm.datasets.co2.load_pandas().data
    out.append(Series("co2_weekly", "statsmodels co2", _frame(co2.index, co2["co2"])))
    sun = sm.datasets.sunspots.load_pandas().data
    out.append(Series("sunspots_yearly", "statsmodels sunspots",
                      _frame(pd.to_datetime(sun["YEAR"].astype(int).astype(str)),
                             sun["SUNACTIVITY"])))
    el = sm.datasets.elnino.load_pandas().data
    months = el.columns[1:]
    ts = [pd.Timestamp(int(y), m + 1, 1) for y in el["YEAR"] for m in range(12)]
    out.append(Series("elnino_monthly", "statsmodels elnino",
                      _frame(ts, el[months].to_numpy().ravel())))
    mac = sm.datasets.macrodata.load_pandas().data
    q = pd.PeriodIndex.from_fields(year=mac["year"].astype(int), quarter=mac["quarter"].astype(int),
                                   freq="Q").to_timestamp()
    for col in ("realgdp", "unemp", "infl"):
        out.append(Series(f"macro_{col}", "statsmodels macrodata", _frame(q, mac[col])))
    ee = elec_equip.load().data
    out.append(Series("elec_equip_monthly", "statsmodels elec_equip",
                      _frame(ee.index, ee.iloc[:, 0])))

    wf = pd.read_csv(datasets.WaterFlow().path)
    out.append(Series("water_flow_hourly", "river WaterFlow",
                      _frame(pd.to_datetime(wf.iloc[:, 0], utc=True).dt.tz_localize(None),
                             wf.iloc[:, 1])))
    ap = pd.read_csv(datasets.AirlinePassengers().path)
    out.append(Series("airline_monthly", "river AirlinePassengers",
                      _frame(pd.to_datetime(ap["month"]), ap["passengers"])))
    tr = pd.read_csv(datasets.TrumpApproval().path)
    days = pd.to_datetime(tr["ordinal_date"].map(pd.Timestamp.fromordinal))
    for col in tr.columns[1:]:
        out.append(Series(f"approval_{col}", "river TrumpApproval", _frame(days, tr[col])))
    sp = pd.read_csv(datasets.SP500Stocks().path)
    for col in sp.columns[1:-1]:
        out.append(Series(f"sp500_{col}", "river SP500", _frame(sp["date"], sp[col])))
    return out


def noise_unit(values: np.ndarray) -> float:
    """``σ``: 1.4826 × median |first difference| over the changes, at least 1 % of the
    standard deviation."""
    x = np.asarray(values, dtype=float)
    d = np.abs(np.diff(x))
    d = d[d > 0]
    mad = 1.4826 * float(np.median(d)) if len(d) else 0.0
    return max(mad, 0.01 * float(np.std(x)), 1e-9)


def insert_anomalies(series: Series, seed: int, k: int = 2) -> Series:
    """A copy of ``series`` with ``k`` anomalies inserted by the documented procedure."""
    rng = np.random.default_rng(seed)
    x = series.frame["value"].to_numpy(dtype=float).copy()
    n = len(x)
    sigma = noise_unit(x)
    moves = float(np.median(np.abs(np.diff(x)))) > 0
    w = max(5, int(0.02 * n))
    lo_pos, gap = nab.probation(n) + 1, int(0.10 * n)
    for _ in range(200):  # draw positions at least ``gap`` apart, leaving room for ``w``
        pos = np.sort(rng.integers(lo_pos, n - w, size=k))
        if k == 1 or np.min(np.diff(pos)) >= gap:
            break
    kinds = []
    start = int(rng.integers(len(KINDS)))
    for j, p in enumerate(pos.tolist()):
        kind = KINDS[(start + j) % len(KINDS)]
        if kind == "flatline" and not moves:
            kind = "spike"
        sign = rng.choice([-1.0, 1.0])
        if kind == "spike":
            x[p] += sign * 8 * sigma
        elif kind == "level_shift":
            x[p:] += sign * 6 * sigma
        elif kind == "noise_burst":
            x[p:p + w] += rng.normal(0, 5 * sigma, size=len(x[p:p + w]))
        else:
            x[p:p + w] = x[p - 1]
        kinds.append(kind)
    frame = series.frame.copy()
    frame["value"] = x
    ts = frame["timestamp"]
    return Series(series.name, series.source, frame, [ts.iat[p] for p in pos.tolist()], kinds)


def labelled(copies: int = 3, seed: int = 17) -> list[Series]:
    """``copies`` independently seeded inserted versions of every real series."""
    base = load_real()
    return [insert_anomalies(s, seed * 1000 + c * 100 + i)
            for c in range(copies) for i, s in enumerate(base)]


#: Length of an artificial series: 14 days of 5-minute values, the layout of the benchmark's
#: artificial group.
ART_N, ART_STEP = 4032, "5min"
#: Index of the artificial anomaly: the start of day 11.
ART_AT = 2880


def artificial(seed: int = 5) -> tuple[list[Series], list[Series]]:
    """Artificial 5-minute series after the kinds of the benchmark's artificial group,
    generated here by formula (seeded): ``(clean, with_anomaly)``.

    Clean (nothing may alert): a daily half-sine (``20 + 60 max(sin(2πt/288), 0)``) with
    no noise and with Gaussian noise of 2, a square wave switching every half day between 20
    and 80, a flat line, Gaussian noise (40 ± 10), a quantised daily cycle (rounded to
    whole numbers), Poisson counts with a daily rate of 3 or 5, and a working day noisier
    than the night (80 ± 5 from 09:00 to 18:00, 20 ± 1 otherwise).

    With one anomaly from value ``ART_AT`` (the start of day 11), on the noisy daily
    half-sine unless said: for one day the cycle's amplitude jumps to 100 (``jumps_up``) or
    drops to 30 (``jumps_down``), or it stays flat at 20 (``flat_middle``); on noise of 2
    around 20, spikes of +60 become 25 times as frequent (``spike_density``, 0.2 % → 5 %
    of the values), or 100 values get +30 ± 10 (``load_burst``).
    """
    n = ART_N
    ts = pd.date_range("2014-04-01", periods=n, freq=ART_STEP)
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    day = np.sin(2 * np.pi * t / 288)
    half = np.clip(day, 0, None)
    clean = {
        "daily_no_noise": 20 + 60 * half,
        "square_wave": np.where((t // 144) % 2 == 0, 20.0, 80.0),
        "daily_small_noise": 20 + 60 * half + rng.normal(0, 2, n),
        "flatline": np.full(n, 42.0),
        "noisy": 40 + rng.normal(0, 10, n),
        "quantised": np.round(30 + 5 * day + rng.normal(0, 1, n)),
        "counts": rng.poisson(3 + 2 * (day > 0), n).astype(float),
    }
    # drawn from its own generator, so the signals above and below stay as they were
    busy = np.random.default_rng(seed + 1)
    clean["busy_day_noisier"] = np.where((t % 288 >= 108) & (t % 288 < 216),
                                         80 + busy.normal(0, 5, n), 20 + busy.normal(0, 1, n))
    a, d = ART_AT, slice(ART_AT, ART_AT + 288)
    noise = lambda size: rng.normal(0, 2, size)   # noqa: E731
    anomalous = {}
    x = 20 + 60 * half + noise(n)
    x[d] = 20 + 100 * half[d] + noise(288)
    anomalous["jumps_up"] = x
    x = 20 + 60 * half + noise(n)
    x[d] = 20 + 30 * half[d] + noise(288)
    anomalous["jumps_down"] = x
    x = 20 + 60 * half + noise(n)
    x[d] = 20 + noise(288)
    anomalous["flat_middle"] = x
    x = 20 + noise(n)
    x[rng.random(n) < np.where(t < a, 0.002, 0.05)] += 60
    anomalous["spike_density"] = x
    x = 20 + noise(n)
    x[a:a + 100] += rng.normal(30, 10, 100)
    anomalous["load_burst"] = x
    return ([Series(k, "artificial", _frame(ts, v)) for k, v in clean.items()],
            [Series(k, "artificial", _frame(ts, v), [ts[a]], [k]) for k, v in anomalous.items()])
