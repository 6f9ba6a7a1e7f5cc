"""Facilities: the build stage's cost and the supply query, each against a pandas baseline.

The stage reruns on the store's own districts, cells and population (the same inputs the
build gave it); its baseline is one pandas group-by of the same population rows, the least
any stage reading them must do. The supply query (capacity per child aged 6-11 by district)
is timed in DuckDB and in pandas on the same tables.
"""

from __future__ import annotations

import time
from pathlib import Path

from analytics.citygen import facilities
from analytics.citygen.build import BuildConfig, BuildContext
from analytics.store import Store


def _timed(func, repeat: int = 3) -> tuple[float, float, object]:
    """Best wall and CPU seconds over ``repeat`` runs, and the last result."""
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = func()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu, result


def _line(label: str, value: float, base_label: str, base: float) -> None:
    print(f"{label:<44} {value:8.3f} s   baseline {base_label:<36} {base:8.3f} s   "
          f"ratio {value / base:6.2f}")


def main(store_path: Path) -> None:
    store = Store.open(store_path, read_only=True)
    meta = store.meta()
    tables = {name: store.table(name) for name in ("districts", "cells", "population_cells")}
    facilities_ = store.table("facilities")
    years = sorted(int(y) for y in tables["population_cells"]["year"].unique())
    config = BuildConfig(city_adcode=int(meta["city_adcode"]), first_year=years[0],
                         last_year=years[-1], seed=int(meta["seed"]),
                         districts=tuple(int(d) for d in meta["districts"].split(","))
                         if meta["districts"] != "all" else ())
    print(f"store {store_path}: {len(tables['population_cells']):,} population rows, "
          f"{len(facilities_):,} facilities")

    def run_stage():
        ctx = BuildContext(config)
        ctx.tables.update(tables)
        ctx.meta["city_name"] = meta.get("city_name", "")
        facilities.stage(ctx)
        return ctx.tables["facilities"]

    def group_by():
        return tables["population_cells"].groupby(
            ["year", "district_adcode", "age_group"], observed=True)["persons"].sum()

    wall, cpu, frame = _timed(run_stage, repeat=2)
    base_wall, base_cpu, _ = _timed(group_by, repeat=2)
    _line("facilities stage (wall)", wall, "pandas group-by of population (wall)", base_wall)
    _line("facilities stage (CPU)", cpu, "pandas group-by of population (CPU)", base_cpu)
    same = frame.reset_index(drop=True).equals(facilities_.reset_index(drop=True)
                                               .astype(frame.dtypes.to_dict()))
    print(f"rerun reproduces the stored table: {same}")

    def supply_sql():
        return store.query("facility_supply.supply_ratio", type="primary_school", year=2022,
                           groups=["6-11"])

    def supply_pandas():
        pop = tables["population_cells"]
        served = pop[(pop["year"] == 2022) & (pop["age_group"] == "6-11")] \
            .groupby("district_adcode")["persons"].sum()
        f = facilities_
        open_ = f[(f["type"] == "primary_school") & (f["opened_year"] <= 2022)
                  & (f["closed_year"].isna() | (f["closed_year"] > 2022))]
        return open_.groupby("district_adcode")["capacity"].sum() / served

    q, _, _ = _timed(supply_sql)
    p, _, _ = _timed(supply_pandas)
    _line("supply ratio query, DuckDB (wall)", q, "the same in pandas (wall)", p)
    store.close()
