"""Open data: exporting the cell-level population as Parquet, and searching the catalog.

Each figure is printed beside a baseline measured in the same run:

* the export goes through the access rules and disclosure control (small-cell and
  secondary suppression, a year at a time) into one Parquet file; baselines are plain
  pandas (read the whole table, ``to_parquet``, no disclosure control) and DuckDB's own
  ``COPY ... TO`` (no disclosure control either). Target: at most 10 s.
* catalog search (words and a facet over the catalog rows); baseline is a plain Python
  loop over the same rows. Target: at most 100 ms.

Exports and searches are logged, so the benchmark runs on a copy of the store.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from analytics.opendata import catalog, exports
from analytics.store import Store


def _best(func, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _line(label: str, value: float, base_label: str, base: float, unit: str = "s") -> None:
    scale = 1000 if unit == "ms" else 1
    print(f"{label:<46} {value * scale:9.3f} {unit}   baseline {base_label:<34} "
          f"{base * scale:9.3f} {unit}   ratio {value / base:6.2f}")


def _loop_search(rows: list[dict], word: str, access_level: str) -> list[str]:
    hits = []
    for r in rows:
        text = " ".join(str(r[k]) for k in ("title", "title_en", "description", "keywords",
                                            "publisher", "publisher_en", "dataset_id")).lower()
        if word in text and r["access_level"] == access_level:
            hits.append(r["dataset_id"])
    return hits


def main(store_path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        copy = tmp / "bench.duckdb"
        shutil.copyfile(store_path, copy)
        store = Store.open(copy)
        rows = int(store.scalar("open_data.count_all", table="population_cells"))
        print(f"population_cells: {rows:,} rows")

        t_export, result = _best(lambda: exports.export(
            store, "population_cells", "parquet", tmp / "export.parquet", channel="api"), 1)
        assert pd.read_parquet(tmp / "export.parquet", columns=["year"]).shape[0] == rows
        t_pandas, _ = _best(lambda: store.table("population_cells").to_parquet(
            tmp / "pandas.parquet"), 1)
        t_copy, _ = _best(lambda: store.export_parquet("population_cells", tmp / "copy"), 1)
        _line("export population_cells -> Parquet (controlled)", t_export,
              "pandas read + to_parquet", t_pandas)
        _line("export population_cells -> Parquet (controlled)", t_export,
              "DuckDB COPY (no control)", t_copy)
        print(f"  suppressed {result.report.primary_suppressed:,} primary and "
              f"{result.report.secondary_suppressed:,} secondary of {rows:,} counts; "
              f"target <= 10 s: {'met' if t_export <= 10 else 'NOT met'}")

        cat = catalog.datasets(store)
        records = cat.to_dict("records")
        t_search, res = _best(lambda: catalog.search(cat, "人口", access_level=["public"]), 50)
        t_loop, loop_hits = _best(lambda: _loop_search(records, "人口", "public"), 50)
        assert sorted(res.hits["dataset_id"]) == sorted(loop_hits)
        _line("catalog search (words + facet, with facet counts)", t_search,
              "Python loop (no facet counts)", t_loop, "ms")
        t_full, _ = _best(lambda: catalog.search(catalog.datasets(store), "人口"), 20)
        print(f"{'catalog search incl. reading the catalog':<46} {t_full * 1000:9.3f} ms   "
              f"target <= 100 ms: {'met' if t_full <= 0.1 else 'NOT met'}")
        store.close()
