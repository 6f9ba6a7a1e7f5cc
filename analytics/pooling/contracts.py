"""Dataset contracts: what a department promises its files contain.

A contract (``data/contracts/<id>.yaml``) names the columns with their types, units,
allowed ranges or values and the header aliases departments actually use (often Chinese),
the key, the spatial columns and the datum the department's files are in, the district
column to normalise to adcodes, how often the data is updated, who owns it, its access
level and whether a load replaces the dataset or appends to it. Ingest validates every file
against its contract; the catalog and the data-quality page read the same contracts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from analytics.errors import CityBrainError
from analytics.geo import DATUMS
from analytics.settings import settings

CONTRACTS_DIR = settings().contracts_dir

TYPES = ("string", "integer", "number", "date")
#: Store column type of each contract type.
STORE_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "date": "DATE"}
LOAD_MODES = ("replace", "append")
ACCESS_LEVELS = ("public", "on_application", "confidential")
#: Update frequencies and the age (days) after which a dataset counts as stale.
FREQUENCY_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "annual": 366,
                  "irregular": None}


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class ContractError(CityBrainError):
    """A contract file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    required: bool = True  # False: the column may be absent from a file or empty in a row

    @property
    def store_type(self) -> str:
        return STORE_TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    """A department dataset's contract (``data/contracts/<id>.yaml``): its catalog entry, its
    table and key, its columns with their rules, coordinates and datum, and the analytic
    layer it feeds.
    """
    id: str
    title: str
    title_en: str
    description: str
    description_en: str
    department: str
    department_en: str
    theme: str
    keywords: tuple[str, ...]
    access_level: str
    licence: str
    update_frequency: str
    load_mode: str
    table: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    lon: str | None = None
    lat: str | None = None
    datum: str = "wgs84"
    district_column: str | None = None
    district_to: str = "district_adcode"
    temporal_column: str | None = None
    negative_list: bool = False
    negative_reason: str | None = None
    h3_column: str | None = None
    no_future: tuple[str, ...] = ()
    example: str | None = None
    ignore_extra: bool = False     # columns the contract does not name are skipped, not refused
    locate: bool = False           # no district column: take each row's district from its place
    layer: dict | None = field(default=None, compare=False, hash=False)
    path: Path | None = field(default=None, compare=False)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def store_key(self) -> list[str]:
        """The key as stored: the district column is replaced by its adcode."""
        return [self.district_to if k == self.district_column else k for k in self.key]

    def store_columns(self) -> list[tuple[str, str]]:
        """``(name, store type)`` of the department table, without city_adcode and version.

        A dataset with coordinates (or H3 cells) also stores each row's H3 resolution-9
        ``cell``; one with an H3 column but no district column stores the cell's district.
        """
        out = []
        for c in self.columns:
            if c.name == self.district_column:
                out.append((self.district_to, "INTEGER"))
            else:
                out.append((c.name, c.store_type))
        if self.derives_district:
            out.append((self.district_to, "INTEGER"))
        if self.lon or self.h3_column:
            out.append(("cell", "UBIGINT"))
        return out

    @property
    def derives_district(self) -> bool:
        """Whether the district comes from each row's place (no district column)."""
        return self.district_column is None and bool(self.lon or self.h3_column) and \
            (self.layer is not None or self.locate)

    # -- the store's side of a contract: DDL and the few statements ingest runs -----------
    def ddl(self) -> list[str]:
        """``CREATE TABLE <table>_versions`` and ``CREATE VIEW <table>`` (current version)."""
        cols = [("city_adcode", "INTEGER")] + self.store_columns() + [("version", "INTEGER")]
        required = {c.name for c in self.columns if c.required} | {"city_adcode", "version"}
        if self.district_column and self.column(self.district_column).required:
            required.add(self.district_to)
        lines = ",\n    ".join(f"{n} {t}{' NOT NULL' if n in required else ''}"
                               for n, t in cols)
        names = ", ".join(n for n, _ in cols)
        cmp = "<=" if self.load_mode == "append" else "="
        return [
            f"CREATE TABLE {self.versions_table} (\n    {lines}\n)",
            f"CREATE VIEW {self.table} AS SELECT {names} FROM {self.versions_table} "
            f"WHERE version {cmp} (SELECT version FROM ingest_current "
            f"WHERE dataset_id = '{self.id}')",  # noqa: S608 (names checked at parse)
        ]

    def prune_sql(self) -> str:
        """Delete replaced versions older than ``?`` (replace datasets keep a few)."""
        return f"DELETE FROM {self.versions_table} WHERE version < ?"  # noqa: S608 (checked names)

    def drop_version_sql(self) -> str:
        """Delete one version's rows (``?``): rolling back an append load."""
        return f"DELETE FROM {self.versions_table} WHERE version = ?"  # noqa: S608

    def keys_sql(self) -> str:
        """The keys already loaded (append datasets refuse them again)."""
        return f"SELECT {', '.join(self.store_key)} FROM {self.table}"  # noqa: S608

    def versions_sql(self) -> str:
        return f"SELECT DISTINCT version FROM {self.versions_table}"  # noqa: S608

    def count_sql(self) -> str:
        return f"SELECT count(*) FROM {self.table}"  # noqa: S608

    @property
    def example_path(self) -> Path | None:
        """The example file shipped for this dataset (``data/examples/``), if any."""
        return settings().examples_dir / self.example if self.example else None

    @property
    def versions_table(self) -> str:
        """Every loaded version's rows; ``table`` itself is the view of the current one."""
        return f"{self.table}_versions"

    def columns_json(self) -> list[dict]:
        """The catalog's column list (name, type, unit, description)."""
        out = []
        for c in self.columns:
            if c.name == self.district_column:
                out.append({"name": self.district_to, "type": "INTEGER", "unit": "",
                            "description": "区县行政区划代码（由 " + c.name + " 转换）",
                            "description_en": "district adcode (from " + c.name + ")"})
            else:
                out.append({"name": c.name, "type": c.store_type, "unit": c.unit or "",
                            "description": c.description, "description_en": c.description})
        return out


def publisher_name(department: str, city_name: str) -> str:
    """One name per department in the catalog: the city's name before a contract's bare
    department (``教育局`` -> ``杭州市教育局``), as the built datasets name it."""
    department = (department or "").strip()
    if not city_name or department.startswith(city_name):
        return department
    return city_name + department


def _fail(path: Path, message: str) -> ContractError:
    return ContractError(f"contract {path.name}: {message}", code="contract_invalid",
                         file=path.name, problem=message)


def _column(path: Path, raw: dict) -> Column:
    if not isinstance(raw, dict) or "name" not in raw or "type" not in raw:
        raise _fail(path, f"column entry {raw!r} needs at least 'name' and 'type'")
    if raw["type"] not in TYPES:
        raise _fail(path, f"column {raw['name']!r} has type {raw['type']!r}; use one of "
                    f"{', '.join(TYPES)}")
    unknown = set(raw) - {"name", "type", "description", "unit", "min", "max", "allowed",
                          "aliases", "required"}
    if unknown:
        raise _fail(path, f"column {raw['name']!r} has unknown field(s) {', '.join(sorted(unknown))}")
    return Column(
        name=str(raw["name"]), type=raw["type"], description=str(raw.get("description", "")),
        unit=raw.get("unit"), min=raw.get("min"), max=raw.get("max"),
        allowed=tuple(str(a) for a in raw.get("allowed", ())),
        aliases=tuple(str(a) for a in raw.get("aliases", ())),
        required=bool(raw.get("required", True)))


def parse(path: Path) -> Contract:
    """Read and check one contract file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(path, f"cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise _fail(path, "is not a mapping of fields")
    required = ["id", "title", "title_en", "department", "department_en", "theme",
                "access_level", "update_frequency", "load_mode", "table", "key", "columns"]
    missing = [f for f in required if f not in raw]
    if missing:
        raise _fail(path, f"missing field(s) {', '.join(missing)}")
    if raw["id"] != path.stem:
        raise _fail(path, f"id {raw['id']!r} must equal the file name {path.stem!r}")
    columns = tuple(_column(path, c) for c in raw["columns"])
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise _fail(path, "a column name is used twice")
    checks = [
        (raw["load_mode"] in LOAD_MODES, f"load_mode must be one of {', '.join(LOAD_MODES)}"),
        (raw["access_level"] in ACCESS_LEVELS,
         f"access_level must be one of {', '.join(ACCESS_LEVELS)}"),
        (raw["update_frequency"] in FREQUENCY_DAYS,
         f"update_frequency must be one of {', '.join(FREQUENCY_DAYS)}"),
        (all(k in names for k in raw["key"]), "every key column must be a column"),
        (str(raw["table"]).startswith("dept_"), "table must start with dept_"),
    ]
    for ok, message in checks:
        if not ok:
            raise _fail(path, message)
    spatial = raw.get("spatial") or {}
    district = raw.get("district") or {}
    lon, lat = spatial.get("lon"), spatial.get("lat")
    if (lon or lat) and (lon not in names or lat not in names):
        raise _fail(path, "spatial lon and lat must name number columns")
    datum = spatial.get("datum", "wgs84")
    if datum not in DATUMS:
        raise _fail(path, f"spatial datum {datum!r}: use one of {', '.join(DATUMS)}")
    if district and district.get("column") not in names:
        raise _fail(path, "district column must be a column")
    temporal = raw.get("temporal_column")
    if temporal is not None and temporal not in names:
        raise _fail(path, "temporal_column must be a column")
    h3_column = spatial.get("h3")
    if h3_column is not None and h3_column not in names:
        raise _fail(path, "spatial h3 must name a string column")
    no_future = tuple(raw.get("no_future", ()))
    if any(n not in names for n in no_future):
        raise _fail(path, "no_future must list date (or integer year) columns")
    for name in [raw["id"], raw["table"]]:
        if not _IDENT.match(str(name)):
            raise _fail(path, f"{name!r} must be lower-case letters, digits and _")
    for name in names:
        if not _IDENT.match(name):
            raise _fail(path, f"column {name!r} must be lower-case letters, digits and _")
    layer = raw.get("layer")
    if layer is not None and (not isinstance(layer, dict) or "name" not in layer):
        raise _fail(path, "layer must be a mapping with at least a name")
    return Contract(
        id=raw["id"], title=raw["title"], title_en=raw["title_en"],
        description=raw.get("description", ""), description_en=raw.get("description_en", ""),
        department=raw["department"], department_en=raw["department_en"], theme=raw["theme"],
        keywords=tuple(raw.get("keywords", ())), access_level=raw["access_level"],
        licence=raw.get("licence", ""), update_frequency=raw["update_frequency"],
        load_mode=raw["load_mode"], table=raw["table"], key=tuple(raw["key"]), columns=columns,
        lon=lon, lat=lat, datum=datum, district_column=district.get("column"),
        district_to=district.get("to", "district_adcode"), temporal_column=temporal,
        negative_list=bool(raw.get("negative_list", False)),
        negative_reason=raw.get("negative_reason"), h3_column=h3_column, no_future=no_future,
        example=raw.get("example"), layer=layer, path=path)


@cache
def contracts(directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    """Every contract in ``directory``, by id."""
    return {p.stem: parse(p) for p in sorted(directory.glob("*.yaml"))}


def departments(directory: Path = CONTRACTS_DIR) -> dict[str, str]:
    """The departments that own datasets: Chinese name -> English name, sorted."""
    return dict(sorted({c.department: c.department_en
                        for c in contracts(directory).values()}.items()))


def contract(dataset_id: str) -> Contract:
    """The contract of ``dataset_id``, or a clear error listing the known ones.

    Parameters
    ----------
    dataset_id : str
        A department dataset (``data/contracts/<id>.yaml``).

    Returns
    -------
    Contract

    Examples
    --------
    >>> contract("civil_affairs_care_homes").department_en
    'Civil Affairs Bureau'
    """
    known = contracts()
    if dataset_id not in known:
        raise ContractError(f"no contract for dataset {dataset_id!r}: known datasets are "
                            f"{', '.join(known)} (add data/contracts/{dataset_id}.yaml)", code="no_contract",
                            dataset=dataset_id, choices=", ".join(known))
    return known[dataset_id]
