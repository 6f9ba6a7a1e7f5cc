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
from dashboard.format import plain, source_label
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


@st.cache_data(show_spinner=False, max_entries=16)
def _by_district(_store: Store, key: str, layer: str, types: tuple[str, ...] | None,
                 year: int | None) -> pd.DataFrame:
    return layers.district_sources(_store, layer, types=list(types) if types else None,
                                   year=year)


def _districts_of(store: Store, key: str, lang: str, layer: str, types, year) -> dict:
    """``{source: [district names]}`` of a layer, in the page language."""
    frame = _by_district(store, key, layer, tuple(types) if types else None, year)
    col = "name" if lang == "zh" else "name_en"
    out: dict[str, list[str]] = {}
    for _, row in frame.iterrows():
        name = row[col] if isinstance(row[col], str) else str(row["district_adcode"])
        out.setdefault(row["source"], [])
        if name not in out[row["source"]]:
            out[row["source"]].append(name)
    return out


def _where(where: dict[str, list[str]], source: str, lang: str) -> str:
    """The districts a source feeds: named; a long synthetic list as "the other N districts"
    (when no department source shares them) or "N districts"."""
    names = where[source]
    if source == "synthetic" and len(names) > 3:
        shared = any(set(names) & set(v) for k, v in where.items() if k != source)
        return translate("source_districts" if shared else "source_other_districts", lang,
                         n=len(names))
    return translate("source_in", lang, names=("、" if lang == "zh" else ", ").join(names))


def source_text(store: Store, key: str, lang: str, layer: str, *,
                types: list[str] | None = None, year: int | None = None,
                district: int | None = None) -> str:
    """``<layer> · 数据来源：…`` / ``<layer> · Source: …``: every source behind a figure, named
    by the layer it feeds (a page shows several). Where department data and synthetic data
    mix, each source says which districts it feeds, so synthetic points are never taken for
    a register."""
    name = translate(f"layer_{layer}", lang) + " · "
    frame = _summary(store, key, layer, tuple(types) if types else None, year, district)
    if frame.empty:
        return name + translate("source_none", lang)
    where = _districts_of(store, key, lang, layer, types, year) \
        if len(frame) > 1 and district is None else {}
    parts = []
    for _, row in frame.iterrows():
        label = source_label(row, lang)
        if row["source"] in where:
            label += _where(where, row["source"], lang)
        parts.append(label)
    return name + translate("source_prefix", lang) + translate("source_sep", lang).join(parts)


def legend_text(store: Store, key: str, lang: str, layer: str, *,
                types: list[str] | None = None, year: int | None = None,
                district: int | None = None) -> str:
    """A map legend's short source line: ``数据来源：民政局 · 养老机构名录 第 1 版（西湖区）；
    合成数据（其余 12 个区县）``, escaped for Markdown."""
    frame = _summary(store, key, layer, tuple(types) if types else None, year, district)
    if frame.empty:
        return plain(translate("source_none", lang))
    where = _districts_of(store, key, lang, layer, types, year) \
        if len(frame) > 1 and district is None else {}
    parts = []
    for _, row in frame.iterrows():
        if row["source"] == "synthetic":
            label = translate("source_synthetic_short", lang)
        else:
            dept = row["department"] if lang == "zh" else row["department_en"]
            title = row["title"] if lang == "zh" else row["title_en"]
            label = translate("source_dataset_short", lang, department=dept, title=title,
                              version=row["version"])
        if row["source"] in where:
            label += _where(where, row["source"], lang)
        parts.append(label)
    return plain(translate("source_prefix", lang) + translate("source_sep", lang).join(parts))


@st.cache_data(show_spinner=False, max_entries=16)
def _years(_store: Store, key: str, layer: str, district: int | None) -> pd.DataFrame:
    return layers.year_sources(_store, layer, district)


def year_sources(store: Store, key: str, layer: str, district: int | None) -> dict[int, str]:
    """``{year: source}`` for a chart's CSV over years (see
    :func:`analytics.layers.source_by_year`)."""
    return _source_by_year(store, key, layer, district)


@st.cache_data(show_spinner=False, max_entries=16)
def _source_by_year(_store: Store, key: str, layer: str, district: int | None) -> dict:
    return layers.source_by_year(_store, layer, district)


def _ranges(years: list[int]) -> str:
    """``2010–2024, 2026``: consecutive years as ranges."""
    years, out, start = sorted(years), [], None
    for i, y in enumerate(years):
        start = y if start is None else start
        if i + 1 == len(years) or years[i + 1] != y + 1:
            out.append(f"{start}–{y}" if y > start else f"{y}")
            start = None
    return ", ".join(out)


def years_text(store: Store, key: str, lang: str, layer: str,
               district: int | None = None) -> str:
    """A chart over years: each source with the years it gives and, where department data
    and synthetic data share a year, the districts each feeds."""
    frame = _years(store, key, layer, district)
    name = translate(f"layer_{layer}", lang) + " · "
    if frame.empty:
        return name + translate("source_none", lang)
    col = "name" if lang == "zh" else "name_en"
    mixed = set(frame.groupby("year")["source"].nunique().loc[lambda n: n > 1].index)
    known = {c.id: c for c in layers.feeds(layer)}
    parts = []
    for source in sorted(frame["source"].unique(), key=lambda s: (s == "synthetic", s)):
        rows = frame[frame["source"] == source]
        if source == "synthetic":
            label = source_label({"source": "synthetic"}, lang)
        else:
            label = _dataset_short(source, known, lang)
        label += translate("source_years", lang, years=_ranges(rows["year"].unique().tolist()))
        shared = rows[rows["year"].isin(mixed)]
        if len(shared) and district is None:
            names = list(dict.fromkeys(shared[col].fillna(shared["district_adcode"].astype(str))))
            label += _where({source: names, "": [] if source == "synthetic" else names},
                            source, lang)
        parts.append(label)
    return plain(name + translate("source_prefix", lang) + translate("source_sep", lang).join(parts))


def _dataset_short(source: str, known: dict, lang: str) -> str:
    """A department dataset's version (``source`` as the layers write it) in a few words:
    department, title and version, from its contract in ``known`` (by dataset id)."""
    dataset, version = layers.split_source(source)
    c = known.get(dataset)
    return translate("source_dataset_short", lang,
                     department=(c.department if lang == "zh" else c.department_en)
                     if c else dataset,
                     title=(c.title if lang == "zh" else c.title_en) if c else "",
                     version=version)


def births_text(store: Store, key: str, lang: str, first_year: int, base_year: int,
                district: int | None = None, events: str = "births") -> str | None:
    """What the cohort model's fertility rests on, where a department reports births for
    the years it is measured on (``first_year`` to ``base_year``), each dataset with its
    years; None where none does (the births are then those the population's infants
    imply). With ``events="deaths"``: what each district's life table is scaled to."""
    frame = _years(store, key, "vital_events", district)
    frame = frame[(frame["source"] != "synthetic")
                  & frame["year"].between(int(first_year), int(base_year))]
    if frame.empty:
        return None
    known = {c.id: c for c in layers.feeds("vital_events")}
    parts = []
    for source in sorted(frame["source"].unique()):
        label = _dataset_short(source, known, lang)
        years = frame.loc[frame["source"] == source, "year"].unique().tolist()
        parts.append(label + translate("source_years", lang, years=_ranges(years)))
    return plain(translate(f"fc_{events}_source", lang,
                           sources=translate("source_sep", lang).join(parts)))


def years_caption(store: Store, key: str, lang: str, layer: str,
                  district: int | None = None) -> None:
    st.caption(years_text(store, key, lang, layer, district))


def facility_sources(store: Store, key: str, types, year: int | None = None,
                     district: int | None = None) -> dict[str, str]:
    """``{facility type: source}`` (sources joined by ``; ``) behind a capacity figure."""
    out = {}
    for ftype in types:
        frame = _summary(store, key, "facilities", (ftype,), year, district)
        out[ftype] = "; ".join(frame["source"].astype(str)) if len(frame) else ""
    return out


@st.cache_data(show_spinner=False, max_entries=16)
def district_sources(_store: Store, key: str, layer: str, year: int | None,
                     types: tuple[str, ...] | None = None) -> dict[int, str]:
    """``{district: source}`` of a layer, optionally of some facility types (see
    :func:`analytics.layers.source_by_district`)."""
    return layers.source_by_district(_store, layer, types=list(types) if types else None,
                                     year=year)


@st.cache_data(show_spinner=False, max_entries=16)
def facility_sources_by_id(_store: Store, key: str, ftype: str, year: int | None
                           ) -> dict[str, str]:
    """``{facility id: source}`` of one type's facilities open in ``year``."""
    frame = layers.facilities_list(_store, ftype, year=year)
    return dict(zip(frame["facility_id"].astype(str), frame["source"].astype(str), strict=True))


def with_source(frame: pd.DataFrame, sources: dict, column: str, lang: str) -> pd.DataFrame:
    """``frame`` with a ``source`` column (``数据来源`` in Chinese) looked up by ``column``
    (a district adcode or a year): what a downloaded CSV rests on, row by row."""
    values = [sources.get(int(v), "") if pd.notna(v) else "" for v in frame[column]]
    return frame.assign(**{translate("source_column", lang): values})


@st.cache_data(show_spinner=False, max_entries=16)
def _grid_gap(_store: Store, key: str, year: int, district: int | None) -> dict | None:
    return layers.grid_gap(_store, year, district)


def grid_gap_note(store: Store, key: str, lang: str, year: int,
                  district: int | None = None) -> None:
    """A warning where the population grid holds far fewer (or more) residents than the
    district table: the page's cell-level and district-level figures then count different
    people, and the reader should know why they disagree."""
    gap = _grid_gap(store, key, int(year), district)
    if gap is None:
        return
    st.warning(translate("grid_gap", lang, grid=f"{gap['grid']:,}", table=f"{gap['table']:,}",
                         share=f"{gap['share']:.0%}", year=year), icon=":material/grid_on:")


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
    # one per layer, each missing facility type counted as a layer of its own (a type two
    # registers could fill, such as kindergartens, is one missing layer)
    with st.expander(translate("missing_title", lang,
                               n=len(frame[["layer", "type"]].drop_duplicates())),
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
