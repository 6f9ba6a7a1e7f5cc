"""Load -> see it: a department register or grid loaded, and the next planning-map rerun.

Two figures, each beside a baseline measured in the same run, on a scratch copy of the
store (the store given is never written):

- a 10,000-row care-home register (every district) loaded and reflected in the next rerun
  of the planning map's analyses (coverage and 2SFCA, the supply table); baseline: the same
  rerun with nothing loaded. Target: load + rerun <= 2 s.
- a 1,000,000-row residents grid (H3 cells x age group x sex, one year) loaded; baseline:
  reading the same Parquet file and inserting it into a plain table with no checks.
  Target: <= 30 s. Then the same rerun for that year.

Each part runs in its own process (its own connection and peak memory).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REGISTER_ROWS = 10_000
GRID_ROWS = 1_000_000
YEAR = 2020

REGISTER = """
import json, resource, sys, time
import numpy as np, pandas as pd, shapely
from analytics.identity import Actor
from analytics.planning import accessibility, supply
from analytics.pooling import ingest
from analytics.store import Store

store = Store.open(sys.argv[1])
rng = np.random.default_rng(7)
d = store.table("districts")
rows, n = [], int(sys.argv[2])
geoms = shapely.from_wkb(d["geometry"].map(bytes).to_numpy())
while len(rows) < n:
    k = int(rng.integers(len(d)))
    minx, miny, maxx, maxy = shapely.bounds(geoms[k])
    x, y = rng.uniform(minx, maxx, 200), rng.uniform(miny, maxy, 200)
    keep = shapely.contains_xy(geoms[k], x, y)
    for a, b in zip(x[keep], y[keep]):
        rows.append((f"R{len(rows):06d}", "养老院", int(d["adcode"].iloc[k]), round(a, 6),
                     round(b, 6), int(rng.integers(20, 400)), "public", 2005))
path = sys.argv[3]
pd.DataFrame(rows[:n], columns=["home_id", "name", "district", "lon", "lat", "beds", "operator",
                                "opened_year"]).to_csv(path, index=False)


def rerun():
    result = accessibility.analyse(store, "elderly_care_home", %(year)d)
    table = supply.supply_demand(store, %(year)d)
    return result, table

rerun()  # warm: the first query of a process pays for loading the tables
t0 = time.perf_counter(); before, _ = rerun(); base = time.perf_counter() - t0
t0 = time.perf_counter()
report = ingest.load(store, path, "civil_affairs_care_homes", Actor("bench", "administrator"),
                     datum="wgs84")
load = time.perf_counter() - t0
t0 = time.perf_counter(); after, _ = rerun(); again = time.perf_counter() - t0
assert len(after.facilities) != len(before.facilities)
print(json.dumps({"base": base, "load": load, "rerun": again, "rows": report.rows_out,
                  "facilities_before": len(before.facilities),
                  "facilities_after": len(after.facilities),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""".replace("%(year)d", str(YEAR))

GRID = """
import json, resource, sys, time
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
from analytics.identity import Actor
from analytics.planning import accessibility
from analytics.pooling import ingest
from analytics.store import Store

store = Store.open(sys.argv[1])
groups = ["0-2", "3-5", "6-11", "12-14", "15-17", "18-59", "60-64", "65-69", "70-74", "75-79",
          "80+"]
cells = store.table("cells", ["h3"])["h3"]
n = int(sys.argv[2]) // (len(groups) * 2)
pick = cells.sample(min(n, len(cells)), random_state=1).to_numpy()
rng = np.random.default_rng(3)
h3s = np.repeat(pick, len(groups) * 2)
frame = pd.DataFrame({"as_of": pd.Timestamp("%(year)d-11-01").date(), "h3": h3s,
                      "age_group": np.tile(np.repeat(groups, 2), len(pick)),
                      "sex": np.tile(["M", "F"], len(pick) * len(groups)),
                      "persons": rng.integers(0, 80, len(h3s))})
path = sys.argv[3]
pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)

t0 = time.perf_counter()
raw = pq.read_table(path)
with store.transaction() as cur:
    cur.execute("CREATE TEMP TABLE raw_grid AS SELECT * FROM raw")
base = time.perf_counter() - t0
t0 = time.perf_counter()
report = ingest.load(store, path, "public_security_population_grid",
                     Actor("bench", "administrator"))
load = time.perf_counter() - t0
t0 = time.perf_counter()
result = accessibility.analyse(store, "elderly_care_home", %(year)d)
rerun = time.perf_counter() - t0
print(json.dumps({"base": base, "load": load, "rerun": rerun, "rows": report.rows_out,
                  "cells": int(result.cells["cell"].nunique()),
                  "findings": len(report.findings),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""".replace("%(year)d", str(YEAR))


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(store_path: Path) -> None:
    if not Path(store_path).exists():
        print(f"no store at {store_path}: build it first (make store)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scratch = tmp / "scratch.duckdb"
        shutil.copy(store_path, scratch)
        r = _run(REGISTER, str(scratch), str(REGISTER_ROWS), str(tmp / "register.csv"))
        total = r["load"] + r["rerun"]
        print(f"planning-map rerun, nothing loaded (baseline): {r['base']:6.2f} s")
        print(f"{r['rows']:,}-row care-home register: load {r['load']:.2f} s + rerun "
              f"{r['rerun']:.2f} s = {total:6.2f} s ({total / r['base']:.1f}x the baseline; "
              f"target <= 2 s: {'met' if total <= 2 else 'NOT met'}); care homes "
              f"{r['facilities_before']:,} -> {r['facilities_after']:,}; "
              f"peak memory {r['peak_mb']:.0f} MB")
        shutil.copy(store_path, scratch)
        g = _run(GRID, str(scratch), str(GRID_ROWS), str(tmp / "grid.parquet"))
        print(f"grid file read + inserted unchecked (baseline): {g['base']:6.2f} s")
        print(f"{g['rows']:,}-row residents grid: load {g['load']:6.2f} s "
              f"({g['load'] / g['base']:.1f}x the baseline; target <= 30 s: "
              f"{'met' if g['load'] <= 30 else 'NOT met'}); next rerun {g['rerun']:.2f} s "
              f"over {g['cells']:,} cells; {g['findings']} consistency findings; "
              f"peak memory {g['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/city.duckdb"))
