"""``python -m analytics facilities list`` and ``python -m analytics sources``: provenance.

What the analyses see, row by row (facilities) or per layer and district (sources), each
with where it came from: a department dataset and its version, or ``synthetic``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analytics.layers import facilities_list, sources
from analytics.standards import FACILITY_TYPES
from analytics.store import DEFAULT_STORE, Store


def register(sub) -> None:
    p = sub.add_parser("facilities", help="the facilities the analyses use, with their source",
                       description="List the facilities of one type as the planning map, "
                       "coverage, siting and KPIs see them: a department's register where one "
                       "was loaded for the district, else the synthetic default. The source "
                       "column says which (dataset id and version, or synthetic).")
    fsub = p.add_subparsers(dest="facilities_command", metavar="COMMAND", required=True)
    lp = fsub.add_parser("list", help="list facilities of one type")
    lp.add_argument("--type", required=True, choices=list(FACILITY_TYPES), metavar="TYPE",
                    help="facility type: " + ", ".join(FACILITY_TYPES))
    lp.add_argument("--year", type=int, default=None,
                    help="only the facilities open at the end of this year (default: all)")
    lp.add_argument("--district", type=int, default=None, metavar="ADCODE")
    lp.add_argument("--store", type=Path, default=DEFAULT_STORE, metavar="PATH")
    lp.add_argument("--format", choices=["csv", "table"], default="table")
    lp.set_defaults(func=run_facilities)

    s = sub.add_parser("sources", help="what feeds each analytic layer, per district",
                       description="Per layer, type and district: the department dataset and "
                       "version that feeds it (who loaded it, when, how many rows), or "
                       "synthetic.")
    s.add_argument("--year", type=int, default=None,
                   help="year of the population layers (default: the latest) and of the "
                   "facilities open (default: all)")
    s.add_argument("--store", type=Path, default=DEFAULT_STORE, metavar="PATH")
    s.add_argument("--format", choices=["csv", "table"], default="table")
    s.set_defaults(func=run_sources)


def _out(frame, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        print(frame.to_string(index=False))


def run_facilities(args) -> int:
    with Store.open(args.store, read_only=True) as store:
        frame = facilities_list(store, args.type, year=args.year, district=args.district)
    _out(frame, args.format)
    return 0


def run_sources(args) -> int:
    with Store.open(args.store, read_only=True) as store:
        frame = sources(store, args.year)
    _out(frame, args.format)
    return 0
