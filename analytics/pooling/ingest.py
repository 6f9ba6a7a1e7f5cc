"""Department file -> validated, atomic load into the shared store.

A department's steward hands in a file (CSV in UTF-8, UTF-8 with BOM, GBK or GB18030;
XLSX; GeoJSON; Parquet or GeoParquet) for one dataset. :func:`validate` reads it in
batches against the dataset's contract (``analytics.pooling.contracts``): header names or their
aliases, types, ranges, allowed values, spreadsheet formula injection, district names
(normalised to adcodes with the store's ``districts`` table), coordinates (converted to
WGS-84 with :func:`analytics.geo.to_wgs84`, then required to fall inside the city, with
swapped latitude/longitude detected and reported, never silently fixed) and keys (exact
duplicate rows are dropped, conflicting duplicates are problems). Every problem becomes a
row ``file, row, column, value, rule, message`` of the report's problems table.

:func:`load` validates, then writes the rows under a new version number and moves the
dataset's current-version pointer, logs the lineage and updates the catalog, all in ONE
store transaction: readers see the old version or the new one, never a mixture, and a load
that fails or is killed leaves the previous version as it was. A rejected load is recorded
in ``ingest_log`` (status ``rejected``) and changes nothing else.

Memory stays bounded by the batch size: files are streamed (pyarrow's streaming CSV reader,
openpyxl's read-only mode, Parquet row batches); only the key of every row is kept
for the duplicate check. GeoJSON is the exception (parsed whole, as JSON must be).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely
from pypinyin import lazy_pinyin

from analytics import geo
from analytics.errors import CityBrainError
from analytics.identity import Actor, PermissionDenied, require
from analytics.pooling.contracts import FREQUENCY_DAYS, Contract, contracts
from analytics.pooling.contracts import contract as get_contract
from analytics.settings import settings

#: Roles that may load a dataset (stewards only their own department's, see :func:`check_may_load`).
LOADER_ROLES = ("administrator", "data_steward")
FORMATS = ("csv", "xlsx", "geojson", "parquet")
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "gbk", "gb18030")
BATCH_ROWS = 200_000
#: Longest line a CSV may have; longer lines are not table rows (and would exhaust memory).
MAX_LINE_BYTES = 1 << 20
#: Bytes pyarrow's CSV reader parses at a time (larger than any allowed line).
BLOCK_BYTES = 4 << 20
#: Problems kept row by row in a report; past this only their count is kept.
MAX_PROBLEMS = 10_000
#: Files smaller than this keep their validated batches in memory between validation and
#: loading; larger files are read a second time (bounded memory).
KEEP_IN_MEMORY_BYTES = 256 << 20
#: Replaced versions kept besides the current one (older ones are pruned at load).
KEEP_VERSIONS = 3
#: How far outside the city boundary (degrees, about 100 m) a point may lie.
BOUNDARY_TOLERANCE_DEG = 0.001
#: Header names that declare each row's datum (a file may carry one; its values must agree).
DATUM_HEADERS = ("datum", "coord_system", "坐标系")
_INJECTION = re.compile(r"^(?:[=@\t\r]|[+-][^\d.])")
_NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"
PROBLEM_COLUMNS = ["file", "row", "column", "value", "rule", "message"]


class IngestError(CityBrainError):
    """The file cannot be read at all (one line: file, what is wrong, the fix)."""


class IngestRejected(CityBrainError):
    """The file was read but breaks its contract; ``report`` holds every problem."""

    def __init__(self, report: Report):
        self.report = report
        first = report.problems.iloc[0]
        more = report.problem_count - 1
        tail = f" (and {more:,} more problem{'s' if more != 1 else ''}: see the problems table)" \
            if more else ""
        super().__init__(f"{first['message']}{tail}; nothing was loaded")


@dataclass
class Report:
    """What a validation or load found and did."""

    dataset_id: str
    file_name: str
    file_sha256: str
    file_format: str
    encoding: str | None
    datum: str | None
    rows_in: int = 0
    rows_out: int = 0
    duplicates_dropped: int = 0
    problem_count: int = 0
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    version: int | None = None
    event_id: str | None = None
    status: str = "validated"  # validated | loaded | rejected

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problems_csv(self) -> bytes:
        """The problems table as a CSV for Excel (UTF-8 with BOM), formula-safe."""
        return problems_csv(self.problems)


def problems_csv(problems: pd.DataFrame) -> bytes:
    # A value such as =HYPERLINK(...) is quoted with a leading apostrophe so that opening the
    # download in a spreadsheet shows it instead of running it (OWASP CSV injection advice).
    safe = problems.copy()
    for col in ("value", "message", "file", "column"):
        if col in safe:
            safe[col] = safe[col].astype(str).map(lambda v: "'" + v if _INJECTION.match(v) else v)
    return safe.to_csv(index=False).encode("utf-8-sig")


# -- permissions ---------------------------------------------------------------------------
def check_may_load(actor: Actor, contract: Contract) -> None:
    """Administrators load any dataset; data stewards only their own department's.

    A steward's account names its department (``actor.department``); a steward without one
    (the data management bureau's) loads for every department.
    """
    require(actor, *LOADER_ROLES, action=f"load dataset {contract.id}")
    department = actor.department
    if actor.role == "data_steward" and department and department not in (
            contract.department, contract.department_en):
        raise PermissionDenied(f"{actor.name} is a data steward of {department} and may not load "
                               f"{contract.id}, which belongs to {contract.department}: ask "
                               f"that department's steward or an administrator",
                               code="other_department", user=actor.name, department=department,
                               dataset=contract.id, owner=contract.department)


def may_load(actor: Actor, contract: Contract) -> bool:
    """Whether :func:`check_may_load` lets ``actor`` load ``contract``'s dataset."""
    try:
        check_may_load(actor, contract)
    except PermissionDenied:
        return False
    return True


# -- reading files -------------------------------------------------------------------------
def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    names = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
             ".geojson": "geojson", ".json": "geojson", ".parquet": "parquet",
             ".geoparquet": "parquet"}
    if suffix == ".xls":
        raise IngestError(f"{path.name}: the old Excel .xls format is not read; open it in a "
                          "spreadsheet and save it as .xlsx (or CSV UTF-8)")
    if suffix not in names:
        raise IngestError(f"{path.name}: unknown file type {suffix or '(none)'}; give a .csv, "
                          ".xlsx, .geojson, .parquet or .geoparquet file")
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


def _longest_line(path: Path) -> tuple[int, int] | None:
    """``(row, length)`` of the first line longer than :data:`MAX_LINE_BYTES`, if any.

    Checked before parsing so that one endless line cannot exhaust memory.
    """
    line = 1
    run = 0  # bytes since the last newline
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            arr = np.frombuffer(chunk, dtype=np.uint8)
            breaks = np.flatnonzero(arr == 10)
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
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:4096]:
        raise IngestError(f"{path.name}: the file is UTF-16 or binary, not a UTF-8/GBK text "
                          "table; save it as 'CSV UTF-8' in the spreadsheet")
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
                      "as 'CSV UTF-8'")


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
        raise IngestError(f"{name}: the file is empty (0 bytes): export the table again")
    detected = encoding == "auto"
    encoding = detect_encoding(path) if detected else encoding
    if encoding not in ENCODINGS:
        raise IngestError(f"{name}: unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    if encoding in ("utf-8", "gbk", "gb18030") and not detected:
        bad = _first_bad_byte(path, encoding)
        if bad is not None:
            hint = "try --encoding auto (it looks like GBK)" if encoding == "utf-8" else \
                "try --encoding auto or save it as 'CSV UTF-8'"
            raise IngestError(f"{name}: row {bad[0]} (byte {bad[1]}) is not valid {encoding} "
                              f"text: {hint}")
    longest = _longest_line(path)
    if longest is not None:
        raise IngestError(f"{name}: row {longest[0]} is {longest[1] / 2**20:.1f} MB long, longer than "
                          f"the {MAX_LINE_BYTES >> 20} MB a table row may be (line breaks lost, or "
                          "a cell holds a whole document): fix that row")
    with path.open("rb") as f:
        raw = f.read(MAX_LINE_BYTES + 1)
    first = raw.split(b"\n", 1)[0]
    header_text = first.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r")
    if not header_text.strip():
        raise IngestError(f"{name}: row 1 (the header) is blank: the first row must name the columns")
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
            raise IngestError(_arrow_message(name, exc)) from None

    return Source(path, name, "csv", encoding, 2, header, batches, invalid_rows=invalid)


def _arrow_message(name: str, exc: Exception) -> str:
    text = str(exc).splitlines()[0]
    if "straddling" in text or "block" in text:
        return (f"{name}: a row (with its quoted line breaks) is longer than {BLOCK_BYTES >> 20} MB, "
                "so it is not a table row (an unclosed quote?): fix that row")
    if "quote" in text.lower():
        return f"{name}: the file ends inside a quoted cell (truncated file?): export it again"
    return f"{name}: not a readable CSV table ({text[:160]}): export it again as CSV"


def _open_xlsx(path: Path, name: str) -> Source:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(f"{name}: not a readable .xlsx workbook (truncated, or not Excel "
                          f"2007+: {str(exc).splitlines()[0][:80]}): save it again as .xlsx") from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if header_row is None or all(v is None for v in header_row):
        book.close()
        raise IngestError(f"{name}: the first sheet is empty: put the table, with a header row, "
                          "on the first sheet")
    header = [("" if v is None else str(v)).strip() for v in header_row]
    while header and header[-1] == "":
        header.pop()
    book.close()

    def batches() -> Iterator[pd.DataFrame]:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            it = wb.worksheets[0].iter_rows(values_only=True)
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
        raise IngestError(f"{name}: the file is empty (0 bytes): export the layer again")
    try:
        with path.open(encoding="utf-8-sig") as f:
            doc = json.load(f)
    except UnicodeDecodeError:
        raise IngestError(f"{name}: GeoJSON must be UTF-8 text (RFC 7946): export it again "
                          "as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise IngestError(f"{name}: not valid JSON at line {exc.lineno} column {exc.colno} "
                          f"({exc.msg}; truncated file?): export the layer again") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise IngestError(f"{name}: not a GeoJSON FeatureCollection: export the layer as GeoJSON")
    features = doc.get("features") or []
    crs_datum = _crs_datum(doc["crs"]) if "crs" in doc else None
    if not contract.lon:
        raise IngestError(f"{name}: dataset {contract.id} has no coordinates, so GeoJSON does "
                          "not fit it: give a CSV, XLSX or Parquet table")
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
                          "truncated?): export it again") from None
    meta = pf.schema_arrow.metadata or {}
    geo_meta = json.loads(meta[b"geo"]) if b"geo" in meta else None
    geom_col = None
    crs_datum = None
    if geo_meta:
        geom_col = geo_meta.get("primary_column", "geometry")
        col_meta = geo_meta.get("columns", {}).get(geom_col, {})
        if col_meta.get("encoding", "WKB").upper() != "WKB":
            raise IngestError(f"{name}: GeoParquet geometry encoding {col_meta.get('encoding')} is "
                              "not read; write the geometry as WKB")
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
                              "; truncated?): export it again") from None

    return Source(path, name, "parquet", None, 1, header, batches, crs_datum=crs_datum)


def open_source(path: Path, contract: Contract, *, encoding: str = "auto",
                file_name: str | None = None) -> Source:
    path = Path(path)
    name = file_name or path.name
    if not path.exists():
        raise IngestError(f"{name}: no such file")
    fmt = file_format(Path(name))
    if fmt == "csv":
        return _open_csv(path, name, encoding)
    if fmt == "xlsx":
        return _open_xlsx(path, name)
    if fmt == "geojson":
        return _open_geojson(path, name, contract)
    return _open_parquet(path, name, contract)


# -- districts and the city boundary --------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"[\s'’_\-]", "", str(text)).lower()


@dataclass(frozen=True)
class CityFrame:
    """The store's districts as lookups: names to adcodes, and the city boundary."""

    lookup: dict[str, int]
    boundary: object          # prepared shapely geometry (union of the districts)
    examples: str

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        ok = np.isfinite(lon) & np.isfinite(lat)
        out = np.zeros(len(lon), dtype=bool)
        out[ok] = shapely.contains_xy(self.boundary, lon[ok], lat[ok])
        return out


def city_frame(store) -> CityFrame:
    frame = store.query("ingest.districts")
    return _city_frame(tuple(frame["adcode"]), tuple(frame["name"]), tuple(frame["name_en"]),
                       tuple(bytes(g) for g in frame["geometry"]))


@cache
def _city_frame(adcodes, names, names_en, wkbs) -> CityFrame:
    if not adcodes:
        raise IngestError("the store has no districts: build the city store before loading "
                          "department files")
    lookup: dict[str, int] = {}
    suffixes = ("自治县", "新区", "区", "县", "市", "旗")
    for adcode, name, name_en in zip(adcodes, names, names_en, strict=True):
        adcode = int(adcode)
        forms = {str(adcode), name, name_en}
        short = next((name[: -len(s)] for s in suffixes if name.endswith(s) and len(name) > len(s)
                      ), name)
        forms.add(short)
        for word in (" District", " County", " City", " Banner", " Autonomous County"):
            if name_en.endswith(word):
                forms.add(name_en[: -len(word)])
        forms.add("".join(lazy_pinyin(short)))
        forms.add("".join(lazy_pinyin(name)))
        for form in forms:
            lookup.setdefault(_norm(form), adcode)
    # A point within about 100 m outside the boundary still counts as inside: that is the
    # precision of geocoded addresses and of the GCJ-02/BD-09 inverse conversion.
    boundary = shapely.union_all(shapely.from_wkb(list(wkbs))).buffer(BOUNDARY_TOLERANCE_DEG)
    boundary = boundary.simplify(BOUNDARY_TOLERANCE_DEG / 4)  # fewer vertices, faster tests
    shapely.prepare(boundary)
    examples = f"{names[0]}, {short_name(names[0])}, {adcodes[0]} or {names_en[0]}"
    return CityFrame(lookup, boundary, examples)


def short_name(name: str) -> str:
    for s in ("自治县", "区", "县", "市"):
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)]
    return name


# -- validation ------------------------------------------------------------------------------
class _Problems:
    """Problems of one file, kept row by row up to :data:`MAX_PROBLEMS`, then counted."""

    def __init__(self, file_name: str):
        self.file = file_name
        self.frames: list[pd.DataFrame] = []
        self.kept = 0
        self.count = 0

    def add(self, row, column: str, value, rule: str, message: str) -> None:
        self.add_many(pd.DataFrame({"row": [row], "value": [value]}), column, rule,
                      lambda r, v: message)

    def add_many(self, rows: pd.DataFrame, column: str, rule: str,
                 message: Callable[[object, object], str]) -> None:
        """``rows`` has ``row`` and ``value``; ``message(row, value)`` makes each line."""
        if rows.empty:
            return
        self.count += len(rows)
        room = MAX_PROBLEMS - self.kept
        if room <= 0:
            return
        rows = rows.iloc[:room]
        self.kept += len(rows)
        values = rows["value"].map(_show)
        self.frames.append(pd.DataFrame({
            "file": self.file, "row": rows["row"].astype(str).to_numpy(), "column": column,
            "value": values.to_numpy(), "rule": rule,
            "message": [f"{self.file}: row {r}, column {column}: {message(r, v)}"
                        for r, v in zip(rows["row"], values, strict=True)],
        }))

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        return pd.concat(self.frames, ignore_index=True)[PROBLEM_COLUMNS]


def _flag(problems: _Problems, rows: pd.Series, values: pd.Series, mask, column: str, rule: str,
          message: Callable[[object, object], str]) -> None:
    """Record a problem for every row where ``mask`` holds (cheap when none does)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        problems.add_many(pd.DataFrame({"row": rows.to_numpy()[mask],
                                        "value": np.asarray(values, dtype=object)[mask]}),
                          column, rule, message)


def _show(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _norm_header(text: str) -> str:
    return re.sub(r"[\s_]", "", str(text).lstrip("\ufeff")).lower()


def map_header(header: list[str], contract: Contract, problems: _Problems) -> dict[str, str]:
    """``{file column: contract column}``; header problems go to ``problems``."""
    import difflib

    names = {}
    for c in contract.columns:
        for form in (c.name, *c.aliases):
            names.setdefault(_norm_header(form), c.name)
    mapping: dict[str, str] = {}
    extra: list[str] = []
    for col in header:
        key = _norm_header(col)
        if key in (_norm_header(h) for h in DATUM_HEADERS):
            continue
        if not key:
            problems.add(1, "(header)", col, "blank_header",
                         "a column has no name in the header row: name it or delete the column")
            continue
        target = names.get(key)
        if target is None:
            extra.append(col)
        elif target in mapping.values():
            problems.add(1, col, col, "duplicate_column",
                         f"column {target!r} appears twice in the header: keep one")
        else:
            mapping[col] = target
    present = set(mapping.values())
    missing = [c for c in contract.columns if c.name not in present and c.required]
    for col in extra:
        key = _norm_header(col)
        close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
        contained = [f for f in names if len(f) >= 3 and (f in key or key in f)]
        target = names[close[0]] if close else names[contained[0]] if contained else None
        if target and target not in present:
            problems.add(1, col, col, "renamed_column",
                         f"column {col!r} is not in the contract; it looks like {target!r} "
                         f"renamed: rename it to {target!r}")
            missing = [m for m in missing if m.name != target]
        else:
            problems.add(1, col, col, "extra_column",
                         f"column {col!r} is not in the contract of {contract.id}: remove it "
                         f"(columns are {', '.join(contract.names)})")
    for c in missing:
        problems.add(1, c.name, "", "missing_column",
                     f"required column {c.name!r} is missing (also accepted as: "
                     f"{', '.join(c.aliases) or 'no other name'}): add it")
    return mapping


def _blank(series: pd.Series) -> pd.Series:
    if series.dtype == object:
        return series.isna() | (series.astype(str).str.strip() == "")
    if pd.api.types.is_string_dtype(series):
        import pyarrow.compute as pc

        arr = pc.utf8_trim_whitespace(pa.array(series, type=pa.string(), from_pandas=True))
        blank = pc.fill_null(pc.equal(arr, ""), True)
        return pd.Series(blank.to_numpy(zero_copy_only=False), index=series.index)
    return series.isna()


def _as_text(series: pd.Series) -> pd.Series:
    """Values as stripped text (Excel numbers like 330106.0 become 330106)."""
    if pd.api.types.is_string_dtype(series) and series.dtype != object:
        return series.str.strip()

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, datetime | date):
            return v.isoformat()
        return str(v).strip()

    return series.map(one).astype(object)


def _formula_like(series: pd.Series) -> pd.Series:
    """Where a text cell starts like a spreadsheet formula (vectorised in Arrow)."""
    import pyarrow.compute as pc

    arr = pa.array(series, type=pa.string(), from_pandas=True)
    first = pc.utf8_slice_codeunits(arr, 0, 1)
    hit = pc.is_in(first, value_set=pa.array(["=", "@", "\t", "\r"]))
    sign = pc.is_in(first, value_set=pa.array(["+", "-"]))
    if pc.any(sign).as_py():
        second = pc.utf8_slice_codeunits(arr, 1, 2)
        numeric = pc.or_(pc.match_substring_regex(second, r"^[\d.]$"), pc.equal(second, ""))
        hit = pc.or_(hit, pc.and_(sign, pc.invert(numeric)))
    return pd.Series(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), index=series.index)


def _parse_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Floats of a text column and where the text is not a number (vectorised in Arrow)."""
    import pyarrow.compute as pc

    arr = pc.utf8_trim_whitespace(pa.array(series, type=pa.string(), from_pandas=True))
    empty = pc.fill_null(pc.equal(arr, ""), True)
    try:  # the common case: every cell is a plain number or blank
        values = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), arr), pa.float64())
        return (pd.Series(values.to_numpy(zero_copy_only=False), index=series.index),
                pd.Series(False, index=series.index))
    except pa.ArrowInvalid:
        pass
    arr = pc.replace_substring(arr, ",", "")
    ok = pc.fill_null(pc.match_substring_regex(arr, _NUMBER), False)
    values = pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.float64())
    return (pd.Series(values.to_numpy(zero_copy_only=False), index=series.index),
            pd.Series(pc.invert(ok).to_numpy(zero_copy_only=False), index=series.index))


def _convert(series: pd.Series, col, rows: pd.Series, problems: _Problems,
             blank: pd.Series) -> pd.Series:
    """Typed values of one column; values that do not convert become problems (and NaN)."""
    if col.type == "string":
        text = _as_text(series)
        if text.dtype == object:
            return text.where(~blank, None).astype("str")
        return text.where(~blank)
    if col.type in ("integer", "number"):
        if pd.api.types.is_bool_dtype(series):
            values = pd.Series(np.nan, index=series.index)
            bad = ~blank
        elif pd.api.types.is_numeric_dtype(series):
            values = series.astype(float)
            bad = pd.Series(False, index=series.index)
        elif series.dtype != object:
            values, bad = _parse_numbers(series)
            bad &= ~blank
        else:
            text = _as_text(series).str.replace(",", "", regex=False)
            values = pd.to_numeric(text, errors="coerce").astype(float)
            bad = values.isna() & ~blank
        bad |= ~np.isfinite(values.fillna(0))
        kind = "an integer" if col.type == "integer" else "a number"
        if col.type == "integer":
            frac = values.notna() & (values != np.floor(values.fillna(0)))
            bad |= frac
        _flag(problems, rows, series, bad, col.name,
                          f"type_{col.type}", lambda r, v: f"{v!r} is not {kind}: "
                          f"write {kind} ({col.unit or 'no unit'})")
        values = values.where(~bad)
        return values.round().astype("Int64") if col.type == "integer" else values
    # date
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series
        bad = pd.Series(False, index=series.index)
    else:
        text = _as_text(series).str.replace("/", "-", regex=False).str.replace(".", "-", regex=False)
        text = text.str.slice(0, 10)
        values = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        compact = values.isna() & text.str.fullmatch(r"\d{8}").fillna(False)
        if compact.any():
            values[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
        bad = values.isna() & ~blank
    _flag(problems, rows, series, bad, col.name,
                      "type_date", lambda r, v: f"{v!r} is not a date: write it as YYYY-MM-DD")
    return values.dt.date.where(~bad & values.notna(), None).astype(object) \
        if len(values) else values.astype(object)


@dataclass
class _Scan:
    """Per-file state of one pass: problems, key and row hashes, counts."""

    problems: _Problems
    key_hashes: list = field(default_factory=list)  # each batch's keys as Arrow text
    rows_in: int = 0
    datums: dict = field(default_factory=dict)
    non_null: dict = field(default_factory=dict)
    temporal: list = field(default_factory=list)


def _clean_batch(raw: pd.DataFrame, start: int, source: Source, contract: Contract,
                 mapping: dict[str, str], datum: str, city: CityFrame, scan: _Scan,
                 city_adcode: int) -> pd.DataFrame:
    """One batch of file rows -> the store's columns, with every problem recorded."""
    problems = scan.problems
    n = len(raw)
    rows = pd.Series(np.arange(start, start + n) + source.first_row, index=raw.index)
    out = pd.DataFrame(index=raw.index)
    # spreadsheet formula injection: any text cell that a spreadsheet would execute
    for file_col in raw.columns:
        if file_col == "__geometry_type":
            continue
        series = raw[file_col]
        if series.dtype == object:
            text = series.where(series.map(lambda v: isinstance(v, str)), "").astype(str)
            hit = text.str.match(_INJECTION.pattern)
        elif pd.api.types.is_string_dtype(series):
            hit = _formula_like(series)
        else:
            continue
        if hit.any():
            _flag(problems, rows, series, hit,
                              mapping.get(file_col, file_col), "formula_injection",
                              lambda r, v: f"{v!r} is a spreadsheet formula, not data: "
                              "remove the leading =, +, - or @ (export values, not formulas)")
    # per-row datum column
    for file_col in raw.columns:
        if _norm_header(file_col) in (_norm_header(h) for h in DATUM_HEADERS):
            for value, count in raw[file_col].astype(str).str.strip().str.lower().value_counts().items():
                first = int(rows[raw[file_col].astype(str).str.strip().str.lower() == value].iloc[0])
                scan.datums.setdefault(value, [0, first])[0] += int(count)
    if "__geometry_type" in raw:
        bad = raw["__geometry_type"] != "Point"
        _flag(problems, rows, raw["__geometry_type"], bad,
                          "geometry", "geometry_point",
                          lambda r, v: f"geometry {v or 'null'} is not a Point: give one point per row")
    inverse = {v: k for k, v in mapping.items()}
    for col in contract.columns:
        if col.name not in inverse:
            out[col.name] = pd.Series([None] * n, index=raw.index, dtype=object) \
                if col.type in ("string", "date") else np.nan
            continue
        series = raw[inverse[col.name]]
        blank = _blank(series)
        values = _convert(series, col, rows, problems, blank)
        if col.required:
            missing = blank
            _flag(problems, rows, series, missing,
                              col.name, "required",
                              lambda r, v, c=col: f"{c.name} is empty but required: fill it in")
        if col.min is not None or col.max is not None:
            lo = -np.inf if col.min is None else col.min
            hi = np.inf if col.max is None else col.max
            num = values.astype(float)
            out_of = num.notna() & ((num < lo) | (num > hi))
            what = {"age": "an impossible age"}.get(col.name, "out of range")
            _flag(problems, rows, series, out_of,
                              col.name, "range",
                              lambda r, v, c=col, w=what: f"{v} is {w}: {c.name} must be between "
                              f"{c.min:g} and {c.max:g}" + (f" {c.unit}" if c.unit else ""))
        if col.allowed:
            bad = values.notna() & ~values.isin(col.allowed)
            _flag(problems, rows, series, bad, col.name,
                              "allowed_values", lambda r, v, c=col: f"{v!r} is not one of "
                              f"{', '.join(c.allowed)}: use one of those codes")
        out[col.name] = values
    # districts -> adcodes
    if contract.district_column and contract.district_column in inverse:
        dcol = contract.district_column
        names = out[dcol]
        index, uniques = pd.factorize(names, use_na_sentinel=True)
        found = np.array([city.lookup.get(_norm(v), -1) for v in uniques] + [-1], dtype=np.int64)
        codes = pd.Series(found[index], index=names.index)  # index -1 (missing) picks the -1
        codes = codes.where(codes >= 0).astype("Int64")
        bad = (names.notna() & codes.isna()).to_numpy(dtype=bool)
        _flag(problems, rows, names, bad, dcol,
                          "unknown_district", lambda r, v: f"{v!r} is not a district of this "
                          f"city: write its name or code, e.g. {city.examples}")
        out[contract.district_to] = codes
        out = out.drop(columns=[dcol])
    # coordinates: datum -> WGS-84, inside the city, swapped lat/lon
    if contract.lon and contract.lon in inverse or (contract.lon and source.fmt in ("geojson", "parquet")
                                                     and contract.lon in out):
        lon = out[contract.lon].astype(float).to_numpy()
        lat = out[contract.lat].astype(float).to_numpy()
        have = np.isfinite(lon) & np.isfinite(lat)
        wlon, wlat = lon.copy(), lat.copy()
        if have.any():
            wlon[have], wlat[have] = geo.to_wgs84(lon[have], lat[have], datum)
        inside = city.contains(wlon, wlat)
        outside = have & ~inside
        if outside.any():
            slon, slat = geo.to_wgs84(lat[outside], lon[outside], datum)
            swapped = np.zeros(n, dtype=bool)
            swapped[np.flatnonzero(outside)] = city.contains(slon, slat)
            rest = outside & ~swapped
            pair = pd.Series([f"{a:g}, {b:g}" if np.isfinite(a) and np.isfinite(b) else f"{a}, {b}"
                              for a, b in zip(lon, lat, strict=True)], index=raw.index)
            _flag(problems, rows, pair, swapped,
                              f"{contract.lon}/{contract.lat}", "swapped_lat_lon",
                              lambda r, v: f"({v}) lies outside the city but inside it with "
                              "latitude and longitude swapped: swap the two columns (not fixed "
                              "automatically)")
            _flag(problems, rows, pair, rest,
                              f"{contract.lon}/{contract.lat}", "outside_city",
                              lambda r, v: f"({v}) in {datum} is outside the city's boundary: "
                              "check the coordinates and the datum (wgs84, gcj02, bd09)")
        out[contract.lon] = wlon
        out[contract.lat] = wlat
    out.insert(0, "city_adcode", city_adcode)
    # completeness, temporal span and hashes for the duplicate check
    for name in out.columns:
        scan.non_null[name] = scan.non_null.get(name, 0) + int(out[name].notna().sum())
    if contract.temporal_column:
        t = out[contract.temporal_column].dropna()
        if len(t):
            years = t.map(lambda v: v.year if hasattr(v, "year") else int(v))
            scan.temporal += [int(years.min()), int(years.max())]
    key = contract.store_key
    scan.key_hashes.append(_key_text(out, key))
    return out


def _key_text(frame: pd.DataFrame, key: list[str]) -> pa.Array:
    """Each row's key as one text value (Arrow), for the file-wide duplicate check."""
    import pyarrow.compute as pc

    parts = []
    for k in key:
        col = frame[k]
        arr = pa.array(col, from_pandas=True) if col.dtype != object else pa.array(
            col.tolist(), from_pandas=True)
        parts.append(pc.fill_null(pc.cast(arr, pa.string()), ""))
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")


def _resolve_datum(source: Source, contract: Contract, datum: str | None,
                   problems: _Problems) -> str:
    declared = datum or source.crs_datum or contract.datum
    if datum and source.crs_datum and source.crs_datum != datum:
        problems.add(1, "crs", source.crs_datum, "mixed_datums",
                     f"the file declares CRS {source.crs_datum} but the load says --datum "
                     f"{datum}: give the datum the coordinates are really in")
    if declared not in geo.DATUMS:
        problems.add(1, "crs", declared, "unknown_datum",
                     f"CRS {declared} is not WGS-84, GCJ-02 or BD-09: convert the file to WGS-84")
        return "wgs84"
    return declared


def _duplicates(scan: _Scan, contract: Contract, first_row: int,
                batches: Callable[[], Iterator[pd.DataFrame]]) -> np.ndarray:
    """Indices of exact duplicate rows to drop; conflicting duplicate keys become problems.

    Only each row's key is kept while streaming; only the few rows whose key repeats are
    read again (from ``batches``) and compared in full.
    """
    if not scan.key_hashes:
        return np.array([], dtype=np.int64)
    chunks = [c for k in scan.key_hashes
              for c in (k.chunks if isinstance(k, pa.ChunkedArray) else [k])]
    codes = pa.chunked_array(chunks, type=pa.string()).combine_chunks().dictionary_encode().indices
    codes = codes.to_numpy(zero_copy_only=False)
    repeated = np.flatnonzero(np.bincount(codes)[codes] > 1)
    if not repeated.size:
        return np.array([], dtype=np.int64)
    parts, offset = [], 0
    for frame in batches():
        inside = repeated[(repeated >= offset) & (repeated < offset + len(frame))]
        if inside.size:
            parts.append(frame.iloc[inside - offset].set_axis(inside))
        offset += len(frame)
    rows = pd.concat(parts)
    rows.columns = [str(c) for c in rows.columns]
    text = rows.astype(str)
    frame = pd.DataFrame({"key": pd.util.hash_pandas_object(text[contract.store_key], index=False)
                          .to_numpy(),
                          "row": pd.util.hash_pandas_object(text, index=False).to_numpy()},
                         index=rows.index)
    exact = frame.duplicated(["key", "row"], keep="first")
    sub = frame[~exact]
    conflict = sub.duplicated("key", keep=False)
    firsts = sub[conflict].groupby("key").head(1)
    later = sub[conflict & ~sub.index.isin(firsts.index)]
    first_of = dict(zip(firsts["key"], firsts.index + first_row, strict=True))
    key_text = "/".join(contract.key)
    scan.problems.add_many(
        pd.DataFrame({"row": later.index + first_row, "value": later["key"].map(first_of)}),
        key_text, "duplicate_key",
        lambda r, v: f"the key ({key_text}) repeats row {v} with different values: keep one row "
        "per key")
    return np.sort(frame.index[exact.to_numpy()].to_numpy())


@dataclass
class _Plan:
    """A validated file, ready to load."""

    report: Report
    source: Source
    contract: Contract
    mapping: dict[str, str]
    datum: str
    drop: np.ndarray
    cached: list[pd.DataFrame] | None
    scan: _Scan


def _plan(store, path: Path, dataset_id: str, *, datum: str | None, encoding: str,
          file_name: str | None) -> _Plan:
    contract = get_contract(dataset_id)
    if datum is not None and datum not in geo.DATUMS:
        raise IngestError(f"unknown datum {datum!r}: use one of {', '.join(geo.DATUMS)}")
    if encoding not in ENCODINGS:
        raise IngestError(f"unknown encoding {encoding!r}: use one of {', '.join(ENCODINGS)}")
    path = Path(path)
    source = open_source(path, contract, encoding=encoding, file_name=file_name)
    report = Report(dataset_id, source.name, sha256(path), source.fmt, source.encoding, None)
    problems = _Problems(source.name)
    scan = _Scan(problems)
    mapping = map_header(source.header, contract, problems)
    chosen = _resolve_datum(source, contract, datum, problems) if contract.lon else None
    report.datum = chosen
    city = city_frame(store)
    city_adcode = int(store.meta().get("city_adcode", 0))
    keep = path.stat().st_size <= KEEP_IN_MEMORY_BYTES
    cached: list[pd.DataFrame] | None = [] if keep else None
    if problems.count == 0:  # with a broken header the rows cannot be read against the contract
        start = 0
        for raw in source.batches():
            cleaned = _clean_batch(raw, start, source, contract, mapping, chosen, city, scan,
                                   city_adcode)
            start += len(raw)
            if cached is not None:
                cached.append(cleaned)
        scan.rows_in = start
        for number, expected, actual, text in source.invalid_rows:
            problems.add(number if number is not None else "?", "(row)", text, "field_count",
                         f"has {actual} fields where the header has {expected} (truncated "
                         "file, or a delimiter inside an unquoted cell): fix or remove the row")
        if start == 0 and problems.count == 0:
            problems.add(source.first_row, "(file)", "", "no_rows",
                         "the file has a header but no data rows: export the data again")
    if len(scan.datums) > 1:
        listed = ", ".join(f"{d} ({n} rows from row {r})" for d, (n, r) in scan.datums.items())
        problems.add(min(r for _, r in scan.datums.values()), "datum", listed, "mixed_datums",
                     f"rows use different datums ({listed}): split the file by datum and load "
                     "each with its --datum")
    elif len(scan.datums) == 1:
        (only,) = scan.datums
        if only not in geo.DATUMS:
            problems.add(scan.datums[only][1], "datum", only, "unknown_datum",
                         f"datum {only!r} is not wgs84, gcj02 or bd09: convert the coordinates")
        elif only != chosen:
            problems.add(scan.datums[only][1], "datum", only, "mixed_datums",
                         f"the rows say datum {only} but the load uses {chosen}: load with "
                         f"--datum {only}")
    if scan.rows_in:  # duplicates are reported even when other problems were found
        plan = _Plan(Report(dataset_id, source.name, "", source.fmt, None, None), source, contract,
                     mapping, chosen, np.array([], dtype=np.int64), cached, scan)
        again = (lambda: iter(cached)) if cached is not None else \
            (lambda: _reclean(store, plan, strict=False))
        drop = _duplicates(scan, contract, source.first_row, again)
    else:
        drop = np.array([], dtype=np.int64)
    report.rows_in = scan.rows_in
    report.duplicates_dropped = len(drop)
    report.rows_out = scan.rows_in - len(drop)
    report.problem_count = problems.count
    report.problems = problems.frame()
    return _Plan(report, source, contract, mapping, chosen, drop, cached, scan)


def validate(store, path: Path | str, dataset_id: str, *, datum: str | None = None,
             encoding: str = "auto", file_name: str | None = None) -> Report:
    """Check a file against its contract without loading it; the report lists every problem.

    Raises :class:`IngestError` only when the file cannot be read at all.
    """
    return _plan(store, Path(path), dataset_id, datum=datum, encoding=encoding,
                 file_name=file_name).report


def _log(store, report: Report, actor: Actor, status: str, message: str | None, cur=None) -> None:
    rows_out = report.rows_out if status == "loaded" else 0  # a rejected file loads nothing
    store.execute("ingest.log_event", cur=cur, event_id=report.event_id,
                  dataset_id=report.dataset_id, logged_at=datetime.now(UTC).replace(tzinfo=None),
                  actor=actor.name, file_name=report.file_name, file_sha256=report.file_sha256,
                  rows_in=report.rows_in, rows_out=rows_out, version=report.version or 0,
                  status=status, message=message)


def load(store, path: Path | str, dataset_id: str, actor: Actor, *, datum: str | None = None,
         encoding: str = "auto", file_name: str | None = None, synthetic: bool = False,
         progress: Callable[[int, int], None] | None = None) -> Report:
    """Validate ``path`` and load it as the next version of ``dataset_id``, all or nothing.

    ``progress(rows_written, rows_total)`` is called after each batch is written (inside
    the transaction). Raises :class:`IngestRejected` (with the report) when the file breaks
    its contract, after logging the rejection; the store's data is then unchanged.
    """
    contract = get_contract(dataset_id)
    check_may_load(actor, contract)
    if contract.versions_table not in store.tables():
        raise IngestError(f"this store has no table for {dataset_id} (it was built before the "
                          "ingest tables existed): rebuild the store")
    try:
        plan = _plan(store, Path(path), dataset_id, datum=datum, encoding=encoding,
                     file_name=file_name)
    except IngestError as exc:
        name = file_name or Path(path).name
        digest = sha256(Path(path)) if Path(path).is_file() else ""
        failed = Report(dataset_id, name, digest, "", None, None, event_id=uuid.uuid4().hex,
                        status="rejected")
        _log(store, failed, actor, "rejected", str(exc)[:2000])
        raise
    report = plan.report
    report.event_id = uuid.uuid4().hex
    current = store.scalar("ingest.current_version", dataset_id=dataset_id)
    report.version = (store.scalar("ingest.max_version", dataset_id=dataset_id) or 0) + 1
    if not report.ok:
        report.status = "rejected"
        error = IngestRejected(report)
        _log(store, report, actor, "rejected", str(error)[:2000])
        raise error
    if contract.load_mode == "append" and current is not None:
        _check_not_loaded(store, plan)
        if not report.ok:
            report.status = "rejected"
            error = IngestRejected(report)
            _log(store, report, actor, "rejected", str(error)[:2000])
            raise error
    batches = plan.cached if plan.cached is not None else _reclean(store, plan)
    written = 0
    offset = 0
    with store.transaction() as cur:
        for frame in batches:
            size = len(frame)
            if len(plan.drop):
                frame = frame[~np.isin(np.arange(offset, offset + size), plan.drop)]
            offset += size
            frame = frame.assign(version=report.version)
            store.write(contract.versions_table, frame, cur=cur)
            written += len(frame)
            if progress:
                progress(written, report.rows_out)
        store.execute("ingest.set_current", cur=cur, dataset_id=dataset_id, version=report.version,
                      load_mode=contract.load_mode, event_id=report.event_id)
        if contract.load_mode == "replace":
            store.execute(f"ingest.prune_{contract.table}", cur=cur,
                          keep_from=report.version - KEEP_VERSIONS)
        report.status = "loaded"
        _log(store, report, actor, "loaded", _summary(report), cur=cur)
        quality = pd.DataFrame({
            "event_id": report.event_id, "dataset_id": dataset_id,
            "column_name": [c for c in plan.scan.non_null if c != "city_adcode"],
            "rows": report.rows_in,
            "non_null": [n for c, n in plan.scan.non_null.items() if c != "city_adcode"]})
        store.write("ingest_quality", quality, cur=cur)
        _upsert_catalog(store, plan, synthetic, cur)
    return report


def _reclean(store, plan: _Plan, strict: bool = True) -> Iterator[pd.DataFrame]:
    """Second pass over a large file: the same cleaning, batch by batch."""
    city = city_frame(store)
    city_adcode = int(store.meta().get("city_adcode", 0))
    scan = _Scan(_Problems(plan.source.name))
    start = 0
    for raw in plan.source.batches():
        yield _clean_batch(raw, start, plan.source, plan.contract, plan.mapping, plan.datum, city,
                           scan, city_adcode)
        start += len(raw)
    if strict and scan.problems.count:  # the file changed between the two passes
        raise IngestError(f"{plan.source.name} changed while it was being loaded: load it again")


def _check_not_loaded(store, plan: _Plan) -> None:
    """Append datasets take each key once: keys already loaded are problems (batch by batch)."""
    import pyarrow.compute as pc

    contract = plan.contract
    key = contract.store_key
    existing = store.query(f"ingest.keys_{contract.table}")
    if existing.empty:
        return
    for col in key:
        if pd.api.types.is_datetime64_any_dtype(existing[col]):
            existing[col] = existing[col].dt.date.astype(object)
    loaded = _key_text(existing, key)
    problems = _Problems(plan.source.name)
    key_label = "/".join(contract.key)
    batches = plan.cached if plan.cached is not None else _reclean(store, plan)
    offset = 0
    for frame in batches:
        hit = pc.is_in(_key_text(frame, key), value_set=loaded).to_numpy(zero_copy_only=False)
        if hit.any():
            shown = frame.loc[hit, key].astype(str).agg(", ".join, axis=1)
            problems.add_many(
                pd.DataFrame({"row": np.flatnonzero(hit) + offset + plan.source.first_row,
                              "value": shown.to_numpy()}),
                key_label, "key_already_loaded",
                lambda r, v: f"key ({v}) is already in the dataset (append loads add new keys "
                "only): remove the rows loaded before")
        offset += len(frame)
    if problems.count:
        plan.report.problem_count = problems.count
        plan.report.problems = problems.frame()


def _summary(report: Report) -> str:
    parts = [f"{report.rows_out:,} rows loaded as version {report.version}"]
    if report.duplicates_dropped:
        parts.append(f"{report.duplicates_dropped:,} exact duplicate rows dropped")
    if report.encoding:
        parts.append(f"encoding {report.encoding}")
    if report.datum:
        parts.append(f"datum {report.datum} -> wgs84")
    return "; ".join(parts)


def _upsert_catalog(store, plan: _Plan, synthetic: bool, cur) -> None:
    c = plan.contract
    report = plan.report
    previous = store.query("ingest.catalog_row", dataset_id=c.id)
    rows = report.rows_out
    start, end = (min(plan.scan.temporal), max(plan.scan.temporal)) if plan.scan.temporal \
        else (None, None)
    if c.load_mode == "append" and not previous.empty:
        rows += int(previous["row_count"].iloc[0])
        old_start, old_end = previous["temporal_start"].iloc[0], previous["temporal_end"].iloc[0]
        if pd.notna(old_start):
            start = int(old_start) if start is None else min(start, int(old_start))
            end = int(old_end) if end is None else max(end, int(old_end))
    meta = store.meta()
    store.execute(
        "ingest.upsert_dataset", cur=cur, city_adcode=int(meta.get("city_adcode", 0)),
        dataset_id=c.id, title=c.title, title_en=c.title_en,
        description=c.description or c.description_en, publisher=c.department,
        publisher_en=c.department_en, theme=c.theme, keywords=", ".join(c.keywords),
        temporal_start=start, temporal_end=end,
        spatial=f"{meta.get('city_name', '')} ({meta.get('city_adcode', '')})".strip(),
        update_frequency=c.update_frequency, access_level=c.access_level, licence=c.licence,
        modified=date.today(), negative_list=c.negative_list, negative_reason=c.negative_reason,
        source_table=c.table, row_count=rows, synthetic=synthetic,
        columns_json=json.dumps(c.columns_json(), ensure_ascii=False))


# -- reading back: the data-quality page's figures --------------------------------------------
def quality(store, today: date | None = None) -> pd.DataFrame:
    """One row per contract: last load, age against the stated frequency, completeness, result."""
    today = today or datetime.now(UTC).date()
    last = store.query("ingest.last_events").set_index("dataset_id")
    loaded = store.query("ingest.last_loaded").set_index("dataset_id")
    catalog = store.query("ingest.catalog_rows").set_index("dataset_id")["row_count"]
    rows = []
    for c in contracts().values():
        ev = last.loc[c.id] if c.id in last.index else None
        ld = loaded.loc[c.id] if c.id in loaded.index else None
        limit = FREQUENCY_DAYS[c.update_frequency]
        age = (today - ld["logged_at"].date()).days if ld is not None else None
        if ld is None:
            fresh = "never_loaded"
        elif limit is None:
            fresh = "no_schedule"
        else:
            fresh = "fresh" if age <= limit else "stale"
        rows.append({
            "dataset_id": c.id, "title": c.title, "title_en": c.title_en,
            "department": c.department, "department_en": c.department_en,
            "update_frequency": c.update_frequency, "load_mode": c.load_mode,
            "last_loaded": ld["logged_at"] if ld is not None else pd.NaT,
            "age_days": age, "freshness": fresh,
            "version": int(ld["version"]) if ld is not None else None,
            "rows": int(catalog.get(c.id, ld["rows_out"])) if ld is not None else None,
            "completeness": float(ld["completeness"]) if ld is not None and
            pd.notna(ld["completeness"]) else None,
            "last_status": ev["status"] if ev is not None else None,
            "last_message": ev["message"] if ev is not None else None,
        })
    return pd.DataFrame(rows)


def history(store, dataset_id: str) -> pd.DataFrame:
    """Every load attempt of a dataset, newest first."""
    get_contract(dataset_id)
    return store.query("ingest.history", dataset_id=dataset_id)


def column_completeness(store, event_id: str) -> pd.DataFrame:
    """Share of rows with a value, per column, in one load (in the contract's column order)."""
    frame = store.query("ingest.quality_of_event", event_id=event_id)
    dataset = store.query("ingest.event_dataset", event_id=event_id)
    if frame.empty or dataset.empty:
        return frame
    order = [n for n, _ in get_contract(dataset["dataset_id"].iloc[0]).store_columns()]
    rank = {name: i for i, name in enumerate(order)}
    return frame.sort_values("column_name", key=lambda c: c.map(rank)).reset_index(drop=True)


EXAMPLES_DIR = settings().examples_dir


def example_path(name: str) -> Path:
    """One of the example department files shipped with the product."""
    path = EXAMPLES_DIR / Path(name).name
    if not path.is_file():
        raise IngestError(f"no example file {name}")
    return path


def upload_dir() -> Path:
    """Where uploaded files wait between validation and loading (the system temp folder)."""
    import tempfile

    return Path(tempfile.gettempdir()) / "citybrain-uploads"


def read_upload(data: bytes, name: str, directory: Path) -> Path:
    """Save an uploaded file's bytes under ``directory`` (the page's upload area)."""
    directory.mkdir(parents=True, exist_ok=True)
    # Named by content, so re-running the page does not pile up copies of the same upload.
    safe = re.sub(r"[^\w.\-]", "_", Path(name).name) or "upload"
    path = directory / f"{hashlib.sha256(data).hexdigest()[:16]}-{safe}"
    if path.exists():
        return path
    path.write_bytes(data)
    return path


__all__ = ["IngestError", "IngestRejected", "Report", "check_may_load", "validate", "load",
           "quality", "history", "column_completeness", "problems_csv", "read_upload",
           "example_path", "upload_dir"]
