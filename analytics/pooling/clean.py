"""Clean: raw rows -> the store's columns, with every problem recorded row by row.

Header names or their aliases, types, ranges, allowed values, spreadsheet formula
injection, district names (normalised to adcodes with the store's ``districts``), coordinates
(converted to WGS-84 with :func:`analytics.geo.to_wgs84`, then required to fall inside the
city, with swapped latitude/longitude detected and reported, never silently fixed) and keys
(exact duplicate rows are dropped, conflicting duplicates are problems). Every problem is a
row ``file, row, column, value, rule, message``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

import h3
import h3.api.numpy_int as h3int
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pypinyin import lazy_pinyin

from analytics import geo, textsafe
from analytics.pooling.contracts import Contract
from analytics.pooling.errors import IngestError
from analytics.pooling.read import Source

#: Problems kept row by row in a report; past this only their count is kept.
MAX_PROBLEMS = 10_000
#: How far outside the city boundary (degrees, about 100 m) a point may lie.
BOUNDARY_TOLERANCE_DEG = 0.001
#: Header names that declare each row's datum (a file may carry one; its values must agree).
DATUM_HEADERS = ("datum", "coord_system", "坐标系")
_INJECTION = re.compile(r"^(?:[=@\t\r]|[+-][^\d.])")
_NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"
PROBLEM_COLUMNS = ["file", "row", "column", "value", "rule", "message"]


# -- districts and the city boundary --------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"[\s'’_\-]", "", str(text)).lower()


@dataclass(frozen=True)
class CityFrame:
    """The store's districts as lookups: names to adcodes, and the city boundary."""

    lookup: dict[str, int]
    boundary: object          # prepared shapely geometry (union of the districts)
    examples: str
    adcodes: tuple = ()
    shapes: tuple = ()        # each district's prepared geometry

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        ok = np.isfinite(lon) & np.isfinite(lat)
        out = np.zeros(len(lon), dtype=bool)
        out[ok] = shapely.contains_xy(self.boundary, lon[ok], lat[ok])
        return out

    def district_of(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The adcode of the district containing each point (-1 outside every district)."""
        out = np.full(len(lon), -1, dtype=np.int64)
        ok = np.isfinite(lon) & np.isfinite(lat)
        for adcode, shape in zip(self.adcodes, self.shapes, strict=True):
            todo = ok & (out < 0)
            if not todo.any():
                break
            hit = np.zeros(len(lon), dtype=bool)
            hit[todo] = shapely.contains_xy(shape, lon[todo], lat[todo])
            out[hit] = adcode
        return out


def city_frame(store) -> CityFrame:
    frame = store.query("ingest.districts")
    return _city_frame(tuple(frame["adcode"]), tuple(frame["name"]), tuple(frame["name_en"]),
                       tuple(bytes(g) for g in frame["geometry"]))


@cache
def _city_frame(adcodes, names, names_en, wkbs) -> CityFrame:
    if not adcodes:
        raise IngestError("the store has no districts: build the city store before loading "
                          "department files", code="ingest_no_districts")
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
    shapes = tuple(shapely.from_wkb(list(wkbs)))
    for shape in shapes:
        shapely.prepare(shape)
    return CityFrame(lookup, boundary, examples, tuple(int(a) for a in adcodes), shapes)


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
            if not contract.ignore_extra:
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
    """Where a text cell would run as a spreadsheet formula, judged on the value with its
    leading whitespace (no-break spaces and line breaks too) removed
    (:func:`analytics.textsafe.is_formula`). Arrow finds the candidates; only those are
    checked one by one."""
    import pyarrow.compute as pc

    text = series.where(series.map(lambda v: isinstance(v, str)), None) \
        if series.dtype == object else series
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    stripped = pc.utf8_ltrim(arr, characters=" \t\r\n\u00a0\u3000\u200b\u200c\u200d"
                                            "\u2060\ufeff\u2002\u2003\u2009\u202f\x0b\x0c")
    first = pc.utf8_slice_codeunits(stripped, 0, 1)
    maybe = pc.or_(pc.is_in(first, value_set=pa.array(list(textsafe.TRIGGERS))),
                   pc.is_in(pc.utf8_slice_codeunits(arr, 0, 1), value_set=pa.array(["\t", "\r"])))
    maybe = pc.fill_null(maybe, False).to_numpy(zero_copy_only=False)
    hit = np.zeros(len(series), dtype=bool)
    if maybe.any():
        idx = np.flatnonzero(maybe)
        hit[idx] = [textsafe.is_formula(v) for v in series.iloc[idx]]
    return pd.Series(hit, index=series.index)


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
        elif not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            # e.g. a Parquet timestamp where the contract wants a number
            values = pd.Series(np.nan, index=series.index)
            bad = ~blank
        elif series.dtype != object:
            values, bad = _parse_numbers(series)
            bad |= values.isna()  # 'NaN' and 'nan' parse, but are no number a row can hold
            bad &= ~blank
        else:
            text = _as_text(series).str.replace(",", "", regex=False)
            values = pd.to_numeric(text, errors="coerce").astype(float)
            bad = values.isna() & ~blank
            bad |= text.str.strip().str.lower().isin(["nan", "+nan", "-nan"]).fillna(False)
        bad |= ~np.isfinite(values.fillna(0))
        kind = "an integer" if col.type == "integer" else "a number"
        if col.type == "integer":
            frac = values.notna() & (values != np.floor(values.fillna(0)))
            bad |= frac
        _flag(problems, rows, series, bad, col.name,
                          f"type_{col.type}", lambda r, v: f"{v!r} is not {kind}: "
                          f"write {kind} ({col.unit or 'no unit'})")
        if col.type == "integer":
            # beyond what a 64-bit integer holds (1e30 deaths): a range problem of its own,
            # before the column is made integers (which such a value would break)
            huge = ~bad & values.notna() & (values.abs() >= 2.0 ** 63)
            _flag(problems, rows, series, huge, col.name, "range",
                  lambda r, v, c=col: f"{v} is out of range: {c.name} must be between "
                  f"{-(2 ** 63) if c.min is None else c.min:g} and "
                  f"{2 ** 63 - 1 if c.max is None else c.max:g}" + (f" {c.unit}" if c.unit else ""))
            bad |= huge
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
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            hit = _formula_like(series)
        else:
            continue
        control = textsafe.control_mask(series)
        if control.any():
            _flag(problems, rows, series, control, mapping.get(file_col, file_col),
                  "control_character", lambda r, v: f"{v!r} holds a control character (NUL, "
                  "escape or another invisible code): remove it")
            hit &= ~control
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
    _places(out, raw, rows, contract, inverse, city, problems)
    today = date.today()
    for name in contract.no_future:
        # a date column, or a year (integer) column: a year is in the future after this one
        limit = today.year if contract.column(name).type == "integer" else today
        late = out[name].map(lambda v, limit=limit: v is not None and v == v and v > limit) \
            .to_numpy(bool)
        _flag(problems, rows, out[name], late, name, "future_date",
              lambda r, v: f"{v} is in the future: give the date the figures are as of")
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


def _places(out: pd.DataFrame, raw: pd.DataFrame, rows: pd.Series, contract: Contract,
            inverse: dict, city: CityFrame, problems: _Problems) -> None:
    """Each row's H3 resolution-9 ``cell`` (from the H3 column or the WGS-84 point), and its
    district when the file names none; cells whose centre lies outside the city are problems.
    """
    if not (contract.lon or contract.h3_column):
        return
    n = len(out)
    cells = np.zeros(n, dtype=np.uint64)
    lon = np.array(out[contract.lon], dtype=float) if contract.lon else np.full(n, np.nan)
    lat = np.array(out[contract.lat], dtype=float) if contract.lon else np.full(n, np.nan)
    have_point = np.isfinite(lon) & np.isfinite(lat)
    if have_point.any():
        cells[have_point] = [h3int.latlng_to_cell(y, x, geo.H3_RESOLUTION)
                             for x, y in zip(lon[have_point], lat[have_point], strict=True)]
    if contract.h3_column and contract.h3_column in inverse:
        col = contract.h3_column
        text = out[col]
        given = text.notna().to_numpy(bool)
        parsed = np.zeros(n, dtype=np.uint64)
        bad = np.zeros(n, dtype=bool)
        for i in np.flatnonzero(given):
            value = str(text.iloc[i]).strip().lower()
            if h3.is_valid_cell(value) and h3.get_resolution(value) == geo.H3_RESOLUTION:
                parsed[i] = h3.str_to_int(value)
            else:
                bad[i] = True
        _flag(problems, rows, text, bad, col, "h3_cell",
              lambda r, v: f"{v!r} is not an H3 resolution-{geo.H3_RESOLUTION} cell: give the "
              "15-character hex id (e.g. 89309a4c6bbffff)")
        use = given & ~bad
        if use.any():
            centres = np.array([h3int.cell_to_latlng(c) for c in parsed[use]])
            clon, clat = centres[:, 1], centres[:, 0]
            outside = np.zeros(n, dtype=bool)
            outside[np.flatnonzero(use)] = ~city.contains(clon, clat)
            _flag(problems, rows, text, outside, col, "cell_outside_city",
                  lambda r, v: f"cell {v} lies outside the city's boundary: check the cell id")
            cells[use] = parsed[use]
            fill = np.flatnonzero(use & ~have_point)
            if contract.lon and fill.size:
                pos = np.searchsorted(np.flatnonzero(use), fill)
                lon[fill], lat[fill] = clon[pos], clat[pos]
                out[contract.lon], out[contract.lat] = lon, lat
        missing = ~given & ~have_point
        _flag(problems, rows, text, missing, col, "required",
              lambda r, v: f"{col} is empty and so is the point: give the H3 cell or lon/lat")
    out["cell"] = pd.array(cells, dtype="UInt64")
    out.loc[cells == 0, "cell"] = pd.NA
    if contract.derives_district:
        if contract.h3_column and contract.h3_column in inverse and not contract.lon:
            centres = np.array([h3int.cell_to_latlng(c) if c else (np.nan, np.nan)
                                for c in cells]).reshape(-1, 2)
            lon, lat = centres[:, 1], centres[:, 0]
        codes = city.district_of(lon, lat)
        out[contract.district_to] = pd.array(np.where(codes >= 0, codes, 0), dtype="Int64")
        out.loc[codes < 0, contract.district_to] = pd.NA


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


