"""``python -m analytics plan``: coverage tables and recommended sites for analysts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analytics.commands._engine import add_engine_options, uses_engine
from analytics.engines import analyses
from analytics.errors import CityBrainError
from analytics.planning import accessibility, siting
from analytics.standards import FACILITY_TYPES, service_radius
from analytics.store import DEFAULT_STORE, Store

#: How the CLI's output files name the whole city's row (the library leaves it unnamed).
CITY_NAME, CITY_NAME_EN = "全市", "City"


def register(subparsers) -> None:
    plan = subparsers.add_parser(
        "plan", help="coverage and site recommendation for a facility type",
        description="Coverage of a facility type (GB 50180-2018 radii) and where to build "
        "next (maximal covering location problem).")
    sub = plan.add_subparsers(dest="plan_command", metavar="PLAN_COMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", type=Path, default=DEFAULT_STORE,
                       help=f"the city store (default {DEFAULT_STORE})")
        p.add_argument("--type", required=True, choices=list(FACILITY_TYPES),
                       metavar="TYPE", help="facility type: " + ", ".join(FACILITY_TYPES))
        p.add_argument("--year", type=int, required=True, help="year of population and facilities")
        p.add_argument("--group", help="service group (default: the type's own, e.g. 60+)")
        p.add_argument("--radius", type=int, help="override the standard's radius, in metres")
        p.add_argument("--district", type=int, help="restrict to one district (adcode)")
        p.add_argument("--out", type=Path, help="write to this file instead of standard output")

    cov = sub.add_parser("coverage", help="coverage and 2SFCA by district (or by cell)",
                         description="Share of a group within the radius of an open facility, "
                         "supply per 1,000 residents in reach (2SFCA) and unmet demand; one row "
                         "for the city (adcode 0), then one per district.")
    common(cov)
    cov.add_argument("--cells", action="store_true", help="one row per H3 cell instead")
    cov.add_argument("--format", choices=["csv", "json"], default="csv")
    cov.add_argument("--city", type=int, help="with --lake: one city of the lake (adcode)")
    add_engine_options(cov)
    cov.set_defaults(func=run_coverage)

    sites = sub.add_parser("sites", help="recommend k new sites (MCLP)",
                           description="Choose k new sites that bring the most uncovered "
                           "residents within the radius. Candidates are the populated cells, "
                           "or your own file (--candidates with --datum).")
    common(sites)
    sites.add_argument("--k", type=int, required=True, help="number of new sites")
    sites.add_argument("--candidates", type=Path, help="CSV (id,name,lon,lat) or GeoJSON points")
    sites.add_argument("--datum", choices=["wgs84", "gcj02", "bd09"],
                       help="datum of the candidate coordinates (required with --candidates)")
    sites.add_argument("--lock", action="append", default=[], metavar="SITE_ID",
                       help="a site that must be chosen (repeatable)")
    sites.add_argument("--exclude", action="append", default=[], metavar="SITE_ID",
                       help="a site that must not be chosen (repeatable)")
    sites.add_argument("--site-capacity", type=float,
                       help="beds/places per new site: capacity-aware at the standard's ratio")
    sites.add_argument("--time-limit", type=float, default=60.0, help="solver seconds (default 60)")
    sites.add_argument("--format", choices=["geojson", "csv"], default="geojson")
    sites.set_defaults(func=run_sites)


def _open(path: Path, read_only: bool = True) -> Store:
    return Store.open(path, read_only=read_only)


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CityBrainError(f"cannot write {out}: {exc.strerror}") from None
    print(f"wrote {out}", file=sys.stderr)


def _engine_coverage(args) -> int:
    if args.cells:
        raise CityBrainError("--cells reads the store (one city in memory): leave out "
                             "--engine/--lake, or use the district rows")
    with analyses.open_engine(args.engine, store=args.store, lake=args.lake,
                              spark=args.spark) as engine:
        table = analyses.coverage(engine, args.type, args.year, group=args.group,
                                  radius_m=args.radius, city=args.city)
    if args.district is not None:
        table = table[table["adcode"] == args.district]
        if table.empty:
            raise CityBrainError(f"district {args.district} has no residents of this group "
                                 f"in {args.year}")
    table = table.assign(facility_type=args.type,
                         group=args.group or accessibility.default_group(args.type),
                         year=args.year, radius_m=service_radius(
                             args.type, {args.type: args.radius} if args.radius else None),
                         engine=args.engine)
    text = table.to_csv(index=False, float_format="%.4f") if args.format == "csv" else \
        table.to_json(orient="records", force_ascii=False, indent=1) + "\n"
    _emit(text, args.out)
    return 0


def run_coverage(args) -> int:
    if uses_engine(args):
        return _engine_coverage(args)
    # read-write: every release of counts of people is written to the download log
    with _open(args.store, read_only=False) as store:
        problem = accessibility.type_availability(store, args.type, args.year)
        if problem:
            raise CityBrainError(problem)
        result = accessibility.analyse(store, args.type, args.year, group=args.group,
                                       radius_m=args.radius)
        # Counts of people leave through the access decision and disclosure control (logged).
        if args.cells:
            table = accessibility.public_cells(store, result, channel="cli")
            if args.district is not None:
                table = table[table["district_adcode"] == args.district]
            table = table[["h3", "district_adcode", "lon", "lat", "persons",
                           "facilities_in_reach", "covered", "access_per_1000", "unmet",
                           "suppressed"]]
        else:
            table = accessibility.public_summary(store, result,
                                                 store.query("planning.district_names"),
                                                 channel="cli")
            if args.district is not None:
                table = table[table["adcode"] == args.district]
            # the output files write the whole city's row as adcode 0, as they always have
            city = table["adcode"].isna()
            table = table.assign(adcode=table["adcode"].fillna(0).astype("int64"))
            table.loc[city, ["name", "name_en"]] = [CITY_NAME, CITY_NAME_EN]
        if table.empty:
            raise CityBrainError(f"district {args.district} has no residents of group "
                                 f"{result.group} in {args.year}")
        table = table.assign(facility_type=args.type, group=result.group, year=args.year,
                             radius_m=result.radius_m)
    text = table.to_csv(index=False, float_format="%.4f") if args.format == "csv" else \
        table.to_json(orient="records", force_ascii=False, indent=1) + "\n"
    _emit(text, args.out)
    return 0


def run_sites(args) -> int:
    # read-write: the residents each site covers leave through the access decision (logged)
    with _open(args.store, read_only=False) as store:
        candidates = None
        if args.candidates is not None:
            if not args.candidates.exists():
                raise CityBrainError(f"no candidate file {args.candidates}")
            candidates = siting.parse_candidates(args.candidates, args.candidates.name,
                                                 args.datum, store)
        result = siting.recommend_sites(
            store, args.type, args.year, args.k, group=args.group, radius_m=args.radius,
            district=args.district, candidates=candidates, lock=args.lock,
            exclude=args.exclude, site_capacity=args.site_capacity, time_limit=args.time_limit)
        # as the page and its downloads show them: rounded to 10, 1-9 blank
        result = siting.public_result(store, result, channel="cli")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"coverage of {result.group} {result.before_pct:.2f}% -> {result.after_pct:.2f}% "
          f"(+{result.newly_covered:,.0f} residents); solver {result.solution.status}, "
          f"optimality gap {result.solution.gap_pct:.3f}%", file=sys.stderr)
    if args.format == "geojson":
        text = json.dumps(result.geojson(), ensure_ascii=False, indent=1) + "\n"
    else:
        text = result.sites.assign(facility_type=args.type, group=result.group, year=args.year,
                                   radius_m=result.radius_m).to_csv(index=False,
                                                                    float_format="%.6f")
    _emit(text, args.out)
    return 0
