"""What every page shares: the store, the selected city, year and language.

``app.py`` calls :func:`sidebar` once per run; each page starts with
``ctx = page_context()`` and reads everything else from ``analytics``. The selection lives
in ``st.session_state`` and is mirrored in the URL query parameters, so a view can be
shared as a link and reopened exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from analytics import population
from analytics.store import Store, StoreError, store_path_from_env
from dashboard.i18n import LANGUAGES, translate


@st.cache_resource(show_spinner=False)
def open_store(path: str) -> Store:
    """One store per server process (cursor per call inside)."""
    return Store.open(path)


@dataclass(frozen=True)
class PageContext:
    store: Store
    city_adcode: int
    city_name: str
    year: int
    years: tuple[int, ...]
    lang: str

    def t(self, key: str, **fmt) -> str:
        return translate(key, self.lang, **fmt)


def _lang() -> str:
    lang = st.session_state.get("lang") or st.query_params.get("lang", "zh")
    return lang if lang in LANGUAGES else "zh"


def _store_or_stop(lang: str) -> Store:
    try:
        return open_store(str(store_path_from_env()))
    except StoreError as exc:
        st.title(translate("store_missing_title", lang))
        st.error(translate("store_missing_body", lang, problem=str(exc)))
        st.stop()


def _notice(lang: str, param: str, value: str, fallback: object) -> None:
    st.session_state.setdefault("_notices", []).append(
        translate("notice_fallback", lang, param=param, value=value, fallback=fallback))


def sidebar() -> None:
    """Language and year controls, synced with the URL; the data-vintage note."""
    lang = _lang()
    store = _store_or_stop(lang)
    meta = store.meta()
    years = tuple(population.years(store))
    if "year" not in st.session_state:
        raw = st.query_params.get("year")
        default = 2020 if 2020 in years else years[-1]
        try:
            year = int(raw) if raw is not None else default
        except ValueError:
            year = -1
        if year not in years:
            _notice(lang, "year", raw, default)
            year = default
        st.session_state["year"] = year
    st.session_state.setdefault("lang", lang)
    with st.sidebar:
        st.radio(translate("sidebar_language", lang), LANGUAGES, key="lang", horizontal=True,
                 format_func=lambda code: {"zh": "中文", "en": "English"}[code])
        st.selectbox(translate("sidebar_year", lang), years, key="year")
        st.caption(translate("vintage_note", lang, vintage=meta.get("data_vintage", "?")))
    st.query_params["lang"] = st.session_state["lang"]
    st.query_params["year"] = str(st.session_state["year"])


def page_context() -> PageContext:
    lang = _lang()
    store = _store_or_stop(lang)
    meta = store.meta()
    for message in st.session_state.pop("_notices", []):
        st.warning(message)
    years = tuple(population.years(store))
    year = st.session_state.get("year", 2020 if 2020 in years else years[-1])
    return PageContext(store=store, city_adcode=int(meta["city_adcode"]),
                       city_name=meta.get("city_name", ""), year=int(year), years=years,
                       lang=lang)
