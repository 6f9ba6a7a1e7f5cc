"""Where the numbers come from: source captions, and what a store without data is missing.

The library says which dataset (or the synthetic default) feeds each layer
(:mod:`analytics.layers`); this module words it for a page, in the page's language.
"""

from __future__ import annotations

import itertools

import pandas as pd
import streamlit as st

from analytics import layers
from analytics.settings import settings
from analytics.standards import FACILITY_TYPES
from analytics.store import Store
from dashboard.i18n import translate

#: Widget keys of the panel's download buttons: unique even when a page shows it twice.
_KEYS = itertools.count()


@st.cache_data(show_spinner=False, max_entries=128)  # small frames; two layers per district
def _summary(_store: Store, key: str, layer: str, types: tuple[str, ...] | None,
             year: int | None, district: int | None) -> pd.DataFrame:
    return layers.source_summary(_store, layer, types=list(types) if types else None,
                                 year=year, district=district)


@st.cache_data(show_spinner=False, max_entries=4)
def missing(_store: Store, key: str) -> pd.DataFrame:
    return layers.missing_layers(_store)


def source_text(store: Store, key: str, lang: str, layer: str, *,
                types: list[str] | None = None, year: int | None = None,
                district: int | None = None) -> str:
    """``<layer> · 数据来源：…`` / ``<layer> · Source: …``: every source behind a figure, with
    its district count, named by the layer it feeds (a page shows several)."""
    name = translate(f"layer_{layer}", lang) + " · "
    frame = _summary(store, key, layer, tuple(types) if types else None, year, district)
    if frame.empty:
        return name + translate("source_none", lang)
    parts = []
    for _, row in frame.iterrows():
        label = layers.source_label(row, lang)
        if len(frame) > 1 and district is None:
            label += translate("source_districts", lang, n=int(row["districts"]))
        parts.append(label)
    return name + translate("source_prefix", lang) + "; ".join(parts)


def source_caption(store: Store, key: str, lang: str, layer: str, **where) -> None:
    st.caption(source_text(store, key, lang, layer, **where))


def _layer_name(row, lang: str) -> str:
    if row["layer"] == "facilities":
        return FACILITY_TYPES[row["type"]].name(lang)
    return translate(f"layer_{row['layer']}", lang)


def missing_panel(store: Store, key: str, lang: str, *, expanded: bool = True) -> None:
    """Which layers have no data and which department's dataset would fill each."""
    frame = missing(store, key)
    if frame.empty:
        return
    with st.expander(translate("missing_title", lang, n=frame["layer"].nunique()
                               + max(0, (frame["layer"] == "facilities").sum() - 1)),
                     expanded=expanded, icon=":material/dataset:"):
        st.caption(translate("missing_intro", lang))
        for _, row in frame.iterrows():
            n = next(_KEYS)
            what = _layer_name(row, lang)
            if pd.isna(row["dataset_id"]):
                st.markdown(translate("missing_no_contract", lang, layer=what))
                continue
            dept = row["department"] if lang == "zh" else row["department_en"]
            title = row["title"] if lang == "zh" else row["title_en"]
            st.markdown(translate("missing_row", lang, layer=what, department=dept,
                                  title=title, dataset=row["dataset_id"]))
            left, right = st.columns(2)
            contract = settings().contracts_dir / f"{row['dataset_id']}.yaml"
            left.download_button(translate("missing_contract", lang), contract.read_bytes(),
                                 file_name=contract.name, key=f"missing_c_{n}",
                                 mime="text/yaml")
            if isinstance(row["example"], str):
                example = settings().examples_dir / row["example"].rsplit("/", 1)[-1]
                if example.is_file():
                    right.download_button(translate("missing_example", lang),
                                          example.read_bytes(), file_name=example.name,
                                          key=f"missing_e_{n}")
