"""The lake: every analytic table as Parquet, partitioned by city and year, with a manifest.

Layout (hive-style, readable by DuckDB, Spark, pyarrow and most query engines)::

    DIR/_manifest.json
    DIR/population_cells/city_adcode=330100/year=2020/part-0.parquet
    DIR/cells/city_adcode=330100/part-0.parquet
    DIR/catchment_pairs/city_adcode=330100/part-0.parquet
    ...

The manifest says what the lake holds: the store schema version it was written from, the
data vintage, each city's build parameters, and for every table its partition columns and
each file with its row count, size and SHA-256. Reading a lake checks the schema version and
that every file the manifest lists is there at its size (``verify`` also re-hashes them), so a
lake from other code or a half-copied one fails with one line naming the fix.

Cities are written one at a time (``export_city``); each rewrites only its own
``city_adcode=`` directories and then its entry in the manifest (atomic rename), so a
province or country lake is built city by city in bounded memory.

H3 cell ids are written as BIGINT (every H3 index fits: its top bit is 0). Spatial work that
an engine cannot do without extensions is prepared here as a plain table,
``catchment_pairs``: for each facility, every populated cell within its type's walking
radius and the distance in metres, found with the same projection and KD-tree as
:mod:`analytics.planning.accessibility`, one city at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.errors import CityBrainError
from analytics.planning.accessibility import pairs_within, project
from analytics.standards import FACILITY_TYPES
from analytics.store import SCHEMA_VERSION, Store

MANIFEST = "_manifest.json"
FORMAT = "citybrain-lake"
#: Bumped when the lake layout (not the store schema) changes.
LAKE_VERSION = 1

#: Tables in the lake and their partition columns below city_adcode.
LAKE_TABLES: dict[str, tuple[str, ...]] = {
    "districts": (),
    "cells": (),
    "population_cells": ("year",),
    "population_districts": ("year",),
    "vital_events": ("year",),
    "facilities": (),
    "assets": (),
    "datasets": (),
}
#: Tables the lake adds (not in the store): the city's meta and the catchment pairs.
DERIVED_TABLES = ("city_meta", "catchment_pairs")
PARTITION_TYPES = {"city_adcode": "INTEGER", "year": "INTEGER"}
#: Every catchment is found at this radius or the type's standard one, if larger, so
#: overrides up to it (the plan command's --radius) run on the lake too.
PAIRS_MIN_RADIUS_M = 1000

PAIRS_SCHEMA = pa.schema([("cell", pa.int64()), ("facility_id", pa.string()),
                          ("type", pa.string()), ("distance_m", pa.float64())])
META_SCHEMA = pa.schema([("key", pa.string()), ("value", pa.string())])


class LakeError(CityBrainError):
    """A lake that cannot be read or written, with the fix in the message."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _export_hint(directory: Path) -> str:
    return (f"re-export it with `python -m analytics lake export --store STORE --out "
            f"{directory}` (or rebuild a province with `python -m analytics build --province "
            f"ADCODE --lake {directory}`)")


# -- writing ---------------------------------------------------------------------------------
def catchment_pairs(store: Store) -> pa.Table:
    """``cell, facility_id, type, distance_m``: every populated cell within reach of each
    facility (any year), at the larger of its type's standard radius and
    :data:`PAIRS_MIN_RADIUS_M`.

    Distances are straight-line metres on the transverse Mercator projection centred on the
    city's populated cells, as :func:`analytics.planning.accessibility.analyse` measures them.
    """
    cells = store.table("cells", ["cell", "lon", "lat"])
    facilities = store.table("facilities", ["facility_id", "type", "lon", "lat"])
    parts = []
    if len(cells) and len(facilities):
        origin = (float(cells["lon"].median()), float(cells["lat"].median()))
        cxy = project(cells["lon"], cells["lat"], origin)
        cell_ids = cells["cell"].to_numpy(dtype=np.uint64).astype(np.int64)
        for key, ft in FACILITY_TYPES.items():
            fac = facilities[facilities["type"] == key]
            if fac.empty:
                continue
            i, j, d = pairs_within(cxy, project(fac["lon"], fac["lat"], origin),
                                   max(ft.radius_m, PAIRS_MIN_RADIUS_M))
            parts.append(pa.table({
                "cell": pa.array(cell_ids[i], pa.int64()),
                "facility_id": pa.array(fac["facility_id"].to_numpy()[j].astype(str), pa.string()),
                "type": pa.array(np.full(len(i), key), pa.string()),
                "distance_m": pa.array(d, pa.float64())}, schema=PAIRS_SCHEMA))
    if not parts:
        return PAIRS_SCHEMA.empty_table()
    return pa.concat_tables(parts).sort_by([("type", "ascending"), ("cell", "ascending")])


def _files_of(directory: Path, table: str, city: int) -> list[dict]:
    root = directory / table / f"city_adcode={city}"
    out = []
    for path in sorted(root.rglob("*.parquet")):
        out.append({"path": path.relative_to(directory).as_posix(),
                    "rows": pq.ParquetFile(path).metadata.num_rows,
                    "bytes": path.stat().st_size, "sha256": _sha256(path)})
    return out


def _read_manifest(directory: Path) -> dict | None:
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LakeError(f"{path} is not a readable manifest ({exc}): "
                        f"{_export_hint(directory)}") from None


def _write_manifest(directory: Path, manifest: dict) -> None:
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True),
                   encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def _new_manifest() -> dict:
    return {"format": FORMAT, "lake_version": LAKE_VERSION, "schema_version": SCHEMA_VERSION,
            "cities": {}, "tables": {t: {"partition_by": ["city_adcode", *p]}
                                     for t, p in LAKE_TABLES.items()}
            | {"city_meta": {"partition_by": ["city_adcode"]},
               "catchment_pairs": {"partition_by": ["city_adcode"]}}}


def export_city(store: Store, directory: Path | str) -> dict:
    """Write (or rewrite) one city store's tables into the lake at ``directory``.

    Other cities already in the lake are kept.

    Parameters
    ----------
    store : Store
        The city store.
    directory : Path or str
        The lake.

    Returns
    -------
    dict
        The city's manifest entry.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LakeError(f"cannot create the lake directory {directory}: {exc.strerror}; "
                        "choose a writable --out") from None
    manifest = _read_manifest(directory) or _new_manifest()
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise LakeError(f"{directory} holds a lake of schema version "
                        f"{manifest.get('schema_version')}, this code writes {SCHEMA_VERSION}: "
                        "export into a new directory (or delete the old lake)")
    meta = store.meta()
    city = int(meta["city_adcode"])
    present = set(store.tables())
    files: dict[str, list[dict]] = {}
    for table, below in LAKE_TABLES.items():
        if table not in present:
            continue
        target = directory / table / f"city_adcode={city}"
        if target.exists():
            import shutil

            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if below:
            store.copy_to_parquet("lake.rows_city", target, partition_by=below,
                                  table=table, city=city)
        else:
            target.mkdir(parents=True, exist_ok=True)
            store.copy_to_parquet("lake.rows_city", target / "part-0.parquet",
                                  table=table, city=city)
        files[table] = _files_of(directory, table, city)
    for table, frame in (("city_meta", pa.Table.from_pandas(
            store.query("lake.meta_rows"), schema=META_SCHEMA, preserve_index=False)),
                         ("catchment_pairs", catchment_pairs(store))):
        target = directory / table / f"city_adcode={city}"
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(frame, target / "part-0.parquet", compression="zstd")
        files[table] = _files_of(directory, table, city)
    entry = {"name": meta.get("city_name", ""), "seed": meta.get("seed"),
             "years": f"{meta.get('first_year')}-{meta.get('last_year')}",
             "districts": meta.get("districts"), "built_at": meta.get("built_at"),
             "build_seconds": meta.get("build_seconds"),
             "data_vintage": meta.get("data_vintage"),
             "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "rows": {t: sum(f["rows"] for f in fs) for t, fs in files.items()}}
    manifest = _read_manifest(directory) or manifest
    manifest["cities"][str(city)] = entry
    manifest["vintage"] = meta.get("data_vintage")
    for table, fs in files.items():
        spec = manifest["tables"].setdefault(table, {"partition_by": ["city_adcode"]})
        kept = [f for f in spec.get("files", [])
                if not f["path"].startswith(f"{table}/city_adcode={city}/")]
        spec["files"] = sorted(kept + fs, key=lambda f: f["path"])
        spec["rows"] = sum(f["rows"] for f in spec["files"])
    _write_manifest(directory, manifest)
    return entry


def export(store_path: Path | str, directory: Path | str) -> dict:
    """``python -m analytics lake export``: one store into the lake (its city replaced).

    Parameters
    ----------
    store_path : Path or str
        The city store, opened read-only.
    directory : Path or str
        The lake.

    Returns
    -------
    dict
        The city's manifest entry.
    """
    with Store.open(store_path, read_only=True) as store:
        return export_city(store, directory)


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lake:
    """A validated lake: its directory and manifest. Open with :meth:`open`."""

    directory: Path
    manifest: dict

    @classmethod
    def open(cls, directory: Path | str, *, verify: bool = False) -> Lake:
        """Check the manifest against this code and the files on disk (``verify``: hashes too).

        Raises :class:`LakeError` with one line naming the problem and the fix.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise LakeError(f"no lake at {directory}: export one with `python -m analytics "
                            f"lake export --out {directory}`")
        manifest = _read_manifest(directory)
        if manifest is None or manifest.get("format") != FORMAT:
            raise LakeError(f"{directory} has no lake manifest ({MANIFEST}): "
                            f"{_export_hint(directory)}")
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise LakeError(f"lake {directory} was written with schema version "
                            f"{manifest.get('schema_version')}, this code reads "
                            f"{SCHEMA_VERSION}: {_export_hint(directory)}")
        if manifest.get("lake_version") != LAKE_VERSION:
            raise LakeError(f"lake {directory} has layout version "
                            f"{manifest.get('lake_version')}, this code reads {LAKE_VERSION}: "
                            f"{_export_hint(directory)}")
        if not manifest.get("cities"):
            raise LakeError(f"lake {directory} holds no city: {_export_hint(directory)}")
        for table in (*LAKE_TABLES, *DERIVED_TABLES):
            spec = manifest["tables"].get(table, {})
            for city in manifest["cities"]:
                if table in ("assets", "datasets"):
                    break  # optional tables
                if not any(f["path"].startswith(f"{table}/city_adcode={city}/")
                           for f in spec.get("files", [])):
                    raise LakeError(f"lake {directory} has no partition {table}/city_adcode="
                                    f"{city} in its manifest: {_export_hint(directory)}")
            for f in spec.get("files", []):
                path = directory / f["path"]
                if not path.exists():
                    raise LakeError(f"lake {directory} is missing partition "
                                    f"{Path(f['path']).parent.as_posix()} (file {f['path']} is in "
                                    f"its manifest): {_export_hint(directory)}")
                if path.stat().st_size != f["bytes"] or (verify and _sha256(path) != f["sha256"]):
                    raise LakeError(f"lake file {f['path']} differs from its manifest "
                                    f"(size or SHA-256): copied partly or changed since; "
                                    f"{_export_hint(directory)}")
        return cls(directory, manifest)

    @property
    def cities(self) -> list[int]:
        return sorted(int(c) for c in self.manifest["cities"])

    def files(self, table: str) -> list[Path]:
        return [self.directory / f["path"]
                for f in self.manifest["tables"].get(table, {}).get("files", [])]

    def table_dir(self, table: str) -> Path:
        return self.directory / table

    def tables(self) -> list[str]:
        return [t for t in self.manifest["tables"] if self.files(t)]

    def rows(self, table: str) -> int:
        return int(self.manifest["tables"].get(table, {}).get("rows", 0))

    def meta(self) -> dict[str, str]:
        """Store-like meta: schema version, vintage, and the city's own when there is one."""
        out = {"schema_version": str(SCHEMA_VERSION), "lake": str(self.directory),
               "lake_cities": ",".join(map(str, self.cities)),
               "data_vintage": str(self.manifest.get("vintage", ""))}
        if len(self.cities) == 1:
            city = self.manifest["cities"][str(self.cities[0])]
            out.update({"city_adcode": str(self.cities[0]), "city_name": city.get("name", ""),
                        "seed": str(city.get("seed")), "built_at": str(city.get("built_at"))})
        else:
            out.update({"city_names": ", ".join(f"{c} {e.get('name', '')}" for c, e in
                                                sorted(self.manifest["cities"].items()))})
        return out

    def store(self) -> Store:
        """DuckDB over the lake: an in-memory store whose tables are views of the files."""
        store = Store.over_parquet({t: self.files(t) for t in self.tables()}, self.meta(),
                                   PARTITION_TYPES)
        store.lake = self  # city names and the manifest, as on the Spark engine
        return store


def open_lake(directory: Path | str, verify: bool = False) -> Lake:
    return Lake.open(directory, verify=verify)


__all__ = ["LAKE_TABLES", "Lake", "LakeError", "catchment_pairs", "export", "export_city",
           "open_lake"]
