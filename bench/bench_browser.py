"""Speed as a person feels it: the real server driven in headless Chromium.

Each interaction (open a page, change the year, the facility type, the district, compute
sites, ...) is timed from the click until the page is ready again: Streamlit's "running"
indicator gone, no loading skeleton on screen, every table and chart drawn, and the page's
element count steady for a short quiet spell (the quiet spell itself is not counted). Beside
each, the server-side time of the same rerun (Streamlit's ``AppTest``, same store, warm
caches) says how much of the wait is the script and how much the browser, the websocket and
the drawing. Targets (issue 15): p95 <= 1 s for a widget change, <= 2 s for a first load.

Run: ``python -m bench --store data/city.duckdb --only browser`` (Debian's chromium, driven
by Python playwright; the browser is never downloaded). ``BENCH_PORT`` picks the server's
port (default: a free one), ``BENCH_REPEAT`` the repeats per interaction (default 5).
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WIDGET_TARGET_S, LOAD_TARGET_S = 1.0, 2.0
QUIET_S = 0.4
READY = """() => {
  const shown = sel => [...document.querySelectorAll(sel)].filter(e => {
    const r = e.getBoundingClientRect();
    return e.getClientRects().length && r.top < window.innerHeight && r.bottom > 0; });
  return !document.querySelector('[data-testid="stStatusWidget"]')
    && shown('[data-testid="stSkeleton"]').length === 0
    && shown('[data-testid="stDataFrame"]').every(d => d.querySelector('canvas'))
    && shown('.js-plotly-plot').every(p => p.querySelector('.main-svg'));
}"""
COUNT = "() => document.querySelectorAll('[data-testid=\"stMain\"] *').length"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(store: Path):
    """The real app on ``store``; yields its base URL and stops it afterwards."""
    port = int(os.environ.get("BENCH_PORT") or _free_port())
    env = {**os.environ, "CITYBRAIN_STORE": str(store), "PYTHONPATH": str(ROOT)}
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            if proc.poll() is not None or time.perf_counter() - t0 > 120:
                raise RuntimeError("the server did not start:\n"
                                   + Path(log.name).read_text()[-2000:])
            time.sleep(0.2)
        print(f"server up in {time.perf_counter() - t0:.1f} s", flush=True)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        Path(log.name).unlink(missing_ok=True)


STARTED = """() => !!document.querySelector('[data-testid="stStatusWidget"]')"""
BUSY_OR_EMPTY = """() => !document.querySelector(
  '[data-testid="stMain"] [data-testid="stElementContainer"]')"""


def settle(page, started: float, before: int | None = None, timeout_s: float = 180.0) -> float:
    """Seconds from ``started`` until the page is ready and steady (quiet spell excluded).

    First the rerun must have begun: Streamlit's running indicator shows, or the page's
    element count differs from ``before`` (a widget change), or the page has content at all
    (a load). Then it must be READY with a steady element count for the quiet spell.
    """
    deadline = time.perf_counter() + timeout_s
    begun_by = time.perf_counter() + 5.0
    while time.perf_counter() < begun_by:
        if page.evaluate(STARTED):
            break
        if before is None and not page.evaluate(BUSY_OR_EMPTY):
            break
        if before is not None and page.evaluate(COUNT) != before:
            break
        page.wait_for_timeout(20)
    last, since = None, time.perf_counter()
    while time.perf_counter() < deadline:
        ready = page.evaluate(READY) and not page.evaluate(BUSY_OR_EMPTY)
        count = page.evaluate(COUNT)
        now = time.perf_counter()
        if not ready or count != last:
            last, since = count, now
        elif now - since >= QUIET_S:
            return since - started
        page.wait_for_timeout(40)
    raise RuntimeError("the page did not settle")


def choose(page, label: str, option: str) -> float:
    """Pick ``option`` in the selectbox labelled ``label``; seconds until ready."""
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
    before = page.evaluate(COUNT)
    started = time.perf_counter()
    target.click()
    return settle(page, started, before)


def press(page, name: str) -> float:
    before = page.evaluate(COUNT)
    started = time.perf_counter()
    page.get_by_role("button", name=name).first.click()
    return settle(page, started, before)


def open_page(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=180_000)
    return settle(page, started)


@dataclass
class Interaction:
    name: str
    kind: str                 # load | widget
    browser: list[float]
    server: float | None = None

    def p95(self) -> float:
        xs = sorted(self.browser)
        return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def server_time(store: Path, page: str, params: dict, action=None, repeat: int = 3) -> float:
    """Median seconds of the same rerun on the server alone (AppTest, warm caches)."""
    os.environ["CITYBRAIN_STORE"] = str(store)
    from streamlit.testing.v1 import AppTest

    runs = []
    for n in range(repeat + 1):
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page(str(ROOT / "pages" / page))
        t0 = time.perf_counter()
        at.run()
        if action is not None:
            t0 = time.perf_counter()
            action(at)
        if n:  # the first run warms the caches
            runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(store_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    results: list[Interaction] = []
    with serve(store_path) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        first = open_page(page, f"{base}/?lang=en")
        results.append(Interaction("overview, first load after start-up", "load", [first]))
        flip = {"year": "2025"}

        def other_year() -> float:
            flip["year"] = "2024" if flip["year"] == "2025" else "2025"
            return choose(page, "Year", flip["year"])

        rows = {
            "overview, warm load": ("load", lambda: open_page(page, f"{base}/?lang=en")),
            "overview, change the year": (
                "widget", other_year),
            "planning map, load": (
                "load", lambda: open_page(page, f"{base}/planning_map?lang=en&year=2025")),
            "planning map, choose a district": (
                "widget", lambda: choose(page, "Area", "Xihu District")),
            "planning map, back to the whole city": (
                "widget", lambda: choose(page, "Area", "Whole city")),
            "trends, load": ("load", lambda: open_page(page, f"{base}/trends?lang=en")),
            "forecast, load": ("load", lambda: open_page(page, f"{base}/forecast?lang=en")),
            "site recommendation, load": (
                "load", lambda: open_page(page, f"{base}/site_recommendation?lang=en")),
            "catalog, load": ("load", lambda: open_page(page, f"{base}/catalog?lang=en")),
        }
        for name, (kind, act) in rows.items():
            times = []
            for n in range(repeat):
                try:
                    if name == "planning map, choose a district" and n:
                        choose(page, "Area", "Whole city")     # untimed: back, to choose again
                    elif name == "planning map, back to the whole city" and n:
                        choose(page, "Area", "Xihu District")
                    times.append(act())
                except Exception as exc:  # noqa: BLE001 - report and go on
                    print(f"  {name}: failed ({type(exc).__name__}: {str(exc)[:80]})")
            if not times:
                continue
            results.append(Interaction(name, kind, times))
            print(f"  {name}: " + ", ".join(f"{t:.2f}" for t in times), flush=True)
        browser.close()
    # the same reruns on the server alone
    server = {
        "overview, warm load": ("overview.py", {"lang": "en"}, None),
        "overview, change the year": (
            "overview.py", {"lang": "en"},
            lambda at: at.selectbox(key="year").set_value(2024).run()),
        "planning map, load": ("planning_map.py", {"lang": "en", "year": "2025"}, None),
        "planning map, choose a district": (
            "planning_map.py", {"lang": "en", "year": "2025"},
            lambda at: at.selectbox(key="district").set_value("330106").run()),
        "trends, load": ("trends.py", {"lang": "en"}, None),
        "forecast, load": ("forecast.py", {"lang": "en"}, None),
        "site recommendation, load": ("site_recommendation.py", {"lang": "en"}, None),
        "catalog, load": ("catalog.py", {"lang": "en"}, None),
    }
    for r in results:
        if r.name in server:
            page_, params, action = server[r.name]
            try:
                r.server = server_time(store_path, page_, params, action)
            except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
                print(f"  server time of {r.name!r} failed: {exc}")
    print(f"\n{'interaction':42} {'median':>7} {'p95':>7} {'server':>7} {'ratio':>6} "
          f"{'target':>7}")
    for r in results:
        target = LOAD_TARGET_S if r.kind == "load" else WIDGET_TARGET_S
        med = statistics.median(r.browser)
        srv = f"{r.server:7.2f}" if r.server is not None else "      -"
        ratio = f"{r.p95() / r.server:5.1f}x" if r.server else "     -"
        flag = "ok" if r.p95() <= target else "OVER"
        print(f"{r.name:42} {med:7.2f} {r.p95():7.2f} {srv} {ratio} {target:5.1f} s {flag}")
    print("(seconds; browser = click to ready in headless Chromium, p95 over "
          f"{repeat} repeats; server = the same rerun in AppTest, warm; ratio = browser p95 "
          "/ server)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
