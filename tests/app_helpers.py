"""Shared by the dashboard's AppTests: the fixture store on disk and an app runner."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from dash_fixture import make_store
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
PAGES = ROOT / "pages"


def fixture_store_file(directory: Path) -> Path:
    path = directory / "city.duckdb"
    if not path.exists():
        make_store(path).close()
    return path


def switch_page(at: AppTest, page: str | Path) -> AppTest:
    """Move an AppTest of the app to one of its pages, named ``pages/<name>.py`` or ``<name>``.

    The app's pages are callables served under their module's name
    (``dashboard.navigation.route``); ``AppTest.switch_page`` finds file pages only, so this
    sets the page hash Streamlit gives a page: the hash of its URL path. Like
    ``AppTest.switch_page``, it does not run the app.
    """
    at._page_hash = calc_hash(Path(page).stem)
    return at


def run_app(store: Path, monkeypatch, page: str | None = None, **params) -> AppTest:
    """The real app on ``store``, opened with URL ``params``, optionally on ``page``."""
    monkeypatch.setenv("CITYBRAIN_STORE", str(store))
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        switch_page(at, page)
        at.run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def shown_tables(at: AppTest) -> list:
    """The tables a page wrote as HTML (:mod:`dashboard.components.table`), in page order,
    read back by the standard library's HTML parser as a reader sees them."""
    from dashboard.components.table import read_tables

    return [t for m in at.markdown if "<table" in m.value for t in read_tables(m.value)]


class _Marks(HTMLParser):
    """Each mark of a server-drawn chart: its series, position and value (its ``data-``
    attributes) and its place (the bounds of a bar or a line)."""

    def __init__(self):
        super().__init__()
        self.marks = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("class") == "mark":
            self.marks.append({**a, "tag": tag})


def server_charts(at) -> list[list[dict]]:
    """The marks of each chart drawn with :mod:`dashboard.components.timechart`, in page
    order (the pyramid, age groups, births and deaths, the ageing index)."""
    out = []
    for m in at.markdown:
        if m.value.startswith("<svg") and 'class="mark"' in m.value:
            p = _Marks()
            p.feed(m.value)
            out.append(p.marks)
    return out


def chart_series(marks: list[dict]) -> dict[str, dict[str, float]]:
    """Series name -> {position (year or age band): value}, series in the order drawn."""
    out: dict[str, dict[str, float]] = {}
    for m in marks:
        out.setdefault(m["data-series"], {})[m["data-x"]] = float(m["data-value"])
    return out
