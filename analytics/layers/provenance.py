"""Provenance: where each layer's rows come from, per district (and type), and listings.

``source`` is ``synthetic`` or ``<dataset id> v<version>``; :func:`sources` adds the
department, the dataset's title, when and by whom that version was loaded and how many rows
it gave, so a page or a download can say "民政局 · 养老机构名录 · version 3, loaded
2026-11-20 by li.wei, 412 rows" or "synthetic, calibrated to the 2020 census".
"""

from __future__ import annotations

import re

import pandas as pd

from analytics.pooling.contracts import contracts
from analytics.pooling.feeds import LAYERS, feeds, layer_types
from analytics.pooling.quality import GRID_TOLERANCE
from analytics.standards import FACILITY_TYPES, facility_type

SOURCE_COLUMNS = ["layer", "type", "district_adcode", "source", "dataset_id", "version",
                  "department", "department_en", "title", "title_en", "loaded_at", "loaded_by",
                  "rows", "capacity"]
FACILITY_COLUMNS = ["facility_id", "name", "type", "district_adcode", "lon", "lat", "capacity",
                    "opened_year", "closed_year", "source"]
_SOURCE = re.compile(r"^(?P<id>[a-z0-9_]+) v(?P<version>\d+)$")


def split_source(source: str) -> tuple[str | None, int | None]:
    """The dataset and version a layer row's ``source`` names.

    Parameters
    ----------
    source : str
        ``synthetic``, or ``<dataset_id> v<version>``.

    Returns
    -------
    tuple
        ``(dataset_id, version)``, or ``(None, None)`` for synthetic rows.

    Examples
    --------
    >>> split_source("civil_affairs_care_homes v3"), split_source("synthetic")
    (('civil_affairs_care_homes', 3), (None, None))
    """
    m = _SOURCE.match(str(source))
    return (m["id"], int(m["version"])) if m else (None, None)


#: The layers held by year, whose sources one query reads (``layers.sources_yearly``).
YEARLY = ("population_cells", "population_districts", "vital_events")


def sources(store, year: int | None = None) -> pd.DataFrame:
    """Per layer, type and district: what feeds it, with the load's who, when and rows.

    Parameters
    ----------
    store : Store
        The city store.
    year : int, optional
        The year of the population layers (default: the latest) and of the facilities
        open in it (default: every facility).

    Returns
    -------
    pandas.DataFrame
        :data:`SOURCE_COLUMNS`.

    Examples
    --------
    >>> s = sources(store)
    >>> set(s.loc[s["layer"] == "population_districts", "source"])
    {'synthetic'}
    """
    yearly = store.query("layers.sources_yearly", year=year)
    frames = [yearly[yearly["layer"] == name].reset_index(drop=True) if name in YEARLY
              else store.query(f"layers.sources_{name}",
                               **({} if name == "assets" else {"year": year}))
              for name in LAYERS]
    frame = pd.concat([f for f in frames if not f.empty] or [frames[0]], ignore_index=True)
    parts = frame["source"].map(split_source)
    frame["dataset_id"] = [p[0] for p in parts]
    frame["version"] = pd.array([p[1] for p in parts], dtype="Int64")
    known = contracts()
    frame["department"] = frame["dataset_id"].map(lambda d: known[d].department if d in known
                                                  else None)
    frame["department_en"] = frame["dataset_id"].map(
        lambda d: known[d].department_en if d in known else None)
    frame["title"] = frame["dataset_id"].map(lambda d: known[d].title if d in known else None)
    frame["title_en"] = frame["dataset_id"].map(lambda d: known[d].title_en if d in known
                                                else None)
    loads = store.query("layers.loads")
    loads["version"] = loads["version"].astype("Int64")
    frame = frame.merge(loads.rename(columns={"logged_at": "loaded_at", "actor": "loaded_by",
                                              "rows_out": "dataset_rows"}),
                        on=["dataset_id", "version"], how="left")
    return frame[SOURCE_COLUMNS].reset_index(drop=True)


def source_summary(store, layer_name: str, *, types: list[str] | None = None,
                   year: int | None = None, district: int | None = None) -> pd.DataFrame:
    """The distinct sources behind one layer (optionally some types, one district).

    Parameters
    ----------
    store : Store
        The city store.
    layer_name : str
        A layer of :data:`LAYERS`.
    types : list of str, optional
        Only these facility or asset types.
    year : int, optional
        The year of the population layers (default: the latest).
    district : int or None
        One district, or None for the whole city.

    Returns
    -------
    pandas.DataFrame
        One row per source, with the load's who and when, ``rows`` and ``districts``.
    """
    frame = sources(store, year)
    frame = frame[frame["layer"] == layer_name]
    if types:
        frame = frame[frame["type"].isin(types)]
    if district is not None:
        frame = frame[frame["district_adcode"] == district]
    if frame.empty:
        return frame.assign(districts=pd.Series(dtype="int64"))
    keys = ["source", "dataset_id", "version", "department", "department_en", "title",
            "title_en", "loaded_at", "loaded_by"]
    out = (frame.groupby(keys, dropna=False, sort=False)
           .agg(rows=("rows", "sum"), districts=("district_adcode", "nunique")).reset_index())
    return out.sort_values("source", key=lambda s: s == "synthetic").reset_index(drop=True)


def district_sources(store, layer_name: str, *, types: list[str] | None = None,
                     year: int | None = None) -> pd.DataFrame:
    """Per district: what feeds one layer (optionally some types), with the district's names.

    Parameters
    ----------
    store : Store
        The city store.
    layer_name : str
        A layer of :data:`LAYERS`.
    types : list of str, optional
        Only these facility types (default: all).
    year : int, optional
        The year whose versions count (default: the latest).

    Returns
    -------
    pandas.DataFrame
        One row per district and source (a district can have several when ``types`` are fed
        by different registers); columns ``district_adcode, name, name_en`` and those of
        :func:`sources`.
    """
    frame = sources(store, year)
    frame = frame[frame["layer"] == layer_name]
    if types:
        frame = frame[frame["type"].isin(types)]
    names = store.query("layers.district_names")
    frame = frame.merge(names, on="district_adcode", how="left")
    return frame[["district_adcode", "name", "name_en", *[c for c in SOURCE_COLUMNS
                                                          if c != "district_adcode"]]] \
        .reset_index(drop=True)


def source_by_district(store, layer_name: str, *, types: list[str] | None = None,
                       year: int | None = None) -> dict[int, str]:
    """``{district adcode: source}`` of one layer.

    Parameters
    ----------
    store : Store
        The city store.
    layer_name : str
        A layer of :data:`LAYERS`.
    types : list of str, optional
        Only these facility types (default: all).
    year : int, optional
        The year whose versions count (default: the latest).

    Returns
    -------
    dict
        Each source is ``synthetic``, ``<dataset> v<N>``, or several joined by ``; `` (the
        ``source`` column of a download of per-district figures).
    """
    frame = district_sources(store, layer_name, types=types, year=year)
    return {int(d): "; ".join(sorted(set(g["source"]), key=lambda s: (s == "synthetic", s)))
            for d, g in frame.groupby("district_adcode")}


#: Layers reported by year and district, whose sources :func:`source_by_year` lists.
YEAR_LAYERS = ("population_districts", "vital_events")


def year_sources(store, layer_name: str, district: int | None = None) -> pd.DataFrame:
    """What feeds a layer reported over years (:data:`YEAR_LAYERS`), year by year.

    Parameters
    ----------
    store : Store
        The city store.
    layer_name : str
        One of :data:`YEAR_LAYERS`.
    district : int or None
        One district, or None for the whole city.

    Returns
    -------
    pandas.DataFrame
        Rows ``year, district_adcode, name, name_en, source``.
    """
    if layer_name not in YEAR_LAYERS:
        raise ValueError(f"{layer_name!r} is not reported by year: use {YEAR_LAYERS}")
    frame = store.query(f"layers.years_{layer_name}")
    if district is not None:
        frame = frame[frame["district_adcode"] == int(district)]
    return frame.merge(store.query("layers.district_names"), on="district_adcode", how="left")


def source_by_year(store, layer_name: str, district: int | None = None) -> dict[int, str]:
    """``{year: source}`` of a layer reported over years (:data:`YEAR_LAYERS`).

    Parameters
    ----------
    store : Store
        The city store.
    layer_name : str
        One of :data:`YEAR_LAYERS`.
    district : int or None
        One district, or None for the whole city.

    Returns
    -------
    dict
        ``synthetic``, ``<dataset> v<N>``, or, where districts differ, each source with the
        districts it feeds (``public_security_residents v1 (330106); synthetic (12
        districts)``): the ``source`` column of a chart's CSV over years.
    """
    frame = year_sources(store, layer_name, district)
    out = {}
    for year, group in frame.groupby("year"):
        parts = group.groupby("source")["district_adcode"].apply(list)
        if len(parts) == 1:
            out[int(year)] = str(parts.index[0])
            continue
        order = sorted(parts.index, key=lambda s: (s == "synthetic", s))
        out[int(year)] = "; ".join(
            f"{s} ({', '.join(map(str, parts[s]))})" if s != "synthetic" or len(parts[s]) <= 3
            else f"{s} ({len(parts[s])} districts)" for s in order)
    return out


def facilities_list(store, ftype: str, *, year: int | None = None,
                    district: int | None = None) -> pd.DataFrame:
    """The facilities of one type as the analyses see them, each with its source.

    Parameters
    ----------
    store : Store
        The city store.
    ftype : str
        A facility type.
    year : int, optional
        Only the facilities open in this year (default: all).
    district : int or None
        One district, or None for the whole city.

    Returns
    -------
    pandas.DataFrame
        :data:`FACILITY_COLUMNS`.
    """
    facility_type(ftype)  # an unknown type: a clear error naming the types
    frame = store.query("layers.facilities_list", type=ftype, year=year, district=district)
    return frame[FACILITY_COLUMNS]


def missing_layers(store) -> pd.DataFrame:
    """Layers (and facility types) with no rows at all, and the datasets that would fill them.

    Parameters
    ----------
    store : Store
        The city store.

    Returns
    -------
    pandas.DataFrame
        ``layer, type, dataset_id, department, department_en, title, title_en, contract,
        example`` (one row per dataset that would fill a missing layer or type; a layer no
        contract feeds has one row with empty dataset fields).
    """
    counts = store.query("layers.layer_rows").set_index("layer")["rows"]
    present = set(store.query("layers.facility_types_present")["type"])
    rows = []

    def add(layer_name: str, ftype: str, fillers) -> None:
        if not fillers:
            rows.append({"layer": layer_name, "type": ftype, "dataset_id": None})
        for c in fillers:
            rows.append({"layer": layer_name, "type": ftype, "dataset_id": c.id,
                         "department": c.department, "department_en": c.department_en,
                         "title": c.title, "title_en": c.title_en,
                         "contract": f"data/contracts/{c.id}.yaml",
                         "example": f"data/examples/{c.example}" if c.example else None})

    for name in LAYERS:
        if name == "facilities":
            for ftype in FACILITY_TYPES:
                if ftype not in present:
                    add(name, ftype, [c for c in feeds(name) if ftype in layer_types(c)])
        elif int(counts.get(name, 0)) == 0:
            add(name, "", feeds(name))
    columns = ["layer", "type", "dataset_id", "department", "department_en", "title",
               "title_en", "contract", "example"]
    return pd.DataFrame(rows, columns=columns)


def grid_gap(store, year: int, district: int | None = None) -> dict | None:
    """How far the population grid's residents fall from the district table's in a year,
    where they differ by more than :data:`~analytics.pooling.quality.GRID_TOLERANCE` (the
    check loading reports): the planning figures (coverage, unmet demand, the standard's
    ratio) count the grid's residents, the KPIs the table's.

    Parameters
    ----------
    store : Store
        The city store.
    year : int
        The year of the figures.
    district : int or None
        One district, or None for the whole city (the districts the grid covers).

    Returns
    -------
    dict or None
        ``{"grid": persons, "table": persons, "share": grid / table}`` over the districts
        both layers have that year; None where they agree or either is empty.
    """
    grid = store.query("layers.grid_totals")
    table = store.query("layers.district_totals")
    both = grid.merge(table, on=["year", "district_adcode"], suffixes=("_grid", "_table"))
    both = both[both["year"] == int(year)]
    if district is not None:
        both = both[both["district_adcode"] == int(district)]
    g, t = float(both["table_persons_grid"].sum()), float(both["table_persons_table"].sum())
    if not t or not g or abs(g / t - 1) <= GRID_TOLERANCE:
        return None
    return {"grid": int(g), "table": int(t), "share": g / t}
