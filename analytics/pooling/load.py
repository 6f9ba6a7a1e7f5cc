"""Load: write a validated plan as the dataset's next version, all in one transaction.

The rows go in under a new version number, the dataset's current-version pointer moves,
the lineage is logged, completeness recorded and the catalog updated, all in ONE store
transaction: readers see the old version or the new one, never a mixture, and a load that
fails or is killed leaves the previous version as it was. A rejected load is recorded in
``ingest_log`` (status ``rejected``) and changes nothing else. :func:`rollback` moves the
pointer back to the previous version.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.identity import Actor, PermissionDenied, require
from analytics.pooling.clean import _key_text, _Problems
from analytics.pooling.contracts import Contract, publisher_name
from analytics.pooling.contracts import contract as get_contract
from analytics.pooling.errors import IngestError, IngestRejected
from analytics.pooling.plan import Plan, Report, _plan
from analytics.pooling.read import sha256

#: Roles that may load a dataset (stewards only their own department's, see :func:`check_may_load`).
LOADER_ROLES = ("administrator", "data_steward")
#: Replaced versions kept besides the current one (older ones are pruned at load).
KEEP_VERSIONS = 3


# -- permissions ---------------------------------------------------------------------------
#: What else changes, in the same transaction, when a load or a rollback changes a dataset:
#: functions ``fn(store, contract, cur)``. The open-data catalog registers the recount of the
#: datasets it publishes from the layer views (ingest cannot know which catalog entries read
#: a layer, and the catalog sits above pooling), so "市政设施资产" no longer says 0 rows while
#: 120 loaded manholes are on the map.
AFTER_CHANGE: list[Callable] = []


def _after_change(store, contract: Contract, cur) -> None:
    for fn in AFTER_CHANGE:
        fn(store, contract, cur)


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

    The same as :func:`analytics.pooling.plan.validate` then :func:`load_plan` (the file is
    read, checked and hashed once). When the file breaks its contract the rejection is
    logged and the store's data is unchanged.

    Parameters
    ----------
    store : Store
        The city store.
    path : Path or str
        The file (CSV, XLSX, GeoJSON or (Geo)Parquet).
    dataset_id : str
        The dataset its contract names.
    actor : Actor
        Who loads (a data steward of the dataset's department, or an administrator).
    datum : str, optional
        The coordinates' datum (``wgs84``, ``gcj02``, ``bd09``; default: the file's or the
        contract's).
    encoding : str
        A CSV's text encoding, or ``auto``.
    file_name : str, optional
        The name to report (an upload's original name).
    synthetic : bool
        Mark the rows as synthetic (the demo's own files).
    progress : callable, optional
        ``progress(rows_written, rows_total)``, called after each batch is written (inside
        the transaction).

    Returns
    -------
    Report
        What was loaded, with its version.

    Raises
    ------
    IngestRejected
        With the report, when the file breaks its contract.
    IngestError
        When the file cannot be read at all.
    """
    contract = get_contract(dataset_id)
    check_may_load(actor, contract)
    _check_table(store, contract)
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
    return _write(store, plan, actor, synthetic=synthetic, progress=progress)


def load_plan(store, plan: Plan, actor: Actor, *, synthetic: bool = False,
              progress: Callable[[int, int], None] | None = None) -> Report:
    """Load what :func:`~analytics.pooling.plan.validate` checked, without checking it again.

    Only the file's SHA-256 is compared with the one taken at validation: a file changed
    since then is refused (validate it again).
    """
    check_may_load(actor, plan.contract)
    _check_table(store, plan.contract)
    if plan.path is not None and sha256(plan.path) != plan.report.file_sha256:
        raise IngestError(f"{plan.report.file_name} changed after it was validated: validate "
                          "it again", code="ingest_changed_since_validated",
                          file=plan.report.file_name)
    return _write(store, plan, actor, synthetic=synthetic, progress=progress)


def _check_table(store, contract: Contract) -> None:
    if contract.versions_table not in store.tables():
        raise IngestError(f"this store has no table for {contract.id} (it was built before "
                          "this dataset's contract existed): rebuild the store", code="ingest_no_table",
                          dataset=contract.id)


def _write(store, plan: Plan, actor: Actor, *, synthetic: bool,
           progress: Callable[[int, int], None] | None) -> Report:
    contract = plan.contract
    dataset_id = contract.id
    report = plan.report
    report.event_id = uuid.uuid4().hex
    current = store.scalar("ingest.current_version", dataset_id=dataset_id)
    report.version = (store.scalar("ingest.max_version", dataset_id=dataset_id) or 0) + 1
    if report.ok and contract.load_mode == "append" and current is not None:
        _check_not_loaded(store, plan)
    if not report.ok:
        report.status = "rejected"
        error = IngestRejected(report)
        _log(store, report, actor, "rejected", str(error)[:2000])
        raise error
    written = 0
    with store.transaction() as cur:
        for frame in plan.batches(store):
            frame = frame.assign(version=report.version)
            store.write(contract.versions_table, frame, cur=cur)
            written += len(frame)
            if progress:
                progress(written, report.rows_out)
        store.execute("ingest.set_current", cur=cur, dataset_id=dataset_id, version=report.version,
                      load_mode=contract.load_mode, event_id=report.event_id)
        if contract.load_mode == "replace":
            cur.execute(contract.prune_sql(), [report.version - KEEP_VERSIONS])
        report.status = "loaded"
        _log(store, report, actor, "loaded", _summary(report), cur=cur)
        quality = pd.DataFrame({
            "event_id": report.event_id, "dataset_id": dataset_id,
            "column_name": [c for c in plan.scan.non_null if c != "city_adcode"],
            "rows": report.rows_in,
            "non_null": [n for c, n in plan.scan.non_null.items() if c != "city_adcode"]})
        store.write("ingest_quality", quality, cur=cur)
        if len(report.findings):
            store.write("ingest_findings", report.findings.assign(
                event_id=report.event_id, dataset_id=dataset_id), cur=cur)
        _upsert_catalog(store, plan, synthetic, cur)
        _after_change(store, contract, cur)
    store.announce_change(dataset_id)
    return report


def rollback(store, dataset_id: str, actor: Actor) -> int:
    """Make the dataset's previous loaded version current again; returns it (0: none left).

    Every analysis that reads the dataset's layer follows at its next run. A
    ``rolled_back`` event in ``ingest_log`` records who did it. A replace dataset goes back
    to the newest older version still kept (see :data:`KEEP_VERSIONS`); an append dataset
    drops the rows of its latest load.
    """
    contract = get_contract(dataset_id)
    check_may_load(actor, contract)
    _check_table(store, contract)
    current = store.scalar("ingest.current_version", dataset_id=dataset_id)
    if current is None:
        raise IngestError(f"{dataset_id} has no loaded version: there is nothing to roll back",
                          code="ingest_nothing_to_roll_back", dataset=dataset_id)
    with store.cursor() as cur:
        stored = {int(r[0]) for r in cur.execute(contract.versions_sql()).fetchall()}
    older = [v for v in stored if v < current]
    previous = max(older) if older else 0
    event_id = uuid.uuid4().hex
    with store.transaction() as cur:
        if previous:
            store.execute("ingest.set_current", cur=cur, dataset_id=dataset_id, version=previous,
                          load_mode=contract.load_mode, event_id=event_id)
        else:
            store.execute("ingest.drop_current", cur=cur, dataset_id=dataset_id)
        if contract.load_mode == "append":
            cur.execute(contract.drop_version_sql(), [current])
        store.execute("ingest.log_event", cur=cur, event_id=event_id, dataset_id=dataset_id,
                      logged_at=datetime.now(UTC).replace(tzinfo=None), actor=actor.name,
                      file_name="", file_sha256="", rows_in=0, rows_out=0, version=previous,
                      status="rolled_back",
                      message=f"version {current} rolled back; "
                              f"{f'version {previous}' if previous else 'no version'} is current")
        rows = int(cur.execute(contract.count_sql()).fetchone()[0])
        store.execute("ingest.set_row_count", cur=cur, dataset_id=dataset_id, row_count=rows)
        _after_change(store, contract, cur)
    store.announce_change(dataset_id)
    return previous


def _check_not_loaded(store, plan: Plan) -> None:
    """Append datasets take each key once: keys already loaded are problems (batch by batch)."""
    import pyarrow.compute as pc

    contract = plan.contract
    key = contract.store_key
    with store.cursor() as cur:
        existing = cur.execute(contract.keys_sql()).df()
    if existing.empty:
        return
    for col in key:
        if pd.api.types.is_datetime64_any_dtype(existing[col]):
            existing[col] = existing[col].dt.date.astype(object)
    loaded = _key_text(existing, key)
    problems = _Problems(plan.source.name)
    key_label = "/".join(contract.key)
    offset = 0
    for frame in plan.batches(store, drop=False):
        hit = pc.is_in(_key_text(frame, key), value_set=loaded).to_numpy(zero_copy_only=False)
        if hit.any():
            shown = frame.loc[hit, key].apply(  # blanks (None or NaN) show as empty text
                lambda col: col.map(lambda v: "" if v is None or v != v else str(v))
            ).agg(", ".join, axis=1)
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


def _upsert_catalog(store, plan: Plan, synthetic: bool, cur) -> None:
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
        description=c.description or c.description_en,
        publisher=publisher_name(c.department, meta.get("city_name", "")),
        publisher_en=c.department_en, theme=c.theme, keywords=", ".join(c.keywords),
        temporal_start=start, temporal_end=end,
        spatial=f"{meta.get('city_name', '')} ({meta.get('city_adcode', '')})".strip(),
        update_frequency=c.update_frequency, access_level=c.access_level, licence=c.licence,
        modified=date.today(), negative_list=c.negative_list, negative_reason=c.negative_reason,
        source_table=c.table, row_count=rows, synthetic=synthetic,
        columns_json=json.dumps(c.columns_json(), ensure_ascii=False))


