"""Every page of the app in headless Chromium, in both languages: it renders, shows no
Streamlit exception, logs no browser console error, asks no outside host for anything, and
its screenshot (saved to ``screenshots/``) is not blank."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import SCREENSHOTS
from PIL import Image

from dashboard.navigation import GROUP_ORDER, PAGES

pytestmark = pytest.mark.e2e
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}
DEFAULT_SCRIPT = min(PAGES, key=lambda p: GROUP_ORDER.index(p[0]))[1]


def not_blank(path: Path) -> bool:
    """More than 2 % of the pixels differ from the background, in more than a few colours."""
    img = Image.open(path).convert("RGB")
    img.thumbnail((400, 400))
    pixels = list(zip(*(band.tobytes() for band in img.split()), strict=True))
    background = max(set(pixels), key=pixels.count)
    inked = sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, background, strict=True)) > 30)
    return inked / len(pixels) > 0.02 and len(set(pixels)) > 20


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("script", [script for _, script, _, _ in PAGES])
def test_page_renders(server, browser, script, lang):
    name = Path(script).stem
    # the default page (first of the first group) is served at the root only
    path = "" if script == DEFAULT_SCRIPT else name
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url)
            if urlparse(r.url).hostname not in LOCAL_HOSTS and not r.url.startswith(("data:", "blob:"))
            else None)
    try:
        page.goto(f"{server}/{path}?lang={lang}", wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stMain"] h1', timeout=30_000)
        # wait until the script run is over (the status widget shows while it runs)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
            timeout=30_000)
        page.wait_for_timeout(1500)  # charts draw after the run
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()[:2000]
        SCREENSHOTS.mkdir(exist_ok=True)
        shot = SCREENSHOTS / f"{name}{'' if lang == 'zh' else '_en'}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert not_blank(shot), f"{shot} looks blank"
        assert not outside, f"{name} asked outside hosts: {outside[:5]}"
        assert not errors, f"browser console errors on {name}: {errors[:5]}"
    finally:
        page.close()
