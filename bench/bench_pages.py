"""Overview and trends pages: the analytics each page calls, against the same numbers worked
out in pandas from the raw tables, and each page's whole rerun on the server (AppTest, warm
cache) against the 300 ms target.

Run: ``python -m bench --store data/city.duckdb --only pages`` (the store must not be open
in a running app: DuckDB lets one process hold the file).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analytics import indicators
from analytics.indicators import trends
from analytics.store import Store

TARGET_MS = 300.0
ROOT = Path(__file__).resolve().parents[1]


def _time(fn, repeat: int = 5) -> float:
    """Median wall time of ``fn()`` in milliseconds (after one warm-up call)."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def overview_analytics(store: Store, year: int) -> pd.DataFrame:
    values = indicators.ratio_values(store)
    for kpi_id in indicators.available(values):
        indicators.tile(values, kpi_id, year)
    indicators.district_table(values, year)
    indicators.largest_movers(values, year, ["population", "share_60plus"], span=5)
    return values


def overview_pandas(pop: pd.DataFrame, fac: pd.DataFrame, year: int) -> pd.DataFrame:
    """The ratio KPIs for every year and area, from the raw rows with pandas only."""
    age = pop["age"]
    bands = {"population": age >= 0, "age_0_14": age <= 14, "age_15_64": age.between(15, 64),
             "age_60plus": age >= 60, "age_65plus": age >= 65, "age_80plus": age >= 80,
             "age_3_5": age.between(3, 5), "age_6_11": age.between(6, 11)}
    frame = pd.DataFrame({k: pop["persons"].where(m, 0) for k, m in bands.items()})
    frame[["year", "adcode"]] = pop[["year", "district_adcode"]].to_numpy()
    base = frame.groupby(["year", "adcode"], as_index=False).sum()
    for t in indicators.CAPACITY_TYPES:
        f = fac[fac["type"] == t]
        caps = []
        for y in base["year"].unique():
            open_ = f[(f["opened_year"] <= y) & (f["closed_year"].isna() | (f["closed_year"] > y))]
            c = open_.groupby("district_adcode")["capacity"].sum()
            caps.append(pd.DataFrame({"year": y, "adcode": c.index, f"cap_{t}": c.values}))
        cap = pd.concat(caps) if caps else pd.DataFrame(columns=["year", "adcode", f"cap_{t}"])
        base = base.merge(cap, on=["year", "adcode"], how="left").fillna({f"cap_{t}": 0})
    city = base.drop(columns="adcode").groupby("year", as_index=False).sum().assign(area="city")
    both = pd.concat([city, base.drop(columns="adcode").assign(area=base["adcode"].astype(str))])
    out = []
    for ind in indicators.INDICATORS.values():
        if ind.is_ratio:
            num = both[ind.numerator]
            val = num * ind.scale if ind.denominator is None else \
                ind.scale * num / both[ind.denominator].replace(0, np.nan)
            out.append(pd.DataFrame({"indicator": ind.id, "year": both["year"],
                                     "area": both["area"], "value": val}))
    return pd.concat(out)


def trends_analytics(store: Store, year: int, district: int | None) -> None:
    trends.pyramid(store, year, district)
    trends.pyramid(store, 2010, district)
    trends.age_groups(store, district)
    trends.vital_rates(store, district)


def trends_pandas(pop: pd.DataFrame, vital: pd.DataFrame, year: int,
                  district: int | None) -> None:
    p = pop if district is None else pop[pop["district_adcode"] == district]
    for y in (year, 2010):
        one = p[p["year"] == y]
        one.assign(band=np.minimum(one["age"] // 5 * 5, 100)).groupby(
            ["band", "sex"])["persons"].sum()
    groups = pd.cut(p["age"], [-1, 14, 59, 79, 200], labels=["0-14", "15-59", "60-79", "80+"])
    p.groupby(["year", groups], observed=True)["persons"].sum()
    v = vital if district is None else vital[vital["district_adcode"] == district]
    v.groupby("year")[["births", "deaths"]].sum()


def page_rerun_ms(store_path: Path, page: str | None) -> float:
    """A page's whole server-side rerun with warm caches (what a user's click costs)."""
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    os.environ["CITYBRAIN_STORE"] = str(store_path)
    # the page's own rerun is measured: no background warming (the server starts it,
    # and it could still be inside DuckDB when this process exits)
    os.environ["CITYBRAIN_WARM"] = "0"
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
    at.run()
    if page:
        # pages are callables served under their module's name; Streamlit keys a page by
        # the hash of that URL path (AppTest.switch_page finds file pages only)
        at._page_hash = calc_hash(Path(page).stem)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return _time(at.run, repeat=5)


def main(store_path: Path) -> None:
    store = Store.open(store_path, read_only=True)
    meta = store.meta()
    year = 2020
    district = int(store.query("indicators.districts")["adcode"].iloc[0])
    pop_rows = int(store.row_counts().set_index("table").loc["population_districts", "rows"])
    print(f"store {store_path.name}: city {meta.get('city_adcode')}, districts "
          f"{meta.get('districts')}, {pop_rows:,} population_districts rows")

    # the pandas baseline reads the raw tables it needs (as a page without the store would)
    def pandas_overview():
        overview_pandas(store.table("population_districts"), store.table("facilities"), year)

    def pandas_trends():
        trends_pandas(store.table("population_districts"), store.table("vital_events"), year,
                      district)

    check = overview_pandas(store.table("population_districts"), store.table("facilities"),
                            year).set_index(["indicator", "year", "area"])["value"]
    ours = indicators.ratio_values(store)
    ours["area"] = ours["district"].astype("string").fillna("city")
    ours = ours.set_index(["indicator", "year", "area"])["value"]
    diff = (ours - check.reindex(ours.index)).abs().max()
    print(f"  check: overview KPIs equal the pandas baseline (max difference {diff:.2e})")

    rows = [
        ("overview analytics (uncached)", _time(lambda: overview_analytics(store, year)),
         _time(pandas_overview), "pandas"),
        ("trends analytics (uncached, city)", _time(lambda: trends_analytics(store, year, None)),
         _time(lambda: trends_pandas(store.table("population_districts"),
                                     store.table("vital_events"), year, None)), "pandas"),
        (f"trends analytics (uncached, {district})",
         _time(lambda: trends_analytics(store, year, district)), _time(pandas_trends),
         "pandas"),
    ]
    try:
        from analytics.planning.accessibility import coverage_share

        ids = [int(a) for a in store.query("indicators.districts")["adcode"]]
        # the overview computes the city's coverage for every year (the tile's sparkline)
        window = sorted(int(y) for y in set(indicators.base_frame(store)["year"]) if y <= year)

        def coverage_ours():
            indicators.computed_values(store, window[:-1])
            indicators.computed_values(store, [year], ids)

        def coverage_per_area():  # the plain way: one coverage_share call per area and year
            for y in window:
                coverage_share(store, "elderly_day_care", "60+", y, 300)
            for d in ids:
                coverage_share(store, "elderly_day_care", "60+", year, 300, district=d)

        rows.append((f"day-care coverage KPI ({len(window)} years, {len(ids)} districts)",
                     _time(coverage_ours, repeat=2), _time(coverage_per_area, repeat=2),
                     "per-area calls"))
    except ImportError:
        print("  (day-care coverage KPI: analytics.planning.accessibility not installed)")
    for label, ours_ms, base_ms, baseline in rows:
        print(f"  {label:<46} {ours_ms:8.1f} ms   {baseline} {base_ms:8.1f} ms   "
              f"ratio {baseline}/ours {base_ms / ours_ms:5.1f}x")
    store.close()  # AppTest opens the store itself

    for label, page in [("overview page rerun (warm cache)", None),
                        ("trends page rerun (warm cache)", "trends.py")]:
        ms = page_rerun_ms(store_path, page)
        print(f"  {label:<46} {ms:8.1f} ms   target {TARGET_MS:6.0f} ms   "
              f"ratio target/ours {TARGET_MS / ms:5.1f}x")
