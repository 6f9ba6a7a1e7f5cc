"""The app's pages, grouped by audience. Add a page here (one line) and in ``pages/``."""

from __future__ import annotations

from pathlib import Path

PAGES_DIR = Path(__file__).parent.parent / "pages"

#: (group key, page script, title key, Material icon)
PAGES: list[tuple[str, str, str, str]] = [
    ("nav_planning", "planning_map.py", "plan_nav_map", ":material/map:"),
    ("nav_planning", "site_recommendation.py", "plan_nav_sites", ":material/add_location_alt:"),
    ("nav_data", "store_contents.py", "page_store", ":material/database:"),
]

GROUP_ORDER = ["nav_overview", "nav_planning", "nav_analysis", "nav_data", "nav_infrastructure"]
