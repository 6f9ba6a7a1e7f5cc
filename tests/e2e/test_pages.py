"""Every page of the app in headless Chromium, in both languages: it renders, shows no
Streamlit exception, logs no browser console error, asks no outside host for anything, and
its screenshot (saved to ``screenshots/``) is not blank."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image

from dashboard.navigation import GROUP_ORDER, PAGES

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}
READY = """() => {
  // only what is on screen: content in a closed tab, or below the window, is not drawn
  const shown = sel => [...document.querySelectorAll(sel)].filter(e => {
    const r = e.getBoundingClientRect();
    return e.getClientRects().length && r.top < window.innerHeight && r.bottom > 0
      && (!e.checkVisibility || e.checkVisibility({contentVisibilityAuto: true,
                                                   visibilityProperty: true})); });
  return !document.querySelector('[data-testid="stStatusWidget"]')
    && shown('[data-testid="stSkeleton"]').length === 0
    && shown('[data-testid="stDataFrame"]').every(d => d.querySelector('canvas'))
    && shown('.js-plotly-plot').every(p => p.querySelector('.main-svg'));
}"""
DEFAULT_SCRIPT = min(PAGES, key=lambda p: GROUP_ORDER.index(p[0]))[1]


def not_blank(path: Path) -> bool:
    """More than 2 % of the pixels differ from the background, in more than a few colours."""
    img = Image.open(path).convert("RGB")
    img.thumbnail((400, 400))
    pixels = list(zip(*(band.tobytes() for band in img.split()), strict=True))
    background = max(set(pixels), key=pixels.count)
    inked = sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, background, strict=True)) > 30)
    return inked / len(pixels) > 0.02 and len(set(pixels)) > 20


def settle(page, timeout_s: float = 120, quiet_s: float = 2.0, steady_s: float = 20) -> None:
    """Wait until the page is READY, then (at most ``steady_s`` more) until its element
    count has not changed for ``quiet_s``: components load lazily after the script run,
    and a page that refreshes itself on a timer never stops changing."""
    deadline = time.monotonic() + timeout_s
    first_ready = None
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        ready = page.evaluate(READY)
        count = page.evaluate("() => document.querySelectorAll('[data-testid=\"stMain\"] *').length")
        now = time.monotonic()
        if ready and first_ready is None:
            first_ready = now
        if not ready or count != last:
            last, since = count, now
        elif now - since >= quiet_s:
            return
        if first_ready is not None and now - first_ready >= steady_s and page.evaluate(READY):
            return
        page.wait_for_timeout(250)
    raise AssertionError("the page did not finish rendering (still running or loading)")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("script", [script for _, script, _, _ in PAGES])
def test_page_renders(server, browser, script, lang):
    name = Path(script).stem
    # the default page (first of the first group) is served at the root only
    path = "" if script == DEFAULT_SCRIPT else name
    # A tall window: Streamlit scrolls inside the page, so this is what a screenshot holds.
    page = browser.new_page(viewport={"width": 1440, "height": 3000})
    errors: list[str] = []
    outside: list[str] = []
    probes: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url)
            if urlparse(r.url).hostname not in LOCAL_HOSTS
            and not r.url.startswith(("data:", "blob:")) else None)
    # Opened at a page's own URL, Streamlit's client first looks for the server one level
    # down (/<page>/_stcore/health, /host-config), gets 404 and falls back: not our error.
    page.on("response", lambda r: probes.append(r.url)
            if r.status == 404 and urlparse(r.url).path in
            (f"/{name}/_stcore/health", f"/{name}/_stcore/host-config") else None)
    try:
        page.goto(f"{server}/{path}?lang={lang}", wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stMain"] h1', timeout=60_000)
        # wait until the run is over and what it sent has drawn: no status widget, no
        # skeleton, a canvas in every table and map, an SVG in every chart
        settle(page)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()[:2000]
        SCREENSHOTS.mkdir(exist_ok=True)
        shot = SCREENSHOTS / f"{name}{'' if lang == 'zh' else '_en'}.png"
        page.screenshot(path=str(shot), timeout=120_000)
        assert not_blank(shot), f"{shot} looks blank"
        assert not outside, f"{name} asked outside hosts: {outside[:5]}"
        probe_404 = "Failed to load resource: the server responded with a status of 404"
        for _ in probes:
            if any(e.startswith(probe_404) for e in errors):
                errors.remove(next(e for e in errors if e.startswith(probe_404)))
        assert not errors, f"browser console errors on {name}: {errors[:5]}"
        if lang == "en":  # the language came from the link: no Chinese in the page title
            title = page.locator('[data-testid="stMain"] h1').first.inner_text()
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in title), title
    finally:
        page.close()
