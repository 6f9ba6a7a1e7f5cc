"""Downloads: CSV (UTF-8 with BOM), Parquet, XLSX, GeoJSON, GeoParquet, and whole domains as ZIP.

Every export goes through :func:`analytics.opendata.access.authorize` and takes its rows from
:func:`analytics.opendata.access.chunks`, so what leaves is exactly what the access rules and the
disclosure control allow, and every export is logged. CSV and Parquet are written a chunk
(a year) at a time, so a table larger than memory streams to disk; all years go into one
file. Spatial datasets carry WGS-84 geometry (district polygons, H3 cell hexagons or
facility points).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import h3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from analytics import textsafe
from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, Actor
from analytics.opendata import access, catalog, privacy
from analytics.opendata.registry import DOMAINS
from analytics.store import Store

EXCEL_MAX_ROWS = 1_048_575      # one row is the header
GEOJSON_MAX_ROWS = 500_000      # beyond this GeoJSON is not a sensible format
SPATIAL_MAX_ROWS = 3_000_000
SUFFIX = {"csv": "csv", "parquet": "parquet", "xlsx": "xlsx", "geojson": "geojson",
          "geoparquet": "geo.parquet"}


@dataclass
class ExportResult:
    dataset_id: str
    fmt: str
    rows: int
    report: privacy.DisclosureReport
    file_name: str


def _bytes_to_wkt(frame: pd.DataFrame) -> pd.DataFrame:
    """WKB geometry columns as WKT text (CSV and Excel cannot hold binary)."""
    for col in frame.columns:
        if frame[col].dtype == object and len(frame) and isinstance(
                frame[col].dropna().iloc[0] if frame[col].notna().any() else None,
                (bytes, bytearray, memoryview)):
            frame = frame.assign(**{col: shapely.to_wkt(shapely.from_wkb(
                frame[col].map(bytes, na_action="ignore").to_numpy()), rounding_precision=6)})
    return frame


def _to_geo(frame: pd.DataFrame, kind: str) -> gpd.GeoDataFrame:
    if kind == "polygon":
        geom = gpd.GeoSeries.from_wkb(frame["geometry"].map(bytes, na_action="ignore"), crs="EPSG:4326")
        return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geom.values, crs="EPSG:4326")
    if kind == "point":
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                                crs="EPSG:4326")
    if kind == "h3":
        ids = frame["h3"] if "h3" in frame.columns else frame["cell"].map(
            lambda c: h3.int_to_str(int(c)))
        unique = pd.unique(ids)
        shapes = {c: shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)])
                  for c in unique}
        return gpd.GeoDataFrame(frame, geometry=[shapes[c] for c in ids], crs="EPSG:4326")
    raise CityBrainError(f"no geometry for spatial kind {kind!r}")


def _write_csv(parts: Iterator[pa.Table], out: BinaryIO) -> int:
    out.write("\ufeff".encode())  # the BOM: Excel then reads the file as UTF-8
    rows, header = 0, True
    for table in parts:
        part = table.to_pandas()
        part = textsafe.neutralise_frame(_bytes_to_wkt(part))  # no formula reaches Excel
        out.write(part.to_csv(index=False, header=header, lineterminator="\r\n")
                  .encode("utf-8"))
        header = False
        rows += len(part)
    return rows


def _write_parquet(parts: Iterator[pa.Table], out: BinaryIO) -> int:
    """Stream chunks into one Parquet file; the next chunk is prepared while one is written."""
    writer, rows = None, 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        try:
            for table in parts:
                if writer is None:
                    writer = pq.ParquetWriter(out, table.schema, compression="snappy")
                else:
                    table = table.cast(writer.schema)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, table)
                rows += table.num_rows
            if pending is not None:
                pending.result()
        finally:
            if writer is not None:
                writer.close()
    return rows


def _collect(parts: Iterator[pa.Table], limit: int, fmt: str) -> pd.DataFrame:
    frames, n = [], 0
    for table in parts:
        part = table.to_pandas()
        n += len(part)
        if n > limit:
            raise CityBrainError(f"more than {limit:,} rows do not fit {fmt.upper()}: "
                                 "download CSV or Parquet instead", code="export_too_many_rows", limit=f"{limit:,}",
                             format=fmt.upper())
        frames.append(part)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _write_xlsx(frame: pd.DataFrame, out: BinaryIO) -> None:
    """Every text value as a text cell: a value that starts with ``=`` stays text, never a
    formula (openpyxl would otherwise write it as one)."""
    with pd.ExcelWriter(out, engine="openpyxl") as xl:
        frame.to_excel(xl, index=False, sheet_name="data")
        sheet = xl.sheets["data"]
        text_cols = [i + 1 for i, c in enumerate(frame.columns)
                     if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
        for col in text_cols:
            for (cell,) in sheet.iter_rows(min_row=1, min_col=col, max_col=col):
                if cell.data_type == "f":
                    cell.data_type = "s"


def _write(fmt: str, parts: Iterator[pd.DataFrame], out: BinaryIO, spatial: str | None) -> int:
    if fmt == "csv":
        return _write_csv(parts, out)
    if fmt == "parquet":
        return _write_parquet(parts, out)
    if fmt == "xlsx":
        frame = _bytes_to_wkt(_collect(parts, EXCEL_MAX_ROWS, fmt))
        _write_xlsx(frame, out)
        return len(frame)
    if fmt in ("geojson", "geoparquet"):
        limit = GEOJSON_MAX_ROWS if fmt == "geojson" else SPATIAL_MAX_ROWS
        geo = _to_geo(_collect(parts, limit, fmt), spatial)
        for col in geo.columns:
            if geo[col].dtype == object and col != "geometry":
                geo[col] = geo[col].map(lambda v: bytes(v).hex() if isinstance(
                    v, (bytes, bytearray, memoryview)) else v)
        if fmt == "geojson":
            out.write(geo.to_json(drop_id=True, ensure_ascii=False).encode("utf-8"))
        else:
            geo.to_parquet(out, index=False)
        return len(geo)
    raise CityBrainError(f"unknown format {fmt!r}; formats are {', '.join(catalog.FORMATS)}",
                             code="export_format", format=fmt, choices=", ".join(catalog.FORMATS))


def export(store: Store, dataset_id: str, fmt: str, out: BinaryIO | Path | str,
           actor: Actor = PUBLIC, channel: str = "download", application_id: str | None = None
           ) -> ExportResult:
    """Write one dataset in ``fmt`` to ``out`` (a path or a binary stream), logged."""
    result, release = _export(store, dataset_id, fmt, out, actor, channel, application_id)
    access.log(store, release.decision, fmt, result.rows)
    return result


def _export(store: Store, dataset_id: str, fmt: str, out: BinaryIO | Path | str, actor: Actor,
            channel: str, application_id: str | None) -> tuple[ExportResult, access.Release]:
    """:func:`export` without the "served" log entry (the caller logs once it has delivered)."""
    fmt = (fmt or "").lower()
    if fmt not in catalog.FORMATS:
        raise CityBrainError(f"unknown format {fmt!r}; formats are {', '.join(catalog.FORMATS)}",
                             code="export_format", format=fmt, choices=", ".join(catalog.FORMATS))
    release = access.authorize(store, dataset_id, actor, channel, fmt=fmt,
                               application_id=application_id)
    spatial = release.spec.spatial_kind
    if fmt in catalog.SPATIAL_FORMATS and not spatial:
        raise CityBrainError(f"{dataset_id} has no geometry: download CSV, Parquet or XLSX",
                             code="export_no_geometry", dataset=dataset_id)
    if isinstance(out, (str, Path)):
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.partial")  # no partial file on a failure
        try:
            with staged.open("wb") as f:
                rows = _write(fmt, access.chunks(store, release), f, spatial)
            os.replace(staged, path)
        finally:
            staged.unlink(missing_ok=True)
    else:
        rows = _write(fmt, access.chunks(store, release), out, spatial)
    return ExportResult(dataset_id, fmt, rows, release.report,
                        f"{dataset_id}.{SUFFIX[fmt]}"), release


def export_bytes(store: Store, dataset_id: str, fmt: str, actor: Actor = PUBLIC,
                 channel: str = "download", application_id: str | None = None
                 ) -> tuple[bytes, ExportResult]:
    buf = io.BytesIO()
    result = export(store, dataset_id, fmt, buf, actor, channel, application_id)
    return buf.getvalue(), result


def readme(rows: pd.DataFrame, reports: dict[str, privacy.DisclosureReport], theme: str,
           city: str) -> str:
    """The README of a domain ZIP: what each file is, its licence, columns and disclosure control."""
    zh, en, _ = DOMAINS[theme]
    lines = [f"# {city} {zh} / {en}", "",
             "Files in this archive, one per dataset. Counts of 1-9 are suppressed (empty) "
             "where noted; personal fields are masked. Data below district level is synthetic.",
             "", "metadata.jsonld: the DCAT-AP description of these datasets.", ""]
    for _, r in rows.iterrows():
        lines += [f"## {r['dataset_id']}: {r['title']} / {r['title_en']}", "",
                  r["description"], "",
                  f"- publisher: {r['publisher']} ({r['publisher_en']})",
                  f"- licence: {r['licence']}",
                  f"- update frequency: {r['update_frequency']}; modified {str(r['modified'])[:10]}",
                  f"- synthetic: {'yes' if r['synthetic'] else 'no'}", "", "columns:", ""]
        for c in json.loads(r["columns_json"]):  # department contracts may lack some keys
            unit = f" [{c['unit']}]" if c.get("unit") else ""
            about = c.get("description_en") or c.get("description") or ""
            lines.append(f"- `{c['name']}` ({c.get('type', '')}){unit}: {about}")
        if r["dataset_id"] in reports:
            lines += ["", "disclosure control:", ""]
            lines += [f"- {line}" for line in reports[r["dataset_id"]].lines()]
        lines.append("")
    return "\n".join(lines)


def export_domain(store: Store, theme: str, out: BinaryIO | Path | str, actor: Actor = PUBLIC,
                  channel: str = "download", fmt: str = "parquet") -> list[ExportResult]:
    """Every dataset of a domain that ``actor`` may download, as one ZIP with README and metadata."""
    if fmt not in catalog.TABULAR_FORMATS:
        raise CityBrainError(f"a domain ZIP holds csv, parquet or xlsx files, not {fmt!r}",
                             code="export_zip_format", format=fmt)
    all_rows = catalog.datasets(store)
    rows = all_rows[all_rows["theme"] == theme]
    if rows.empty:
        raise CityBrainError(f"no domain {theme!r}; domains are {', '.join(sorted(set(all_rows['theme'])))}",
                             code="unknown_domain", domain=theme,
                             choices=", ".join(sorted(set(all_rows["theme"]))))
    allowed = rows[[access.decide(store, d, actor, channel).allowed for d in rows["dataset_id"]]]
    if allowed.empty:
        raise CityBrainError(f"nothing in domain {theme} can be downloaded by {actor.name}",
                             code="export_domain_empty", domain=theme, user=actor.name)
    # The archive is made whole in a temporary file first; only then is it handed over (moved
    # into place, or copied to the stream) and the downloads logged as served. A failure on
    # the way leaves no partial file and no "served" entry.
    results, releases = [], []
    owns = isinstance(out, (str, Path))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "domain.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for dataset_id in allowed["dataset_id"]:
                part = Path(tmp) / f"{dataset_id}.{SUFFIX[fmt]}"
                result, release = _export(store, dataset_id, fmt, part, actor, channel, None)
                results.append(result)
                releases.append(release)
                zf.write(part, part.name)
                part.unlink()
            reports = {r.dataset_id: r.report for r in results}
            meta = store.meta()
            zf.writestr("README.md", readme(allowed, reports, theme, meta.get("city_name", "")))
            zf.writestr("metadata.jsonld", json.dumps(catalog.dcat_jsonld(allowed, meta),
                                                      ensure_ascii=False, indent=2))
        if owns:
            target = Path(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.with_name(f".{target.name}.partial")
            try:
                shutil.copyfile(archive, staged)
                os.replace(staged, target)
            finally:
                staged.unlink(missing_ok=True)
        else:
            with archive.open("rb") as f:
                shutil.copyfileobj(f, out)
    for result, release in zip(results, releases, strict=True):
        access.log(store, release.decision, fmt, result.rows)
    return results
