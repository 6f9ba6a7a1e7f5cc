"""Warm the shared caches once per server process, in the background, from server start.

A first visitor otherwise pays for work every visitor shares. The warming runs in two parts:

1. **The landing pages** (:data:`ready` is set when they are done): what the overview and
   the planning map draw in their opening view (the whole city, the latest year, the
   default facility type), in the order their first run asks for it: the store's facts and
   headline indicators (kept in the store, see :func:`analytics.indicators.values`), the
   two page modules, the overview's reconciliation, source lines, grid note and district
   map, then the planning map's analysis, availability, reconciliation, supply table,
   look-ahead and sources, and the landmarks that name the sites a planner asks for. The
   server (``dashboard/server.py``) serves the dashboard once this part is done (at most
   :data:`LANDING_TIMEOUT_S` on), so no visitor's first page competes with it; the API
   answers from the start.
2. **The rest**, which gives way to visitors (:func:`visit`): before each step it waits
   until no page run is under way, so a page opened at any moment runs alone, and the
   warming goes on between runs. The overview of the year before the latest (the first
   other year a visitor picks), the planning map's analysis of every other facility type,
   its facilities' names in English, its sources and its look ahead (so switching the type
   finds them ready), each district's sources and reconciliation, the trends and forecast
   pages as they open, every other page's module and the forecast backtest of the latest
   base year.

These are the same cached calls the pages make, so the pages then find them ready. The server
starts this as it starts (:func:`at_start`); a page run starts it too (:func:`start`) when
the app runs without that server, or after a load changed the data (a new store vintage);
either way it runs once per store vintage and process. The per-view map layers, which pass
the access decision, are made when a visitor asks. Set ``CITYBRAIN_WARM=0`` to turn it off
(the test suite does, so AppTests measure the pages); the dashboard is then served at once.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
import time
from pathlib import Path

from analytics import indicators, population
from analytics.forecast import DEMAND_TYPES
from analytics.planning import accessibility, places
from analytics.standards import FACILITY_TYPES
from dashboard import planning as pl
from dashboard import shell
from dashboard.components import data, provenance, reconcile
from dashboard.i18n import LANGUAGES
from dashboard.navigation import PAGES

log = logging.getLogger(__name__)
_started: set[tuple[str, str]] = set()
_lock = threading.Lock()
#: What warmed and how long it took, for the server log and the browser benchmark.
done: dict[str, float] = {}
#: Steps that failed and why (warming is best effort: the page then computes on demand).
failed: dict[str, str] = {}
#: Set once what the landing pages need is made (or warming is off, or could not start,
#: or :data:`LANDING_TIMEOUT_S` passed): the server serves the dashboard from then on.
ready = threading.Event()
#: The longest the dashboard waits for its landing pages before it is served all the same.
LANDING_TIMEOUT_S = 60.0
#: Where the warming is, for ``/api/health``: ``landing`` (the landing pages), ``rest``,
#: ``done`` or ``off``; the step under way and seconds since start.
progress: dict[str, object] = {"phase": "landing", "step": None, "since": time.time()}
#: The facility type the planning map opens on (``dashboard.planning.preamble``).
DEFAULT_TYPE = "elderly_day_care"
#: The pages a first visitor opens (warmed in the first part).
LANDING_PAGES = ("overview", "planning_map")

#: Seconds the dashboard must have been asked nothing (and run nothing) before background
#: work goes on: a browser loading a page asks for its scripts, parses them, then opens its
#: websocket; after a run it draws what it was sent.
QUIET_S = 1.5
#: The longest a page asked for counts as a run about to start (a page a program fetched,
#: with no browser to run it, never has one).
EXPECT_S = 15.0
_touched = 0.0
_expected = 0
_expected_at = 0.0
_visits = 0
_visits_lock = threading.Lock()
_idle = threading.Event()
_idle.set()


def enabled() -> bool:
    return os.environ.get("CITYBRAIN_WARM", "1") not in ("0", "false", "no")


@contextlib.contextmanager
def visit():
    """Around a page run (``dashboard/app.py``): while any run is under way, the second part
    of the warming waits (it goes on once no page is running)."""
    global _visits, _expected
    with _visits_lock:
        _visits += 1
        _idle.clear()
    try:
        yield
    finally:
        touch()  # the browser draws what the run sent: give it that moment too
        with _visits_lock:
            _expected = max(0, _expected - 1)  # a page asked for has had its run
            _visits -= 1
            if _visits == 0:
                _idle.set()


def touch(page: bool = False) -> None:
    """A browser asked the dashboard for something (its scripts, its websocket; ``page``: a
    page itself): a page run is about to start, so the background work waits. A page asked
    for counts as a run under way until a run ends (or :data:`EXPECT_S` passes): between
    the page and its run the browser loads and parses its scripts, for seconds on a busy
    machine."""
    global _touched, _expected, _expected_at
    _touched = time.monotonic()
    if page:
        with _visits_lock:
            _expected += 1
            _expected_at = _touched


def give_way() -> None:
    """Wait until no page run is under way, nor about to start (no page asked for whose run
    has not ended, nothing asked of the dashboard for :data:`QUIET_S`): the turn of work in
    the background."""
    while True:
        _idle.wait()
        now = time.monotonic()
        quiet = now - _touched
        coming = _expected > 0 and now - _expected_at < EXPECT_S
        if quiet >= QUIET_S and _idle.is_set() and not coming:
            return
        time.sleep(0.1 if coming else max(0.05, QUIET_S - quiet))


def status() -> dict:
    """What ``/api/health`` says of the dashboard: ``starting`` until the landing pages are
    ready, then ``ready``; and where the warming is."""
    return {"dashboard": "ready" if ready.is_set() else "starting",
            "warming": progress.get("phase"), "warming_step": progress.get("step"),
            "landing_ready_s": done.get("landing"), "warmed_s": done.get("all")}


def at_start(path: Path) -> threading.Thread | None:
    """From the server's start-up: open the store as the pages do and warm it, all in the
    background. The server serves the dashboard once :data:`ready` is set (the landing
    pages made); a visitor who comes before sees that it is starting."""
    progress.update(phase="landing", step=None, since=time.time())
    if not enabled():
        progress["phase"] = "off"
        ready.set()
        return None
    # never more than a minute without the dashboard, whatever the warming meets
    timer = threading.Timer(LANDING_TIMEOUT_S, ready.set)
    timer.daemon = True
    timer.start()

    def run() -> None:
        try:
            store = shell.open_store(str(path))
            key = shell.store_key(store)
            facts = shell._store_facts(*key)
        except Exception:  # noqa: BLE001 - a store that cannot open says so on the page
            log.warning("warming: the store did not open", exc_info=True)
            ready.set()
            return
        thread = start(key, facts["years"], tuple(int(a) for a in facts["districts"]["adcode"]))
        if thread is None:
            ready.set()
            return
        thread.join()

    thread = threading.Thread(target=run, name="citybrain-warm-start", daemon=True)
    thread.start()
    return thread


def start(store_key: tuple[str, str], years: tuple[int, ...],
          district_ids: tuple[int, ...]) -> threading.Thread | None:
    """Start warming for this store vintage, once per process; returns the thread (or None)."""
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


def _step(name: str, fn, after_visits: bool = False) -> None:
    if after_visits:
        give_way()
    progress["step"] = name
    t0 = time.perf_counter()
    try:
        fn()
        done[name] = time.perf_counter() - t0
        log.info("warmed %s in %.2f s", name, done[name])
    except Exception as exc:  # noqa: BLE001 - warming is best effort; the page computes on demand
        failed[name] = f"{type(exc).__name__}: {exc}"
        log.warning("warming %s failed", name, exc_info=True)


def _sources(store, key: str, layer: str, types: tuple[str, ...] | None, year: int,
             *by_district) -> None:
    """A layer's source line as a page writes it (the sources, and by district where
    several feed the layer) and its sources district by district (the CSVs'), called with
    the arguments the page gives (``by_district``: the facility types, where it passes
    them; a cached call is found again only with the same arguments)."""
    frame = provenance._summary(store, key, layer, types, year, None)
    if len(frame) > 1:
        provenance._by_district(store, key, layer, types, year)
    provenance.district_sources(store, key, layer, year, *by_district)


def _overview(store, store_key: tuple[str, str], key: str, year: int,
              langs: tuple[str, ...] = LANGUAGES) -> None:
    """What the overview draws beside its tiles, for the whole city in ``year``: the
    reconciliation of its first facility type, the source lines, the grid note and the
    district map (of its first KPI, in both languages)."""
    skey = str(store_key)
    for layer in ("population_districts", "facilities"):
        _sources(store, skey, layer, None, year)
    provenance._grid_gap(store, skey, year, None)
    reconcile.measures(store, key, reconcile.RATIO_TYPES[0], year, None)
    data.district_geojson(*store_key)
    data.district_label_points(*store_key)
    overview = importlib.import_module("pages.overview")
    kpis = indicators.available(data.all_kpis(*store_key))
    for lang in langs:
        ctx = _context(store, store_key, year, lang)
        overview.tile_view(ctx)
        overview.map_figure(ctx, kpis[0])
        overview.ranking(ctx, kpis, kpis[0])
        span = 5 if year - 5 in ctx.years else 1
        if year - span in ctx.years:
            overview.largest_movers(ctx, span)


def _context(store, store_key: tuple[str, str], year: int, lang: str) -> shell.PageContext:
    """The context a page run has for the whole city in ``year`` and ``lang``."""
    facts = shell._store_facts(*store_key)
    return shell.PageContext(
        store=store, city_adcode=facts["city_adcode"], city_name=facts["city_name"],
        year=year, years=facts["years"], lang=lang, district=None,
        districts=facts["districts"], store_key=store_key, city_name_en=facts["city_name_en"])


def _year_before(store, store_key: tuple[str, str], key: str, year: int, lang: str) -> None:
    """The overview of the year before the latest, the first other year a visitor picks
    (its tiles, ranking, map, reconciliation and sources, as for the latest), in ``lang``
    (one step a language: a page run waits for no more than one short step)."""
    _overview(store, store_key, key, year, (lang,))


def _trends(store, store_key: tuple[str, str], year: int) -> None:
    """The trends page as it opens (the whole city; the pyramid of ``year`` against the
    first year, as shares; the first indicator of the districts' grid), in both languages,
    with the sources its charts' CSVs name."""
    trends = importlib.import_module("pages.trends")
    skey = str(store_key)
    for lang in LANGUAGES:
        ctx = _context(store, store_key, year, lang)
        first = ctx.years[0] if ctx.years[0] != year else None
        trends.pyramid_figure(ctx, year, first, True)
        trends.age_group_figure(ctx)
        trends.vital_figure(ctx)
        trends.ageing_figure(ctx)
        trends.multiples_figure(ctx, trends.SMALL_MULTIPLE_KPIS[0])
    for layer in ("population_districts", "vital_events"):
        provenance.year_sources(store, skey, layer, None)


def _forecast(store, store_key: tuple[str, str], years: tuple[int, ...]) -> None:
    """The forecast page as it opens (its default target for the whole city from the latest
    base year, every scenario, the backtest's choice and the facilities' gap)."""
    forecast = importlib.import_module("pages.forecast")
    skey, base = str(store_key), int(years[-1])
    if len(years) < forecast.MIN_HISTORY:
        return
    target, horizon, model = forecast.DEFAULT_TARGET, forecast.DEFAULT_HORIZON, "auto"
    forecast._districts(store, skey)
    for scenario in ("medium", "low", "high"):
        forecast._forecast(store, skey, target, None, base, horizon, model, scenario)
    forecast._history(store, skey, target, None, base)
    forecast._backtest(store, skey, target, base)
    forecast._chosen(store, skey, target, base, horizon)
    forecast._gap(store, skey, None, base, horizon, model, "medium")


def _planning_map(store, key: str, year: int) -> None:
    """What the planning map draws around its map on opening (the default type, the whole
    city in ``year``; its analysis is made before), but the layers and released figures of
    the view itself, which pass the access decision when a visitor asks."""
    pl.district_names(store, key)
    pl.outline_layers(store, key, pl.area_view(store, key, None), None)
    for layer, types in (("facilities", (DEFAULT_TYPE,)), ("population_cells", None)):
        _sources(store, key, layer, types, year, types)
    provenance._grid_gap(store, key, year, None)
    provenance.facility_sources_by_id(store, key, DEFAULT_TYPE, year)  # the map's tooltips
    # the English form of each facility's name, which English pages show (names, not counts)
    facilities = pl.analyse(store, key, DEFAULT_TYPE, year,
                            accessibility.default_group(DEFAULT_TYPE), None).facilities
    pl.facility_names(facilities["name"], "en")
    pl.availability(store, key, DEFAULT_TYPE, year)
    reconcile.measures(store, key, DEFAULT_TYPE, year, None)
    pl.supply_table(store, key, year)
    pl.ahead(store, key, DEFAULT_TYPE, year)


def _landing(store, store_key: tuple[str, str], key: str, years: tuple[int, ...]) -> None:
    """The first part: what the overview and the planning map need on opening."""
    year = population.default_year(years)
    _step("overview KPIs", lambda: data.all_kpis(*store_key))
    # the page modules load at their first run
    _step("overview page", lambda: importlib.import_module("pages.overview"))
    _step("overview figures", lambda: _overview(store, store_key, key, year))
    _step("planning map page", lambda: importlib.import_module("pages.planning_map"))
    _step(f"planning analysis: {DEFAULT_TYPE}", lambda: pl.analyse(
        store, key, DEFAULT_TYPE, year, accessibility.default_group(DEFAULT_TYPE), None))
    _step("planning map figures", lambda: _planning_map(store, key, year))
    # the first sites a planner asks for are named at once (a few thousand landmarks read and
    # their names split, about 0.07 s on a whole city)
    _step("site names", lambda: places.prepare(store, year))


def _rest(store, store_key: tuple[str, str], key: str, years: tuple[int, ...],
          district_ids: tuple[int, ...]) -> None:
    """The second part, step by step, each when no page is running."""
    latest = int(years[-1])
    # first what a visitor of the landing pages most likely asks next: the overview's other
    # year (the year before the latest), then each other facility type and each district of
    # the planning map, then the trends and forecast pages as they open
    for lang in LANGUAGES if len(years) > 1 else ():
        _step(f"overview, the year before ({lang})", lambda lang=lang: _year_before(
            store, store_key, key, int(years[-2]), lang), True)
    for type_key in (k for k in FACILITY_TYPES if k != DEFAULT_TYPE):
        group = accessibility.default_group(type_key)
        _step(f"planning analysis: {type_key}",
              lambda t=type_key, g=group: pl.analyse(store, key, t, latest, g, None), True)
        _step(f"facility names in English: {type_key}",   # what its map's tooltips say
              lambda t=type_key, g=group: pl.facility_names(
                  pl.analyse(store, key, t, latest, g, None).facilities["name"], "en"), True)
        _step(f"availability: {type_key}",
              lambda t=type_key: pl.availability(store, key, t, latest), True)
        _step(f"facility sources: {type_key}",   # its source line, CSV and tooltips
              lambda t=type_key: (_sources(store, key, "facilities", (t,), latest, (t,)),
                                  provenance.facility_sources_by_id(store, key, t, latest)),
              True)
        if type_key in DEMAND_TYPES:   # need against capacity in 5 and 10 years
            _step(f"looking ahead: {type_key}",
                  lambda t=type_key: pl.ahead(store, key, t, latest), True)
        if type_key in reconcile.RATIO_TYPES:
            _step(f"reconciliation: {type_key}",
                  lambda t=type_key: reconcile.measures(store, key, t, latest, None), True)
    for district in district_ids:  # what choosing a district on the planning map reads
        _step(f"district {district}", lambda d=district: (
            provenance._summary(store, key, "facilities", (DEFAULT_TYPE,), latest, d),
            provenance._summary(store, key, "population_cells", None, latest, d),
            reconcile.measures(store, key, DEFAULT_TYPE, latest, d)), True)
    _step("trends page", lambda: _trends(store, store_key, population.default_year(years)),
          True)
    _step("forecast page", lambda: _forecast(store, store_key, years), True)
    for name in [p[1] for p in PAGES if p[1] not in LANDING_PAGES]:
        _step(f"page {name}", lambda n=name: importlib.import_module(f"pages.{n}"), True)
    # deck.gl's widget (it brings ipywidgets, about a second): only the 3D view and a map
    # over a city's own basemap use it (flat maps are drawn on a canvas)
    _step("3D map widget", lambda: importlib.import_module("pydeck.widget"), True)

    def backtest():
        # deferred: the forecasters (scikit-learn, about 1 s) load in this thread only
        from analytics import forecast

        forecast.evaluate(store, latest)

    _step("forecast backtest", backtest, True)


def _warm(store_key: tuple[str, str], years: tuple[int, ...],
          district_ids: tuple[int, ...]) -> None:
    t0 = time.perf_counter()
    store = shell.open_store(store_key[0])
    key = pl.store_key(store)
    try:
        _landing(store, store_key, key, years)
    finally:
        done["landing"] = time.perf_counter() - t0
        log.info("landing pages ready in %.1f s", done["landing"])
        touch()  # the first visitors come now: the rest waits for them
        ready.set()
    progress["phase"] = "rest"
    _rest(store, store_key, key, years, district_ids)
    progress.update(phase="done", step=None)
    done["all"] = time.perf_counter() - t0
    log.warning("caches warmed in %.1f s", done["all"])
