"""Warm the caches once per server process, in the background, as soon as the store is known.

A first visitor otherwise pays for work every visitor shares: the spatial KPI of every year
(one whole-city accessibility analysis per year), the planning map's analysis of the default
facility type, its look-ahead forecast, and the forecast backtest of the latest base year.
These are the same cached calls the pages make, so the pages then find them ready. Set
``CITYBRAIN_WARM=0`` to turn it off (the test suite does, so AppTests measure the pages).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from analytics.planning import accessibility
from dashboard import planning as pl
from dashboard.components import data
from dashboard.shell import open_store

log = logging.getLogger(__name__)
_started: set[tuple[str, str]] = set()
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("CITYBRAIN_WARM", "1") not in ("0", "false", "no")


def start(store_key: tuple[str, str], years: tuple[int, ...],
          district_ids: tuple[int, ...]) -> threading.Thread | None:
    """Start warming for this store build, once per process; returns the thread (or None)."""
    if not enabled() or not years:
        return None
    with _lock:
        if store_key in _started:
            return None
        _started.add(store_key)
    thread = threading.Thread(target=_warm, args=(store_key, years, district_ids),
                              name="citybrain-warm", daemon=True)
    thread.start()
    return thread


def _step(name: str, fn) -> None:
    t0 = time.perf_counter()
    try:
        fn()
        log.info("warmed %s in %.2f s", name, time.perf_counter() - t0)
    except Exception:  # noqa: BLE001 - warming is best effort; the page computes on demand
        log.warning("warming %s failed", name, exc_info=True)


def _warm(store_key: tuple[str, str], years: tuple[int, ...],
          district_ids: tuple[int, ...]) -> None:
    latest = int(years[-1])
    store = open_store(store_key[0])
    key = pl.store_key(store)
    _step("overview KPIs", lambda: data.kpi_values(store_key, latest, years, district_ids))
    default_type = "elderly_day_care"
    group = accessibility.default_group(default_type)
    _step("planning analysis",
          lambda: pl.analyse(store, key, default_type, latest, group, None))
    _step("supply table", lambda: pl.supply_table(store, key, latest))
    _step("look-ahead", lambda: pl.ahead(store, key, default_type, latest))

    def backtest():
        # deferred: the forecasters (scikit-learn, about 1 s) load in this thread only
        from analytics import forecast

        forecast.evaluate(store, latest)

    _step("forecast backtest", backtest)
