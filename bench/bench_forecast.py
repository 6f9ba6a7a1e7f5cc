"""Forecast timings: every district x every target x 10 years, against the baseline.

Baseline, measured in the same run: the naive forecaster alone (the cheapest possible
forecast of the same frame). The figure the issue sets is <= 10 s for the full job
(backtest of every model at every origin, fit at the base year, intervals, all targets).
"""

from __future__ import annotations

import time
from pathlib import Path

from analytics import forecast as fc
from analytics.forecast import api
from analytics.forecast.models import NaiveForecaster
from analytics.store import Store


def _clear() -> None:
    api._evaluations.clear()
    api._predictions.clear()


def main(store_path: Path) -> None:
    with Store.open(store_path, read_only=True) as store:
        base = max(fc.data.store_years(store))
        t0 = time.perf_counter()
        history = fc.load_history(store, base)
        load = time.perf_counter() - t0

        t0 = time.perf_counter()
        NaiveForecaster().fit(history).predict(10)
        naive = time.perf_counter() - t0

        _clear()
        t0 = time.perf_counter()
        frame = fc.forecast_all(store, base, 10)
        cold = time.perf_counter() - t0

        t0 = time.perf_counter()
        fc.forecast_all(store, base, 10, scenario="high")
        warm = time.perf_counter() - t0

        n_d = len(history.districts)
        print(f"store {store_path}: {n_d} districts, {len(fc.TARGETS)} targets, "
              f"base year {base}, {len(frame):,} forecast rows")
        print(f"load history up to {base}: {load:.3f} s")
        print(f"naive baseline, all districts x targets x 10 years: {naive:.4f} s")
        print(f"forecast_all cold (backtest {len(fc.MODELS)} models + fit + intervals): "
              f"{cold:.2f} s  (target <= 10 s; {cold / naive:,.0f}x the naive baseline)")
        print(f"forecast_all warm, another scenario (backtest cached): {warm:.2f} s  "
              f"({warm / cold:.2f}x cold)")

        # Accuracy, the target: at 5 years, the chosen model's district MAPE for the
        # 60+ and 3-5 counts at least 30 % below naive and below the linear trend.
        evaluation = fc.evaluate(store, base)
        acc = evaluation.accuracy
        cov = evaluation.coverage()
        print("backtest, districts, 5 years ahead: MAPE % (WAPE %) by model; ratio to naive")
        for target in ("pop_60plus", "pop_3_5", "pop_0_2", "pop_6_11", "pop_80plus", "pop_total"):
            a = acc[(acc["target"] == target) & (acc["level"] == "district")
                    & (acc["horizon"] == 5)].set_index("model")
            chosen = evaluation.choose(target, 10)
            cells = "  ".join(f"{m} {a.loc[m, 'mape']:.2f} ({a.loc[m, 'wape']:.2f})"
                              for m in fc.MODELS if m in a.index)
            ratio = a.loc[chosen, "mape"] / a.loc["naive", "mape"]
            print(f"  {target:<11} {cells}  | chosen {chosen}: {ratio:.2f}x naive, "
                  f"{a.loc[chosen, 'mape'] / a.loc['trend', 'mape']:.2f}x trend")
        for model in fc.MODELS:
            c = cov[cov["model"] == model]
            print(f"  interval coverage ({model}, all targets and horizons): "
                  f"{(c['coverage'] * c['n']).sum() / c['n'].sum():.1f}% (nominal 80%)")
