"""Ingest of a 1-million-row department CSV against a pandas read-and-validate baseline.

The file is the civil affairs contract's (care homes) at a million rows: BD-09 coordinates
inside the city, district names in three forms, every column checked. Each run is a fresh
process, so its peak memory is its own. Target: the ingest (validate, convert, load in one
transaction) within 15 s. A file this size is kept in memory between validation and load;
the streamed run reads it twice in batches, as a file larger than memory is read, to show
that memory is then bounded by the batch size, not the file. (The second load of the same
rows becomes version 2 of the dataset.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 1_000_000
CITY = 330100

WRITE = """
import sys
import numpy as np, pandas as pd, coordTransform, shapely
from analytics import geo
rng = np.random.default_rng(1)
b = geo.load_boundaries(330100)
rows = int(sys.argv[2])
# points in the city: random points of the bounding box kept when inside a district
minx, miny, maxx, maxy = b.total_bounds
city = shapely.union_all(b.geometry.values)
shapely.prepare(city)
x = rng.uniform(minx, maxx, rows * 3); y = rng.uniform(miny, maxy, rows * 3)
keep = shapely.contains_xy(city, x, y)
x, y = x[keep][:rows], y[keep][:rows]
idx = rng.integers(0, len(b), rows)
forms = np.array([b["name"].to_numpy(), b["name"].str.slice(0, -1).to_numpy(), b["adcode"].astype(str).to_numpy()])
lon, lat = coordTransform.wgs84_to_bd09(x.tolist(), y.tolist())
pd.DataFrame({"home_id": [f"H{i:07d}" for i in range(rows)], "name": "养老院",
              "district": forms[rng.integers(0, 3, rows), idx], "lon": np.round(lon, 6),
              "lat": np.round(lat, 6), "beds": rng.integers(0, 600, rows),
              "residents": rng.integers(0, 500, rows),
              "operator": rng.choice(["public", "private", "public_private"], rows),
              "opened_year": rng.integers(1980, 2025, rows)}).to_csv(sys.argv[1], index=False)
"""

INGEST = """
import json, resource, sys, time
from analytics.pooling import ingest, plan
from analytics.identity import Actor
from analytics.store import Store
store = Store.open(sys.argv[2])
if sys.argv[3] == "streamed":
    plan.KEEP_IN_MEMORY_BYTES = 0  # as for a file too large to keep: read twice, batch by batch
t0 = time.perf_counter()
r = ingest.load(store, sys.argv[1], "civil_affairs_care_homes", Actor("bench", "administrator"))
seconds = time.perf_counter() - t0
store.close()
print(json.dumps({"seconds": seconds, "rows": r.rows_out,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# The baseline reads the whole file with pandas and applies the same column checks
# (types, ranges, allowed values, key uniqueness) without the datum conversion, the
# point-in-city test or the load: the minimum any validator must do.
PANDAS = """
import json, resource, sys, time
import pandas as pd
t0 = time.perf_counter()
f = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
bad = 0
for col, lo, hi in [("beds", 0, 5000), ("residents", 0, 5000), ("opened_year", 1949, 2030)]:
    v = pd.to_numeric(f[col], errors="coerce")
    bad += int((v.isna() | (v < lo) | (v > hi)).sum())
for col in ("lon", "lat"):
    bad += int(pd.to_numeric(f[col], errors="coerce").isna().sum())
bad += int((~f["operator"].isin(["public", "private", "public_private"])).sum())
bad += int(f["home_id"].duplicated().sum())
bad += int((f["name"].str.strip() == "").sum())
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rows": len(f), "bad": bad,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


def main(store_path: Path) -> None:
    """``store_path`` is not written: the load goes to a scratch store with the same districts."""
    from analytics import geo
    from analytics.pooling import ingest
    from analytics.store import Store

    ingest_keep_mb = ingest.KEEP_IN_MEMORY_BYTES >> 20
    batch = ingest.BATCH_ROWS

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = tmp / "care_homes_1m.csv"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", WRITE, str(csv), str(ROWS)], check=True)
        print(f"file: {ROWS:,} rows, {csv.stat().st_size / 1e6:.0f} MB "
              f"(written in {time.perf_counter() - t0:.1f} s)")
        scratch = tmp / "scratch.duckdb"
        store = Store.create(scratch)
        if Path(store_path).exists():
            with Store.open(store_path, read_only=True) as source:
                store.write("districts", source.table("districts"))
                store.set_meta({k: v for k, v in source.meta().items()
                                if k in ("city_adcode", "city_name")})
        else:
            import pandas as pd
            import shapely

            b = geo.load_boundaries(CITY)
            c = b.geometry.representative_point()
            store.write("districts", pd.DataFrame({
                "city_adcode": CITY, "adcode": b["adcode"], "name": b["name"],
                "name_en": b["name_en"], "kind": b["kind"], "area_km2": b["area_km2"],
                "core_lon": c.x, "core_lat": c.y, "centroid_lon": c.x, "centroid_lat": c.y,
                "geometry": shapely.to_wkb(b.geometry.values)}))
            store.set_meta({"city_adcode": CITY, "city_name": geo.city(CITY).name})
        store.checkpoint()
        store.close()
        base = _run(PANDAS, str(csv))
        ours = _run(INGEST, str(csv), str(scratch), "kept")
        streamed = _run(INGEST, str(csv), str(scratch), "streamed")
        print(f"pandas read + validate (baseline): {base['seconds']:6.2f} s, "
              f"peak memory {base['peak_mb']:5.0f} MB")
        print(f"ingest validate + convert + load:  {ours['seconds']:6.2f} s, "
              f"peak memory {ours['peak_mb']:5.0f} MB, {ours['rows']:,} rows loaded "
              f"(target <= 15 s: {'met' if ours['seconds'] <= 15 else 'NOT met'})")
        print(f"ingest, streamed (as a file above {ingest_keep_mb} MB): {streamed['seconds']:6.2f} s, "
              f"peak memory {streamed['peak_mb']:5.0f} MB (batches of {batch:,} rows)")
        print(f"ratio ingest / baseline: time {ours['seconds'] / base['seconds']:.2f}x, "
              f"peak memory {ours['peak_mb'] / base['peak_mb']:.2f}x")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/city.duckdb"))
