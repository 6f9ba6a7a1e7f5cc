"""``python -m analytics lake``: write a store into a lake of Parquet files, or check one."""

from __future__ import annotations

from pathlib import Path

from analytics.engines.lake import Lake, export
from analytics.store import DEFAULT_STORE


def register(sub) -> None:
    p = sub.add_parser(
        "lake", help="export the store into a lake (Parquet by city and year) or verify one",
        description="A lake holds every analytic table as Parquet partitioned by city and "
        "year, the catchment pairs of every facility type, and a manifest (schema version, "
        "vintage, row counts, SHA-256 of every file). DuckDB and Spark both read it "
        "(`--engine duckdb|spark --lake DIR` on info, plan coverage and export).")
    lake_sub = p.add_subparsers(dest="lake_command", metavar="LAKE_COMMAND", required=True)
    exp = lake_sub.add_parser("export", help="write the store's city into a lake",
                              description="Write (or replace) the store's city in the lake at "
                              "--out; other cities already there are kept.")
    exp.add_argument("--store", type=Path, default=DEFAULT_STORE, help="store file")
    exp.add_argument("--out", type=Path, required=True, metavar="DIR", help="lake directory")
    exp.set_defaults(func=run_export)
    ver = lake_sub.add_parser("verify", help="check a lake's manifest and every file's SHA-256")
    ver.add_argument("lake", type=Path, metavar="DIR")
    ver.set_defaults(func=run_verify)


def run_export(args) -> int:
    entry = export(args.store, args.out)
    rows = entry["rows"]
    print(f"{args.out}: city {entry['name']} written; "
          + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    return 0


def run_verify(args) -> int:
    lake = Lake.open(args.lake, verify=True)
    print(f"{args.lake}: schema version {lake.manifest['schema_version']}, "
          f"{len(lake.cities)} cities ({', '.join(map(str, lake.cities))}), "
          f"vintage {lake.manifest.get('vintage')}; every file matches its SHA-256")
    for table in lake.tables():
        print(f"  {table:<22} {lake.rows(table):>14,} rows  {len(lake.files(table)):>5} files")
    return 0
