"""``python -m analytics ingest``: validate a department file and load it into the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.commands._signin import read_password
from analytics.errors import CityBrainError
from analytics.geo import DATUMS
from analytics.identity import Actor
from analytics.opendata import accounts
from analytics.pooling import ingest
from analytics.pooling.contracts import contracts
from analytics.server.client import running
from analytics.store import DEFAULT_STORE, Store


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ingest",
        help="validate a department's file against its contract and load it (all or nothing)",
        description="Read a CSV (UTF-8, UTF-8 with BOM, GBK, GB18030), XLSX, GeoJSON, Parquet or "
        "GeoParquet file, validate it against the dataset's contract (data/contracts/ID.yaml), "
        "convert coordinates to WGS-84 and district names to adcodes, and load it as the "
        "dataset's next version in one transaction. Every problem is printed one per line "
        "(file, row, column, value, rule) and nothing is loaded if there is any. Works on a "
        "store that the app is not serving (the app holds the store's write lock); while the "
        "app runs, load through its Data pooling page.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("file", type=Path,
                   help="the department's file; or the word rollback, then the dataset id: "
                   "make the dataset's previous version current again")
    p.add_argument("rollback_dataset", nargs="?", default=None, metavar="DATASET",
                   help="with rollback: the dataset to roll back")
    p.add_argument("--dataset", default=None, metavar="ID",
                   help="dataset id, one of: " + ", ".join(contracts()))
    p.add_argument("--datum", choices=DATUMS, default=None,
                   help="datum of the file's coordinates (default: the contract's)")
    p.add_argument("--encoding", choices=ingest.ENCODINGS, default="auto",
                   help="text encoding of a CSV")
    p.add_argument("--as-user", default=None, metavar="NAME",
                   help="the staff account loading (a data steward or administrator); it signs "
                   "in with its password (hidden at a terminal, or one line from standard "
                   "input), and the authenticated name goes into the lineage log")
    p.add_argument("--validate-only", action="store_true",
                   help="check the file and print the problems; load nothing")
    p.add_argument("--problems-out", type=Path, default=None, metavar="CSV",
                   help="also write the problems table to this CSV file")
    p.add_argument("--synthetic", action="store_true",
                   help="mark the dataset as synthetic in the catalog (for the example files)")
    p.add_argument("--token", default=None, help="a data steward's API token (default "
                   "$CITYBRAIN_TOKEN): while the server runs, the file is pushed to it")
    p.add_argument("--store", default=str(DEFAULT_STORE), metavar="PATH", help="the city store")
    p.set_defaults(func=run)


def _push(server, args: argparse.Namespace) -> int:
    """While the server owns the store, the load is a push to it (same checks, its log)."""
    if not server.token:
        raise CityBrainError(f"the server at {server.url} owns {args.store}: give a data "
                             "steward's API token (--token or $CITYBRAIN_TOKEN) to push the file")
    status, report = server.push(args.dataset, args.file, validate_only=args.validate_only)
    if status == 422:
        for p in report["problems"][:1000]:
            print(p["message"], file=sys.stderr)
        raise CityBrainError(f"{report['problem_count']:,} problem(s); nothing loaded")
    if args.validate_only:
        print(f"{report['file']}: valid for {args.dataset}: {report['rows_out']:,} rows "
              f"({report['duplicates_dropped']:,} exact duplicates to drop)")
    else:
        print(f"{report['file']} -> {args.dataset} version {report['version']}: "
              f"{report['rows_in']:,} rows read, {report['rows_out']:,} loaded (pushed to "
              f"{server.url})")
    return 0


def _actor(store: Store, args: argparse.Namespace) -> tuple[Actor, str]:
    """The loader: the staff account named by --as-user, signed in with its password (read
    hidden at a terminal, or one line from standard input, as ``users`` does). A claimed name
    is not enough: the lineage log records the account that proved who it is."""
    if not args.as_user:
        raise CityBrainError("give --as-user NAME: the staff account (a data steward or an "
                             "administrator) the load is recorded under")
    signed = accounts.sign_in(store, args.as_user, read_password(f"password for {args.as_user}: "))
    if signed.actor.role == "public":
        accounts.sign_out(store, signed.token)
        raise CityBrainError(f"{args.as_user} is not a staff account: a data steward or an "
                             "administrator loads department data")
    return signed.actor, signed.token


def _print_problems(report: ingest.Report, out: Path | None, *, single: bool = False) -> None:
    if report.problem_count == 1 and not single:  # the error line says it
        return _write_problems(report, out)
    for message in report.problems["message"]:
        print(message, file=sys.stderr)
    hidden = report.problem_count - len(report.problems)
    if hidden > 0:
        print(f"… and {hidden:,} more problems of the same kinds", file=sys.stderr)
    _write_problems(report, out)


def _write_problems(report: ingest.Report, out: Path | None) -> None:
    if out is not None:
        out.write_bytes(report.problems_csv())
        print(f"problems table written to {out}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if str(args.file) == "rollback":
        return _rollback(args)
    if args.rollback_dataset is not None:
        raise CityBrainError(f"unexpected argument {args.rollback_dataset!r}: give one file and "
                             "--dataset ID (or: ingest rollback DATASET)")
    if not args.dataset:
        raise CityBrainError("give --dataset ID: one of " + ", ".join(contracts()))
    server = running(args.store, args.token)
    if server is not None:
        return _push(server, args)
    if args.validate_only:
        with Store.open(args.store, read_only=True) as store:
            report = ingest.validate(store, args.file, args.dataset, datum=args.datum,
                                     encoding=args.encoding)
        if report.ok:
            print(f"{report.file_name}: valid for {args.dataset}: {report.rows_out:,} rows "
                  f"({report.duplicates_dropped:,} exact duplicates to drop)")
            return 0
        _print_problems(report, args.problems_out, single=True)
        print(f"error: {report.problem_count:,} problem(s); nothing loaded", file=sys.stderr)
        return 2
    with Store.open(args.store) as store:
        actor, token = _actor(store, args)
        try:
            report = ingest.load(store, args.file, args.dataset, actor, datum=args.datum,
                                 encoding=args.encoding, synthetic=args.synthetic)
        except ingest.IngestRejected as exc:
            _print_problems(exc.report, args.problems_out)
            raise
        finally:
            accounts.sign_out(store, token)
        store.checkpoint()
    print(f"{report.file_name} -> {args.dataset} version {report.version}: "
          f"{report.rows_in:,} rows read, {report.rows_out:,} loaded"
          + (f", {report.duplicates_dropped:,} exact duplicates dropped"
             if report.duplicates_dropped else "")
          + (f"; encoding {report.encoding}" if report.encoding else "")
          + (f"; {report.datum} -> WGS-84" if report.datum and report.datum != "wgs84" else ""))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    dataset = args.rollback_dataset or args.dataset
    if not dataset:
        raise CityBrainError("give the dataset to roll back: ingest rollback DATASET")
    with Store.open(args.store) as store:
        actor, token = _actor(store, args)
        try:
            previous = ingest.rollback(store, dataset, actor)
        finally:
            accounts.sign_out(store, token)
        store.checkpoint()
    print(f"{dataset}: rolled back; " + (f"version {previous} is current" if previous else
                                         "no version is current (the layer falls back to the "
                                         "synthetic default)"))
    return 0
