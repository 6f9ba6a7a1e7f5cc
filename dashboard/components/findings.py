"""Consistency findings of a validated or loaded file, worded for the steward.

The library finds them (:func:`analytics.pooling.quality.consistency`) and stores them with
each load; this module says, in the page's language, what each one is and what the steward
should check. Everything that comes from a file (facility ids, names) is shown in a table,
never as Markdown.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from analytics.standards import FACILITY_TYPES
from dashboard.i18n import translate

#: The kinds of finding, in the order the page shows them.
KINDS = ("grid_vs_districts", "capacity_halved", "facility_in_empty_cell")


def _type_name(ftype, lang: str) -> str:
    if isinstance(ftype, str) and ftype in FACILITY_TYPES:
        return FACILITY_TYPES[ftype].name(lang)
    return ftype if isinstance(ftype, str) and ftype else "—"


def detail(row, lang: str) -> str:
    """One finding as a sentence in ``lang`` (from its fields, not its English message)."""
    kind, value = row["finding"], row["value"]
    if kind == "grid_vs_districts":
        return translate("finding_grid_detail", lang, year=int(row["year"]),
                         share=f"{float(value):+.1%}")
    if kind == "capacity_halved":
        return translate("finding_capacity_detail", lang, share=f"{float(value):.0%}")
    if kind == "facility_in_empty_cell":
        return translate("finding_empty_detail", lang, n=int(value))
    return str(row["message"])


_IDS = re.compile(r"nobody lives \((.*)\): check their coordinates$")


def _facility_ids(message: str) -> str:
    """The facility ids the library's message names (the first three, then …)."""
    m = _IDS.search(message)
    return m.group(1) if m else ""


def table(frame: pd.DataFrame, lang: str, district_name) -> pd.DataFrame:
    """The findings as the page shows them: district, facility type, what was found and the
    library's own message (which names the facilities)."""
    out = pd.DataFrame({
        translate("finding_col_district", lang): [district_name(d) if pd.notna(d) else "—"
                                                   for d in frame["district_adcode"]],
        translate("finding_col_type", lang): [_type_name(x, lang) for x in frame["type"]],
        translate("finding_col_detail", lang): [detail(r, lang) for _, r in frame.iterrows()],
    })
    ids = [_facility_ids(m) if k == "facility_in_empty_cell" else ""
           for k, m in zip(frame["finding"], frame["message"].astype(str), strict=True)]
    if any(ids):  # which facilities to look at: the file's own ids, shown as text
        out[translate("finding_col_facilities", lang)] = ids
    if not any(isinstance(x, str) and x for x in frame["type"]):  # population findings
        out = out.drop(columns=translate("finding_col_type", lang))
    if "version" in frame:
        out.insert(0, translate("finding_col_version", lang), frame["version"].to_numpy())
    return out


def show(frame: pd.DataFrame, lang: str, district_name, *, key: str,
         loaded: bool = False) -> None:
    """A warning with the count, then per kind: what it means, what to check, and the rows.

    ``loaded``: the findings of loads already made (the data-quality page), not of a file
    about to be loaded."""
    if frame is None or frame.empty:
        return
    st.warning(translate("findings_loaded_title" if loaded else "findings_title", lang,
                         n=len(frame)), icon=":material/rule:")
    for kind in [k for k in KINDS if k in set(frame["finding"])] + \
            sorted(set(frame["finding"]) - set(KINDS)):
        rows = frame[frame["finding"] == kind]
        st.markdown(f"**{translate(f'finding_{kind}', lang)}** ({len(rows)})"
                    if kind in KINDS else f"**{len(rows)}**")
        if kind in KINDS:
            st.caption(translate(f"finding_{kind}_check", lang))
        st.dataframe(table(rows.reset_index(drop=True), lang, district_name),
                     hide_index=True, width="stretch", key=f"{key}_{kind}")
