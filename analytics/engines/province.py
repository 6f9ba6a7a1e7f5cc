"""A province (or any list of cities) built city by city straight into a lake.

Each city is built by the ordinary city build (its boundaries, its 2020 census total from
``data/reference/city_totals_2020.csv`` and the documented defaults) in a child process into
a temporary store, exported into the lake and deleted. Memory is bounded by the largest
city, not the province: the child's memory is returned when it exits, and the lake export
streams from DuckDB to Parquet.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analytics.engines.lake import Lake, export
from analytics.errors import CityBrainError
from analytics.reference import city_totals


@dataclass(frozen=True)
class CityBuild:
    adcode: int
    name: str
    seconds_build: float
    seconds_export: float
    rows: dict
    bytes: int


def province_cities(province: int) -> list[tuple[int, str]]:
    """The cities of a province (adcode like 330000) that ``city_totals_2020.csv`` holds."""
    if province % 10000 != 0:
        raise CityBrainError(f"--province {province} is not a province adcode (it ends in "
                             "0000, e.g. 330000 for Zhejiang)")
    totals = city_totals()
    rows = totals[(totals["adcode"] // 10000 == province // 10000)
                  & (totals["adcode"] != province)]
    if rows.empty:
        raise CityBrainError(f"no city of province {province} in "
                             "data/reference/city_totals_2020.csv: add a row per city (adcode, "
                             "2020 total, age shares, source)")
    return [(int(a), str(n)) for a, n in zip(rows["adcode"], rows["city"], strict=True)]


def build_province(province: int, lake_dir: Path | str, *, cities: tuple[int, ...] = (),
                   districts: tuple[int, ...] = (), years: str = "2010-2025",
                   seed: int | None = None,
                   progress: Callable[[str], None] = lambda m: None) -> list[CityBuild]:
    """Build every city of ``province`` (or only ``cities``) into the lake at ``lake_dir``.

    ``districts`` limits each city to those of its districts listed (small test lakes).
    """
    lake_dir = Path(lake_dir)
    chosen = province_cities(province)
    if cities:
        unknown = sorted(set(cities) - {c for c, _ in chosen})
        if unknown:
            raise CityBrainError(f"--cities {', '.join(map(str, unknown))} not in province "
                                 f"{province}; its cities are "
                                 f"{', '.join(str(c) for c, _ in chosen)}")
        chosen = [(c, n) for c, n in chosen if c in cities]
    done = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory(prefix="province-") as tmp:
        for n, (city, name) in enumerate(chosen, 1):
            own = [d for d in districts if d // 100 == city // 100]
            out = Path(tmp) / f"{city}.duckdb"
            cmd = [sys.executable, "-m", "analytics", "build", "--city", str(city),
                   "--years", years, "--out", str(out), "--quiet"]
            if own:
                cmd += ["--districts", ",".join(map(str, own))]
            if seed is not None:
                cmd += ["--seed", str(seed)]
            progress(f"[{n}/{len(chosen)}] {city} {name}: building")
            t0 = time.perf_counter()
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if run.returncode != 0:
                last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
                raise CityBrainError(f"city {city} {name} did not build: {last}")
            t1 = time.perf_counter()
            entry = export(out, lake_dir)
            t2 = time.perf_counter()
            size = out.stat().st_size
            out.unlink()
            done.append(CityBuild(city, name, t1 - t0, t2 - t1, entry["rows"], size))
            progress(f"[{n}/{len(chosen)}] {city} {name}: {entry['rows']['population_cells']:,} "
                     f"cell rows, built {t1 - t0:.1f} s, exported {t2 - t1:.1f} s")
    Lake.open(lake_dir)  # the lake it leaves is readable
    return done


def children_peak_rss_mb() -> float:
    """Largest resident memory of any finished child process (the city builds), in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


__all__ = ["CityBuild", "build_province", "children_peak_rss_mb", "province_cities"]
