"""The app's pages, grouped by audience. Add a page here (one line) and in ``pages/``.

Each page is a module of ``pages/`` with ``def page(ctx)``; :func:`route` turns it into an
``st.Page`` whose URL path is the module's name (``/planning_map``), so links stay stable.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import streamlit as st

from dashboard.i18n import translate
from dashboard.shell import page_context

PAGES_DIR = Path(__file__).parent.parent / "pages"

#: (group key, page module, title key, Material icon)
PAGES: list[tuple[str, str, str, str]] = [
    ("nav_overview", "overview", "page_overview", ":material/dashboard:"),
    ("nav_planning", "planning_map", "plan_nav_map", ":material/map:"),
    ("nav_planning", "site_recommendation", "plan_nav_sites", ":material/add_location_alt:"),
    ("nav_analysis", "trends", "page_trends", ":material/ssid_chart:"),
    ("nav_analysis", "forecast", "fc_page", ":material/trending_up:"),
    ("nav_data", "catalog", "od_page_catalog", ":material/dataset:"),
    ("nav_data", "applications", "od_page_applications", ":material/assignment:"),
    ("nav_data", "data_pooling", "page_ingest", ":material/upload_file:"),
    ("nav_data", "data_quality", "page_data_quality", ":material/fact_check:"),
    ("nav_data", "store_contents", "page_store", ":material/database:"),
    ("nav_data", "open_api", "api_page", ":material/api:"),
    ("nav_data", "sign_in", "od_page_sign_in", ":material/login:"),
    ("nav_infrastructure", "infrastructure", "sensors_page", ":material/sensors:"),
]

GROUP_ORDER = ["nav_overview", "nav_planning", "nav_analysis", "nav_data", "nav_infrastructure"]


def _runner(name: str):
    """The callable ``st.Page`` runs: the page's ``page(ctx)`` with this run's context."""

    def run() -> None:
        importlib.import_module(f"pages.{name}").page(page_context())

    run.__name__ = name
    return run


def route(name: str, lang: str) -> st.Page:
    """The ``st.Page`` of page module ``name`` (also what ``st.page_link`` takes)."""
    _, _, title, icon = next(p for p in PAGES if p[1] == name)
    return st.Page(_runner(name), title=translate(title, lang), icon=icon, url_path=name)
