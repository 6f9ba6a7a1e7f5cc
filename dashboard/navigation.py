"""The app's pages, grouped by audience. Add a page here (one line) and in ``pages/``."""

from __future__ import annotations

from pathlib import Path

PAGES_DIR = Path(__file__).parent.parent / "pages"

#: (group key, page script, title key, Material icon)
PAGES: list[tuple[str, str, str, str]] = [
    ("nav_overview", "overview.py", "page_overview", ":material/dashboard:"),
    ("nav_planning", "planning_map.py", "plan_nav_map", ":material/map:"),
    ("nav_planning", "site_recommendation.py", "plan_nav_sites", ":material/add_location_alt:"),
    ("nav_analysis", "trends.py", "page_trends", ":material/ssid_chart:"),
    ("nav_analysis", "forecast.py", "fc_page", ":material/trending_up:"),
    ("nav_data", "catalog.py", "od_page_catalog", ":material/dataset:"),
    ("nav_data", "applications.py", "od_page_applications", ":material/assignment:"),
    ("nav_data", "data_pooling.py", "page_ingest", ":material/upload_file:"),
    ("nav_data", "data_quality.py", "page_data_quality", ":material/fact_check:"),
    ("nav_data", "store_contents.py", "page_store", ":material/database:"),
    ("nav_data", "sign_in.py", "od_page_sign_in", ":material/login:"),
    ("nav_infrastructure", "infrastructure.py", "sensors_page", ":material/sensors:"),
]

GROUP_ORDER = ["nav_overview", "nav_planning", "nav_analysis", "nav_data", "nav_infrastructure"]
