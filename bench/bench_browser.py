"""Speed as a person feels it: the real server driven in headless Chromium.

Each interaction the issue names (the overview's first and warm load, a change of year, the
planning map's first and warm load, a switch of facility type, a choice of district, the
site recommendation's load and computing sites, the trends and forecast pages) is timed
from the click (or, for a load, from the start of navigation) until the page has finished
drawing. "Finished" is decided in the
browser, not guessed:

* the run has begun (Streamlit's running indicator appeared after the click, or the page's
  expected element appeared where it was absent) and is over (the indicator is gone, nothing
  on the page is stale, no loading skeleton, every table has its canvas, every chart its SVG);
* the interaction's own expected element is present (e.g. the map of the chosen district,
  the title naming the chosen year);
* the page has been still for ``QUIET_MS``: no DOM change (a ``MutationObserver`` on the
  whole document), no long task on the main thread (a ``PerformanceObserver``; deck.gl
  parses a map's layers and tessellates its hexagons in long tasks that change no DOM) and
  no resource arriving (a map's layer rows fetched by URL). A
  long task's entry reaches the observer only after the check that the task held up has
  run, so a heartbeat (every 50 ms) counts a main thread blocked until the check as busy
  until then: without it, a map whose frame kept the main thread waiting for the GPU for
  seconds could be reported as drawn before that frame.

The time reported is that of the last change (DOM mutation or end of a long task) before the
quiet spell, on the browser's own clock; the quiet spell itself is not counted. Whether a run
began and ended is read from Streamlit's websocket (its ``script_finished`` messages, parsed
with Streamlit's own protobuf classes): the running indicator cannot say it, since it shows
only for runs longer than half a second. Each interaction is repeated (``BENCH_REPEAT``,
default 7) and reported as p50 and p95, beside the server's time for the same action and the
ratio of the two.

The server's time is measured in the server: the bench starts it with ``CITYBRAIN_RUN_LOG``
naming a file, and the server (:mod:`dashboard.runlog`) appends each script run's start, end
and duration to it, timed from Streamlit's own "script started" to "script stopped" events,
for full runs and fragment runs alike. After each action the bench reads the runs that started
after the click: "server" is their durations summed (an action that causes two runs, e.g. a
widget whose callback reruns the page, costs the server both), with their number beside it,
and "srv end" the time from the click to the last run's end on the machine's clock. It is not
read from the websocket, because what the browser reports of its websocket is handed over by
its main thread: while that thread draws the previous message (deck.gl parsing a map's layers,
say), the following messages wait, then arrive in a burst. A change of the planning map's
facility type showed its ``script_finished`` 0.8 s after the click for a run the server did in
0.1 s, which put the browser's drawing on the server's account and split "ours" from "the
browser's" wrongly. That websocket time is still shown ("ws seen", with the number of runs the
browser saw), since it is when the page could know the run was over; the gap between it and
"srv end" is time the message waited in the browser. First loads need a new server
each: ``BENCH_COLD`` (default 2) server starts; the first visitor comes as soon as the server
answers, or ``BENCH_FIRST_AFTER`` seconds later (a server started before anyone needs it);
``BENCH_ONLY_COLD=1`` measures the first loads alone. The machine's load average is printed
with every row, since a shared machine's load moves the figures.

"As soon as the server answers" means as soon as Streamlit's health check (``/_stcore/health``)
answers 200: a server that prepares its landing pages before serving the dashboard answers
503 until then (its API answers already). So that no such wait hides, two more rows give the
time from the server process's start: until the dashboard is served ("server: start to
dashboard served"), and until the first visitor's overview is drawn ("overview, first drawn
from process start": a visitor who opened the page the moment the process started).

``--compare ROOT`` (or ``BENCH_BASELINE=ROOT``) runs the same interactions first against the
code tree at ROOT (e.g. a checkout of the main branch), then against this tree, and prints
both side by side with the ratio: a before/after in the same session on the same store.

Run: ``python -m bench --store data/city.duckdb --only browser`` or
``python bench/bench_browser.py STORE [--compare ROOT]`` (Debian's chromium driven by Python
playwright; the browser is never downloaded). ``BENCH_PORT`` picks the server's port.
The framework's floor is measured in the same run: ``bench/floor_app.py`` (a title and one
selectbox) served by the same Streamlit under the same ``st.App``, uvicorn and config, its
first load (a new server each), warm load and a change of the selectbox. Each of the
dashboard's rows is then set beside the floor's (ours/floor and the seconds that are ours),
and a floor that alone is over a target is said so. ``BENCH_ONLY_FLOOR=1`` measures the floor
alone.

Targets (issue 15): p95 <= 1 s for a widget change, <= 2 s for a first load.
"""

# ruff: noqa: B023  (each lambda is called at once, in its own loop turn)
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from dashboard import runlog

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WIDGET_TARGET_S, LOAD_TARGET_S = 1.0, 2.0
QUIET_MS = 600
TIMEOUT_S = 120.0

#: Installed in every document before its own scripts: the time of the last DOM change or
#: long task on the browser's clock.
OBSERVER = """(() => {
  const cb = window.__cb = {last: performance.now(), beat: performance.now()};
  // a heartbeat: a main thread that was blocked up to a check (e.g. waiting for the GPU to
  // draw a frame) is a change even before the long task's entry reaches the observer
  setInterval(() => {
    const t = performance.now();
    if (t - cb.beat > 150) cb.last = Math.max(cb.last, t);
    cb.beat = t;
  }, 50);
  new MutationObserver(() => { cb.last = performance.now(); }).observe(
    document, {subtree: true, childList: true, attributes: true, characterData: true});
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) cb.last = Math.max(cb.last, e.startTime + e.duration);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { /* no long-task timing: DOM changes alone */ }
  try {
    // a map's layer rows fetched by URL: their arrival is a change (deck.gl draws them next)
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) cb.last = Math.max(cb.last, e.responseEnd);
    }).observe({type: 'resource'});
  } catch (e) { /* no resource timing */ }
})();"""

#: Drawn and still? ``expect`` is the interaction's own condition (a JS expression).
STATE = """([expect, quiet]) => {
  const cb = window.__cb;
  if (!cb) return {ok: false};
  const shown = sel => [...document.querySelectorAll(sel)].filter(e => {
    const r = e.getBoundingClientRect();
    return e.getClientRects().length && r.top < window.innerHeight && r.bottom > 0; });
  const expected = !!(0, eval)(expect);
  const drawn = !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stMain"] [data-stale="true"]')
    && shown('[data-testid="stSkeleton"]').length === 0
    && shown('[data-testid="stDataFrame"]').every(d => d.querySelector('canvas'))
    && shown('.js-plotly-plot').every(p => p.querySelector('.main-svg'))
    && !!document.querySelector('[data-testid="stMain"] h1');
  const now = performance.now();
  if (now - cb.beat > 150) cb.last = Math.max(cb.last, now);  // blocked until just now
  return {ok: expected && drawn && now - cb.last >= quiet, expected, drawn, last: cb.last,
          now};
}"""


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The module that records each script run on the server's clock (``CITYBRAIN_RUN_LOG``).
RUNLOG = ROOT / "dashboard" / "runlog.py"
#: The floor's server: ``bench/floor_app.py`` under the dashboard's ``st.App`` and uvicorn,
#: with its runs recorded by this tree's :data:`RUNLOG` (loaded from its file, so that a
#: baseline tree without it serves its floor the same way).
FLOOR_SERVER = ("import sys, importlib.util as u, streamlit as st, uvicorn; "
                "s = u.spec_from_file_location('runlog', sys.argv[3]); m = u.module_from_spec(s); "
                "s.loader.exec_module(m); m.install(); uvicorn.run(st.App(sys.argv[1]), "
                "host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')")
FLOOR_APP = Path(__file__).resolve().parent / "floor_app.py"


@contextlib.contextmanager
def serve(root: Path, store: Path | None, app: Path = FLOOR_APP):
    """``make run``'s server (dashboard and API in one process, with its start-up) from the
    code tree ``root`` on ``store``; yields its base URL, the start and start-up time, and
    the record of its script runs (:class:`ServerRuns`), and stops it afterwards. With no
    store: the framework's floor (``app``, by default :data:`FLOOR_APP`), served the same
    way from ``root`` (so with the same ``.streamlit/config.toml``)."""
    port = int(os.environ.get("BENCH_PORT") or _free_port())
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    runs = Path(log.name).with_suffix(".runs")
    env = {**os.environ, "PYTHONPATH": str(root), "CITYBRAIN_MQTT": "off",
           runlog.SETTING: str(runs)}
    t0 = time.perf_counter()
    if store is None:
        command = [sys.executable, "-c", FLOOR_SERVER, str(app), str(port), str(RUNLOG)]
    else:
        env["CITYBRAIN_STORE"] = str(store)
        command = [sys.executable, "-m", "dashboard.server", "--store", str(store), "--port",
                   str(port), "--host", "127.0.0.1"]
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            if proc.poll() is not None or time.perf_counter() - t0 > 180:
                raise RuntimeError("the server did not start:\n"
                                   + Path(log.name).read_text()[-2000:])
            time.sleep(0.1)
        up = time.perf_counter() - t0
        print(f"  server up (dashboard served) in {up:.1f} s (load {load_average()})",
              flush=True)
        yield base, t0, up, ServerRuns(runs)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if os.environ.get("BENCH_SERVER_LOG"):
            print(Path(log.name).read_text()[-3000:])
        log.close()
        Path(log.name).unlink(missing_ok=True)
        runs.unlink(missing_ok=True)


class Runs:
    """The script runs of one browser tab, read from Streamlit's websocket: every
    ``script_finished`` message, with its status and the time it arrived (Python clock)."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg, self.finished = ForwardMsg, []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, bytes | bytearray):
            return
        msg = self._msg()
        with contextlib.suppress(Exception):
            msg.ParseFromString(bytes(payload))
            if msg.WhichOneof("type") == "script_finished":
                self.finished.append((time.perf_counter(), msg.script_finished))

    def since(self, t: float) -> list[tuple[float, int]]:
        return [f for f in self.finished if f[0] >= t]

    def done_since(self, t: float) -> float | None:
        """Arrival of the first run that finished well after ``t`` (None: none yet)."""
        ok = (self._msg.FINISHED_SUCCESSFULLY, self._msg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
        return next((at for at, status in self.since(t) if status in ok), None)


class ServerRuns:
    """The script runs of one server as the server itself timed them: the lines its run
    record (``CITYBRAIN_RUN_LOG``, :mod:`dashboard.runlog`) gained, read as they come."""

    def __init__(self, path: Path):
        self.path, self.offset, self.runs = path, 0, []

    def since(self, t_wall: float) -> list[dict]:
        """Runs that started at or after ``t_wall`` (wall clock) and have ended."""
        new, self.offset = runlog.read(self.path, self.offset)
        self.runs.extend(new)
        return [r for r in self.runs if r["start"] >= t_wall]


@dataclass
class Sample:
    seconds: float               # click (or navigation start) to the last change, browser clock
    run: float | None            # click to the run's script_finished, as the browser saw it
    reruns: int                  # script runs the action caused, as the browser saw them
    server: float | None = None  # the server's time of those runs (summed), its own clock
    server_runs: int = 0         # script runs the server recorded for the action
    server_done: float | None = None  # click to the end of the last of them, wall clock


def settle(page, runs: Runs, expect: str, t0_browser: float | None, t0: float,
           t0_wall: float | None = None, server: ServerRuns | None = None) -> Sample:
    """Wait until a script run started after ``t0`` has finished successfully, and the page
    is drawn, shows ``expect`` and has been still for ``QUIET_MS``. The server's own record
    of the runs that started after ``t0_wall`` gives their time on the server."""
    deadline = time.perf_counter() + TIMEOUT_S
    state = {}
    while time.perf_counter() < deadline:
        done = runs.done_since(t0)
        if done is not None:
            with contextlib.suppress(Exception):  # a navigation in flight has no context
                state = page.evaluate(STATE, [expect, QUIET_MS])
                if state.get("ok"):
                    sample = Sample((state["last"] - (t0_browser or 0.0)) / 1000.0, done - t0,
                                    len(runs.since(t0)))
                    if server is not None and t0_wall is not None:
                        on_server(sample, server.since(t0_wall), t0_wall)
                    return sample
        page.wait_for_timeout(25)
    raise RuntimeError(f"the page did not settle (last state {state})")


def on_server(sample: Sample, runs: list[dict], t0_wall: float) -> Sample:
    """Set the server's side of ``sample`` from the runs it recorded for the action: the sum
    of their durations, their number, and the time from the action to the last one's end."""
    if runs:
        sample.server = sum(r["seconds"] for r in runs)
        sample.server_runs = len(runs)
        sample.server_done = max(r["end"] for r in runs) - t0_wall
    return sample


def mark(page) -> tuple[float, float, float]:
    """The browser's clock, Python's and the wall clock just before an action."""
    return float(page.evaluate("() => performance.now()")), time.perf_counter(), time.time()


def open_page(page, runs: Runs, url: str, expect: str,
              server: ServerRuns | None = None) -> Sample:
    t0, t0_wall = time.perf_counter(), time.time()
    page.goto(url, wait_until="commit", timeout=int(TIMEOUT_S * 1000))
    return settle(page, runs, expect, None, t0, t0_wall, server)


def choose(page, runs: Runs, label: str, option: str, expect: str,
           server: ServerRuns | None = None) -> Sample:
    """Pick ``option`` in the selectbox labelled ``label``; seconds until drawn."""
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True)).first
    target = page.get_by_role("option", name=option, exact=True).first
    for _ in range(5):  # a click during a redraw can miss: open the list until it shows
        box.click()
        try:
            target.wait_for(state="visible", timeout=3000)
            break
        except Exception:  # noqa: BLE001
            page.keyboard.press("Escape")
            page.wait_for_timeout(300)
    tb, t0, t0_wall = mark(page)
    target.click()
    return settle(page, runs, expect, tb, t0, t0_wall, server)


def compute_sites(page, runs: Runs, k: int, expect: str,
                  server: ServerRuns | None = None) -> Sample:
    """Ask for ``k`` sites and press the button; seconds until the answer is drawn."""
    box = page.locator('[data-testid="stNumberInput"]').filter(
        has=page.get_by_text("New sites k", exact=True)).first.locator("input")
    box.fill(str(k))
    tb, t0, t0_wall = mark(page)
    page.get_by_role("button", name="Recommend sites").first.click()
    return settle(page, runs, expect, tb, t0, t0_wall, server)


def key_has(key: str, inner: str = "canvas") -> str:
    """JS: the element with Streamlit key ``key`` holds ``inner``."""
    return f"document.querySelector('.st-key-{key} {inner}')"


def title_has(text: str) -> str:
    return ("[...document.querySelectorAll('[data-testid=\"stMain\"] h1')]"
            f".some(h => h.innerText.includes({json.dumps(text)}))")


FLOOR_FIRST = "floor: first load after start"
FLOOR_WARM = "floor: warm load"
FLOOR_CHANGE = "floor: change the selectbox"
MAP = "pl_map_{type}_{district}"    # the planning map's key before it was one key for all views


def map_shows(type_key: str, district: str) -> str:
    """JS: the planning map is drawn for ``type_key`` and ``district`` ("None": the whole
    city). The map is one chart under the key ``pl_map`` whatever the view, so the view is
    read from the link the same run wrote; a code tree that still keys the chart by view
    (:data:`MAP`) is recognised by that key."""
    area = "city" if district == "None" else district
    return (f"({key_has(MAP.format(type=type_key, district=district))}) || "
            f"(!!{key_has('pl_map')} && ((p) => p.get('pl_type') === {json.dumps(type_key)} "
            f"&& (p.get('district') || 'city') === {json.dumps(area)})"
            "(new URLSearchParams(location.search)))")
OVERVIEW = title_has("at a glance")
#: The site recommendation's answer: its figures, and its map (which the page may draw
#: before any sites are asked for, with the facilities there are now).
SITES_MAP = ("(document.querySelector('.st-key-pl_sites_map canvas') || "
             "document.querySelector('[data-testid=\"stDeckGlJsonChart\"] canvas')) && "
             "!!document.querySelector('[data-testid=\"stMetric\"]')")


@dataclass
class Row:
    name: str
    kind: str                            # load | widget
    samples: list[Sample] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        return [s.seconds for s in self.samples]

    def p(self, q: float, xs: list[float] | None = None) -> float:
        xs = sorted(self.times if xs is None else xs)
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]

    def median(self, attribute: str) -> float | None:
        xs = [getattr(s, attribute) for s in self.samples]
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else None

    def server(self) -> float | None:
        """The server's time of the runs an action caused (summed), on its clock: median."""
        return self.median("server")


def run_browser(root: Path, store: Path) -> dict[str, Row]:
    """Every interaction against the server of ``root``; rows by name."""
    from playwright.sync_api import sync_playwright

    repeat = int(os.environ.get("BENCH_REPEAT", "7"))
    cold = int(os.environ.get("BENCH_COLD", "2"))
    first_after = float(os.environ.get("BENCH_FIRST_AFTER", "0"))
    only_cold = os.environ.get("BENCH_ONLY_COLD", "") not in ("", "0")
    rows: dict[str, Row] = {}

    def record(name: str, kind: str, fn) -> None:
        row = rows.setdefault(name, Row(name, kind))
        try:
            row.samples.append(fn())
            row.loads.append(load_average())
        except Exception as exc:  # noqa: BLE001 - report and go on
            print(f"    {name}: failed ({type(exc).__name__}: {str(exc)[:300]})", flush=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def fresh():
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            context.add_init_script(OBSERVER)
            page = context.new_page()
            return context, page, Runs(page)

        floor_title = title_has("Floor, ")
        for n in range(cold):
            # the framework's floor, on a server of its own, the same way as the dashboard
            with serve(root, None) as (base, _, _, srv):
                time.sleep(first_after)
                context, page, runs = fresh()
                record(FLOOR_FIRST, "load",
                       lambda: open_page(page, runs, f"{base}/", floor_title, srv))
                if n == cold - 1 and not only_cold:
                    for _ in range(repeat):
                        record(FLOOR_WARM, "load",
                               lambda: open_page(page, runs, f"{base}/", floor_title, srv))
                    for i in range(repeat):
                        year = ("2024", "2025")[i % 2]
                        record(FLOOR_CHANGE, "widget", lambda y=year: choose(
                            page, runs, "Year", y, title_has(f"Floor, {y}"), srv))
                context.close()
        day_care = map_shows("elderly_day_care", "None")
        for n in range(0 if os.environ.get("BENCH_ONLY_FLOOR", "") not in ("", "0") else cold):
            with serve(root, store) as (base, started, up, srv):
                # a first visitor right after start-up (or BENCH_FIRST_AFTER seconds later),
                # with nothing in the browser's cache
                time.sleep(first_after)
                context, page, runs = fresh()
                record("server: start to dashboard served", "start",
                       lambda: Sample(up, None, 0))
                opened = time.perf_counter() - started
                record("overview, first load after start", "load",
                       lambda: open_page(page, runs, f"{base}/?lang=en", OVERVIEW, srv))
                first = rows["overview, first load after start"]
                if len(first.samples) == len(rows["server: start to dashboard served"].samples):
                    record("overview, first drawn from process start", "start",
                           lambda: Sample(opened + first.samples[-1].seconds, None, 0))
                context.close()
                context, page, runs = fresh()
                record("planning map, first load", "load", lambda: open_page(
                    page, runs, f"{base}/planning_map?lang=en", day_care, srv))
                context.close()
                if n < cold - 1 or only_cold:
                    continue
                context, page, runs = fresh()
                url = f"{base}/?lang=en"
                for _ in range(repeat):
                    record("overview, warm load", "load",
                           lambda: open_page(page, runs, url, OVERVIEW, srv))
                for i in range(repeat):
                    year = ("2024", "2025")[i % 2]
                    record("overview, change the year", "widget", lambda y=year: choose(
                        page, runs, "Year", y, title_has(f", {y}"), srv))
                url = f"{base}/planning_map?lang=en&year=2025"
                for _ in range(repeat):
                    record("planning map, warm load", "load",
                           lambda: open_page(page, runs, url, day_care, srv))
                types = [("kindergarten", "Kindergarten"),
                         ("elderly_day_care", "Elderly day-care centre")]
                for i in range(repeat):
                    key, label = types[i % 2]
                    record("planning map, switch facility type", "widget",
                           lambda k=key, lab=label: choose(
                               page, runs, "Facility type", lab,
                               map_shows(k, "None"), srv))
                if repeat % 2:  # back to the day-care centres (untimed)
                    choose(page, runs, "Facility type", "Elderly day-care centre", day_care)
                areas = [("330106", "Xihu District"), ("None", "Whole city")]
                for i in range(2 * repeat):
                    code, label = areas[i % 2]
                    name = ("planning map, choose a district" if code != "None"
                            else "planning map, back to the whole city")
                    record(name, "widget", lambda c=code, lab=label: choose(
                        page, runs, "Area", lab,
                        map_shows("elderly_day_care", c), srv))
                # the site page as it opens (its map of who is out of reach drawn, where the
                # code draws one before sites are asked for)
                asked = "!!document.querySelector('[data-testid=\"stAlert\"]')"   # the prompt
                record("site recommendation, load", "load", lambda: open_page(
                    page, runs, f"{base}/site_recommendation?lang=en&year=2025&district=city",
                    f"{title_has('ites')} && {asked}", srv))
                for i in range(repeat):
                    record("site recommendation, compute sites (new k)", "widget",
                           lambda k=5 + i: compute_sites(page, runs, k, SITES_MAP, srv))
                for name, path in (("trends", "trends"), ("forecast", "forecast")):
                    url = f"{base}/{path}?lang=en"
                    for _ in range(repeat):
                        record(f"{name}, load", "load",
                               lambda u=url: open_page(page, runs, u, "true", srv))
                context.close()
        browser.close()
    for row in rows.values():
        print(f"    {row.name}: " + ", ".join(f"{t:.2f}" for t in row.times)
              + " (server: " + ", ".join(_num(x.server, 0) for x in row.samples) + ")",
              flush=True)
    return rows


def _num(x: float | None, width: int, digits: int = 2) -> str:
    return f"{x:{width}.{digits}f}" if x is not None else f"{'-':>{width}}"


def report(rows: dict[str, Row], label: str) -> None:
    print(f"\n{label}\n{'interaction':44} {'n':>2} {'p50':>6} {'p95':>6} {'server':>6} "
          f"{'runs':>4} {'srv end':>7} {'ws seen':>7} {'ws runs':>7} {'p50/srv':>7} "
          f"{'target':>6}       load average (1/5/15 min)")
    for r in rows.values():
        if not r.samples:
            continue
        target = LOAD_TARGET_S if r.kind == "load" else WIDGET_TARGET_S
        srv = r.server()
        ratio = f"{r.p(0.5) / srv:6.1f}x" if srv else "      -"
        flag = "ok" if r.p(0.95) <= target else "OVER"
        reruns = statistics.median(s.reruns for s in r.samples)
        server_runs = r.median("server_runs") if srv is not None else None
        aim = f"{target:4.1f} s {flag:4}" if r.kind != "start" else f"{'-':>6} {'':4}"
        print(f"{r.name:44} {len(r.samples):2d} {r.p(0.5):6.2f} {r.p(0.95):6.2f} "
              f"{_num(srv, 6, 3)} {f'{server_runs:4g}' if server_runs is not None else '   -'} "
              f"{_num(r.median('server_done'), 7)} {_num(r.median('run'), 7)} "
              f"{reruns:7.0f} {ratio} {aim}  {r.loads[0]} .. {r.loads[-1]}")
    print("(seconds. p50/p95: click, or start of navigation, to the page's last change before "
          f"it was drawn and still for {QUIET_MS} ms, in headless Chromium; with fewer than 20 "
          "runs p95 is the largest or next largest. server: the server's own time of the "
          "script runs the action caused, summed when there were several (runs: how many, "
          "median), timed in the server process from each run's start to its end; median. "
          "srv end: click to the end of the last of those runs, on the machine's clock (the "
          "server's time plus the click's way to it, from the driver's click to the server's "
          "run start). ws seen: click to the browser handing "
          "over the run's script_finished message, read from its websocket (ws runs: how many "
          "it handed over), late by whatever kept the browser's main thread busy: not the "
          "server's time. p50/srv: how much longer the person waits than the server works. "
          "server: start to dashboard served, overview, first drawn from process start: "
          "seconds from the server process's start, no target.)")


def floor_of(row: Row, rows: dict[str, Row]) -> Row | None:
    """The floor's row that ``row`` is measured against: a first load against the floor's
    first load, another load against its warm load, a widget change against its change."""
    if row.name.startswith("floor:") or row.kind == "start":
        return None
    name = FLOOR_CHANGE if row.kind == "widget" else \
        FLOOR_FIRST if "first load" in row.name else FLOOR_WARM
    floor = rows.get(name)
    return floor if floor is not None and floor.samples else None


def report_floor(rows: dict[str, Row]) -> None:
    """How much of each time is the framework's own floor on this machine, and how much ours."""
    floors = [r for r in rows.values() if r.name.startswith("floor:") and r.samples]
    if not floors:
        return
    print(f"\n{'against the floor':44} {'floor p50':>9} {'p95':>6} {'ours/floor p50':>14} "
          f"{'p95':>6} {'ours-floor p50':>14}")
    for r in rows.values():
        floor = floor_of(r, rows)
        if floor is None or not r.samples:
            continue
        print(f"{r.name:44} {floor.p(0.5):9.2f} {floor.p(0.95):6.2f} "
              f"{r.p(0.5) / floor.p(0.5):13.1f}x {r.p(0.95) / floor.p(0.95):5.1f}x "
              f"{r.p(0.5) - floor.p(0.5):14.2f}")
    for f in floors:
        target = LOAD_TARGET_S if f.kind == "load" else WIDGET_TARGET_S
        if f.p(0.95) > target:
            print(f"NOTE: the floor alone is over the target: {f.name} p95 {f.p(0.95):.2f} s > "
                  f"{target:.1f} s (a trivial page under the same framework on this machine)")
    print("(floor: a title and one selectbox under the same Streamlit, st.App and config; "
          "a first load is set against the floor's first load, other loads against its warm "
          "load, widget changes against its change. ours-floor: seconds that are ours.)")


def compare(before: dict[str, Row], after: dict[str, Row]) -> None:
    print(f"\n{'interaction':44} {'before p50':>10} {'p95':>6} {'after p50':>10} {'p95':>6} "
          f"{'p50 ratio':>9} {'p95 ratio':>9}")
    for name, a in after.items():
        b = before.get(name)
        if not a.samples or b is None or not b.samples:
            continue
        print(f"{name:44} {b.p(0.5):10.2f} {b.p(0.95):6.2f} {a.p(0.5):10.2f} {a.p(0.95):6.2f} "
              f"{a.p(0.5) / b.p(0.5):8.2f}x {a.p(0.95) / b.p(0.95):8.2f}x")
    print("(ratio = after / before, same store, same session; below 1 is faster)")


def main(store_path: Path, baseline: Path | None = None) -> None:
    baseline = baseline or (Path(os.environ["BENCH_BASELINE"])
                            if os.environ.get("BENCH_BASELINE") else None)
    with tempfile.TemporaryDirectory(prefix="citybrain-browser-") as tmp:
        store = Path(tmp) / "city.duckdb"  # the server opens its store read-write
        results = {}
        for label, root in (("before", baseline), ("after", ROOT)):
            if root is None:
                continue
            root = Path(root).resolve()
            shutil.copyfile(store_path, store)
            print(f"\n-- {label}: code tree {root.name} (load {load_average()})", flush=True)
            results[label] = run_browser(root, store)
            report(results[label], f"{label}: {root.name} (load at end {load_average()})")
            report_floor(results[label])
        if "before" in results:
            compare(results["before"], results["after"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store")
    parser.add_argument("--compare", help="code tree to measure first, as the baseline")
    args = parser.parse_args()
    main(Path(args.store), Path(args.compare) if args.compare else None)
