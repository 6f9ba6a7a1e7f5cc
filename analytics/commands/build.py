"""``python -m analytics build``: build a city store (atomic, deterministic)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.citygen.build import BuildConfig, build, parse_years
from analytics.engines.province import build_province
from analytics.errors import CityBrainError


def _districts(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of adcodes") from None


def register(sub) -> None:
    p = sub.add_parser(
        "build", help="build the city store from boundaries, census figures and the synthetic city",
        description="Build a city store into a temporary file, then rename it over --out: an "
        "interrupted build leaves the previous store intact. The same seed gives identical tables. "
        "A rebuild keeps the accounts, applications, logs and department data of the store it "
        "replaces (--replace starts without them).")
    p.add_argument("--city", type=int, default=330100, metavar="ADCODE",
                   help="prefecture-level city adcode (default 330100, Hangzhou; 230100 Harbin)")
    p.add_argument("--years", default="2010-2025", metavar="FIRST-LAST",
                   help="years to keep, within 2010-2025 and including 2020 (default 2010-2025)")
    p.add_argument("--seed", type=int, default=BuildConfig.seed, help="random seed (default %(default)s)")
    p.add_argument("--districts", type=_districts, default=(), metavar="ADCODE,ADCODE",
                   help="build only these districts (a small store for tests and demos), "
                   "e.g. 330106,330108")
    p.add_argument("--out", type=Path, default=Path("data/city.duckdb"), metavar="PATH",
                   help="store file to write (default %(default)s)")
    p.add_argument("--replace", action="store_true",
                   help="start without the accounts, applications, logs and department data of "
                   "the store at --out (by default a rebuild keeps them)")
    p.add_argument("--province", type=int, metavar="ADCODE",
                   help="build every city of a province (e.g. 330000, Zhejiang's 11 cities) "
                   "city by city into the lake given by --lake")
    p.add_argument("--cities", type=_districts, default=(), metavar="ADCODE,ADCODE",
                   help="with --province: only these cities")
    p.add_argument("--lake", type=Path, metavar="DIR",
                   help="with --province: the lake to write (Parquet by city and year)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--no-synthetic", action="store_true",
                   help="real boundaries, cells and catalog only: no synthetic population, "
                   "facilities or assets; every analysis then runs on the department data "
                   "loaded (python -m analytics ingest)")
    p.set_defaults(func=run)


def run(args) -> int:
    first, last = parse_years(args.years)
    if args.seed < 0:
        raise CityBrainError("--seed must be a non-negative integer")
    if args.province is not None or args.lake is not None:
        return _run_province(args, first, last)
    config = BuildConfig(city_adcode=args.city, first_year=first, last_year=last, seed=args.seed,
                         districts=args.districts, out=args.out,
                         synthetic=not args.no_synthetic, replace=args.replace)

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    build(config, progress=say)
    return 0


def _run_province(args, first: int, last: int) -> int:
    if args.province is None or args.lake is None:
        raise CityBrainError("a province build needs both --province ADCODE and --lake DIR")

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    done = build_province(args.province, args.lake, cities=args.cities,
                          districts=args.districts, years=f"{first}-{last}", seed=args.seed,
                          progress=say)
    rows = sum(c.rows["population_cells"] for c in done)
    print(f"{args.lake}: {len(done)} cities, {rows:,} cell rows")
    return 0
