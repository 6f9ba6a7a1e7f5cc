"""The open-data pages in a real server and headless Chromium: they render, sign-in works,
an approved applicant sees the masked extract, and nothing is fetched from outside."""

from __future__ import annotations

from pathlib import Path

import pytest
from open_data_store import tiny_store
from server_helpers import serve, settle, sign_in

from analytics.identity import Actor
from analytics.opendata import accounts, applications

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    workdir = tmp_path_factory.mktemp("e2e")
    path = workdir / "city.duckdb"
    s = tiny_store(path=path)
    admin = accounts.create_first_admin(s, "admin", "Root-pass-123")
    accounts.add_user(s, admin, "steward", "data_steward", "Green-tea-42")
    accounts.add_user(s, admin, "li.wei", "analyst", "Blue-river-7")
    app = applications.apply(s, Actor("li.wei", "analyst"), "care_subsidy_extract",
                             "Coverage of elderly subsidies for care planning",
                             ["name", "id_number", "sex", "age_band", "district_adcode"], 30)
    applications.decide(s, Actor("steward", "data_steward"), app, True)
    s.close()
    running = serve(path, workdir)
    yield running.url
    running.stop()



def test_pages_render_and_an_applicant_sees_the_masked_extract(server, browser):
    shots = ROOT / "screenshots"
    shots.mkdir(exist_ok=True)
    outside = []
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(server) and not r.url.startswith("data:") else None)
    for path in ("catalog?lang=en", "catalog?lang=en&dataset=care_subsidy_registry",
                 "sign_in?lang=en"):
        page.goto(f"{server}/{path}")
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, path
        page.screenshot(path=str(shots / f"e2e_{path.split('?')[0]}_{len(path)}.png"))
    assert page.get_by_text("Staff sign-in").count() == 1
    sign_in(page, server, "li.wei", "Blue-river-7")
    settle(page)
    assert page.get_by_text("Signed in: li.wei").count() >= 1
    page.get_by_role("link", name="Data applications").click()
    settle(page)
    page.get_by_role("link", name="Open the dataset page: care_subsidy_extract").click()
    settle(page, 6)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("is approved until").count() == 1
    page.screenshot(path=str(shots / "e2e_extract_approved.png"))
    page.close()
    assert not outside, outside  # nothing leaves the machine
