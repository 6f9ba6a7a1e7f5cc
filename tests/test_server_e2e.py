"""The one server in headless Chromium: a sign-in that survives a reload and a new tab, a
sign-out that ends it (the old cookie is dead too), CSRF-protected forms, and the API page
in both languages with no request leaving the machine."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from server_helpers import ROOT, settle, start

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(small_store_path, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    running = start(small_store_path, tmp_path_factory.mktemp("server_e2e"))
    yield running
    running.stop()



def _signed_in(page) -> bool:
    return page.get_by_text("Signed in: li.wei").count() >= 1


def test_sign_in_lasts_across_reload_and_tabs_and_sign_out_ends_it(server, browser):
    shots = ROOT / "screenshots"
    shots.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    outside = []
    context.on("request", lambda r: outside.append(r.url)
               if not r.url.startswith(server.url) and not r.url.startswith("data:") else None)
    page = context.new_page()
    page.goto(f"{server.url}/auth/sign-in?lang=zh")
    assert page.get_by_role("button", name="登录").count() == 1
    page.screenshot(path=str(shots / "server_sign_in_form_zh.png"))
    # The sign-in page has no password form of its own: its one way in is the link to the
    # server's form, which sets the lasting cookie and comes back to the page.
    links = {"zh": "登录（刷新页面或打开新标签页后仍保持登录）",
             "en": "Sign in (stays signed in across reloads and new tabs)"}
    for lang in ("zh", "en"):
        page.goto(f"{server.url}/sign_in?lang={lang}")
        settle(page)
        assert page.get_by_role("link", name=links[lang]).count() == 1
        assert page.locator('[data-testid="stApp"] input[type=password]').count() == 0
        page.screenshot(path=str(shots / f"server_sign_in_page_{lang}.png"))
    page.get_by_role("link", name=links["en"]).click()
    page.wait_for_url(f"{server.url}/auth/sign-in?lang=en&next=/sign_in", timeout=30000)
    page.screenshot(path=str(shots / "server_sign_in_form_en.png"))
    page.fill("#u", "li.wei")
    page.fill("#p", "Blue-river-7")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/sign_in?lang=en", timeout=30000)
    cookie = next(c for c in context.cookies() if c["name"] == "citybrain_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
    settle(page)
    assert _signed_in(page)
    page.reload()
    settle(page)
    assert _signed_in(page), "a reload keeps the sign-in"
    page.screenshot(path=str(shots / "server_account_tokens_en.png"), full_page=True)
    other = context.new_page()
    other.goto(f"{server.url}/sign_in?lang=zh")
    settle(other)
    assert other.get_by_text("已登录：li.wei").count() >= 1, "a new tab keeps the sign-in"
    other.screenshot(path=str(shots / "server_account_tokens_zh.png"), full_page=True)
    other.close()
    # sign out through the server's form; the page and a reload are signed out
    page.goto(f"{server.url}/auth/sign-out?lang=en")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/?lang=en", timeout=30000)
    page.goto(f"{server.url}/sign_in?lang=en")
    settle(page)
    assert not _signed_in(page) and page.get_by_text("Staff sign-in").count() == 1
    page.reload()
    settle(page)
    assert not _signed_in(page)
    context.close()
    # the copied cookie of the revoked session signs nobody in
    replay = browser.new_context()
    replay.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
    p2 = replay.new_page()
    p2.goto(f"{server.url}/sign_in?lang=en")
    settle(p2)
    assert not _signed_in(p2)
    replay.close()
    assert not outside, outside


def test_forms_refuse_a_cross_site_post(server):
    r = requests.post(f"{server.url}/auth/sign-in?lang=en", timeout=30,
                      data={"username": "li.wei", "password": "Blue-river-7", "csrf": "forged"},
                      cookies={"citybrain_csrf": "other"}, allow_redirects=False)
    assert r.status_code == 403 and "citybrain_session" not in r.cookies
    r = requests.post(f"{server.url}/auth/sign-in?lang=en", timeout=30,
                      data={"username": "li.wei", "password": "wrong-password-1", "csrf": "same"},
                      cookies={"citybrain_csrf": "same"}, allow_redirects=False)
    assert r.status_code == 401 and "citybrain_session" not in r.cookies
    assert "Sign-in refused" in r.text
    r = requests.post(f"{server.url}/auth/sign-in?lang=zh", timeout=30,
                      data={"username": "li.wei", "password": "wrong-password-1", "csrf": "same"},
                      cookies={"citybrain_csrf": "same"}, allow_redirects=False)
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_api_page_in_both_languages(server, browser):
    shots = ROOT / "screenshots"
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    outside = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(server.url) and not r.url.startswith("data:") else None)
    for lang, title in (("en", "API"), ("zh", "开放接口（API）")):
        page.goto(f"{server.url}/open_api?lang={lang}")
        settle(page)
        # the examples are shown (the curl tab's code names the datastore action)
        page.wait_for_function("document.body.innerText.includes('--data-urlencode')",
                               timeout=60000)
        page.screenshot(path=str(shots / f"server_api_page_{lang}.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_role("heading", name=title).count() >= 1
        assert "/api/3/action/datastore_search" in page.inner_text("body")
        # every page is listed in the sidebar, none folded behind Streamlit's own (English)
        # "View n more" link
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert ("井盖监测" if lang == "zh" else "Manhole covers") in nav
        assert "View" not in nav, nav
    page.close()
    assert not outside, outside
