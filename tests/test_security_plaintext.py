"""What a user typed is shown as plain text: an application's purpose with an image link and a
phishing link, opened by the approving steward in Chromium, fetches nothing from outside and
is shown as the characters the applicant typed."""

from __future__ import annotations

from pathlib import Path

import pytest
from open_data_store import tiny_store
from server_helpers import serve, settle, sign_in

from analytics.identity import Actor
from analytics.opendata import accounts, applications

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
PURPOSE = ("Care planning ![x](http://203.0.113.9/track.png) please sign in again at "
           "[the portal](http://203.0.113.9/login) <img src=http://203.0.113.9/a.gif>")


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser):
    workdir = tmp_path_factory.mktemp("plain")
    path = workdir / "city.duckdb"
    s = tiny_store(path=path)
    admin = accounts.create_first_admin(s, "admin", "Root-pass-123")
    accounts.add_user(s, admin, "steward", "data_steward", "Green-tea-42")
    accounts.add_user(s, admin, "li.wei", "analyst", "Blue-river-7")
    applications.apply(s, Actor("li.wei", "analyst"), "care_subsidy_extract", PURPOSE,
                       ["sex", "age_band"], 30)
    s.close()
    running = serve(path, workdir)
    yield running.url
    running.stop()



@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_markdown_purpose_makes_no_outside_request(server, browser, lang):
    outside = []
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(server) and not r.url.startswith("data:") else None)
    sign_in(page, server, "steward", "Green-tea-42", lang)
    settle(page)
    page.get_by_role("link", name={"en": "Data applications", "zh": "数据申请"}[lang]).first.click()
    settle(page, 6)
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text('[data-testid="stMain"]')
    assert "![x](http://203.0.113.9/track.png)" in body      # the characters, not an image
    assert page.locator('[data-testid="stMain"] img[src*="203.0.113.9"]').count() == 0
    assert page.locator('[data-testid="stMain"] a[href*="203.0.113.9"]').count() == 0
    shots = ROOT / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"security_plain_purpose_{lang}.png"), full_page=True)
    page.close()
    assert not outside, outside
