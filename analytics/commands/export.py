"""``python -m analytics export``: a dataset (or a whole domain) to a file, as the rules allow."""

from __future__ import annotations

from pathlib import Path

from analytics.commands._engine import add_engine_options, uses_engine
from analytics.commands._signin import read_password
from analytics.engines import analyses
from analytics.errors import CityBrainError
from analytics.identity import PUBLIC
from analytics.opendata import accounts, catalog, exports
from analytics.server.client import running
from analytics.store import Store


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="export a dataset (or a domain as ZIP) through the access rules",
        description="Write one catalogued dataset in the chosen format, with the same access "
        "rules, disclosure control (suppression, masking, k-anonymity) and logging as a "
        "download from the app. Without --as-user you act as the public; with it you sign in "
        "(password from the terminal, or one line on standard input). The store must not be "
        "served by a running server; while one runs, the export is a download from it.")
    p.add_argument("dataset", nargs="?", help="dataset id (see `catalog list`)")
    p.add_argument("--domain", help="export every dataset of this domain you may download, as one ZIP")
    p.add_argument("--format", default="csv", choices=catalog.FORMATS,
                   help="csv (UTF-8 with BOM), parquet, xlsx, geojson or geoparquet (default csv)")
    p.add_argument("--out", type=Path, help="output file (default: DATASET.FORMAT here)")
    p.add_argument("--as-user", help="sign in as this user (for on-application datasets)")
    p.add_argument("--application", help="application id to use (default: your latest approved one)")
    p.add_argument("--token", help="API token (default $CITYBRAIN_TOKEN) when the server runs: "
                   "the export is then a download from it, decided and logged there")
    p.add_argument("--store", type=Path, default=Path("data/city.duckdb"), help="store file")
    add_engine_options(p)
    p.set_defaults(func=run)


def _through(server, args) -> int:
    """While the server owns the store, an export is a streamed download from it."""
    if args.as_user or args.application:
        raise CityBrainError("the server owns the store: sign in with an API token "
                             "(--token or $CITYBRAIN_TOKEN), not --as-user")
    if args.domain:
        fmt = args.format if args.format in catalog.TABULAR_FORMATS else "parquet"
        out = args.out or Path(f"{args.domain}.zip")
        size = server.download(f"/api/download/domain/{args.domain}.zip?format={fmt}", out)
    else:
        out = args.out or Path(f"{args.dataset}.{exports.SUFFIX[args.format]}")
        size = server.download(f"/api/download/{args.dataset}.{args.format}", out)
    print(f"{out}: {size:,} bytes from the server at {server.url}")
    return 0


def _engine_export(args) -> int:
    if args.domain or args.as_user or args.application:
        raise CityBrainError("an engine export serves public count tables "
                             f"({', '.join(analyses.EXPORTABLE)}) to the public: --domain, "
                             "--as-user and --application need the store")
    if args.format not in ("csv", "parquet"):
        raise CityBrainError("an engine export writes --format csv or parquet")
    out = args.out or Path(f"{args.dataset}.{exports.SUFFIX[args.format]}")
    with analyses.open_engine(args.engine, store=args.store, lake=args.lake,
                              spark=args.spark) as engine:
        rows, report = analyses.controlled_export(engine, args.dataset, out, args.format)
    print(f"{out}: {rows:,} rows ({args.engine})")
    for line in report.lines():
        print(f"  {line}")
    if args.lake is not None:
        print("  note: a lake is read-only; this export is not in the store's download log")
    return 0


def run(args) -> int:
    if bool(args.dataset) == bool(args.domain):
        raise CityBrainError("name a DATASET or give --domain THEME (one of them)")
    if uses_engine(args):
        return _engine_export(args)
    server = running(args.store, args.token)
    if server is not None:
        return _through(server, args)
    with Store.open(args.store) as store:
        actor = PUBLIC
        if args.as_user:
            actor = accounts.sign_in(store, args.as_user, read_password(
                f"password for {args.as_user}: ")).actor
        if args.domain:
            out = args.out or Path(f"{args.domain}.zip")
            fmt = args.format if args.format in catalog.TABULAR_FORMATS else "parquet"
            results = exports.export_domain(store, args.domain, out, actor, "cli", fmt=fmt)
            print(f"{out}: {len(results)} datasets, "
                  f"{sum(r.rows for r in results):,} rows ({', '.join(r.dataset_id for r in results)})")
            return 0
        out = args.out or Path(f"{args.dataset}.{exports.SUFFIX[args.format]}")
        result = exports.export(store, args.dataset, args.format, out, actor, "cli",
                                application_id=args.application)
    print(f"{out}: {result.rows:,} rows")
    for line in result.report.lines():
        print(f"  {line}")
    return 0
