"""The one place that decides who may read what, and through which channel.

Every path out of the store — the catalog page's preview, a download from the app, the CLI
``export``, the notebook API :func:`read` — calls :func:`authorize` and takes its rows
from :func:`chunks`, which applies the dataset's disclosure control (suppression, masking,
k-anonymity, withheld columns). Every decision, served or refused, is written to
``download_log`` (with its reason in ``access_decisions``).

The rules, in order:

1. the dataset must be in the catalog;
2. confidential datasets (the negative list, and tables nobody classified) never leave,
   whoever asks; they feed only aggregates that pass disclosure control;
3. public datasets are served to everyone, after disclosure control;
4. on-application datasets are served only to the requester of an approved, unexpired
   application for that dataset, only the approved fields, masked and k-anonymous.

No role bypasses these rules: an administrator or a data steward needs an application too.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, Actor, PermissionDenied
from analytics.opendata import applications, privacy
from analytics.opendata.registry import DatasetSpec, _row, _spec_from_row, spec, spec_of
from analytics.store import Store, named_query

CHANNELS = ("page", "download", "cli", "api")


class AccessRefused(PermissionDenied):
    """A read or export the rules do not allow; the message says why and what to do."""


#: Why a read is refused: code -> the English reason (the dashboard has both languages under
#: ``reason_<code>`` in ``dashboard/strings/reasons.toml``).
REFUSALS = {
    "unknown_dataset": "no dataset {dataset!r} in the catalog; search the catalog for its name",
    "confidential": "{dataset} is confidential (negative list: {why}); it is never released, "
                    "only aggregates that pass disclosure control",
    "held_by_department": "{dataset} is held by its department, not in this store",
    "needs_sign_in": "{dataset} is open on application: sign in, apply on the applications "
                     "page, and download after a data steward approves",
    "no_application": "{user} has no approved, unexpired application for {dataset}: apply on "
                      "the applications page",
    "unknown_application": "no application {application!r}",
    "other_requester": "application {application} belongs to another requester; apply in "
                       "your own name",
    "other_dataset": "application {application} is for {other}, not {dataset}",
    "not_approved": "application {application} is {status}, not approved",
    "expired": "application {application} expired on {expired}; apply again",
}


@dataclass(frozen=True)
class Decision:
    """One access decision: who asked for which dataset through which channel, allowed or not,
    the reason in English and its ``code`` and ``params`` for the dashboard's languages.
    """
    dataset_id: str
    actor: Actor
    channel: str
    allowed: bool
    reason: str
    application_id: str | None = None
    fields: tuple[str, ...] | None = None   # approved fields (on-application), else all
    purpose: str | None = None
    code: str | None = None                 # a key of REFUSALS when refused
    params: tuple[tuple[str, str], ...] = ()


@dataclass
class Release:
    """An authorised read: the decision, and the report filled in as chunks are produced."""

    decision: Decision
    spec: DatasetSpec
    report: privacy.DisclosureReport = field(default_factory=privacy.DisclosureReport)


#: ``decide(..., row=ASK)``: read the dataset's catalog row from the store.
ASK = object()


def decide(store: Store, dataset_id: str, actor: Actor = PUBLIC, channel: str = "api", *,
           application_id: str | None = None, now: datetime | None = None,
           row: dict | None | object = ASK) -> Decision:
    """Allow or refuse, with the reason (no logging: see :func:`authorize`).

    Parameters
    ----------
    store : Store
        The city store.
    dataset_id : str
        The dataset asked for.
    actor : Actor
        Who asks (default: an anonymous visitor).
    channel : str
        Where the request comes from (``api``, ``page``, ``cli``, ...).
    application_id : str, optional
        A named application (default: the actor's active one, if any).
    now : datetime, optional
        The time of the decision (default: now, UTC).
    row : dict or None, optional
        The dataset's catalog row (None: not in the catalog) when the caller holds it as of
        the last change of the catalog (the server's catalog, renewed on every load);
        otherwise it is read from the store.

    Returns
    -------
    Decision
        ``allowed``, the reason in English, and its ``code`` and ``params``.

    Examples
    --------
    >>> decide(store, "no_such_dataset").code
    'unknown_dataset'
    """
    _check_channel(channel)
    now = now or privacy.now_utc()
    if row is ASK:
        row = _row(store, str(dataset_id))
    if application_id is None:
        return _decide(dataset_id, actor, channel, row, None, now,
                       lambda: applications.active_for(store, actor, dataset_id, now=now))
    return _decide(dataset_id, actor, channel, row, application_id, now,
                   lambda: applications.get(store, application_id))


def decide_many(store: Store, dataset_ids: Sequence[str], actor: Actor = PUBLIC,
                channel: str = "api", *, now: datetime | None = None) -> list[Decision]:
    """:func:`decide` for many datasets at once (one catalog read, one read of the actor's
    applications), in the order given.

    Parameters
    ----------
    store : Store
        The city store.
    dataset_ids : sequence of str
        The datasets.
    actor : Actor
        Who asks.
    channel : str
        Where the request comes from.
    now : datetime, optional
        The time of the decisions.

    Returns
    -------
    list of Decision
    """
    _check_channel(channel)
    now = now or privacy.now_utc()
    ids = [str(d) for d in dataset_ids]
    rows = {r["dataset_id"]: r for r in store.query("open_data.datasets_in", ids=ids)
            .to_dict("records")}
    apps = applications.of(store, actor)
    return [_decide(d, actor, channel, rows.get(d), None, now,
                    lambda d=d: applications.active_in(apps, d, now=now)) for d in ids]


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}")


def _decide(dataset_id: str, actor: Actor, channel: str, row: dict | None,
            application_id: str | None, now: datetime,
            application: Callable[[], dict | None]) -> Decision:
    """The rules, on the dataset's catalog row; ``application()`` fetches the application
    (the actor's active one, or the named ``application_id``) only when the rules need it."""

    def no(code: str, **params) -> Decision:
        params = {"dataset": dataset_id, "user": actor.name, "application": application_id,
                  **params}
        return Decision(dataset_id, actor, channel, False, REFUSALS[code].format(**params),
                        application_id, code=code,
                        params=tuple((k, str(v)) for k, v in params.items()))

    s = spec(str(dataset_id)) or (None if row is None else _spec_from_row(row))
    if row is None:
        return no("unknown_dataset")
    if row["access_level"] == "confidential" or row["negative_list"] or s is None:
        return no("confidential",
                  why=row.get("negative_reason") or "not classified by a data steward")
    if not row["source_table"] or pd.isna(row["source_table"]):
        return no("held_by_department")
    if row["access_level"] == "public":
        return Decision(dataset_id, actor, channel, True, "public dataset")
    # on application
    if actor.is_public and actor.name == PUBLIC.name:
        return no("needs_sign_in")
    app = application()
    if application_id is None:
        if app is None:
            return no("no_application")
    else:
        if app is None:
            return no("unknown_application")
        if app["requester"] != actor.name:
            return no("other_requester")
        if app["dataset_id"] != dataset_id:
            return no("other_dataset", other=app["dataset_id"])
        if app["status"] != "approved":
            return no("not_approved", status=app["status"])
        if app["expires_at"] is not None and pd.Timestamp(app["expires_at"]) <= pd.Timestamp(now):
            return no("expired", expired=f"{pd.Timestamp(app['expires_at']):%Y-%m-%d %H:%M}")
    return Decision(dataset_id, actor, channel, True,
                    f"approved application {app['application_id']}",
                    application_id=app["application_id"],
                    fields=tuple(json.loads(app["fields_json"])), purpose=app["purpose"])


def log(store: Store, decision: Decision, fmt: str, rows: int) -> str:
    """Record one use (served or refused) with its reason; returns the event id."""
    return log_many(store, [(decision, fmt, rows, privacy.now_utc())])[0]


def log_many(store: Store, uses: list[tuple[Decision, str, int, datetime]]) -> list[str]:
    """Record several uses ``(decision, format, rows, at)`` in one transaction (a server
    logging many API reads writes them together, a fraction of a second after each)."""
    events = [uuid.uuid4().hex for _ in uses]
    if len(uses) == 1:
        (decision, fmt, rows, at), event = uses[0], events[0]
        with store.transaction() as cur:
            store.execute("open_data.log_use", cur=cur, event_id=event,
                          dataset_id=str(decision.dataset_id)[:200], at=at,
                          actor=decision.actor.name, channel=decision.channel, format=fmt,
                          rows=int(rows), outcome="served" if decision.allowed else "refused")
            store.execute("open_data.log_decision", cur=cur, event_id=event,
                          reason=decision.reason, application_id=decision.application_id,
                          purpose=decision.purpose)
        return events
    # many at once (a server's batch): one insert per table, not two statements per use
    ds = [u[0] for u in uses]
    use_rows = pa.table({
        "event_id": pa.array(events, pa.string()),
        "dataset_id": pa.array([str(d.dataset_id)[:200] for d in ds], pa.string()),
        "logged_at": pa.array([u[3] for u in uses], pa.timestamp("us")),
        "actor": pa.array([d.actor.name for d in ds], pa.string()),
        "channel": pa.array([d.channel for d in ds], pa.string()),
        "format": pa.array([u[1] for u in uses], pa.string()),
        "rows": pa.array([int(u[2]) for u in uses], pa.int64()),
        "outcome": pa.array(["served" if d.allowed else "refused" for d in ds], pa.string())})
    reasons = pa.table({
        "event_id": pa.array(events, pa.string()),
        "reason": pa.array([d.reason for d in ds], pa.string()),
        "application_id": pa.array([d.application_id for d in ds], pa.string()),
        "purpose": pa.array([d.purpose for d in ds], pa.string())})
    with store.transaction() as cur:
        store.write("download_log", use_rows, cur=cur)
        store.write("access_decisions", reasons, cur=cur)
    return events


def authorize(store: Store, dataset_id: str, actor: Actor = PUBLIC, channel: str = "api", *,
              fmt: str = "", application_id: str | None = None,
              row: dict | None | object = ASK) -> Release:
    """:func:`decide`, logging and raising :class:`AccessRefused` when refused.

    Parameters
    ----------
    store : Store
        The city store.
    dataset_id : str
        The dataset asked for.
    actor : Actor
        Who asks (default: an anonymous visitor).
    channel : str
        Where the request comes from (``api``, ``page``, ``cli``, ...).
    fmt : str
        The format asked for, for the access log.
    application_id : str, optional
        The approved application that grants access.
    row : dict or None, optional
        The dataset's catalog row, as for :func:`decide`.

    Returns
    -------
    Release
        The decision, the dataset's spec and the disclosure report to fill.

    Raises
    ------
    AccessRefused
        With the refusal's code and values.
    """
    decision = decide(store, dataset_id, actor, channel, application_id=application_id,
                      row=row)
    if not decision.allowed:
        log(store, decision, fmt or "-", 0)
        raise AccessRefused(decision.reason, code=decision.code, **dict(decision.params))
    held = spec(str(dataset_id)) or (_spec_from_row(row) if isinstance(row, dict) else None)
    return Release(decision, held or spec_of(store, dataset_id),
                   privacy.DisclosureReport(dataset_id=dataset_id))


def source_frame(store: Store, s: DatasetSpec) -> pd.DataFrame:
    """The rows an aggregate is computed from (internal: never returned to a caller as is)."""
    frame = store.query("open_data.rows_all", table=s.table)
    return privacy.aggregate(s.aggregate, frame)


#: The masking secret: this environment variable (64 hex digits), else a key file beside the
#: store (``<store>.key``, mode 600), never inside the store it protects.
KEY_ENV = "CITYBRAIN_MASKING_KEY"
_memory_keys: dict[int, str] = {}


def key_path(store: Store) -> Path | None:
    return None if store.path is None else Path(f"{store.path}.key")


def masking_secret(store: Store) -> str:
    """The secret pseudonyms are keyed with, from outside the store.

    A store built before the key moved out has it in ``privacy_keys``: it is moved to the key
    file (so earlier extracts keep their pseudonyms) and deleted from the store."""
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        try:
            if len(bytes.fromhex(env)) < 16:
                raise ValueError
        except ValueError:
            raise CityBrainError(f"{KEY_ENV} must be at least 32 hex digits (a random key, "
                                 "e.g. from `python -c 'import secrets; print(secrets."
                                 "token_hex(32))'`)") from None
        return env
    path = key_path(store)
    if path is None:  # an in-memory store (tests): a key for this store object only
        return _memory_keys.setdefault(id(store), privacy.new_secret())
    if path.exists():
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return path.read_text(encoding="ascii").strip()
    old = store.scalar("open_data.secret", key_name="masking")
    secret = old or privacy.new_secret()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secret + "\n")
    if old:
        store.execute("open_data.delete_secret", key_name="masking")
    return secret


def _key(store: Store, decision: Decision) -> bytes:
    return privacy.derive_key(masking_secret(store), f"application:{decision.application_id}")


def _arrow(store: Store, name: str, **params) -> pa.Table:
    """``store.arrow``; on a DuckDB whose result lacks ``fetch_arrow_table`` (2.0 renamed it
    ``to_arrow_table``), the same named query through the store's own cursor."""
    try:
        return store.arrow(name, **params)
    except AttributeError:
        with store.cursor() as cur:
            return cur.execute(named_query(name), params or None).to_arrow_table()


def _raw_chunks(store: Store, s: DatasetSpec, limit: int | None) -> Iterator[pa.Table]:
    if s.aggregate:
        yield pa.Table.from_pandas(source_frame(store, s), preserve_index=False)
        return
    if s.type_filter:
        name = "open_data.rows_types_head" if limit else "open_data.rows_types"
        params = {"types": list(s.type_filter)} | ({"n": limit} if limit else {})
        yield _arrow(store, name, table=s.table, **params)
        return
    cols = set(store.columns(s.table)["column"])
    years = store.query("open_data.table_years", table=s.table)["year"] \
        if "year" in cols and all("year" in m for m in s.margins) else ()
    if len(years):
        # One year at a time: bounded memory for large tables, and every margin is within a
        # year. (An empty table goes out whole below, so its download still has its header.)
        for year in years:
            yield _arrow(store, "open_data.rows_year", table=s.table, year=int(year))
            if limit:
                return
        return
    if limit and not s.margins and not s.record_level:
        yield _arrow(store, "open_data.rows_head", table=s.table, n=limit)
        return
    yield _arrow(store, "open_data.rows_all", table=s.table)


def _record_level(store: Store, release: Release, table: pa.Table,
                  part: privacy.DisclosureReport) -> pa.Table:
    """Mask personal fields, withhold columns, keep approved fields, enforce k-anonymity."""
    s, d = release.spec, release.decision
    frame = table.to_pandas()
    frame = frame.assign(age_band=privacy.age_band(frame["age"]))
    frame = privacy.mask_columns(frame, s.masked, _key(store, d), part)
    part.dropped_columns = [c for c in s.dropped if c in frame.columns]
    frame = frame.drop(columns=part.dropped_columns)
    if d.fields is not None:
        extra = [c for c in frame.columns if c not in d.fields]
        part.dropped_columns = sorted(set(part.dropped_columns) | set(extra))
        frame = frame[[c for c in frame.columns if c in d.fields]]
    # Quasi-identifiers: every column the extract releases (the declared ones and whatever
    # else goes out, e.g. since_year, subsidy_type, monthly_yuan), except the keyed
    # pseudonyms, which cannot be linked to anything outside this extract.
    pseudonyms = {c for c, _ in s.masked}
    qis = tuple(dict.fromkeys([q for q in s.quasi_identifiers if q in frame.columns]
                              + [c for c in frame.columns if c not in pseudonyms]))
    part.k, part.quasi_identifiers = privacy.K_MIN, list(qis)
    if qis:
        frame = privacy.enforce_k_anonymity(frame, qis, privacy.K_MIN, part)
    return pa.Table.from_pandas(frame, preserve_index=False)


def chunks(store: Store, release: Release, limit: int | None = None) -> Iterator[pa.Table]:
    """The released rows, desensitised, as Arrow tables (a year at a time where there are years).

    Fills ``release.report``. With ``limit``, stops after that many rows (previews).
    """
    s, d, report = release.spec, release.decision, release.report
    served = 0
    for table in _raw_chunks(store, s, limit):
        part = privacy.DisclosureReport(rows_in=table.num_rows)
        for col in s.count_columns:
            if s.rounding:
                table, sup = privacy.round_counts_arrow(table, col, s.rounding)
                part.notes += [n for n in sup.notes if n not in part.notes]
            else:
                table, sup = privacy.suppress_small_counts_arrow(table, col, s.margins)
            part.primary_suppressed += sup.primary_suppressed
            part.secondary_suppressed += sup.secondary_suppressed
        if s.record_level:
            table = _record_level(store, release, table, part)
        elif d.fields is not None:
            table = table.select([c for c in table.column_names if c in d.fields])
        if limit is not None:
            table = table.slice(0, limit - served)
        part.rows_out = table.num_rows
        report.merge(part)
        served += table.num_rows
        yield table
        if limit is not None and served >= limit:
            return


def read(store: Store, dataset_id: str, actor: Actor = PUBLIC, *, channel: str = "api",
         application_id: str | None = None, limit: int | None = None
         ) -> tuple[pd.DataFrame, privacy.DisclosureReport]:
    """The notebook API: the rows ``actor`` may see, desensitised, and what was done to them.

    Raises :class:`AccessRefused` (and logs the refusal) when the rules say no.
    """
    release = authorize(store, dataset_id, actor, channel, fmt="frame",
                        application_id=application_id)
    parts = list(chunks(store, release, limit=limit))
    frame = pa.concat_tables(parts).to_pandas() if parts else pd.DataFrame()
    log(store, release.decision, "frame" if limit is None else "preview", len(frame))
    return frame, release.report


#: How each kind of derived output is protected (see README, "What is published at which grain").
GRAINS = ("cell", "district")


def release_counts(store: Store, frame: pd.DataFrame, counts: list[str] | tuple[str, ...], *,
                   source: str = "population_cells", grain: str = "cell",
                   actor: Actor = PUBLIC, channel: str = "api", fmt: str = "frame",
                   parts: str | dict[str, str] | None = None
                   ) -> tuple[pd.DataFrame, privacy.DisclosureReport]:
    """A derived output that carries counts of people (an analysis table, a map's tooltips, a
    chart's CSV), released through the same decision, disclosure control and log as a download.

    ``source`` is the dataset the counts come from: the actor must be allowed to read it
    (:func:`decide`), else :class:`AccessRefused`. Counts at ``grain="cell"`` (anything below
    district level) and derived district counts that are not sums of published margins
    (covered, unmet) are rounded to the nearest 10 with 1-9 blank
    (:func:`privacy.round_counts`), exactly as the cell table is published; a ``suppressed``
    column says which rows lost a count. ``parts`` names a column holding how many non-zero
    published counts each sum adds up (see :func:`privacy.round_counts`); it is not released.
    A dict ``{count: column}`` gives each count its own. The use is logged under ``source``.
    """
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; grains are {', '.join(GRAINS)}")
    decision = decide(store, source, actor, channel)
    if not decision.allowed:
        log(store, decision, fmt, 0)
        raise AccessRefused(decision.reason, code=decision.code, **dict(decision.params))
    report = privacy.DisclosureReport(dataset_id=source, rows_in=len(frame), rows_out=len(frame))
    out = frame.copy()
    blank = np.zeros(len(out), dtype=bool)
    part_of = parts if isinstance(parts, dict) else {c: parts for c in counts if parts}
    for col in counts:
        values, suppressed, _ = privacy.round_counts(
            out[col].to_numpy(dtype="float64", na_value=np.nan),
            parts=out[part_of[col]].to_numpy(dtype="float64") if col in part_of else None)
        report.primary_suppressed += suppressed
        blank |= np.isnan(values) & out[col].notna().to_numpy()
        out[col] = pd.array(values, dtype="Float64").round().astype("Int64")
    out["suppressed"] = blank
    out = out.drop(columns=sorted(set(part_of.values())))
    report.notes.append(f"counts of people rounded to the nearest {privacy.ROUNDING_BASE}; "
                        f"counts of {privacy.SMALL_LOW}-{privacy.SMALL_HIGH} are blank")
    log(store, decision, fmt, len(out))
    return out, report


def released(store: Store, dataset_id: str, actor: Actor = PUBLIC, *, channel: str = "api",
             year: int | None = None) -> pd.DataFrame:
    """The rows of a public count table exactly as a download releases them (one year, or
    all), for outputs computed from them: sums of these are safe where no part is blank
    (:func:`privacy.released_sum`). Logged like a read."""
    release = authorize(store, dataset_id, actor, channel, fmt="derived")
    parts = []
    for table in chunks(store, release):
        if year is not None and "year" in table.column_names:
            table = table.filter(pa.compute.equal(table["year"], year))
        if table.num_rows:
            parts.append(table)
    frame = pa.concat_tables(parts).to_pandas() if parts else pd.DataFrame()
    log(store, release.decision, "derived", len(frame))
    return frame


def usage_of(store: Store, actor: Actor, n: int = 200) -> pd.DataFrame:
    """An actor's own recent uses (served and refused), newest first."""
    return store.query("open_data.usage_of_actor", actor=actor.name, n=n)
