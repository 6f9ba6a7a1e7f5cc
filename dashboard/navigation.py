"""The app's pages, grouped by audience. Add a page here (one line) and in ``pages/``."""

from __future__ import annotations

from pathlib import Path

PAGES_DIR = Path(__file__).parent.parent / "pages"

#: (group key, page script, title key, Material icon)
PAGES: list[tuple[str, str, str, str]] = [
    ("nav_data", "store_contents.py", "page_store", ":material/database:"),
    ("nav_data", "data_pooling.py", "page_ingest", ":material/upload_file:"),
    ("nav_data", "data_quality.py", "page_data_quality", ":material/fact_check:"),
]

GROUP_ORDER = ["nav_overview", "nav_planning", "nav_analysis", "nav_data", "nav_infrastructure"]
