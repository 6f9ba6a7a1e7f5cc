"""The Numenta Anomaly Benchmark's published scoring rules, for any labelled corpus.

Rules (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms — the Numenta
Anomaly Benchmark", IEEE ICMLA 2015, and the benchmark's scorer), standard profile:

- Each labelled anomaly sits in a **window**; when only anomaly times are known, a window
  is 10 % of the series' length divided by the number of anomalies, centred on each.
- The first detection inside a window earns ``A_TP × σ(y)``, where ``y`` is the detection's
  relative position in the window (−1 at its start, 0 at its end) and
  ``σ(y) = 2 / (1 + e^{5y}) − 1``, rescaled so a detection at the start earns exactly
  ``A_TP``: the earlier, the more. Later detections in the same window count nothing.
- A detection outside every window costs ``A_FP`` times ``−σ(y)``, ``y`` being its distance
  past the end of the previous window in window lengths (so an alarm just after a window
  costs little, one far from any window costs the full ``A_FP``); before the first
  window it costs the full ``A_FP``.
- A window with no detection costs ``A_FN``.
- Detections in the **probationary period** (the first 15 % of a series, at most 750
  values) are not scored: the detector is still learning.
- The corpus score sums the raw scores of all series and is normalised:
  ``100 × (S − S_null) / (S_perfect − S_null)``, where the null detector never fires
  (``S_null = −A_FN × windows``) and the perfect one fires once at the start of every
  window (``S_perfect = A_TP × windows``).

Standard profile: ``A_TP = 1, A_FP = 0.11, A_FN = 1``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.errors import CityBrainError
from analytics.textsafe import printable


@dataclass(frozen=True)
class Profile:
    tp: float = 1.0
    fp: float = 0.11
    fn: float = 1.0


STANDARD = Profile()
PROBATION_SHARE = 0.15
PROBATION_MAX = 750
WINDOW_SHARE = 0.10


def scaled_sigmoid(y: float) -> float:
    """``2 / (1 + e^{5y}) − 1`` for ``y ≤ 3``; −1 further past a window (as published)."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation(n: int) -> int:
    """Values at the start of an ``n``-value series whose detections are not scored."""
    return int(math.floor(min(PROBATION_SHARE * n, PROBATION_MAX)))


def windows_around(timestamps: pd.Series, anomalies: list) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The benchmark's windows around labelled anomaly times: each spans 10 % of the series
    divided by the number of anomalies, centred on the anomaly (clipped to the series)."""
    ts = pd.to_datetime(pd.Series(timestamps)).reset_index(drop=True)
    if not anomalies:
        return []
    n = len(ts)
    width = int(WINDOW_SHARE * n / len(anomalies))
    out = []
    for a in anomalies:
        i = int(np.searchsorted(ts.to_numpy(), np.datetime64(pd.Timestamp(a)), side="left"))
        i = min(i, n - 1)
        lo, hi = max(0, i - width // 2), min(n - 1, i + width // 2)
        out.append((ts.iat[lo], ts.iat[hi]))
    return out


@dataclass
class SeriesScore:
    raw: float
    windows: int
    tp: int
    fp: int
    fn: int
    delays: list[int]   # values from each detected window's anomaly to its first detection


def score_detections(timestamps: pd.Series, detections: np.ndarray,
                     windows: list[tuple], profile: Profile = STANDARD,
                     anomaly_at: list | None = None) -> SeriesScore:
    """The raw score of one series: ``detections`` is a 0/1 array aligned with
    ``timestamps``; ``windows`` a list of ``(start, end)`` times (inclusive). ``anomaly_at``
    (optional) gives each window's anomaly time, to report detection delay."""
    ts = pd.to_datetime(pd.Series(timestamps)).reset_index(drop=True).to_numpy()
    det = np.asarray(detections).astype(bool)
    if len(det) != len(ts):
        raise CityBrainError(f"{len(det)} detections for {len(ts)} timestamps")
    n = len(ts)
    bounds = []
    for start, end in sorted(windows, key=lambda w: pd.Timestamp(w[0])):
        lo = int(np.searchsorted(ts, np.datetime64(pd.Timestamp(start)), side="left"))
        hi = int(np.searchsorted(ts, np.datetime64(pd.Timestamp(end)), side="right")) - 1
        if hi >= lo:
            bounds.append((lo, hi))
    max_tp = scaled_sigmoid(-1.0)
    first = probation(n)
    raw, tp, fp = 0.0, 0, 0
    hit = [None] * len(bounds)
    w = 0          # index of the next window whose end is not yet passed
    for i in np.flatnonzero(det).tolist():
        if i < first:
            continue
        while w < len(bounds) and bounds[w][1] < i:
            w += 1
        if w < len(bounds) and bounds[w][0] <= i:
            lo, hi = bounds[w]
            if hit[w] is None:
                hit[w] = i
                width = hi - lo + 1
                y = -(hi - i + 1) / width
                raw += scaled_sigmoid(y) * profile.tp / max_tp
                tp += 1
            continue
        fp += 1
        if w == 0:
            raw += -1.0 * profile.fp
        else:
            lo, hi = bounds[w - 1]
            width = hi - lo + 1
            y = abs(hi - i) / max(width - 1, 1)
            raw += scaled_sigmoid(y) * profile.fp
    fn = sum(h is None for h in hit)
    raw -= fn * profile.fn
    delays = []
    if anomaly_at is not None:
        at = sorted(int(np.searchsorted(ts, np.datetime64(pd.Timestamp(a)), side="left"))
                    for a in anomaly_at)
        for (lo, hi), h in zip(bounds, hit, strict=True):
            if h is None:
                continue
            inside = [a for a in at if lo <= a <= hi]
            if inside:
                delays.append(max(h - inside[0], 0))
    return SeriesScore(raw, len(bounds), tp, fp, fn, delays)


def normalised(scores: list[SeriesScore], profile: Profile = STANDARD) -> float:
    """``100 × (S − S_null) / (S_perfect − S_null)`` summed over a corpus (NaN without
    windows)."""
    n_windows = sum(s.windows for s in scores)
    if n_windows == 0:
        return float("nan")
    total = sum(s.raw for s in scores)
    null, perfect = -profile.fn * n_windows, profile.tp * n_windows
    return 100.0 * (total - null) / (perfect - null)


def read_windows(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Labelled windows per series file, from the benchmark's JSON layout
    (``{"dir/file.csv": [["start", "end"], ...]}``) or a CSV with ``file,start,end``."""
    path = Path(path)
    if not path.exists():
        raise CityBrainError(f"{path}: no such file")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, RecursionError, UnicodeDecodeError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise CityBrainError(f"{path}: not readable JSON ({reason})") from None
        if not isinstance(data, dict):
            raise CityBrainError(f"{path}: expected an object of file -> [[start, end], ...]")
        out = {}
        for name, wins in data.items():
            _check_name(name, path)
            if not isinstance(wins, list):
                raise CityBrainError(f"{path}: {printable(name)}: expected a list of "
                                     "[start, end] windows")
            for k, w in enumerate(wins):
                if not (isinstance(w, list) and len(w) == 2):
                    raise CityBrainError(f"{path}: {printable(name)} window {k + 1} is not "
                                         "[start, end]")
                for col, value in zip(("start", "end"), w, strict=True):
                    _check_time(value, f"{path}: {printable(name)} window {k + 1}, {col}")
            out[name] = [(str(a), str(b)) for a, b in wins]
        return out
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in ("file", "start", "end") if c not in frame.columns]
    if missing:
        raise CityBrainError(f"{path}: missing column(s) {', '.join(missing)}; the header must "
                             "be file,start,end (a file with no anomaly has a row with empty "
                             "start and end)")
    out: dict[str, list] = {}
    for i, r in enumerate(frame.itertuples(index=False), start=2):
        _check_name(r.file, path)
        out.setdefault(r.file, [])
        if r.start == "" and r.end == "":
            continue
        for col in ("start", "end"):
            _check_time(getattr(r, col), f"{path}, row {i}, column {col}")
        out[r.file].append((r.start, r.end))
    return out


def series_under(folder: Path, labels: dict) -> tuple[Path, list[str], list[str]]:
    """Where the labelled series are: ``folder``, or its ``data/`` when it is the
    benchmark's repository itself; the names found there and the names missing, sorted."""
    folder = Path(folder)
    if not any((folder / n).exists() for n in labels) and any(
            (folder / "data" / n).exists() for n in labels):
        folder = folder / "data"
    present = [n for n in sorted(labels) if (folder / n).exists()]
    return folder, present, [n for n in sorted(labels) if n not in set(present)]


def _check_name(name: str, where: Path) -> None:
    """Refuse a series name that leaves the folder of series (absolute, or with ``..``)."""
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise CityBrainError(f"{where}: {printable(name)} is not a path inside the folder of "
                             "series")


def _check_time(value, where: str) -> None:
    """Refuse a window bound that is not a date-time, naming where it was read."""
    if not isinstance(value, str) or pd.isna(pd.to_datetime(value, errors="coerce")):
        raise CityBrainError(f"{where}: {printable(repr(value))} is not a date-time")
