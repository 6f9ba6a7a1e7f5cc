"""``python -m analytics info``: what a store holds, per district, and how it was built."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from analytics import population
from analytics.commands._engine import add_engine_options, uses_engine
from analytics.engines import analyses
from analytics.errors import CityBrainError
from analytics.store import Store


def register(sub) -> None:
    p = sub.add_parser(
        "info", help="population and age shares by district, plus the store's build parameters",
        description="One row for the city and one per district: adcode, name, population and "
        "the shares (percent) of 0-14, 15-59, 60+ and 65+, then the store's vintage, schema "
        "version and build parameters.")
    p.add_argument("--store", type=Path, default=Path("data/city.duckdb"), help="store file")
    p.add_argument("--year", type=int, default=2020, help="year (default 2020)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    add_engine_options(p)
    p.set_defaults(func=run)


def _engine_info(args):
    with analyses.open_engine(args.engine, store=args.store, lake=args.lake,
                              spark=args.spark) as engine:
        years = population.years(engine)
        if args.year not in years:
            raise CityBrainError(f"--year {args.year} is not in this lake "
                                 f"({years[0]}-{years[-1]})")
        summary = analyses.summary(engine, args.year)
        meta = engine.meta() | {"engine": args.engine}
    return summary, meta


def run(args) -> int:
    if uses_engine(args):
        summary, meta = _engine_info(args)
        return _print(args, summary, meta)
    with Store.open(args.store, read_only=True) as store:
        years = population.years(store)
        if args.year not in years:
            raise CityBrainError(f"--year {args.year} is not in this store ({years[0]}-{years[-1]})")
        summary = population.district_summary(store, args.year)
        meta = store.meta()
    return _print(args, summary, meta)


def _print(args, summary, meta) -> int:
    if args.format == "csv":
        summary.to_csv(sys.stdout, index=False, lineterminator="\n")
        for key in sorted(meta):
            print(f"# {key}: {meta[key]}")
    elif args.format == "json":
        json.dump({"year": args.year, "rows": summary.to_dict(orient="records"), "meta": meta},
                  sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(summary.to_string(index=False))
        print()
        width = max(map(len, meta))
        for key in sorted(meta):
            print(f"{key:<{width}}  {meta[key]}")
    return 0
