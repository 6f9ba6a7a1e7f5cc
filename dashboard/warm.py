"""Warm the shared caches once per server process, in the background, from server start.

A first visitor otherwise pays for work every visitor shares: the spatial KPI of every year
(one whole-city accessibility analysis per year), the planning map's analysis of every
facility type in the latest year (so switching the type finds it ready), its supply table,
look-ahead forecast and reconciliation (for the city and, for the default type, each
district with its data sources), the district outlines, the overview's reconciliation,
source lines and district map, every page's module (the overview's brings plotly) and
Altair (the site recommendation's bar charts), and the forecast backtest of the latest base
year. These are the same cached calls the pages make, so the pages then find
them ready. The server (``dashboard/server.py``) starts this as it starts (:func:`at_start`);
a page run starts it too (:func:`start`) when the app runs without that server; either way it
runs once per store build and process. Nothing here releases counts to anyone (no access
log entry is written): the per-view map layers, which pass the access decision, are made
when a visitor asks. Set ``CITYBRAIN_WARM=0`` to turn it off (the test suite does, so
AppTests measure the pages).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from pathlib import Path

from analytics.planning import accessibility
from analytics.standards import FACILITY_TYPES
from dashboard import planning as pl
from dashboard import shell
from dashboard.components import data, provenance, reconcile
from dashboard.navigation import PAGES

log = logging.getLogger(__name__)
_started: set[tuple[str, str]] = set()
_lock = threading.Lock()
#: What warmed and how long it took, for the server log and the browser benchmark.
done: dict[str, float] = {}


def enabled() -> bool:
    return os.environ.get("CITYBRAIN_WARM", "1") not in ("0", "false", "no")


def at_start(path: Path) -> threading.Thread | None:
    """From the server's start-up: open the store as the pages do and warm it, all in the
    background (the server answers at once; a visitor who comes before the warming is over
    waits only for what is still being made, never for it twice)."""
    if not enabled():
        return None

    def run() -> None:
        try:
            store = shell.open_store(str(path))
            key = shell.store_key(store)
            facts = shell._store_facts(*key)
        except Exception:  # noqa: BLE001 - a store that cannot open says so on the page
            log.warning("warming: the store did not open", exc_info=True)
            return
        thread = start(key, facts["years"], tuple(int(a) for a in facts["districts"]["adcode"]))
        if thread is not None:
            thread.join()

    thread = threading.Thread(target=run, name="citybrain-warm-start", daemon=True)
    thread.start()
    return thread


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
        done[name] = time.perf_counter() - t0
        log.info("warmed %s in %.2f s", name, done[name])
    except Exception:  # noqa: BLE001 - warming is best effort; the page computes on demand
        log.warning("warming %s failed", name, exc_info=True)


def _overview(store, store_key: tuple[str, str], key: str, year: int) -> None:
    """What the overview draws beside its tiles, for the whole city in ``year``: the
    reconciliation of its first facility type, the source lines and the district map."""
    reconcile.measures(store, key, reconcile.RATIO_TYPES[0], year, None)
    for layer in ("population_districts", "facilities"):
        provenance._summary(store, str(store_key), layer, None, year, None)
        provenance._by_district(store, str(store_key), layer, None, year)
        provenance.district_sources(store, str(store_key), layer, year)
    data.district_geojson(*store_key)
    data.district_label_points(*store_key)


def _warm(store_key: tuple[str, str], years: tuple[int, ...],
          district_ids: tuple[int, ...]) -> None:
    t0 = time.perf_counter()
    latest = int(years[-1])
    store = shell.open_store(store_key[0])
    key = pl.store_key(store)
    default_type = "elderly_day_care"
    # first what the first pages a visitor opens need: the overview, then the planning map
    _step("overview KPIs", lambda: data.kpi_values(store_key, latest, years, district_ids))
    # the page modules load at their first run (the overview's brings plotly, about a
    # second): load them now, the overview's and the planning map's first
    first = ["overview", "planning_map"]
    _step("overview page", lambda: importlib.import_module("pages.overview"))
    _step("overview figures", lambda: _overview(store, store_key, key, latest))
    _step("planning map page", lambda: importlib.import_module("pages.planning_map"))
    _step("district outlines", lambda: (pl.district_names(store, key),
                                        pl.district_paths(store, key)))
    types = [default_type, *(k for k in FACILITY_TYPES if k != default_type)]
    for type_key in types:
        group = accessibility.default_group(type_key)
        _step(f"planning analysis: {type_key}",
              lambda t=type_key, g=group: pl.analyse(store, key, t, latest, g, None))
        _step(f"availability: {type_key}",
              lambda t=type_key: pl.availability(store, key, t, latest))
        if type_key in reconcile.RATIO_TYPES:
            _step(f"reconciliation: {type_key}",
                  lambda t=type_key: reconcile.measures(store, key, t, latest, None))
        if type_key == default_type:
            _step("supply table", lambda: pl.supply_table(store, key, latest))
            _step("look-ahead", lambda: pl.ahead(store, key, default_type, latest))
    for district in district_ids:  # what choosing a district on the planning map reads
        _step(f"district {district}", lambda d=district: (
            provenance._summary(store, key, "facilities", (default_type,), latest, d),
            provenance._summary(store, key, "population_cells", None, latest, d),
            reconcile.measures(store, key, default_type, latest, d)))

    for name in [p[1] for p in PAGES if p[1] not in first]:
        _step(f"page {name}", lambda n=name: importlib.import_module(f"pages.{n}"))
    # the bar charts of the site recommendation load Altair at their first use (seconds)
    _step("chart library", lambda: importlib.import_module("altair"))

    def backtest():
        # deferred: the forecasters (scikit-learn, about 1 s) load in this thread only
        from analytics import forecast

        forecast.evaluate(store, latest)

    _step("forecast backtest", backtest)
    done["all"] = time.perf_counter() - t0
    log.warning("caches warmed in %.1f s", done["all"])
