"""Cached loaders: each result is keyed by the store (path and build time) and by the
parameters it depends on, never by the language (labels are applied after loading)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import indicators
from analytics.indicators import trends
from dashboard.shell import PageContext, open_store


def _view_key(ctx: PageContext) -> tuple:
    return (ctx.store_key, ctx.lang, ctx.district, ctx.year)


def cached_view(fn):
    """Cache a page's figure builder ``fn(ctx, ...)``: the result depends on the store, the
    language and the selected area and year (and on the builder's own arguments)."""
    return st.cache_data(show_spinner=False, max_entries=256,
                         hash_funcs={PageContext: _view_key})(fn)


@st.cache_data(show_spinner=False, max_entries=8)
def ratio_values(path: str, vintage: str) -> pd.DataFrame:
    return indicators.ratio_values(open_store(path))


@st.cache_data(show_spinner=False, max_entries=8)
def all_kpis(path: str, vintage: str) -> pd.DataFrame:
    """Every KPI of every year, city and district, as the store keeps them for its data
    (computed and kept when it has none for this vintage)."""
    return indicators.values(open_store(path))


def kpi_values(key: tuple[str, str], year: int, years: tuple[int, ...],
               district_ids: tuple[int, ...]) -> pd.DataFrame:
    """All KPI values the overview needs: every ratio KPI for every year and area, and the
    spatial KPIs for the city and every district in every year, so a district's tiles have
    their changes and their history too (``year``, ``years`` and ``district_ids`` are kept for
    the callers: the series covers every year and district of the store).

    A spatial KPI costs one whole-city analysis per year: the build keeps the series in the
    store, and the server keeps it again after each department load, so a page reads it."""
    return all_kpis(*key)


@st.cache_data(show_spinner=False, max_entries=8)
def base_frame(path: str, vintage: str) -> pd.DataFrame:
    return indicators.base_frame(open_store(path))


@st.cache_data(show_spinner=False, max_entries=4)
def district_geojson(path: str, vintage: str) -> dict:
    """District outlines as GeoJSON, simplified to about 100 m (plenty for a city map)."""
    shapes = indicators.district_shapes(open_store(path))
    shapes["geometry"] = shapes.geometry.simplify(0.001, preserve_topology=True)
    return shapes[["adcode", "geometry"]].__geo_interface__


@st.cache_data(show_spinner=False, max_entries=4)
def district_label_points(path: str, vintage: str) -> dict[int, tuple[float, float, float]]:
    """Where to write each district's name: a point inside it, and its share of the area."""
    shapes = indicators.district_shapes(open_store(path))
    points = shapes.geometry.representative_point()
    area = shapes.geometry.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105").area
    share = area / area.sum()
    return {int(a): (p.x, p.y, float(s))
            for a, p, s in zip(shapes["adcode"], points, share, strict=True)}


@st.cache_data(show_spinner=False, max_entries=64)
def pyramid(path: str, vintage: str, year: int, district: int | None) -> pd.DataFrame:
    """The pyramid as published (disclosure control, logged): suppressed bands are blank."""
    return trends.public_pyramid(open_store(path), year, district, channel="page")


@st.cache_data(show_spinner=False, max_entries=32)
def age_groups(path: str, vintage: str, district: int | None) -> pd.DataFrame:
    store = open_store(path)
    return trends.age_groups(store, district, base=base_frame(path, vintage))


@st.cache_data(show_spinner=False, max_entries=32)
def vital_rates(path: str, vintage: str, district: int | None) -> pd.DataFrame:
    store = open_store(path)
    return trends.vital_rates(store, district, base=base_frame(path, vintage))
