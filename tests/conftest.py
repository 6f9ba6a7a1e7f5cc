"""Shared fixtures: small real stores built by the same code the app uses.

The suite never waits on a full-city build: ``small_store_path`` is 西湖区 and 滨江区 of
Hangzhou, built once per session (a few seconds); district-level calibration is checked on
the district model alone, which is the same code without the cell allocation.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analytics.citygen.build import BuildConfig, BuildContext
from analytics.store import Store

# The app warms its caches in a background thread (dashboard/warm.py); AppTests measure the
# pages themselves, and a warming thread would compete with them for the store and the CPU.
os.environ.setdefault("CITYBRAIN_WARM", "0")

@pytest.fixture()
def small_store(small_store_path) -> Store:
    # Opened as the app opens it: DuckDB refuses a second connection to the same file in one
    # process with another read_only setting (AppTest runs the app in this process).
    store = Store.open(small_store_path)
    yield store
    store.close()


@pytest.fixture(scope="session")
def hangzhou_model():
    """The district-level population model of all of Hangzhou (no cells)."""
    from analytics.citygen import boundaries, population

    ctx = BuildContext(BuildConfig())
    boundaries.stage(ctx)
    return population.district_model(ctx)


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (Debian's package, never a download).

    Playwright's sync API allows one instance per thread, so every browser test shares it.
    """
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set CHROMIUM=/path/to/chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
