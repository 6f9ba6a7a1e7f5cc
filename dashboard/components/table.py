"""Tables a person reads, written by the server as one piece of HTML.

``st.dataframe`` draws a table on a canvas with a grid library that the browser must fetch
and run first (about two megabytes of script, with the Arrow reader it needs): on the
overview that alone was 0.6 s of a first visit's 2.3 s, and the planning map paid it beside
its map. The tables people read on those pages (a ranking, a district summary, a planning
outlook: tens of rows) need none of it, so they are written here as a plain HTML table:
numbers right-aligned with thousands separators and one number of decimals per column, a
dash where there is no value (never ``None``), a column's explanation on hover of its
heading, a shortfall or surplus in its colour, the heading and the first columns held in
place while the table scrolls. A real ``<table>`` also reads well to a screen reader and
copies into a spreadsheet.

Every text is HTML-escaped and kept from Markdown's syntax (the markup is written into the
page through Streamlit's Markdown, as the district map is): a name from a department's file
shows as written, never as a link or markup.

>>> frame = pd.DataFrame({"District": ["<b>A</b>", "B"], "People": [2820, None]})
>>> markup = html_table(frame, helps={"People": "residents"})
>>> "&lt;b&gt;A&lt;/b&gt;" in markup, "2,820" in markup, "None" in markup
(True, True, False)
>>> read_tables(markup)[0].to_dict("list")
{'District': ['<b>A</b>', 'B'], 'People': [2820.0, nan]}
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser

import numpy as np
import pandas as pd

from dashboard.components.svg import svg_text, text_em

#: Written where a table has no value.
MISSING = "—"
#: Cell styles: compact rows, a light rule under each, numbers in figures of equal width.
_TABLE = ("border-collapse:separate;border-spacing:0;width:100%;font-size:0.875rem;"
          "line-height:1.35;margin:0")
_CELL = "padding:0.3rem 0.6rem;border-bottom:1px solid #e6e9ef;white-space:nowrap;"
_HEAD = ("position:sticky;top:0;z-index:2;background:#f7f8fa;font-weight:600;"
         "border-bottom:1px solid #c9ced6;")
_NUMBER = "text-align:right;font-variant-numeric:tabular-nums;"
_WRAP = "white-space:normal;min-width:7em;max-width:22em;"
_HELP = "text-decoration:underline dotted #8a94a3;cursor:help;"
#: A pinned column is as wide as its longest text (:func:`text_em`) plus the cell's padding.
_PAD_EM = 1.4


def decimals_shown(values: pd.Series, most: int = 4) -> int:
    """How many decimals a column of numbers needs so that every value in it is written with
    the same number (8.0 beside 8.1, not 8): the fewest, up to ``most``, that lose nothing.

    >>> decimals_shown(pd.Series([8.0, 8.1, 10.65])), decimals_shown(pd.Series([3.0, None]))
    (2, 0)
    """
    finite = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    for places in range(most):
        if np.allclose(finite, np.round(finite, places), rtol=0, atol=1e-9):
            return places
    return most


def number_text(value, places: int) -> str:
    """``value`` with thousands separators and ``places`` decimals; a dash for no value.

    >>> number_text(1234567, 0), number_text(0.5, 2), number_text(float("nan"), 1)
    ('1,234,567', '0.50', '—')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)) \
            or pd.isna(value):
        return MISSING
    return f"{float(value):,.{places}f}"


def _cell_text(value) -> str:
    """A text cell: a dash for any missing value (None, NaN, NaT, pandas' NA).

    >>> [_cell_text(v) for v in ("a", None, pd.NA, pd.NaT, float("nan"), True)]
    ['a', '—', '—', '—', '—', 'True']
    """
    try:
        if pd.isna(value):
            return MISSING
    except (TypeError, ValueError):   # a list or an array in a cell: written as it is
        pass
    return str(value)


def _text(value) -> str:
    """Text for a cell or an attribute: escaped (:func:`svg_text`), line breaks as character
    references, so the markup stays one line and Markdown one block."""
    return svg_text(value).replace("\r", "&#13;").replace("\n", "&#10;")


def _width_em(texts) -> float:
    return _PAD_EM + max((text_em(t) for t in texts), default=1.0)


def _is_number(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def html_table(frame: pd.DataFrame, *, decimals: Mapping[str, int] | None = None,
               helps: Mapping[str, str] | None = None,
               styles: Mapping[str, Sequence[str]] | None = None, pinned: int = 1,
               max_height_px: int | None = 560) -> str:
    """``frame`` (its index not shown) as the markup of one HTML table.

    ``decimals``: decimals of a numeric column (by default the fewest that lose nothing,
    see :func:`decimals_shown`); ``helps``: a column's explanation, shown on hover of its
    heading; ``styles``: per column, one CSS declaration per row (e.g. the colour of a gap,
    :data:`dashboard.components.reconcile.CELL_COLOUR`); ``pinned``: how many first columns
    stay in view when the table scrolls sideways; ``max_height_px``: taller tables scroll
    under their heading (None: the table is as tall as its rows).
    """
    decimals, helps, styles = dict(decimals or {}), dict(helps or {}), dict(styles or {})
    columns = list(frame.columns)
    numeric = {c: _is_number(frame[c]) for c in columns}
    places = {c: decimals.get(c, decimals_shown(frame[c]) if pd.api.types.is_float_dtype(
        frame[c]) else 0) for c in columns if numeric[c]}
    texts = {c: ([number_text(v, places[c]) for v in frame[c]] if numeric[c] else
                 [_cell_text(v) for v in frame[c]]) for c in columns}
    lefts, left = {}, 0.0
    for c in columns[:pinned]:
        lefts[c] = left
        left += _width_em([c, *texts[c]])

    def sticky(c: str, head: bool) -> str:
        if c not in lefts:
            return ""
        width = _width_em([c, *texts[c]])
        return (f"position:sticky;left:{lefts[c]:.2f}em;min-width:{width:.2f}em;"
                f"z-index:{3 if head else 1};" + ("" if head else "background:#ffffff;"))

    head = []
    for c in columns:
        label = _text(c)
        if c in helps:
            label = (f'<span title="{_text(helps[c])}" style="{_HELP}">{label}</span>')
        align = _NUMBER if numeric[c] else "text-align:left;"
        if numeric[c]:   # a long heading over numbers wraps: more columns fit in view
            align += "white-space:normal;min-width:5em;"
        head.append(f'<th scope="col" style="{_CELL}{_HEAD}{align}{sticky(c, True)}">'
                    f"{label}</th>")
    body = []
    for i in range(len(frame)):
        cells = []
        for c in columns:
            style = _CELL + (_NUMBER if numeric[c] else "") + sticky(c, False)
            if not numeric[c] and c not in lefts:
                style += _WRAP  # long names wrap rather than push the numbers out of view
            extra = styles.get(c)
            if extra is not None and extra[i]:
                style += html.escape(str(extra[i]).rstrip(";"), quote=True) + ";"
            tag = "th" if c in lefts and not numeric[c] else "td"
            scope = ' scope="row"' if tag == "th" else ""
            cells.append(f'<{tag}{scope} style="{style}font-weight:normal;">'
                         f"{_text(texts[c][i])}</{tag}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    box = "overflow:auto;border:1px solid #e6e9ef;border-radius:0.5rem;margin-bottom:1rem;"
    if max_height_px:
        box += f"max-height:{int(max_height_px)}px;"
    # one line, no blank line: Markdown takes the whole of it as one block of HTML
    return (f'<div class="citybrain-table" style="{box}"><table style="{_TABLE}">'
            f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody>"
            "</table></div>")


def show(frame: pd.DataFrame, **options) -> None:
    """Write ``frame`` on the page as :func:`html_table` (same options)."""
    import streamlit as st

    st.markdown(html_table(frame, **options), unsafe_allow_html=True)


class _TableReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_tables(markup: str) -> list[pd.DataFrame]:
    """The tables of ``markup`` as a reader sees them: text as shown, and a column whose every
    cell is a number written as above (or a dash) read back as numbers. For tests and for
    people who copy a table out of a saved page."""
    reader = _TableReader()
    reader.feed(markup)
    out = []
    for rows in reader.tables:
        if not rows:
            continue
        frame = pd.DataFrame(rows[1:], columns=rows[0])
        for c in frame.columns:
            raw = frame[c].str.replace(",", "", regex=False).replace(MISSING, None)
            parsed = pd.to_numeric(raw, errors="coerce")
            if len(frame) and parsed.notna().sum() == raw.notna().sum() and raw.notna().any():
                frame[c] = parsed.astype(float)
        out.append(frame)
    return out
