"""The catalog, sign-in and applications pages show what analytics decides."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import switch_page
from open_data_store import tiny_store
from streamlit.testing.v1 import AppTest

from analytics.identity import Actor
from analytics.opendata import accounts, applications
from analytics.store import Store
from dashboard import auth
from dashboard.shell import open_store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ROOT / "pages"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("od") / "city.duckdb"
    s = tiny_store(path=path)
    admin = accounts.create_first_admin(s, "admin", "Root-pass-123")
    accounts.add_user(s, admin, "steward", "data_steward", "Green-tea-42")
    accounts.add_user(s, admin, "li.wei", "analyst", "Blue-river-7")
    applications.apply(s, Actor("li.wei", "analyst"), "care_subsidy_extract",
                       "Coverage of elderly subsidies for care planning", ["sex", "age_band"], 30)
    s.close()
    return path


def page(store_path, monkeypatch, name: str, user: tuple[str, str] | None = None,
         **params) -> AppTest:
    """The page as a visitor, or signed in as ``(user, password)`` through real accounts
    (the session the server's sign-in form would put in the cookie)."""
    monkeypatch.setenv("CITYBRAIN_STORE", str(store_path))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    if user is not None:
        at.session_state[auth.TOKEN_KEY] = accounts.sign_in(
            open_store(str(store_path)), *user).token
    switch_page(at, str(PAGES / name))
    return at.run()


def test_catalog_lists_every_dataset_with_facets(store_path, monkeypatch):
    at = page(store_path, monkeypatch, "catalog.py", lang="en")
    assert not at.exception
    listing = at.dataframe[0].value
    with Store.open(store_path) as s:
        from analytics.opendata import catalog

        assert len(listing) == len(catalog.datasets(s)) >= 21
    assert "Population grid (H3 resolution 9)" in set(listing["Dataset"])
    assert {m.label for m in at.multiselect} == {"Domain", "Department", "Access level",
                                                  "Format", "Update frequency"}
    negative = next(tb.value for tb in at.table if "Reason it is closed" in tb.value.columns)
    assert "Household-register personal records" in set(negative.index)
    assert negative["Reason it is closed"].str.len().gt(5).all()


def test_injection_search_is_refused_on_the_page(store_path, monkeypatch):
    at = page(store_path, monkeypatch, "catalog.py", lang="en")
    at.text_input(key="od_q").set_value("x'; DROP TABLE users; --").run()
    assert not at.exception
    assert any("Search refused" in e.value for e in at.error)
    with Store.open(store_path) as s:
        log = s.query("open_data.usage_log", n=5)
    assert (log["dataset_id"] == "(search)").any()


def test_confidential_dataset_in_url_is_refused_and_logged(store_path, monkeypatch):
    at = page(store_path, monkeypatch, "catalog.py", lang="en", dataset="care_subsidy_registry")
    assert not at.exception
    assert any("negative list" in w.value for w in at.warning)
    assert any("cannot be released" in e.value for e in at.error)
    # metadata and schema are shown; no preview of the records
    shown = [df.value for df in at.dataframe]
    assert not any("id_number" in f.columns for f in shown)
    with Store.open(store_path) as s:
        last = s.query("open_data.usage_log", n=1).iloc[0]
    assert (last["dataset_id"], last["outcome"], last["channel"]) == (
        "care_subsidy_registry", "refused", "page")


def test_refusals_are_given_in_chinese_on_chinese_pages(store_path, monkeypatch):
    at = page(store_path, monkeypatch, "catalog.py", lang="zh", dataset="care_subsidy_registry")
    assert not at.exception
    # the refusal is shown as written (Markdown's characters escaped): read as people read it
    refusal = next(text for text in (e.value.replace("\\", "") for e in at.error)
                   if "care_subsidy_registry" in text)
    assert "列入负面清单，不予开放" in refusal and "negative list" not in refusal


def test_public_dataset_page_shows_suppressed_preview(store_path, monkeypatch):
    at = page(store_path, monkeypatch, "catalog.py", lang="en", dataset="population_cells")
    assert not at.exception
    preview = next(df.value for df in at.dataframe if "persons" in df.value.columns)
    shown = preview["persons"].dropna()
    assert len(preview) == 20 and not ((shown >= 1) & (shown <= 9)).any()
    assert any("100" in m.value or "/ 100" in m.value for m in at.metric)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_only_password_sign_in_is_the_servers_form(store_path, monkeypatch, lang):
    """No tab-only password form: the page links to the server's sign-in form (which sets
    the lasting cookie and comes back here); refusals there are tested against the server."""
    at = page(store_path, monkeypatch, "sign_in.py", lang=lang)
    assert not at.exception
    assert len(at.text_input) == 0 and not any(b.label in ("Sign in", "登录") for b in at.button)
    link = next(m.value for m in at.markdown if "/auth/sign-in" in m.value)
    assert f'href="/auth/sign-in?lang={lang}&amp;next=/sign_in"' in link
    assert ("Sign in (stays signed in" if lang == "en" else "刷新页面或打开新标签页后仍保持登录") \
        in link
    assert at.session_state["actor"].is_public


def test_steward_sees_pending_applications(store_path, monkeypatch):
    at = page(store_path, monkeypatch, "sign_in.py", ("steward", "Green-tea-42"), lang="en")
    assert at.session_state["actor"] == Actor("steward", "data_steward")
    switch_page(at, str(PAGES / "applications.py")).run()
    assert not at.exception
    assert any("li.wei" in m.value for m in at.text)  # plain text: what people typed
    assert any(b.label == "Approve" for b in at.button)
    # a pending application has no expiry yet: an empty cell, not a null shown as "None"
    table = at.dataframe[-1].value.set_index("Application")
    assert table.loc[table["Requester"] == "li.wei", "Expires"].tolist() == [""]


def test_administrator_sees_accounts_in_the_page_language(store_path, monkeypatch):
    at = page(store_path, monkeypatch, "sign_in.py", ("admin", "Root-pass-123"), lang="zh")
    assert not at.exception
    users = next(df.value for df in at.dataframe if "角色" in df.value.columns)
    assert list(users.columns) == ["用户名", "姓名", "角色", "部门", "创建时间（UTC）", "创建人",
                                   "已停用", "密码登录"]
    row = users.set_index("用户名").loc["steward"]
    assert (row["角色"], row["部门"]) == ("数据管理员", "全部部门")


def test_facet_counts_follow_the_search_on_the_page(store_path, monkeypatch):
    """Issue 15: facet counts ignored the search. After searching, the domain facet's counts
    add up to the datasets listed, not to the whole catalog; English reasons are English."""
    import re

    at = page(store_path, monkeypatch, "catalog.py", lang="en")
    total = len(at.dataframe[0].value)
    at.text_input(key="od_q").set_value("养老").run()
    assert not at.exception
    listed = len(at.dataframe[0].value)
    assert 0 < listed < total
    counts = [int(re.search(r"\((\d+)\)$", o).group(1))
              for o in at.multiselect(key="od_f_theme").options]
    assert sum(counts) == listed
    negative = next(tb.value for tb in at.table if "Reason it is closed" in tb.value.columns)
    assert not negative["Reason it is closed"].str.contains(r"[\u4e00-\u9fff]").any()
