"""The store: build time per stage, size, peak memory; representative queries against pandas.

Run: ``python -m bench --only store --store data/city.duckdb`` (``make bench`` runs all).
The build is timed in a child process (its own peak memory); each query runs through the
``analytics`` API and, as the baseline, as the same computation in pandas on the same
rows already in memory; the ratio is pandas time / store time.
"""

from __future__ import annotations

import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analytics import population
from analytics.store import Store

OLD_AGES = list(population.SERVICE_GROUPS["60+"])
REPEAT = 7


def _time(func) -> float:
    """Median seconds of REPEAT calls after one warm-up."""
    func()
    runs = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        func()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def bench_build(city: int = 330100) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "city.duckdb"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "analytics", "build", "--city", str(city),
                               "--out", str(out)], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        size = out.stat().st_size / 1e6
    print(f"build {city}: {wall:.1f} s wall (target <= 90 s: {wall / 90:.2f} of budget), "
          f"peak memory {peak:.0f} MB (target <= 4096 MB), store {size:.0f} MB (target <= 300 MB)")
    for stage, seconds in re.findall(r"^\[(\w+)\] done in ([\d.]+) s", proc.stderr, re.M):
        print(f"  stage {stage:<12} {float(seconds):6.1f} s")


def bench_queries(store_path: Path) -> None:
    store = Store.open(store_path, read_only=True)
    with store.cursor() as cur:  # the baseline's data, loaded once and not timed
        cells = cur.execute("SELECT year, cell, district_adcode, age_group, sex, persons "
                            "FROM population_cells").df()
        ages = cur.execute("SELECT year, district_adcode, age, sex, persons "
                           "FROM population_districts").df()
    district = int(ages["district_adcode"].iloc[0])
    cases = [
        ("one year's 60+ by cell",
         lambda: population.group_by_cell(store, 2020, "60+"),
         lambda: cells[(cells["year"] == 2020) & cells["age_group"].isin(OLD_AGES)]
         .groupby(["cell", "district_adcode"], as_index=False)["persons"].sum()),
        ("16-year trend by district",
         lambda: population.district_trend(store),
         lambda: ages.assign(age_0_14=ages["persons"].where(ages["age"] <= 14, 0),
                             age_60plus=ages["persons"].where(ages["age"] >= 60, 0),
                             age_65plus=ages["persons"].where(ages["age"] >= 65, 0))
         .groupby(["year", "district_adcode"], as_index=False)
         [["persons", "age_0_14", "age_60plus", "age_65plus"]].sum()),
        ("one district's single-year pyramid",
         lambda: population.pyramid(store, 2020, district),
         lambda: ages[(ages["year"] == 2020) & (ages["district_adcode"] == district)]
         .groupby(["age", "sex"], as_index=False)["persons"].sum()),
    ]
    print(f"{len(cells):,} cell rows, {len(ages):,} district rows; median of {REPEAT} runs")
    print(f"{'query':<36} {'store ms':>9} {'pandas ms':>10} {'pandas/store':>13}")
    for name, ours, baseline in cases:
        a, b = _time(ours), _time(baseline)
        print(f"{name:<36} {a * 1e3:9.1f} {b * 1e3:10.1f} {b / a:12.1f}x")
    store.close()


def main(store_path: Path) -> None:
    bench_build()
    bench_queries(store_path)
