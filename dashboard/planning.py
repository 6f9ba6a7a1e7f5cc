"""Shared pieces of the two planning pages: cached analytics, URL-synced controls, labels.

The view a planner sets up (facility type, group, measure, district, layers, radius, the
clicked object) lives in ``st.session_state`` and is mirrored in the URL query parameters
(prefixed ``pl_``), so a link reopens exactly the same map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

from analytics.errors import CityBrainError
from analytics.opendata import access
from analytics.opendata.registry import department_en
from analytics.placenames import both_forms, romanise
from analytics.planning import accessibility, reconcile, siting, supply
from analytics.population import SERVICE_GROUPS
from analytics.settings import settings
from analytics.standards import FACILITY_TYPES, facility_type
from analytics.store import Store
from dashboard import maps, shell
from dashboard.components import canvasmap, provenance
from dashboard.components.table import decimals_shown
from dashboard.i18n import translate

GROUPS = [*SERVICE_GROUPS, accessibility.ALL]
METRICS = ["persons", "density", "access", "unmet"]
LAYERS = ["facilities", "catchments", "underserved", "districts"]
DEFAULT_LAYERS = ["facilities", "districts", "underserved"]


def store_key(store: Store) -> str:
    """Cache key of a store: its file and vintage (a rebuild, a load or a rollback is new data;
    see ``dashboard.shell.store_key``)."""
    return "|".join(shell.store_key(store))


# -- cached analytics (frames keyed by the parameters that matter) -------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def analyse(_store: Store, key: str, type_key: str, year: int, group: str, radius: int | None
            ) -> accessibility.Accessibility:
    return accessibility.analyse(_store, type_key, year, group=group, radius_m=radius)


@st.cache_data(show_spinner=False, max_entries=32)
def measures(_store: Store, _result: accessibility.Accessibility, key: str, type_key: str,
             year: int, group: str, radius: int | None, district: int | None, _actor=None
             ) -> reconcile.Reconciliation:
    """The released figures of one view (residents, covered, beyond the radius, unmet demand)
    beside the standard's ratio: what the planning map's tiles, its reconciliation panel and
    the site recommendation's coverage show (cached per view, logged once)."""
    return reconcile.reconcile(_store, type_key, year, district, result=_result,
                               channel="page",
                               **({"actor": _actor} if _actor is not None else {}))


@st.cache_data(show_spinner=False, max_entries=32)
def summary(_store: Store, _result: accessibility.Accessibility, key: str, type_key: str,
            year: int, group: str, radius: int | None, _actor=None) -> pd.DataFrame:
    """The district table as released (:func:`accessibility.public_summary`), per view."""
    return accessibility.public_summary(_store, _result, district_names(_store, key),
                                        channel="page",
                                        **({"actor": _actor} if _actor is not None else {}))


@st.cache_data(show_spinner=False, max_entries=8)
def districts(_store: Store, key: str) -> pd.DataFrame:
    return _store.query("planning.districts")


@st.cache_data(show_spinner=False, max_entries=8)
def district_names(_store: Store, key: str) -> pd.DataFrame:
    return _store.query("planning.district_names")


@st.cache_data(show_spinner=False, max_entries=16)
def supply_table(_store: Store, key: str, year: int) -> pd.DataFrame:
    return supply.supply_demand(_store, year)


@st.cache_data(show_spinner=False, max_entries=16)
def ahead(_store: Store, key: str, type_key: str, base_year: int) -> pd.DataFrame:
    """Need against capacity in every district now, in 5 and in 10 years (forecast)."""
    # deferred: the forecasters (scikit-learn, about 1 s) load only when a page asks
    from analytics import forecast

    return forecast.district_gaps(_store, base_year, AHEAD_YEARS, [type_key])


#: Years ahead the planning map looks (the forecast page shows every year).
AHEAD_YEARS = (5, 10)


@st.cache_data(show_spinner=False, max_entries=16)
def availability(_store: Store, key: str, type_key: str, year: int) -> str | None:
    return accessibility.type_availability(_store, type_key, year)


@st.cache_data(show_spinner=False, max_entries=16)
def recommend(_store: Store, key: str, type_key: str, year: int, k: int, group: str,
              radius: int | None, district: int | None, candidates: pd.DataFrame | None,
              lock: tuple[str, ...], exclude: tuple[str, ...], site_capacity: float | None,
              demand_year: int | None = None, _actor=None,
              _analysis: accessibility.Accessibility | None = None):
    """The sites and their coverage as released (counts of people rounded to 10 through the
    access decision; see ``siting.public_result``), so the page and its exports show the same
    figures as the planning map. ``_analysis``: the view's coverage analysis (``analyse``
    with the same type, year, group and radius), which the page holds already."""
    res = siting.recommend_sites(_store, type_key, year, k, group=group, radius_m=radius,
                                 district=district, candidates=candidates, lock=list(lock),
                                 exclude=list(exclude), site_capacity=site_capacity,
                                 demand_year=demand_year, analysis=_analysis)
    return siting.public_result(_store, res, channel="page",
                                **({"actor": _actor} if _actor is not None else {}))


@st.cache_data(show_spinner=False, max_entries=16)
def uncovered_hexes(_store: Store, _cells: pd.DataFrame, key: str, type_key: str, year: int,
                    group: str, radius: int | None, district: int | None,
                    demand_year: int | None, lang: str, legend_title: str, _actor=None
                    ) -> tuple[pd.DataFrame, maps.Legend | None, canvasmap.EncodedLayer | None]:
    """The site recommendation's map of the residents out of reach (``_cells``: the view's
    cells, those not covered drawn), released through the access decision, with its legend
    and the layer encoded for the canvas. Made once per view: each new answer (another
    number of sites) redraws only the sites over it."""
    uncovered = _cells[~_cells["covered"]]
    if uncovered.empty:
        return uncovered, None, None
    labels = map_labels(lang, group, type_key)
    labels["legend_persons"] = legend_title

    def release(frame: pd.DataFrame) -> pd.DataFrame:  # cell counts as published
        return access.release_counts(_store, frame, ["persons", "unmet"], channel="page",
                                     fmt="map", parts="parts" if "parts" in frame else None,
                                     **({"actor": _actor} if _actor is not None else {}))[0]

    hexes, legend, _ = maps.hex_layer_data(uncovered, "persons", labels, release=release)
    return hexes, legend, canvasmap.encode(maps.hex_layer(hexes, high_precision=False))


@st.cache_data(show_spinner=False, max_entries=16)
def future_cells(_store: Store, key: str, type_key: str, year: int, group: str,
                 radius: int | None, demand_year: int) -> pd.DataFrame:
    """The analysis' cells grown to ``demand_year`` (see ``siting.future_cells``)."""
    return siting.future_cells(_store, analyse(_store, key, type_key, year, group, radius),
                               demand_year)


# -- the preamble both planning pages share ------------------------------------------------
@dataclass(frozen=True)
class Preamble:
    """What both planning pages start from: the store's cache key and district names, the
    facility type chosen (seeded from the link), its default group, the year and the area."""

    key: str
    names: pd.DataFrame
    type_key: str
    group: str              # the facility type's default group of residents
    year: int
    district: int | None    # the sidebar's area; None = the whole city


def preamble(ctx) -> Preamble:
    """Keep the shared choices across the two pages, seed the facility type from the URL
    once, and gather what both pages need."""
    keep_state()
    key = store_key(ctx.store)
    init_from_url("pl_type", list(FACILITY_TYPES), "elderly_day_care", lang=ctx.lang)
    type_key = st.session_state["pl_type"]
    return Preamble(key=key, names=district_names(ctx.store, key), type_key=type_key,
                    group=accessibility.default_group(type_key), year=ctx.year,
                    district=ctx.district)


# -- labels -------------------------------------------------------------------------------
def type_name(key: str, lang: str) -> str:
    ft = facility_type(key)
    return ft.name_zh if lang == "zh" else ft.name_en


def group_name(group: str, lang: str) -> str:
    if group == accessibility.ALL:
        return translate("plan_group_all", lang)
    return translate("plan_group_fmt", lang, group=group)


def group_option(group: str, lang: str) -> str:
    """A group as a menu entry: ``60+ 岁`` / ``60+``; everyone as its own word."""
    if group == accessibility.ALL:
        return translate("plan_group_all_option", lang)
    return f"{group} 岁" if lang == "zh" else group


def unit_name(type_key: str, lang: str) -> str:
    return translate(f"plan_unit_{accessibility.supply_unit(type_key)}", lang)


def district_label(adcode: int | None, names: pd.DataFrame, lang: str) -> str:
    """A district's name; ``None`` (or ``<NA>`` in a table) is the whole city."""
    if adcode is None or pd.isna(adcode):
        return translate("plan_city", lang)
    row = names[names["adcode"] == adcode]
    if row.empty:
        return str(adcode)
    return str(row["name"].iloc[0] if lang == "zh" else row["name_en"].iloc[0])


# -- URL-synced state ---------------------------------------------------------------------
SHARED_KEYS = ("pl_type", "pl_group", "pl_metric", "pl_layers", "pl_3d", "pl_radius", "pl_k",
               "pl_sel")


def keep_state() -> None:
    """Keep the shared choices when moving between the two planning pages.

    Streamlit drops a widget's value when a run does not draw that widget (as on another
    page); assigning the value back makes it plain session state, which survives.
    """
    for k in SHARED_KEYS:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


def init_from_url(key: str, valid: list, default, cast=str, lang: str = "zh") -> None:
    """Seed ``st.session_state[key]`` from the URL once; an invalid value falls back visibly."""
    if key in st.session_state:
        if st.session_state[key] not in valid:
            st.session_state[key] = default
        return
    raw = st.query_params.get(key)
    if raw is None:
        st.session_state[key] = default
        return
    try:
        value = cast(raw)
    except (TypeError, ValueError):
        value = None
    if value not in valid:
        st.warning(translate("notice_fallback", lang, param=key, value=raw, fallback=default))
        value = default
    st.session_state[key] = value


def init_list_from_url(key: str, valid: list, default: list, lang: str = "zh") -> None:
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    if raw is None:
        st.session_state[key] = list(default)
        return
    values = [v for v in raw.split(",") if v]
    bad = [v for v in values if v not in valid]
    if bad:
        st.warning(translate("notice_fallback", lang, param=key, value=raw,
                             fallback=",".join(default)))
        values = list(default)
    st.session_state[key] = values


def write_url(values: dict[str, object]) -> None:
    """Mirror the view in the URL (None removes a parameter)."""
    for k, v in values.items():
        if v is None or v == "" or v == []:
            if k in st.query_params:
                del st.query_params[k]
        elif isinstance(v, list | tuple):
            st.query_params[k] = ",".join(map(str, v))
        else:
            st.query_params[k] = str(v)


def show_error(exc: CityBrainError) -> None:
    st.error(str(exc))


__all__ = ["FACILITY_TYPES", "GROUPS", "METRICS", "LAYERS", "analyse", "recommend"]


def map_labels(lang: str, group: str, type_key: str, radius: int | None = None
               ) -> dict[str, str]:
    """The strings the map layers put in tooltips and legends, in one language."""
    t = lambda key, **fmt: translate(key, lang, **fmt)  # noqa: E731
    unit = unit_name(type_key, lang)
    ft = FACILITY_TYPES[type_key]
    no_access = (t("plan_no_access_why", type=ft.name(lang) if lang == "zh"
                   else ft.name_en.lower(), radius=f"{radius:,}")
                 if radius else t("plan_no_access"))
    return {
        "band_0": t("plan_band_0"), "band_1": t("plan_band_1"), "band_2": t("plan_band_2"),
        "band_3": t("plan_band_3"),
        "group": group_name(group, lang), "persons_unit": t("plan_persons_unit"),
        "tip_persons": t("plan_tip_persons", group=group_name(group, lang)),
        "access_unit": t("plan_access_unit", unit=unit), "no_access": no_access,
        "in_reach": t("plan_in_reach"), "unmet_label": t("plan_unmet_label"),
        "legend_persons": t("plan_legend_persons", group=group_name(group, lang)),
        "legend_density": t("plan_legend_density", group=group_name(group, lang)),
        "legend_access": t("plan_legend_access", unit=unit),
        "legend_unmet": t("plan_legend_unmet", group=group_name(group, lang)),
        "res8_note": t("plan_res8_note"), "capacity": t("plan_capacity"),
        "suppressed": t("plan_suppressed"),
        "capacity_uncounted": t("plan_capacity_uncounted"), "opened": t("plan_opened"),
        "utilisation": t("plan_utilisation"), "site": t("plan_site"), "gain": t("plan_gain"),
    }


@st.cache_data(show_spinner=False, max_entries=32)
def hex_data(_store: Store, _result: accessibility.Accessibility, key: str, type_key: str,
             year: int, group: str, radius: int, metric: str, lang: str, district: int | None,
             _actor=None):
    """The hexagon layer rows, legend and resolution for one view (cached per view).

    The counts in tooltips and colours leave through the access decision and disclosure
    control (rounded to 10, 1-9 suppressed and drawn grey), logged once per view."""
    cells = _result.cells
    if district is not None:
        cells = cells[cells["district_adcode"] == district]

    def release(frame: pd.DataFrame) -> pd.DataFrame:
        kwargs = {"actor": _actor} if _actor is not None else {}
        return access.release_counts(_store, frame, ["persons", "unmet"], channel="page",
                                     fmt="map", parts="parts" if "parts" in frame else None,
                                     **kwargs)[0]

    need = _result.need_per_person
    return maps.hex_layer_data(cells, metric, map_labels(lang, group, type_key, radius),
                               release=release,
                               standard_per_1000=1000.0 * need if need else None)


@st.cache_data(show_spinner=False, max_entries=16)
def district_paths(_store: Store, key: str, tolerance_deg: float = maps.FINEST_OUTLINE_DEG
                   ) -> pd.DataFrame:
    """The district outlines simplified to ``tolerance_deg`` (a view's
    :func:`~dashboard.maps.outline_tolerance`)."""
    return maps.district_paths(districts(_store, key), tolerance_deg)


def area_view(_store: Store, key: str, district: int | None) -> pdk.ViewState:
    """The view that fits the area (the whole city, or a district with a margin): it depends
    on the area alone, so a change of type, group, measure or answer keeps it and the
    browser only redraws the layers."""
    return maps.view_for_area(districts(_store, key), district,
                              pad_deg=0.0 if district is None else 0.01)


def outline_layers(_store: Store, key: str, view: pdk.ViewState, highlight: int | None
                   ) -> list[pdk.Layer]:
    """The district outlines drawn to ``view``'s pixel, the ``highlight`` district thicker."""
    return maps.district_layers(district_paths(_store, key, maps.outline_tolerance(view)),
                                highlight=highlight)


@st.cache_data(show_spinner=False, max_entries=32)
def map_deck(_store: Store, _result: accessibility.Accessibility, key: str, type_key: str,
             year: int, group: str, radius: int, metric: str, lang: str, district: int | None,
             layers_on: tuple[str, ...], three_d: bool, canvas: bool = True, _actor=None
             ) -> tuple[maps.PreparedDeck | canvasmap.CanvasMap, maps.Legend, int, pd.DataFrame]:
    """The planning map of one view, as JSON ready to send, with its legend, the H3
    resolution drawn and the underserved cells outlined (cached per view: a warm rerun, or a
    return to a view seen before, neither rebuilds nor re-encodes tens of thousands of
    hexagons). With a district chosen only its cells and facilities are sent.

    With ``canvas`` (see :func:`on_canvas`) a flat map is drawn on a 2D canvas
    (:mod:`dashboard.components.canvasmap`); else deck.gl draws it (the 3D view, a map over
    the city's own basemap)."""
    fac = _result.facilities
    if district is not None:
        fac = fac[fac["district_adcode"] == district]
    hexes, legend, res = hex_data(_store, _result, key, type_key, year, group, radius, metric,
                                  lang, district, _actor=_actor)
    labels = map_labels(lang, group, type_key)
    layers = [maps.hex_layer(hexes, extruded=three_d and metric != "access")]
    under = accessibility.underserved_cells(_result, n=50, district=district)
    if "underserved" in layers_on and len(under):
        layers.append(maps.underserved_layer(under["h3"].tolist()))
    if "catchments" in layers_on and len(fac):
        layers.append(maps.catchment_layer(fac, radius))
    if "facilities" in layers_on and len(fac):
        # each point's tooltip says where it comes from: a department's register or synthetic
        ids = provenance.facility_sources_by_id(_store, key, type_key, year)
        layers.append(maps.facility_layer(maps.facility_layer_data(
            fac.assign(source=fac["facility_id"].astype(str).map(ids),
                       name=facility_names(fac["name"], lang)),
            type_name(type_key, lang), unit_name(type_key, lang),
            {**labels, "source_synthetic": translate("source_tooltip_synthetic", lang),
             "source_register": translate("source_tooltip_register", lang)})))
    view = area_view(_store, key, district)  # not this type's cells: a change of type keeps it
    if "districts" in layers_on:
        layers.extend(outline_layers(_store, key, view, district))
    if canvas and not three_d:
        return canvasmap.build(layers, view, label=legend.title), legend, res, under
    deck = maps.deck(layers, view, pitch=45)
    return maps.prepare(deck), legend, res, under


def on_canvas(three_d: bool = False) -> bool:
    """Whether a map is drawn on the 2D canvas: a flat map with no basemap. The 3D view
    (extruded hexagons) and a map over the city's own tiles (``CITYBRAIN_BASEMAP_STYLE``,
    drawn by MapLibre under deck.gl's layers) need WebGL."""
    return not three_d and not settings().basemap_style


def number_config(frame: pd.DataFrame) -> dict:
    """Thousands separators for every numeric column of a table shown to planners, and one
    number of decimals per column (:func:`decimals_shown`)."""
    out = {}
    for c in frame.columns:
        col = frame[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        places = decimals_shown(col) if pd.api.types.is_float_dtype(col) else 0
        out[c] = st.column_config.NumberColumn(
            format="localized" if places == 0 else f"%,.{places}f")
    return out


def facility_names(names: pd.Series, lang: str) -> pd.Series:
    """Facility (or place) names as a page in ``lang`` shows them: as they are on Chinese
    pages, in both forms on English ones ("Dongshan Subdistrict No. 3 Kindergarten
    (东山街道第三幼儿园)"; see :mod:`analytics.placenames`)."""
    names = names.fillna("").astype(str)
    if lang == "zh":
        return names
    forms = {n: both_forms(n) for n in names.unique()}
    return names.map(forms)


def department_name(name, lang: str) -> str:
    """A department as a page in ``lang`` names it: its English name on English pages (its
    name in both forms where it is no department of the registry)."""
    name = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
    if lang == "zh" or not name:
        return name
    return department_en(name) or both_forms(name)


def _getter(row):
    return row.get if hasattr(row, "get") else lambda k, d="": getattr(row, k, d)


def place_where(row, lang: str, district: bool = True) -> str:
    """A site's (district,) sub-district and community (``analytics.planning.places``):
    "西湖区明潮街道" or "Fushi Village, Ningxin Town, Jiande City"."""
    get = _getter(row)
    if lang == "zh":
        return "".join(get(k, "") or "" for k in ("district", "subdistrict", "community")
                       if district or k != "district")
    return ", ".join(w for w in (get("place_en", ""), get("district_en", "") if district else "")
                     if w)


def nearest_name(row, lang: str) -> str:
    """The nearest open named facility of a site as a page in ``lang`` names it: in both
    forms on English pages, its kind added when the name does not already say it."""
    get = _getter(row)
    mark = get("landmark", "") or ""
    if lang == "zh" or not mark:
        return mark
    english = get("landmark_en", "") or romanise(mark)
    named = f"{english} ({mark})" if english and english != mark else mark
    kind = (get("landmark_type_en", "") or "").lower()
    return named + (f" ({kind})" if kind and kind not in english.lower() else "")


def place_text(row, lang: str) -> str:
    """Where a site is, in one line (tooltips): :func:`place_where`, then the nearest open
    named facility (:func:`nearest_name`) and its distance."""
    get = _getter(row)
    mark, metres = get("landmark", "") or "", get("landmark_m", None)
    place, name = place_where(row, lang), nearest_name(row, lang)
    if not mark or metres is None:
        return place
    if lang == "zh":
        return f"{place}，距{name} {int(metres):,} 米"
    return f"{place}; {int(metres):,} m from {name}"
