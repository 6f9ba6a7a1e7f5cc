"""Plan: a validated file, ready to load (validation happens once, here).

:func:`validate` reads and cleans a file against its contract and returns a :class:`Plan`:
the report (every problem), the file's SHA-256 and, for files up to
:data:`KEEP_IN_MEMORY_BYTES`, the cleaned batches themselves. Loading a plan re-checks only
the SHA-256 and writes what was validated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analytics import geo, textsafe
from analytics.pooling.clean import (
    PROBLEM_COLUMNS,
    _clean_batch,
    _duplicates,
    _Problems,
    _resolve_datum,
    _Scan,
    city_frame,
    map_header,
)
from analytics.pooling.contracts import Contract
from analytics.pooling.contracts import contract as get_contract
from analytics.pooling.errors import IngestError
from analytics.pooling.quality import FINDING_COLUMNS, consistency
from analytics.pooling.read import ENCODINGS, Source, open_source, sha256

#: Files smaller than this keep their validated batches in memory between validation and
#: loading; larger files are read a second time (bounded memory).
KEEP_IN_MEMORY_BYTES = 256 << 20


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
    #: Consistency findings (reported, never refused): see analytics.pooling.quality.consistency.
    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FINDING_COLUMNS))
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
            safe[col] = safe[col].astype(str).map(textsafe.neutralise)
    return safe.to_csv(index=False).encode("utf-8-sig")



@dataclass
class Plan:
    """A validated file, ready to load: what :func:`validate` returns.

    A plan reads as its :class:`Report` (``plan.ok``, ``plan.problems``, ``plan.rows_out``…);
    it also keeps where the file is, its SHA-256 at validation, the header mapping, the
    datum, the exact duplicates to drop, the cleaned batches (files up to
    :data:`KEEP_IN_MEMORY_BYTES`), the consistency findings and the scan's counts.
    """

    report: Report
    source: Source
    contract: Contract
    mapping: dict[str, str]
    datum: str
    drop: np.ndarray
    cached: list[pd.DataFrame] | None
    scan: _Scan
    path: Path | None = None

    def __getattr__(self, name):
        # Only called for names a plan does not have: the report's fields.
        if name.startswith("__") or name == "report":
            raise AttributeError(name)
        return getattr(self.report, name)

    def batches(self, store, *, drop: bool = True) -> Iterator[pd.DataFrame]:
        """The cleaned rows (kept, or read again), without the exact duplicates if ``drop``."""
        frames = iter(self.cached) if self.cached is not None else _reclean(store, self)
        offset = 0
        for frame in frames:
            size = len(frame)
            if drop and len(self.drop):
                frame = frame[~np.isin(np.arange(offset, offset + size), self.drop)]
            offset += size
            yield frame


def _reclean(store, plan: Plan, strict: bool = True) -> Iterator[pd.DataFrame]:
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
        raise IngestError(f"{plan.source.name} changed while it was being loaded: load it again",
                          code="ingest_changed", file=plan.source.name)


def _plan(store, path: Path, dataset_id: str | Contract, *, datum: str | None, encoding: str,
          file_name: str | None) -> Plan:
    contract = dataset_id if isinstance(dataset_id, Contract) else get_contract(dataset_id)
    dataset_id = contract.id
    if datum is not None and datum not in geo.DATUMS:
        raise IngestError(f"unknown datum {datum!r}: use one of {', '.join(geo.DATUMS)}",
                          code="ingest_datum", datum=datum, choices=", ".join(geo.DATUMS))
    if encoding not in ENCODINGS:
        raise IngestError(f"unknown encoding {encoding!r}: use one of {', '.join(ENCODINGS)}",
                          code="ingest_encoding", encoding=encoding, choices=", ".join(ENCODINGS))
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
        plan = Plan(Report(dataset_id, source.name, "", source.fmt, None, None), source, contract,
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
    plan = Plan(report, source, contract, mapping, chosen, drop, cached, scan, path)
    report.findings = consistency(store, plan)
    return plan


def validate(store, path: Path | str, dataset_id: str, *, datum: str | None = None,
             encoding: str = "auto", file_name: str | None = None) -> Plan:
    """Check a file against its contract without loading it: the plan to load it.

    The plan reads as its report (every problem, ``plan.ok``); pass it to
    :func:`analytics.pooling.load.load_plan` to write exactly what was validated.

    Parameters
    ----------
    store : Store
        The city store (its districts place the rows).
    path : Path or str
        The file.
    dataset_id : str
        The dataset its contract names.
    datum, encoding, file_name
        As for :func:`analytics.pooling.load.load`.

    Returns
    -------
    Plan
        The report and what loading it would write.

    Raises
    ------
    IngestError
        Only when the file cannot be read at all.
    """
    return _plan(store, Path(path), dataset_id, datum=datum, encoding=encoding,
                 file_name=file_name)
