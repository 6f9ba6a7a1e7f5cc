"""Read: a department file (CSV, XLSX, GeoJSON, Parquet/GeoParquet) as batches of raw rows.

Files are streamed (pyarrow's streaming CSV reader, openpyxl's read-only mode, Parquet row
batches) so memory stays bounded by :data:`BATCH_ROWS`; GeoJSON is parsed whole, as JSON
must be. Text encodings are detected (UTF-8 with or without BOM, GBK, GB18030) and confirmed
by decoding the whole file strictly.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely

from analytics.pooling.contracts import Contract
from analytics.pooling.errors import IngestError

FORMATS = ("csv", "xlsx", "geojson", "parquet")
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "gbk", "gb18030")
BATCH_ROWS = 200_000
#: Longest line a CSV may have; longer lines are not table rows (and would exhaust memory).
MAX_LINE_BYTES = 1 << 20
#: Bytes pyarrow's CSV reader parses at a time (larger than any allowed line).
BLOCK_BYTES = 4 << 20


# -- reading files -------------------------------------------------------------------------
def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    names = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
             ".geojson": "geojson", ".json": "geojson", ".parquet": "parquet",
             ".geoparquet": "parquet"}
    if suffix == ".xls":
        raise IngestError(f"{path.name}: the old Excel .xls format is not read; open it in a "
                          "spreadsheet and save it as .xlsx (or CSV UTF-8)", code="ingest_xls",
                          file=path.name)
    if suffix not in names:
        raise IngestError(f"{path.name}: unknown file type {suffix or '(none)'}; give a .csv, "
                          ".xlsx, .geojson, .parquet or .geoparquet file", code="ingest_file_type",
                          file=path.name, suffix=suffix or "(none)")
    return names[suffix]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _first_bad_byte(path: Path, encoding: str) -> tuple[int, int] | None:
    """``(line, byte offset)`` of the first byte that does not decode, or None if all do."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    lines = 1
    with path.open("rb") as f:
        while True:
            chunk = f.read(1 << 20)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                # The decoder may hold back a few bytes of a previous chunk: exc.start counts
                # from the start of the buffered bytes, so this is accurate to a few bytes.
                pending = len(decoder.getstate()[0]) if hasattr(decoder, "getstate") else 0
                pos = max(offset - pending + exc.start, 0)
                with path.open("rb") as g:
                    head = g.read(pos)
                return head.count(b"\n") + 1, pos
            if final:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _newline_byte(path: Path) -> int:
    """The byte that ends a row: LF, or CR in a file with old Mac line ends (CR only)."""
    with path.open("rb") as f:
        head = f.read(1 << 20)
    return 13 if b"\n" not in head and b"\r" in head else 10


def _longest_line(path: Path) -> tuple[int, int] | None:
    """``(row, length)`` of the first line longer than :data:`MAX_LINE_BYTES`, if any.

    Checked before parsing so that one endless line cannot exhaust memory.
    """
    newline = _newline_byte(path)
    line = 1
    run = 0  # bytes since the last newline
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            arr = np.frombuffer(chunk, dtype=np.uint8)
            breaks = np.flatnonzero(arr == newline)
            if breaks.size == 0:
                run += len(chunk)
                if run > MAX_LINE_BYTES:
                    return line, run
                continue
            lengths = np.diff(np.concatenate([[-1], breaks]))
            lengths[0] += run
            over = np.flatnonzero(lengths - 1 > MAX_LINE_BYTES)
            if over.size:
                return line + int(over[0]), int(lengths[over[0]] - 1)
            line += breaks.size
            run = len(chunk) - 1 - int(breaks[-1])
    return (line, run) if run > MAX_LINE_BYTES else None


def detect_encoding(path: Path) -> str:
    """The text encoding of a CSV: UTF-8 (with or without BOM), GBK or GB18030.

    Each candidate is confirmed by decoding the whole file strictly, so a file that mixes
    encodings is refused rather than half garbled. charset-normalizer names what an
    unsupported file looks like (UTF-16, Big5, Shift-JIS, binary…) for the error message.
    """
    with path.open("rb") as f:
        head = f.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        bad = _first_bad_byte(path, "utf-8-sig")
        if bad is None:
            return "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or \
            head[:4096].count(b"\x00") > len(head[:4096]) // 8:  # (a stray NUL is a cell's problem)
        raise IngestError(f"{path.name}: the file is UTF-16 or binary, not a UTF-8/GBK text "
                          "table; save it as 'CSV UTF-8' in the spreadsheet", code="ingest_utf16",
                          file=path.name)
    else:
        for encoding in ("utf-8", "gbk", "gb18030"):
            if _first_bad_byte(path, encoding) is None:
                return encoding
    from charset_normalizer import from_bytes

    guess = from_bytes(head).best()
    named = guess.encoding if guess is not None else "binary data"
    line, pos = _first_bad_byte(path, "gb18030") or (1, 0)
    raise IngestError(f"{path.name}: row {line} (byte {pos}) is neither UTF-8 nor GBK/GB18030 text "
                      f"(it looks like {named}; the file may mix encodings): save the whole file "
                      "as 'CSV UTF-8'", code="ingest_mixed_encoding", file=path.name, row=line,
                      byte=pos, looks=named)


@dataclass
class Source:
    """An open department file: its batches of raw rows and how it was read."""

    path: Path
    name: str
    fmt: str
    encoding: str | None
    first_row: int           # the row number of the first data record (2 under a header)
    header: list[str]
    batches: Callable[[], Iterator[pd.DataFrame]]
    crs_datum: str | None = None   # a datum the file itself declares (GeoJSON crs, GeoParquet)
    invalid_rows: list = field(default_factory=list)


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def _open_csv(path: Path, name: str, encoding: str) -> Source:
    if path.stat().st_size == 0:
        raise IngestError(f"{name}: the file is empty (0 bytes): export the table again",
                          code="ingest_empty", file=name)
    detected = encoding == "auto"
    encoding = detect_encoding(path) if detected else encoding
    if encoding not in ENCODINGS:
        raise IngestError(f"{name}: unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}",
                          code="ingest_encoding", encoding=encoding, choices=", ".join(ENCODINGS))
    if encoding in ("utf-8", "gbk", "gb18030") and not detected:
        bad = _first_bad_byte(path, encoding)
        if bad is not None:
            hint = "try --encoding auto (it looks like GBK)" if encoding == "utf-8" else \
                "try --encoding auto or save it as 'CSV UTF-8'"
            raise IngestError(f"{name}: row {bad[0]} (byte {bad[1]}) is not valid {encoding} "
                              f"text: {hint}",
                              code="ingest_not_utf8" if encoding == "utf-8" else "ingest_bad_byte",
                              file=name, row=bad[0],
                              byte=bad[1], encoding=encoding)
    longest = _longest_line(path)
    if longest is not None:
        raise IngestError(f"{name}: row {longest[0]} is {longest[1] / 2**20:.1f} MB long, longer than "
                          f"the {MAX_LINE_BYTES >> 20} MB a table row may be (line breaks lost, or "
                          "a cell holds a whole document): fix that row", code="ingest_long_row",
                          file=name, row=longest[0], mb=f"{longest[1] / 2**20:.1f}",
                          limit=MAX_LINE_BYTES >> 20)
    with path.open("rb") as f:
        raw = f.read(MAX_LINE_BYTES + 1)
    first = re.split(rb"\r\n|\n|\r", raw, maxsplit=1)[0]  # LF, CRLF or CR-only line ends
    header_text = first.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r")
    if not header_text.strip():
        raise IngestError(f"{name}: row 1 (the header) is blank: the first row must name the columns",
                          code="ingest_blank_header", file=name)
    delimiter = _delimiter(header_text)
    import csv

    header = next(csv.reader([header_text], delimiter=delimiter))
    header = [h.strip() for h in header]
    invalid: list = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    def batches() -> Iterator[pd.DataFrame]:
        invalid.clear()
        types = {h: pa.string() for h in header}
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=encoding, block_size=BLOCK_BYTES,
                                               use_threads=False, column_names=header,
                                               skip_rows=1),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                                     quoted_strings_can_be_null=False))
            pending: list[pd.DataFrame] = []
            size = 0
            for batch in reader:
                pending.append(batch.to_pandas())
                size += batch.num_rows
                if size >= BATCH_ROWS:
                    yield pd.concat(pending, ignore_index=True)
                    pending, size = [], 0
            if pending:
                yield pd.concat(pending, ignore_index=True)
        except pa.ArrowInvalid as exc:
            raise _arrow_error(name, exc) from None

    return Source(path, name, "csv", encoding, 2, header, batches, invalid_rows=invalid)


def _arrow_error(name: str, exc: Exception) -> IngestError:
    text = str(exc).splitlines()[0]
    if "straddling" in text or "block" in text:
        return IngestError(f"{name}: a row (with its quoted line breaks) is longer than "
                           f"{BLOCK_BYTES >> 20} MB, so it is not a table row (an unclosed "
                           "quote?): fix that row", code="ingest_long_quoted_row", file=name,
                           limit=BLOCK_BYTES >> 20)
    if "quote" in text.lower():
        return IngestError(f"{name}: the file ends inside a quoted cell (truncated file?): "
                           "export it again", code="ingest_open_quote", file=name)
    return IngestError(f"{name}: not a readable CSV table ({text[:160]}): export it again as CSV",
                       code="ingest_bad_csv", file=name, detail=text[:160])


def _open_xlsx(path: Path, name: str) -> Source:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(f"{name}: not a readable .xlsx workbook (truncated, or not Excel "
                          f"2007+: {str(exc).splitlines()[0][:80]}): save it again as .xlsx",
                          code="ingest_bad_xlsx", file=name,
                          detail=str(exc).splitlines()[0][:80]) from None
    sheet = book.worksheets[0]
    sheet.reset_dimensions()  # count rows from the sheet's data, not its <dimension> claim
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if header_row is None or all(v is None for v in header_row):
        book.close()
        raise IngestError(f"{name}: the first sheet is empty: put the table, with a header row, "
                          "on the first sheet", code="ingest_empty_sheet", file=name)
    header = [("" if v is None else str(v)).strip() for v in header_row]
    while header and header[-1] == "":
        header.pop()
    book.close()

    def batches() -> Iterator[pd.DataFrame]:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            first = wb.worksheets[0]
            first.reset_dimensions()
            it = first.iter_rows(values_only=True)
            next(it, None)
            chunk: list[tuple] = []
            for values in it:
                chunk.append(tuple(values[: len(header)]) + (None,) * (len(header) - len(values)))
                if len(chunk) >= BATCH_ROWS:
                    yield pd.DataFrame(chunk, columns=header, dtype=object)
                    chunk = []
            if chunk:
                yield pd.DataFrame(chunk, columns=header, dtype=object)
        finally:
            wb.close()

    return Source(path, name, "xlsx", None, 2, header, batches)


def _crs_datum(crs) -> str | None:
    """``wgs84`` for a WGS-84 CRS declaration, the declared text otherwise."""
    text = json.dumps(crs) if not isinstance(crs, str) else crs
    if any(code in text for code in ("CRS84", "4326", "WGS 84", "WGS84")):
        return "wgs84"
    return text[:60]


def _open_geojson(path: Path, name: str, contract: Contract) -> Source:
    if path.stat().st_size == 0:
        raise IngestError(f"{name}: the file is empty (0 bytes): export the layer again",
                          code="ingest_empty", file=name)
    try:
        with path.open(encoding="utf-8-sig") as f:
            doc = json.load(f)
    except RecursionError:
        raise IngestError(f"{name}: the JSON is nested too deeply to be a GeoJSON layer (arrays "
                          "inside arrays thousands of levels down): export the layer again",
                          code="ingest_deep_json", file=name) from None
    except UnicodeDecodeError:
        raise IngestError(f"{name}: GeoJSON must be UTF-8 text (RFC 7946): export it again "
                          "as UTF-8", code="ingest_geojson_utf8", file=name) from None
    except json.JSONDecodeError as exc:
        raise IngestError(f"{name}: not valid JSON at line {exc.lineno} column {exc.colno} "
                          f"({exc.msg}; truncated file?): export the layer again", code="ingest_bad_json",
                          file=name, line=exc.lineno, column=exc.colno) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise IngestError(f"{name}: not a GeoJSON FeatureCollection: export the layer as GeoJSON",
                          code="ingest_not_geojson", file=name)
    features = doc.get("features") or []
    if not isinstance(features, list):
        raise IngestError(f"{name}: row 1, column features: features is not a list of Feature "
                          f"objects but {type(features).__name__}: export the layer as GeoJSON",
                          code="ingest_features_list", file=name)
    for i, feat in enumerate(features, start=1):
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        if not isinstance(feat, dict) or not isinstance(feat.get("properties") or {}, dict) \
                or not (geom is None or isinstance(geom, dict)):
            what = ("is not an object" if not isinstance(feat, dict) else
                    "has properties that are not an object"
                    if not isinstance(feat.get("properties") or {}, dict)
                    else "has a geometry that is not an object")
            raise IngestError(f"{name}: row {i}, column feature: feature {i} {what} "
                              f"({json.dumps(feat, ensure_ascii=False)[:60]}): every feature must "
                              "be a GeoJSON Feature", code="ingest_bad_feature", file=name, row=i)
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if geom is not None and geom.get("type") == "Point" and not (
                isinstance(coords, list) and len(coords) >= 2
                and all(isinstance(c, int | float) and not isinstance(c, bool)
                        for c in coords[:2])):
            raise IngestError(f"{name}: row {i}, column geometry: feature {i}'s Point has "
                              f"coordinates {json.dumps(coords)[:60]}, not [longitude, latitude]",
                              code="ingest_bad_point", file=name, row=i,
                              coordinates=json.dumps(coords)[:60])
    crs_datum = _crs_datum(doc["crs"]) if "crs" in doc else None
    if not contract.lon:
        raise IngestError(f"{name}: dataset {contract.id} has no coordinates, so GeoJSON does "
                          "not fit it: give a CSV, XLSX or Parquet table", code="ingest_geojson_no_coordinates",
                          file=name, dataset=contract.id)
    records = []
    for feat in features:
        props = dict((feat or {}).get("properties") or {})
        geom = (feat or {}).get("geometry") or {}
        coords = geom.get("coordinates") if geom.get("type") == "Point" else None
        props[contract.lon] = coords[0] if coords and len(coords) >= 2 else None
        props[contract.lat] = coords[1] if coords and len(coords) >= 2 else None
        props["__geometry_type"] = geom.get("type")
        records.append(props)
    header = list(dict.fromkeys(k for r in records for k in r if k != "__geometry_type"))
    if not records:
        header = []

    def batches() -> Iterator[pd.DataFrame]:
        for start in range(0, len(records), BATCH_ROWS):
            yield pd.DataFrame.from_records(records[start:start + BATCH_ROWS],
                                            columns=header + ["__geometry_type"])

    return Source(path, name, "geojson", "utf-8", 1, header, batches, crs_datum=crs_datum)


def _open_parquet(path: Path, name: str, contract: Contract) -> Source:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{name}: not a readable Parquet file ({str(exc).splitlines()[0][:100]}; "
                          "truncated?): export it again", code="ingest_bad_parquet", file=name,
                          detail=str(exc).splitlines()[0][:100]) from None
    meta = pf.schema_arrow.metadata or {}
    geo_meta = json.loads(meta[b"geo"]) if b"geo" in meta else None
    geom_col = None
    crs_datum = None
    if geo_meta:
        geom_col = geo_meta.get("primary_column", "geometry")
        col_meta = geo_meta.get("columns", {}).get(geom_col, {})
        if col_meta.get("encoding", "WKB").upper() != "WKB":
            raise IngestError(f"{name}: GeoParquet geometry encoding {col_meta.get('encoding')} is "
                              "not read; write the geometry as WKB", code="ingest_geoparquet_encoding",
                              file=name, encoding=str(col_meta.get("encoding")))
        crs = col_meta.get("crs")
        crs_datum = "wgs84" if crs is None else _crs_datum(crs)  # GeoParquet: no crs = OGC:CRS84
    header = [n for n in pf.schema_arrow.names if n != geom_col]
    if geom_col:
        header += [contract.lon, contract.lat]

    def batches() -> Iterator[pd.DataFrame]:
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS):
                frame = batch.to_pandas()
                if geom_col:
                    wkb = frame.pop(geom_col)
                    geoms = shapely.from_wkb(wkb.to_numpy(), on_invalid="ignore")
                    is_point = shapely.get_type_id(geoms) == 0
                    frame[contract.lon] = np.where(is_point, shapely.get_x(geoms), np.nan)
                    frame[contract.lat] = np.where(is_point, shapely.get_y(geoms), np.nan)
                yield frame
        except (pa.ArrowInvalid, OSError) as exc:
            raise IngestError(f"{name}: Parquet data cannot be read ({str(exc).splitlines()[0][:100]}"
                              "; truncated?): export it again", code="ingest_bad_parquet", file=name,
                              detail=str(exc).splitlines()[0][:100]) from None

    return Source(path, name, "parquet", None, 1, header, batches, crs_datum=crs_datum)


def open_source(path: Path, contract: Contract, *, encoding: str = "auto",
                file_name: str | None = None) -> Source:
    path = Path(path)
    name = file_name or path.name
    if not path.exists():
        raise IngestError(f"{name}: no such file", code="ingest_no_file", file=name)
    fmt = file_format(Path(name))
    if fmt == "csv":
        return _open_csv(path, name, encoding)
    if fmt == "xlsx":
        return _open_xlsx(path, name)
    if fmt == "geojson":
        return _open_geojson(path, name, contract)
    return _open_parquet(path, name, contract)


