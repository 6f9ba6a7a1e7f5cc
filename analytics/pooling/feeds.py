"""Feeds: the analytic layers, which contracts feed each, and the SQL that joins them.

Each layer is a store name the analyses read (``facilities``, ``population_cells``,
``population_districts``, ``vital_events``, ``assets``). Its synthetic default lives in
``synthetic_<name>`` (written by the build); the department datasets whose contract declares
``layer: {name: <name>, ...}`` feed it. The layer itself is a view:

- department rows: the current version of every feeding dataset, mapped to the layer's
  columns, and for datasets that report over time (``as_of``) only the latest date of each
  year and district;
- synthetic rows: only where no department row exists for the same replacement key
  (type and district for facilities and assets; year and district for the population
  layers). Department data replaces synthetic data; it is never added to it.

Every row carries ``source``: ``synthetic`` or ``<dataset id> v<version>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.errors import CityBrainError
from analytics.pooling.contracts import Contract, contracts
from analytics.standards import FACILITY_TYPES

#: The opening year given to a registered facility whose register does not say it.
UNKNOWN_OPENED = 1900


class LayerError(CityBrainError):
    """A contract's layer mapping that does not fit its layer."""


@dataclass(frozen=True)
class Layer:
    """One analytic layer: its columns (in order), replacement key and descriptions."""

    name: str
    columns: tuple[str, ...]
    replace_on: tuple[str, ...]
    title: str
    title_en: str
    type_column: str | None = None      # facilities: type; assets: asset_type
    #: Counts summed over what the layer does not keep (e.g. sex, for births and deaths)
    measures: tuple[str, ...] = ()
    year_column: str | None = None

    @property
    def synthetic(self) -> str:
        return f"synthetic_{self.name}"

    @property
    def dept_view(self) -> str:
        return f"dept_layer_{self.name}"


LAYERS: dict[str, Layer] = {layer.name: layer for layer in [
    Layer("population_cells",
          ("city_adcode", "year", "cell", "district_adcode", "age_group", "sex", "persons"),
          ("year", "district_adcode"), "网格常住人口（年龄组×性别）",
          "Residents by cell, age group and sex", measures=("persons",), year_column="year"),
    Layer("population_districts",
          ("city_adcode", "year", "district_adcode", "age", "sex", "persons"),
          ("year", "district_adcode"), "区县人口（单岁×性别）",
          "Residents by district, single year of age and sex", measures=("persons",),
          year_column="year"),
    Layer("vital_events",
          ("city_adcode", "year", "district_adcode", "births", "deaths", "net_migration"),
          ("year", "district_adcode"), "出生、死亡与迁移", "Births, deaths and migration",
          measures=("births", "deaths", "net_migration"), year_column="year"),
    Layer("facilities",
          ("city_adcode", "facility_id", "type", "name", "district_adcode", "cell", "lon", "lat",
           "capacity", "capacity_unit", "opened_year", "closed_year", "occupancy_rate",
           "owner_department"),
          ("type", "district_adcode"), "服务设施", "Facilities", type_column="type"),
    Layer("assets",
          ("city_adcode", "asset_id", "asset_type", "owner_department", "install_year",
           "district_adcode", "cell", "lon", "lat", "depth_cm"),
          ("asset_type", "district_adcode"), "市政设施资产", "Municipal assets",
          type_column="asset_type"),
]}


def layer(name: str) -> Layer:
    """An analytic layer by name.

    Parameters
    ----------
    name : str
        A key of :data:`LAYERS`.

    Returns
    -------
    Layer

    Examples
    --------
    >>> layer("facilities").replace_on
    ('type', 'district_adcode')
    """
    if name not in LAYERS:
        raise LayerError(f"no layer {name!r}: layers are {', '.join(LAYERS)}")
    return LAYERS[name]


def feeds(name: str) -> list[Contract]:
    """The contracts whose datasets feed layer ``name``.

    Parameters
    ----------
    name : str
        A layer.

    Returns
    -------
    list of Contract
    """
    return [c for c in contracts().values() if c.layer and c.layer["name"] == name]


def layer_types(c: Contract) -> list[str]:
    """The facility (or asset) types a contract's dataset feeds.

    Parameters
    ----------
    c : Contract
        A department dataset's contract.

    Returns
    -------
    list of str
    """
    spec = c.layer or {}
    if "type" in spec:
        return [spec["type"]]
    out = []
    for target in (spec.get("type_map") or {}).values():
        out += list(target) if isinstance(target, dict) else [target]
    return list(dict.fromkeys(out))


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def contribution(c: Contract, lay: Layer, table: str | None = None) -> str:
    """One contract's rows as the layer's columns: SQL over its current-version view (or
    over ``table``, a frame of cleaned rows with a ``version`` column)."""
    return _contribution(c, lay, table or c.table)


def _contribution(c: Contract, lay: Layer, table: str) -> str:
    spec = c.layer
    mapping = dict(spec.get("columns") or {})
    source = f"{_quote(c.id + ' v')} || CAST(version AS VARCHAR)"
    if lay.name == "facilities":
        return _facility_contribution(c, spec, mapping, source, table)
    cols = []
    for col in lay.columns:
        expr = mapping.get(col, col if col in ("city_adcode", "district_adcode", "cell") else None)
        if col == "owner_department" and expr is None:
            expr = _quote(c.department)
        if expr is None:
            raise LayerError(f"contract {c.id}: layer {lay.name} needs column {col!r} "
                             f"(map it under layer.columns)")
        cols.append((col, expr))
    where = spec.get("where")
    latest = spec.get("latest_by")
    body = f"SELECT {', '.join(f'{e} AS {n}' for n, e in cols)}, {source} AS source FROM {table}"
    if where:
        body += f" WHERE {where}"
    if latest:
        year = dict(cols)[lay.year_column]
        body += (f" QUALIFY {latest} = max({latest}) OVER (PARTITION BY {year}, "
                 "district_adcode)")
    if lay.measures:
        # department rows finer than the layer (by sex, by age) are summed to its grain; a
        # measure the department does not report stays NULL (never filled from synthetic)
        keys = [n for n, _ in cols if n not in lay.measures]
        sums = ", ".join(f"CAST(sum({m}) AS INTEGER) AS {m}" for m in lay.measures)
        order = ", ".join(n for n, _ in cols)
        body = (f"SELECT {order}, source FROM (SELECT {', '.join(keys)}, {sums}, "
                f"any_value(source) AS source FROM ({body}) GROUP BY {', '.join(keys)})")
    return body


def _facility_contribution(c: Contract, spec: dict, mapping: dict, source: str,
                           table: str) -> str:
    parts = []
    if "type" in spec:
        targets = {spec["type"]: [(None, 1.0)]}
    else:
        targets: dict[str, list] = {}
        for value, target in spec["type_map"].items():
            shares = target if isinstance(target, dict) else {target: 1.0}
            for ftype, share in shares.items():
                targets.setdefault(ftype, []).append((value, float(share)))
    for ftype, values in targets.items():
        if ftype not in FACILITY_TYPES:
            raise LayerError(f"contract {c.id}: {ftype!r} is not a facility type "
                             f"({', '.join(FACILITY_TYPES)})")
        kind = FACILITY_TYPES[ftype]
        capacity = mapping.get("capacity", "0")
        if kind.capacity_unit == "none":
            capacity = "0"
        share = "1.0"
        where = ""
        if values[0][0] is not None:
            col = spec["type_from"]
            share = "CASE " + " ".join(f"WHEN {col} = {_quote(v)} THEN {s!r}"
                                       for v, s in values) + " END"
            where = f" WHERE {col} IN ({', '.join(_quote(v) for v, _ in values)})"
        exprs = {
            "city_adcode": "city_adcode",
            "facility_id": f"CAST({mapping.get('facility_id', 'id')} AS VARCHAR)",
            "type": _quote(ftype),
            "name": mapping.get("name", "name"),
            "district_adcode": "district_adcode",
            "cell": "cell",
            "lon": "lon", "lat": "lat",
            "capacity": f"CAST(round({capacity} * {share}) AS INTEGER)",
            "capacity_unit": _quote(kind.capacity_unit),
            # A register that gives no opening year counts its facilities in every year.
            "opened_year": f"CAST(coalesce({mapping.get('opened_year', 'NULL')}, "
                           f"{UNKNOWN_OPENED}) AS SMALLINT)",
            "closed_year": f"CAST({mapping.get('closed_year', 'NULL')} AS SMALLINT)",
            "occupancy_rate": f"CAST({mapping.get('occupancy_rate', 'NULL')} AS DOUBLE)",
            "owner_department": _quote(c.department),
        }
        select = ", ".join(f"{e} AS {n}" for n, e in exprs.items())
        parts.append(f"SELECT {select}, {source} AS source FROM {table}{where}")
    return " UNION ALL ".join(parts)


def _empty(lay: Layer) -> str:
    cols = ", ".join(f"{c}" for c in lay.columns)
    return f"SELECT {cols}, CAST(NULL AS VARCHAR) AS source FROM {lay.synthetic} WHERE false"  # noqa: S608


def view_statements() -> list[str]:
    """``CREATE VIEW`` for every layer (and its department part), for a new store.

    Run after the synthetic tables and the department tables exist.
    """
    out = []
    for lay in LAYERS.values():
        parts = [_contribution(c, lay, c.table) for c in feeds(lay.name)] or [_empty(lay)]
        out.append(f"CREATE VIEW {lay.dept_view} AS " + " UNION ALL ".join(
            f"({p})" for p in parts))
        cols = ", ".join(f"s.{c}" for c in lay.columns)
        keys = ", ".join(lay.replace_on)
        # An anti join on the distinct covered keys: a hash table of a few rows, so a query
        # on the layer costs about what it costs on the synthetic table alone.
        out.append(
            f"CREATE VIEW {lay.name} AS "
            f"SELECT {cols}, 'synthetic' AS source FROM {lay.synthetic} AS s "
            f"ANTI JOIN (SELECT DISTINCT {keys} FROM {lay.dept_view}) AS d USING ({keys}) "
            f"UNION ALL SELECT {', '.join(lay.columns)}, source FROM {lay.dept_view}")
    return out
