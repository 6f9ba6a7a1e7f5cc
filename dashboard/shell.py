"""What every page shares: the store, the selected city, year, area and language.

``app.py`` calls :func:`sidebar` once per run; the router then calls the page's
``page(ctx)`` with ``ctx = page_context()``, and the page reads everything else from
``analytics``. The selection lives
in ``st.session_state`` and is mirrored in the URL query parameters (``lang``, ``city``,
``year``, ``district``), so a view can be shared as a link and reopened exactly. A link
naming a city, year or district this store does not hold falls back with a visible notice.

A store holds one city (the build writes one city per file), so the sidebar names the
store's city rather than offering a choice it could not honour; serving another city means
pointing the app at that city's store.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import geo, population
from analytics.geo import english_name
from analytics.server import current
from analytics.store import Store, StoreError, store_path_from_env
from dashboard.components import provenance
from dashboard.format import plain, vintage_label
from dashboard.i18n import LANGUAGES, explain, translate

#: How the link and the area menu spell "the whole city" (``district=city``); a page gets
#: the area as ``ctx.district: int | None``, with ``None`` for the whole city.
CITY_PARAM = "city"


def store_path() -> Path:
    """``--store PATH`` after ``streamlit run dashboard/app.py --``, else the environment."""
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--store" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--store="):
            return Path(arg.split("=", 1)[1])
    return store_path_from_env()


@st.cache_resource(show_spinner=False)
def open_store(path: str) -> Store:
    """One store per server process (cursor per call inside): the server's own connection
    when the app runs inside the server (``dashboard/server.py``), so the dashboard and the
    API share the store's one writer."""
    server = current()
    if server is not None and server.store.path is not None \
            and Path(server.store.path).resolve() == Path(path).resolve():
        return server.store
    store = Store.open(path)
    store.ensure_tables()   # tables added since the store was built (API tokens)
    return store


def store_key(store: Store) -> tuple[str, str]:
    """The key of every cached frame drawn from ``store``: its file and its vintage (the
    build and the latest load, :meth:`~analytics.store.Store.vintage`)."""
    return (str(store.path) if store.path is not None else f"memory:{id(store)}",
            store.vintage())


@st.cache_data(show_spinner=False)
def _store_facts(path: str, vintage: str) -> dict:
    """Years, districts and the city's names: read once per store vintage (build or load)."""
    store = open_store(path)
    meta = store.meta()
    adcode = int(meta["city_adcode"])
    name = meta.get("city_name") or ""
    if not name:
        try:
            name = geo.city(adcode).name
        except Exception:  # noqa: BLE001 - the boundary index is optional for naming
            name = str(adcode)
    districts = store.query("indicators.districts")[["adcode", "name", "name_en"]]
    districts["adcode"] = districts["adcode"].astype(int)
    return {"years": tuple(population.years(store)), "city_adcode": adcode, "city_name": name,
            "city_name_en": english_name(name).removesuffix(" City") if name else str(adcode),
            "districts": districts, "vintage": meta.get("data_vintage", "?"),
            "partial": meta.get("districts", "all") != "all",
            "built_at": meta.get("built_at", ""), "data_key": vintage,
            "synthetic": meta.get("synthetic_layers", "all")}


@dataclass(frozen=True)
class PageContext:
    store: Store
    city_adcode: int
    city_name: str
    year: int
    years: tuple[int, ...]
    lang: str
    district: int | None = None          # the selected district; None = the whole city
    districts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    store_key: tuple[str, str] = ("", "")  # (path, vintage): the cache key of the data
    city_name_en: str = ""

    def t(self, key: str, **fmt) -> str:
        return translate(key, self.lang, **fmt)

    def reason(self, exc: Exception) -> str:
        """Why the analytics library refused, in the page language, shown as written: a
        refusal may repeat what a person typed or a file held (a site id, a column name),
        which must not render as Markdown or a link."""
        return plain(explain(exc, self.lang))

    def city_label(self) -> str:
        return self.city_name if self.lang == "zh" else (self.city_name_en or self.city_name)

    def district_name(self, adcode: int | None) -> str:
        """A district's name in the page language (the city's name for ``None``)."""
        if adcode is None or int(adcode) == self.city_adcode:
            return self.city_label()
        rows = self.districts[self.districts["adcode"] == int(adcode)]
        if rows.empty:
            return str(adcode)
        row = rows.iloc[0]
        return str(row["name"]) if self.lang == "zh" else str(row["name_en"])

    def area_label(self) -> str:
        return self.district_name(self.district)


def _lang() -> str:
    lang = st.session_state.get("lang") or st.query_params.get("lang", "zh")
    return lang if lang in LANGUAGES else "zh"


def _store_or_stop(lang: str) -> tuple[Store, dict]:
    path = str(store_path())
    try:
        store = open_store(path)
        facts = _store_facts(*store_key(store))
        if not facts["years"] and facts["synthetic"] == "none":
            # a city on its own data, before any population was loaded: say what fills it
            st.title(translate("missing_no_population_title", lang))
            provenance.missing_panel(store, facts["data_key"], lang)
            st.stop()
        if not facts["years"]:
            raise StoreError(f"{path} holds no population: rebuild it with "
                             f"`python -m analytics build --out {path}`",
                             code="store_no_population", path=str(path))
    except StoreError as exc:
        st.title(translate("store_missing_title", lang))
        st.error(translate("store_missing_body", lang, problem=explain(exc, lang)))
        st.code(f"python -m analytics build --city 330100 --out {path}", language="bash")
        st.stop()
    return store, facts


def _notice(lang: str, param: str, value: object, fallback: object) -> None:
    st.session_state.setdefault("_notices", []).append(
        translate("notice_fallback", lang, param=param, value=value, fallback=fallback))


def _to_census_year() -> None:
    st.session_state["year"] = population.CENSUS_YEAR


def _restore_from_url(lang: str, facts: dict) -> None:
    """On a session's first run, take year, district and city from the link (or fall back)."""
    years = facts["years"]
    if "year" not in st.session_state:
        raw = st.query_params.get("year")
        default = population.default_year(years)
        try:
            year = int(raw) if raw is not None else default
        except ValueError:
            year = -1
        if year not in years:
            _notice(lang, "year", raw, default)
            year = default
        st.session_state["year"] = year
    if "district" not in st.session_state:
        raw = st.query_params.get("district")
        valid = {str(int(a)): int(a) for a in facts["districts"]["adcode"]}
        if raw is None or raw in (CITY_PARAM, str(facts["city_adcode"])):
            choice = CITY_PARAM
        elif raw in valid:
            choice = valid[raw]
        else:
            _notice(lang, "district", raw, translate("sidebar_whole_city", lang))
            choice = CITY_PARAM
        st.session_state["district"] = choice  # the area menu's value
    if "_city_checked" not in st.session_state:
        raw = st.query_params.get("city")
        if raw is not None and raw != str(facts["city_adcode"]):
            name = facts["city_name"] if lang == "zh" else facts["city_name_en"]
            st.session_state.setdefault("_notices", []).append(
                translate("notice_city", lang, value=raw, city=name,
                          adcode=facts["city_adcode"]))
        st.session_state["_city_checked"] = True


def sidebar() -> None:
    """Language, city, year and area controls, synced with the URL; the data notes."""
    lang = _lang()
    store, facts = _store_or_stop(lang)
    # a cycle at the top: warm fills the planning caches, and dashboard.planning uses this
    # module (its store key); the caches fill in the background, once per process
    from dashboard import warm

    warm.start(store_key(store), facts["years"],
               tuple(int(a) for a in facts["districts"]["adcode"]))
    st.session_state.setdefault("lang", lang)
    _restore_from_url(lang, facts)
    districts = facts["districts"]
    names = dict(zip(districts["adcode"].astype(int),
                     districts["name"] if lang == "zh" else districts["name_en"], strict=True))
    city = facts["city_name"] if lang == "zh" else facts["city_name_en"]
    with st.sidebar:
        st.radio(translate("sidebar_language", lang), LANGUAGES, key="lang", horizontal=True,
                 format_func=lambda code: {"zh": "中文", "en": "English"}[code])
        st.markdown(f"**{translate('sidebar_city', lang)}**：{city}（{facts['city_adcode']}）"
                    if lang == "zh" else
                    f"**{translate('sidebar_city', lang)}**: {city} ({facts['city_adcode']})")
        st.selectbox(translate("sidebar_year", lang), facts["years"], key="year")
        if population.CENSUS_YEAR in facts["years"] and \
                st.session_state["year"] != population.CENSUS_YEAR:
            st.button(translate("sidebar_census_year", lang, year=population.CENSUS_YEAR),
                      key="census_year", on_click=_to_census_year, type="tertiary",
                      icon=":material/history:")
        # the menu's entries: CITY_PARAM, then adcodes (a None entry would read as no choice)
        st.selectbox(translate("sidebar_area", lang), [CITY_PARAM, *names], key="district",
                     format_func=lambda a: translate("sidebar_whole_city", lang)
                     if a == CITY_PARAM else names.get(a, str(a)))
        if facts["partial"]:
            st.info(translate("sidebar_partial", lang, n=len(districts),
                              names="、".join(districts["name"]) if lang == "zh"
                              else ", ".join(districts["name_en"])),
                    icon=":material/info:")
        st.caption(translate("vintage_note_own" if facts["synthetic"] == "none"
                             else "vintage_note", lang,
                             vintage=vintage_label(facts["vintage"], lang)))
        st.caption(translate("sidebar_built", lang, built=facts["built_at"] or "?"))
    st.query_params["lang"] = st.session_state["lang"]
    st.query_params["city"] = str(facts["city_adcode"])
    st.query_params["year"] = str(st.session_state["year"])
    st.query_params["district"] = str(st.session_state["district"])


def page_context() -> PageContext:
    lang = _lang()
    store, facts = _store_or_stop(lang)
    for message in st.session_state.pop("_notices", []):
        st.warning(message, icon=":material/link_off:")
    if facts["synthetic"] == "none":
        provenance.missing_panel(store, facts["data_key"], lang, expanded=False)
    years = facts["years"]
    year = st.session_state.get("year")
    if year not in years:
        year = population.default_year(years)
    choice = st.session_state.get("district", CITY_PARAM)  # the area menu: the one conversion
    district = choice if choice in set(facts["districts"]["adcode"].astype(int)) else None
    return PageContext(store=store, city_adcode=facts["city_adcode"],
                       city_name=facts["city_name"], year=int(year), years=years, lang=lang,
                       district=district, districts=facts["districts"],
                       store_key=store_key(store),
                       city_name_en=facts["city_name_en"])
